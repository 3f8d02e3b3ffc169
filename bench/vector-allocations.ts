/**
 * `node --import tsx bench/vector-allocations.ts [-- --model mlp-large --rounds 20]`: which
 * code allocates a model-sized typed array (at least `--min-bytes`) in each round, the garbage
 * a tab's memory swings with (bench/tab-memory.ts). Two headless peers (wasm, as a tab) train
 * in this process; the constructors of Float32Array, Float64Array and Uint8Array (new, from,
 * of) and their slice() are wrapped to count fresh buffers by their three calling frames, from
 * round `--skip` on. A view over an existing buffer (new Float32Array(buffer, ...), TF.js
 * wasm's typedArrayFromHeap) allocates nothing and is not counted. Both peers' steps are
 * counted: the aggregator (which also computes a gradient as a worker) and one worker.
 * Prints the count and MB per round, most bytes first, and writes JSON.
 */
import { parseArgs } from 'node:util';
import { Peer } from '../client/roles/peer.ts';
import { SignalingClient } from '../client/signaling/index.ts';
import { selectBackend } from '../client/training/backend.ts';
import { createSignalingServer } from '../signaling/index.ts';
import { writeResult } from './rounds.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'mlp-large' },
    rounds: { type: 'string', default: '20' },
    skip: { type: 'string', default: '4' },
    /** Smallest allocation counted, in bytes (mlp-large's float32 vector is 4,070,440). */
    'min-bytes': { type: 'string', default: '4000000' },
    out: { type: 'string', default: 'bench/results/tab-memory-allocations.json' },
  },
});
const ROUNDS = Number(values.rounds);
const SKIP = Number(values.skip);
const MIN_BYTES = Number(values['min-bytes']);
const MB = 2 ** 20;

const counts = new Map<string, { count: number; bytes: number }>();
let counting = false;
/** The three frames that called the allocation, paths relative to the repository. */
function note(kind: string, bytes: number): void {
  if (!counting || bytes < MIN_BYTES) return;
  const frames = (new Error().stack ?? '')
    .split('\n')
    .slice(3, 6)
    .map((line) => line.trim().replace(`file://${process.cwd()}/`, '').replace(`${process.cwd()}/`, ''));
  const key = `${kind}: ${frames.join(' < ')}`;
  const entry = counts.get(key) ?? { count: 0, bytes: 0 };
  entry.count++;
  entry.bytes += bytes;
  counts.set(key, entry);
}

type TypedArrayClass = Float32ArrayConstructor | Float64ArrayConstructor | Uint8ArrayConstructor;
/** Wraps a typed array class (global name `name`) so that its fresh buffers are noted. */
function wrap(name: 'Float32Array' | 'Float64Array' | 'Uint8Array', Original: TypedArrayClass): void {
  (globalThis as Record<string, unknown>)[name] = new Proxy(Original, {
    construct(target, args, newTarget) {
      const array = Reflect.construct(target, args, newTarget) as Float32Array;
      const first: unknown = args[0];
      // Over an existing buffer: a view, nothing allocated.
      if (!(first instanceof ArrayBuffer) && !(first instanceof SharedArrayBuffer))
        note(`new ${name}`, array.byteLength);
      return array;
    },
  });
  const prototype = Original.prototype as unknown as {
    slice: (start?: number, end?: number) => Float32Array;
  };
  const originalSlice = prototype.slice;
  prototype.slice = function slice(this: Float32Array, start?: number, end?: number) {
    const out = originalSlice.call(this, start, end);
    note(`${name}.slice`, out.byteLength);
    return out;
  };
}
wrap('Float32Array', Float32Array);
wrap('Float64Array', Float64Array);
wrap('Uint8Array', Uint8Array);

await selectBackend('wasm', { log: () => {} });
const server = createSignalingServer({ logLevel: 'warn' });
await server.start({ port: 0, host: '127.0.0.1' });
try {
  const client = new SignalingClient();
  await client.connect(server.url);
  const config = { model: values.model as 'mlp-large', rounds: ROUNDS, minPeers: 2, dataShards: 2, seed: 5 };
  const { sessionId, token } = await client.create(config);
  client.close();
  const peers = [0, 1].map(
    (i) => new Peer({ serverUrl: server.url, sessionId, token, kind: 'headless', peerId: `peer-${i}` }),
  );
  for (const peer of peers) {
    peer.events.on('round', ({ round }) => {
      if (round === SKIP - 1) counting = true;
    });
  }
  for (const peer of peers) await peer.start();
  await Promise.all(peers.map((p) => p.finished));
  counting = false;
  await Promise.all(peers.map((p) => p.leave()));
  const rounds = ROUNDS - SKIP;
  const round2 = (x: number): number => Math.round(x * 100) / 100;
  const perRound = [...counts]
    .sort((a, b) => b[1].bytes - a[1].bytes)
    .map(([site, { count, bytes }]) => ({
      perRound: round2(count / rounds),
      mbPerRound: round2(bytes / MB / rounds),
      site,
    }));
  const total = {
    perRound: round2(perRound.reduce((sum, row) => sum + row.perRound, 0)),
    mbPerRound: round2([...counts.values()].reduce((sum, row) => sum + row.bytes, 0) / MB / rounds),
  };
  for (const row of perRound)
    console.log(`${row.perRound.toFixed(2)}  ${row.mbPerRound.toFixed(1)} MB  ${row.site}`);
  console.log(
    `${total.perRound.toFixed(2)}  ${total.mbPerRound.toFixed(1)} MB  per round in all (two peers)`,
  );
  writeResult(values.out, {
    bench: 'vector-allocations',
    command: `node --import tsx bench/vector-allocations.ts ${process.argv.slice(2).join(' ')}`.trim(),
    config,
    minBytes: MIN_BYTES,
    roundsCounted: rounds,
    date: new Date().toISOString(),
    total,
    perRound,
  });
  console.log(`wrote ${values.out}`);
} finally {
  await server.stop();
}
