/**
 * Codec throughput: encode and decode speed of every compressor on a 10M-float random
 * vector, in MB/s of float32 input (best of a few repetitions), next to a plain copy of
 * the same array (Float32Array.prototype.set) measured in the same run: before the codecs
 * and again between them, the best of all those copies counting (so a slow spell of a
 * loaded machine cannot flatter the ratios). Prints a table and writes
 * bench/results/codecs.json: [{ codec, encodeMBps, decodeMBps, copyMBps, encodeVsCopy,
 * decodeVsCopy, bytes, bitsPerParam, simd, loadAverage }] (simd: whether the WebAssembly
 * SIMD kernels ran; loadAverage: the 1-minute load at the end).
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
import { simdKernels } from '../shared/compress/kernels.ts';
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
  /** encodeMBps / copyMBps, decodeMBps / copyMBps: comparable across runs and machines. */
  encodeVsCopy: number;
  decodeVsCopy: number;
  bytes: number;
  /** Payload bits per input value (per model parameter, one message). */
  bitsPerParam: number;
  /** Whether the WebAssembly SIMD kernels (shared/compress/kernels.ts) ran. */
  simd: boolean;
  /** One-minute load average at the end of the run (2 cores: above 2, others competed). */
  loadAverage: number;
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
  let copyMs = Infinity;
  const timeCopy = (n: number): void => {
    const ms = bestMs(n, () => copy.set(x));
    if (ms < copyMs) copyMs = ms;
  };
  timeCopy(Math.max(reps, 10));

  const measured: Array<{ codec: string; encodeMs: number; decodeMs: number; bytes: number }> = [];
  for (const spec of SPECS) {
    const c = parseCompressor(spec);
    let payload = c.encode(x, 1); // also warms up the JIT
    c.decode(payload, d);
    timeCopy(3);
    const encodeMs = bestMs(reps, () => {
      payload = c.encode(x, 1);
    });
    const decodeMs = bestMs(reps, () => {
      c.decode(payload, d);
    });
    measured.push({ codec: c.spec, encodeMs, decodeMs, bytes: payload.byteLength });
  }
  timeCopy(3);
  const copyMBps = megabytes / (copyMs / 1e3);
  const load = Math.round(loadavg()[0]! * 100) / 100;
  const simd = simdKernels() !== undefined;
  const rows: Row[] = measured.map((m) => {
    const encodeMBps = megabytes / (m.encodeMs / 1e3);
    const decodeMBps = megabytes / (m.decodeMs / 1e3);
    return {
      codec: m.codec,
      encodeMBps: Math.round(encodeMBps),
      decodeMBps: Math.round(decodeMBps),
      copyMBps: Math.round(copyMBps),
      encodeVsCopy: Math.round((1000 * encodeMBps) / copyMBps) / 1000,
      decodeVsCopy: Math.round((1000 * decodeMBps) / copyMBps) / 1000,
      bytes: m.bytes,
      bitsPerParam: (m.bytes * 8) / d,
      simd,
      loadAverage: load,
    };
  });

  console.log(
    `d = ${d} float32 (${megabytes} MB), best of ${reps}; copy = Float32Array.set (best of all copies)`,
  );
  console.log(`WebAssembly SIMD kernels: ${simd ? 'on' : 'off (plain JS)'}`);
  console.log(`load average at the end: ${load.toFixed(1)} (results are noisy when other jobs run)`);
  console.log(
    'codec           encode MB/s  (x copy)  decode MB/s  (x copy)        bytes  fp32/bytes  bits/param',
  );
  for (const r of rows) {
    console.log(
      [
        r.codec.padEnd(15),
        String(r.encodeMBps).padStart(11),
        r.encodeVsCopy.toFixed(3).padStart(9),
        String(r.decodeMBps).padStart(12),
        r.decodeVsCopy.toFixed(3).padStart(9),
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
