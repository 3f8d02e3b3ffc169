/**
 * Codec throughput: encode and decode speed of every compressor on a 10M-float random
 * vector, in MB/s of float32 input (best of a few repetitions), next to a plain copy of
 * the same array (Float32Array.prototype.set) measured in the same run. Prints a table
 * and writes bench/results/codecs.json: [{ codec, encodeMBps, decodeMBps, copyMBps, bytes,
 * bitsPerParam }].
 *
 * @example
 * npm run bench:codecs
 * node --import tsx bench/codecs.ts --length 1000000 --reps 3
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseCompressor } from '../shared/compress/index.ts';
import { createRng } from '../shared/random.ts';

/** Codecs measured, as spec strings. */
const SPECS = [
  'identity',
  'fp16',
  'topk:0.01',
  'topk:0.01:sign',
  'randk:0.01',
  'sign',
  'sign:256',
  'qsgd:4',
  'q8',
];

interface Row {
  codec: string;
  encodeMBps: number;
  decodeMBps: number;
  copyMBps: number;
  bytes: number;
  /** Payload bits per input value (per model parameter, one message). */
  bitsPerParam: number;
}

/** Best (shortest) wall time of `reps` runs of fn, in milliseconds. */
function bestMs(reps: number, fn: () => void): number {
  let best = Infinity;
  for (let r = 0; r < reps; r++) {
    const start = process.hrtime.bigint();
    fn();
    best = Math.min(best, Number(process.hrtime.bigint() - start) / 1e6);
  }
  return best;
}

export function main(argv: string[]): Row[] {
  const { values } = parseArgs({
    args: argv,
    options: {
      length: { type: 'string', default: String(10_000_000) },
      reps: { type: 'string', default: '10' },
      out: {
        type: 'string',
        default: join(dirname(fileURLToPath(import.meta.url)), 'results', 'codecs.json'),
      },
    },
  });
  const d = Number(values.length);
  const reps = Number(values.reps);
  const rng = createRng(12345);
  const x = new Float32Array(d);
  for (let i = 0; i < d; i++) x[i] = rng.normal() * 1e-3;
  const megabytes = (4 * d) / 1e6;

  const copy = new Float32Array(d);
  const copyMBps = megabytes / (bestMs(Math.max(reps, 10), () => copy.set(x)) / 1e3);

  const rows: Row[] = [];
  for (const spec of SPECS) {
    const c = parseCompressor(spec);
    let payload = c.encode(x, 1); // also warms up the JIT
    c.decode(payload, d);
    const encodeMs = bestMs(reps, () => {
      payload = c.encode(x, 1);
    });
    const decodeMs = bestMs(reps, () => {
      c.decode(payload, d);
    });
    rows.push({
      codec: c.spec,
      encodeMBps: Math.round(megabytes / (encodeMs / 1e3)),
      decodeMBps: Math.round(megabytes / (decodeMs / 1e3)),
      copyMBps: Math.round(copyMBps),
      bytes: payload.byteLength,
      bitsPerParam: (payload.byteLength * 8) / d,
    });
  }

  console.log(`d = ${d} float32 (${megabytes} MB), best of ${reps}; copy = Float32Array.set`);
  console.log(`load average at the end: ${loadavg()[0]!.toFixed(1)} (results are noisy when other jobs run)`);
  console.log(
    'codec           encode MB/s  (x copy)  decode MB/s  (x copy)        bytes  fp32/bytes  bits/param',
  );
  for (const r of rows) {
    console.log(
      [
        r.codec.padEnd(15),
        String(r.encodeMBps).padStart(11),
        (r.encodeMBps / r.copyMBps).toFixed(3).padStart(9),
        String(r.decodeMBps).padStart(12),
        (r.decodeMBps / r.copyMBps).toFixed(3).padStart(9),
        String(r.bytes).padStart(12),
        ((4 * d) / r.bytes).toFixed(1).padStart(11),
        r.bitsPerParam.toFixed(4).padStart(11),
      ].join(' '),
    );
  }
  console.log(`copy: ${Math.round(copyMBps)} MB/s`);
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, JSON.stringify(rows, null, 2) + '\n');
  return rows;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) main(process.argv.slice(2));
