/**
 * One headless peer for the link benchmarks, as its own process: joins a session with a
 * shaped link (linkMbps, linkLatencyMs) and writes one JSON line per event on stdout, which
 * the parent (bench/live-session.ts) reads: every round the aggregator closes, and on exit
 * the peer's traffic; with each upload, the CPU time the process has used so far. SIGTERM
 * leaves cleanly (the parent stops a run that way). With `--snapshots FILE`, every round
 * this peer closes as aggregator also appends its model to FILE (bench/snapshots.ts), for
 * the bench to evaluate each round after the run.
 *
 * @example
 * node --import tsx bench/link-peer.ts --server URL --session ID --token T --peer-id p0 --mbps 2
 * node --import tsx bench/link-peer.ts --server URL --session ID --token T --peer-id p0 --snapshots /tmp/p0.snap
 */
import { closeSync, openSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Peer } from '../client/roles/peer.ts';
import { appendSnapshot } from './snapshots.ts';

const { values } = parseArgs({
  options: {
    server: { type: 'string' },
    session: { type: 'string' },
    token: { type: 'string' },
    'peer-id': { type: 'string' },
    mbps: { type: 'string', default: 'Infinity' },
    'latency-ms': { type: 'string', default: '0' },
    /** settings.sliceWaitMs (client/roles/settings.ts). */
    'slice-wait-ms': { type: 'string', default: '0' },
    snapshots: { type: 'string' },
  },
});
const { server, session, token } = values;
const peerId = values['peer-id'];
if (server === undefined || session === undefined || token === undefined || peerId === undefined) {
  console.error(
    'usage: link-peer --server URL --session ID --token T --peer-id ID [--mbps X] [--latency-ms MS] [--snapshots FILE]',
  );
  process.exit(2);
}

const line = (record: object): void => void process.stdout.write(`${JSON.stringify(record)}\n`);
/** CPU this process has used so far (user + system, all threads), in ms. */
const processCpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

const peer = new Peer({
  serverUrl: server,
  sessionId: session,
  token,
  peerId,
  kind: 'headless',
  link: { linkMbps: Number(values.mbps), linkLatencyMs: Number(values['latency-ms']) },
  settings: { sliceWaitMs: Number(values['slice-wait-ms']) },
  log: (level, message) => {
    if (level === 'warn') console.error(message);
  },
});
// Opened once, appended to synchronously: the write sits inside the timed session.
const snapshotFd = values.snapshots === undefined ? null : openSync(values.snapshots, 'a');
/** Time this process spent copying and writing snapshots, ms (its cost to the session). */
let snapshotMs = 0;
peer.events.on('round', (e) => {
  if (snapshotFd !== null) {
    // The 'round' event follows the evaluation synchronously: this is the model it evaluated.
    const started = performance.now();
    const model = peer.model();
    if (model !== null)
      appendSnapshot(snapshotFd, { round: e.round, term: e.term, closedAt: e.closedAt, model });
    snapshotMs += performance.now() - started;
  }
  line({
    kind: 'round',
    peerId,
    round: e.round,
    term: e.term,
    closedAt: e.closedAt,
    durationMs: e.durationMs,
    computeMs: e.computeMs,
    evalMs: e.evalMs,
    testAccuracy: e.testAccuracy,
    bytesUp: e.bytesUp,
    bytesDown: e.bytesDown,
    counted: e.counted,
    expected: e.expected,
    late: e.late,
    sync: e.sync,
  });
});
peer.events.on('uploaded', (e) => {
  if (e.kind === 'upload' && !e.resent)
    line({ kind: 'uploaded', peerId, round: e.round, computeMs: e.computeMs, cpuMs: processCpuMs() });
});

let role: string | null = null;
peer.events.on('role', (e) => (role = e.role));

let interrupted = false;
const leave = (): void => {
  interrupted = true;
  void peer.leave();
};
process.once('SIGTERM', leave);
process.once('SIGINT', leave);
let code = 0;
try {
  await peer.start();
  await peer.finished;
} catch (error) {
  if (!interrupted) {
    console.error(`link-peer ${peerId}: ${error instanceof Error ? error.message : String(error)}`);
    code = 1;
  }
} finally {
  await peer.leave();
  line({
    kind: 'exit',
    peerId,
    role,
    backend: peer.backend,
    wire: peer.traffic(),
    frameBytes: peer.frameBytes(),
    interrupted,
    ...(snapshotFd === null ? {} : { snapshotMs }),
  });
  if (snapshotFd !== null) closeSync(snapshotFd);
}
process.exit(code);
