/**
 * `node --import tsx bench/vector-allocations.ts [-- --model mlp-large --rounds 20]`: which
 * code allocates a model-sized Float32Array (at least `--min` elements) in each round, the
 * garbage a tab's memory swings with (bench/tab-memory.ts). Two headless peers (wasm, as a tab)
 * train in this process; Float32Array's constructor (new, from, of) and slice() are wrapped to
 * count allocations by their two calling frames, from round `--skip` on. Both peers' steps are
 * counted: the aggregator (which also computes a gradient as a worker) and one worker. Some
 * TF.js wasm frames are views into its heap, not allocations (typedArrayFromHeap); its
 * readSync's copy is one. Prints the count per round, most frequent first, and writes JSON.
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
    min: { type: 'string', default: '1000000' },
    out: { type: 'string', default: 'bench/results/tab-memory-allocations.json' },
  },
});
const ROUNDS = Number(values.rounds);
const SKIP = Number(values.skip);
const MIN_LENGTH = Number(values.min);

const counts = new Map<string, number>();
let counting = false;
/** The two frames that called the allocation, paths relative to the repository. */
function note(kind: string): void {
  const frames = (new Error().stack ?? '')
    .split('\n')
    .slice(3, 5)
    .map((line) => line.trim().replace(`file://${process.cwd()}/`, '').replace(`${process.cwd()}/`, ''));
  const key = `${kind}: ${frames.join(' < ')}`;
  counts.set(key, (counts.get(key) ?? 0) + 1);
}
const Original = Float32Array;
globalThis.Float32Array = new Proxy(Original, {
  construct(target, args, newTarget) {
    const array = Reflect.construct(target, args, newTarget) as Float32Array;
    if (counting && array.length >= MIN_LENGTH) note('new');
    return array;
  },
});
const originalSlice = Original.prototype.slice;
Original.prototype.slice = function slice(this: Float32Array, start?: number, end?: number) {
  const out = originalSlice.call(this, start, end);
  if (counting && out.length >= MIN_LENGTH) note('slice');
  return out;
};

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
  const perRound = [...counts]
    .sort((a, b) => b[1] - a[1])
    .map(([site, count]) => ({ perRound: Math.round((count / rounds) * 100) / 100, site }));
  for (const row of perRound) console.log(`${row.perRound.toFixed(2)}  ${row.site}`);
  writeResult(values.out, {
    bench: 'vector-allocations',
    command: `node --import tsx bench/vector-allocations.ts ${process.argv.slice(2).join(' ')}`.trim(),
    config,
    minLength: MIN_LENGTH,
    roundsCounted: rounds,
    date: new Date().toISOString(),
    perRound,
  });
  console.log(`wrote ${values.out}`);
} finally {
  await server.stop();
}
