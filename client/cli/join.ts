/**
 * `liec join --server URL --session ID --token T`: runs one headless peer until training
 * ends, with a progress line; Ctrl-C (SIGINT) or SIGTERM leaves cleanly.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Peer } from '../roles/peer.ts';
import { showProgress } from './progress.ts';
import { recordTimeline, type Timeline } from './timeline.ts';

export const JOIN_USAGE = `usage: liec join --server URL --session ID --token T [options]
  --peer-id ID          request this peer id (default: assigned)
  --shard N             train on data shard N (default: join slot mod the session's dataShards)
  --compute-delay-ms MS delay before each gradient (straggler injection, default 0)
  --summary-out FILE    write a JSON summary when done
  --quiet               no progress line
  --verbose             log protocol events to stderr`;

export interface PeerSummary {
  peerId: string;
  role: string | null;
  round: number;
  finalTestAccuracy: number | null;
  backend: string;
  aggregatorChanges: number;
  /** Frame bytes this peer sent as a worker (up) and as an aggregator (down). */
  frameBytes: { up: number; down: number };
  wire: { sent: number; received: number };
  rejections: Record<string, number>;
  /** Per-round records (rounds closed as aggregator, uploads sent as worker, role changes). */
  timeline: Timeline;
  /** True when the peer left on SIGINT/SIGTERM before training ended. */
  interrupted: boolean;
}

export async function join(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      server: { type: 'string' },
      session: { type: 'string' },
      token: { type: 'string' },
      'peer-id': { type: 'string' },
      shard: { type: 'string' },
      'compute-delay-ms': { type: 'string' },
      'summary-out': { type: 'string' },
      quiet: { type: 'boolean' },
      verbose: { type: 'boolean' },
    },
  });
  const { server, session, token } = values;
  if (server === undefined || session === undefined || token === undefined) {
    console.error(JOIN_USAGE);
    return 2;
  }
  const delay = values['compute-delay-ms'] === undefined ? undefined : Number(values['compute-delay-ms']);
  const shard = values.shard === undefined ? undefined : Number(values.shard);
  const peer = new Peer({
    serverUrl: server,
    sessionId: session,
    token,
    kind: 'headless',
    ...(values['peer-id'] === undefined ? {} : { peerId: values['peer-id'] }),
    ...(shard === undefined ? {} : { shard }),
    ...(delay === undefined ? {} : { settings: { computeDelayMs: delay } }),
    log: (level, message) => {
      if (values.verbose === true || level === 'warn') console.error(message);
    },
  });
  let interrupted = false;
  const leave = () => {
    interrupted = true;
    // The same promise is awaited below (leave() is idempotent), so nothing is left floating.
    void peer.leave();
  };
  process.once('SIGINT', leave);
  process.once('SIGTERM', leave);
  const timeline = recordTimeline(peer);
  try {
    await peer.start();
    const progress =
      values.quiet === true ? null : showProgress(peer, process.stderr, peer.config?.rounds ?? 0);
    const done = await peer.finished;
    progress?.stop();
    await peer.leave();
    const summary: PeerSummary = {
      peerId: peer.peerId,
      role: peer.currentRole,
      round: done.round,
      finalTestAccuracy: done.testAccuracy,
      backend: peer.backend,
      aggregatorChanges: peer.aggregatorChanges,
      frameBytes: peer.frameBytes(),
      wire: peer.traffic(),
      rejections: Object.fromEntries(peer.rejections),
      timeline: timeline.snapshot(),
      interrupted,
    };
    if (values.quiet !== true) {
      const acc = done.testAccuracy === null ? 'n/a' : `${(done.testAccuracy * 100).toFixed(2)}%`;
      console.error(
        interrupted ? `left at round ${done.round}` : `done at round ${done.round}: test accuracy ${acc}`,
      );
    }
    if (values['summary-out'] !== undefined)
      await writeFile(values['summary-out'], JSON.stringify(summary, null, 2));
    return 0;
  } catch (error) {
    await peer.leave();
    // Interrupted while joining: leaving was asked for, not a failure.
    if (interrupted) return 0;
    console.error(`join failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    timeline.stop();
    process.off('SIGINT', leave);
    process.off('SIGTERM', leave);
  }
}
