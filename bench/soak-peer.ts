/**
 * One peer of the soak (bench/soak.ts), in its own process: a headless Peer as `liec join`
 * runs it, plus a sampler that appends one JSON line per `--sample-ms` to `--out` with what
 * a leak would make grow: the V8 heap after a full GC (so the figure is what is still
 * referenced, not garbage waiting for the next collection), the resident set, ArrayBuffer
 * memory (model vectors, frames), the TF.js tensor count and bytes, and the open file
 * descriptors (sockets of WebRTC links and of the signaling connection). SIGTERM leaves the
 * session cleanly and writes a last sample.
 *
 * Run with `node --expose-gc`: without it the heap figure includes uncollected garbage and
 * its slope is noise.
 *
 * @example
 * node --expose-gc --import tsx bench/soak-peer.ts --server http://127.0.0.1:8080 \
 *   --session ID --token T --peer-id p1 --out /tmp/p1.jsonl --sample-ms 10000
 */
import { appendFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { Peer } from '../client/roles/peer.ts';
import { openFds, type SoakSample } from './soak-sample.ts';

const { values } = parseArgs({
  options: {
    server: { type: 'string' },
    session: { type: 'string' },
    token: { type: 'string' },
    'peer-id': { type: 'string' },
    out: { type: 'string' },
    'sample-ms': { type: 'string', default: '10000' },
    'compute-delay-ms': { type: 'string', default: '0' },
  },
  strict: true,
});
const { server, session, token, out } = values;
const peerId = values['peer-id'];
if (server === undefined || session === undefined || token === undefined || out === undefined)
  throw new Error('usage: soak-peer --server URL --session ID --token T --peer-id ID --out FILE');
const sampleMs = Number(values['sample-ms']);
const computeDelayMs = Number(values['compute-delay-ms']);
const gc = (globalThis as { gc?: () => void }).gc;

const peer = new Peer({
  serverUrl: server,
  sessionId: session,
  token,
  kind: 'headless',
  ...(peerId === undefined ? {} : { peerId }),
  ...(computeDelayMs > 0 ? { settings: { computeDelayMs } } : {}),
  log: (level, message) => {
    if (level === 'warn') process.stderr.write(`[${peer.peerId}] ${message}\n`);
  },
});

function sample(last = false): void {
  gc?.();
  const memory = process.memoryUsage();
  const tensors = tf.memory();
  const line: SoakSample = {
    peerId: peer.peerId,
    at: Date.now(),
    role: peer.currentRole,
    round: peer.round,
    heapUsedBytes: memory.heapUsed,
    rssBytes: memory.rss,
    arrayBuffersBytes: memory.arrayBuffers,
    tensors: tensors.numTensors,
    tensorBytes: tensors.numBytes,
    fds: openFds(),
    ...(last ? { last: true } : {}),
  };
  appendFileSync(out as string, `${JSON.stringify(line)}\n`);
}

let timer: ReturnType<typeof setInterval> | undefined = undefined;
const stop = (): void => {
  clearInterval(timer);
  void peer.leave().then(() => {
    sample(true);
    process.exit(0);
  });
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
await peer.start();
sample();
timer = setInterval(() => sample(), sampleMs);
await peer.finished;
stop();
