/**
 * `liec join --server URL --session ID --token T`: runs one headless peer until training
 * ends, with a progress line; Ctrl-C (SIGINT) or SIGTERM leaves cleanly (and writes a last
 * checkpoint with --checkpoint-dir). `--resume` continues from that checkpoint: same session,
 * peer id and shard (see client/roles/checkpoint.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { Checkpointer, readCheckpointFile, removeStaleTemps, type Checkpoint } from '../roles/checkpoint.ts';
import { Peer } from '../roles/peer.ts';
import { resolveLinkSettings, type LinkSettings } from '../transport/index.ts';
import { openEventLog } from './event-log.ts';
import { showProgress } from './progress.ts';
import { recordTimeline, type Timeline } from './timeline.ts';
import { modelSha256 } from '../../shared/model-hash.ts';

export const JOIN_USAGE = `usage: liec join --server URL --session ID --token T [options]
  --peer-id ID          request this peer id (default: assigned)
  --shard N             train on data shard N (default: join slot mod the session's dataShards)
  --compute-delay-ms MS delay before each gradient (straggler injection, default 0)
  --link-mbps X         shape this peer's link to X Mbit/s each way (default unshaped)
  --link-latency-ms MS  one-way delay added to what this peer sends (default 0)
  --ice-servers JSON    STUN/TURN servers, e.g. '[{"urls":"turn:host:3478","username":"u","credential":"p"}]'
                        (default none: host candidates only, enough on one network)
  --relay-only          send everything through the TURN relay (iceTransportPolicy 'relay')
  --checkpoint-dir DIR  checkpoint model, round and config into DIR (one peer per directory)
  --checkpoint-every N  rounds between checkpoints (default 10; also one on SIGTERM/SIGINT)
  --resume              continue from DIR's checkpoint (its session, peer id and shard)
  --summary-out FILE    write a JSON summary when done
  --events-out FILE     append one JSON line per protocol event as it happens
  --debug-signals       fault injection: SIGUSR2 closes every data channel (the peer stays)
  --quiet               no progress line
  --verbose             log protocol events to stderr`;

export interface PeerSummary {
  peerId: string;
  role: string | null;
  round: number;
  /** Test accuracy of this peer's own final model (null: it never had one). */
  finalTestAccuracy: number | null;
  /** SHA-256 of its final flat weights: every peer that finished holds the same model. */
  modelSha256: string | null;
  /** The aggregator's test accuracy as announced when training ended (null if it left first). */
  sessionTestAccuracy: number | null;
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
      'link-mbps': { type: 'string' },
      'link-latency-ms': { type: 'string' },
      'ice-servers': { type: 'string' },
      'relay-only': { type: 'boolean' },
      'summary-out': { type: 'string' },
      'checkpoint-dir': { type: 'string' },
      'checkpoint-every': { type: 'string' },
      resume: { type: 'boolean' },
      'events-out': { type: 'string' },
      'debug-signals': { type: 'boolean' },
      quiet: { type: 'boolean' },
      verbose: { type: 'boolean' },
    },
  });
  const { server, token } = values;
  const checkpointDir = values['checkpoint-dir'];
  const checkpointEvery = Number(values['checkpoint-every'] ?? 10);
  if (!Number.isInteger(checkpointEvery) || checkpointEvery < 1) {
    console.error('--checkpoint-every must be a positive integer');
    return 2;
  }
  const linkMbps = values['link-mbps'] === undefined ? undefined : Number(values['link-mbps']);
  const linkLatencyMs =
    values['link-latency-ms'] === undefined ? undefined : Number(values['link-latency-ms']);
  if ((linkMbps !== undefined && !(linkMbps > 0)) || (linkLatencyMs !== undefined && !(linkLatencyMs >= 0))) {
    console.error('--link-mbps must be > 0 and --link-latency-ms >= 0');
    return 2;
  }
  let link: Partial<LinkSettings>;
  try {
    link = linkOptionsFromFlags({
      linkMbps,
      linkLatencyMs,
      iceServersJson: values['ice-servers'],
      relayOnly: values['relay-only'] === true,
    });
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    return 2;
  }
  let resume: Checkpoint | undefined;
  if (values.resume === true) {
    if (checkpointDir === undefined) {
      console.error('--resume needs --checkpoint-dir');
      return 2;
    }
    try {
      resume = await readCheckpointFile(checkpointDir);
    } catch (error) {
      // A missing, truncated or corrupt file: a coded error (CheckpointError), not a crash.
      console.error(`cannot resume: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    }
  }
  const session = values.session ?? resume?.sessionId;
  if (server === undefined || session === undefined || token === undefined) {
    console.error(JOIN_USAGE);
    return 2;
  }
  if (resume !== undefined && resume.sessionId !== session) {
    console.error(`cannot resume: the checkpoint is of session ${resume.sessionId}, not ${session}`);
    return 2;
  }
  if (checkpointDir !== undefined) {
    await mkdir(checkpointDir, { recursive: true });
    await removeStaleTemps(checkpointDir);
  }
  const delay = values['compute-delay-ms'] === undefined ? undefined : Number(values['compute-delay-ms']);
  const shard = values.shard === undefined ? resume?.shard : Number(values.shard);
  const peerId = values['peer-id'] ?? resume?.peerId;
  const peer = new Peer({
    serverUrl: server,
    sessionId: session,
    token,
    kind: 'headless',
    ...(peerId === undefined ? {} : { peerId }),
    ...(shard === undefined ? {} : { shard }),
    ...(delay === undefined ? {} : { settings: { computeDelayMs: delay } }),
    ...(resume === undefined ? {} : { resume }),
    link,
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
  const events = values['events-out'] === undefined ? null : openEventLog(values['events-out'], peer);
  const checkpointer =
    checkpointDir === undefined
      ? null
      : new Checkpointer(peer, {
          dir: checkpointDir,
          sessionId: session,
          everyRounds: checkpointEvery,
          onWritten: (written) => events?.write('checkpoint', written),
          onError: (error) => console.error(`checkpoint failed: ${String(error)}`),
        });
  checkpointer?.start();
  const flushCheckpoint = () =>
    checkpointer?.flush().catch((error: unknown) => console.error(`checkpoint failed: ${String(error)}`));
  const dropLinks = () => {
    events?.write('links-dropped', {});
    peer.dropLinks();
  };
  if (values['debug-signals'] === true) process.on('SIGUSR2', dropLinks);
  try {
    await peer.start();
    events?.write('joined', { round: peer.round, resumed: resume?.round ?? null });
    const progress =
      values.quiet === true ? null : showProgress(peer, process.stderr, peer.config?.rounds ?? 0);
    const done = await peer.finished;
    progress?.stop();
    await peer.leave();
    await flushCheckpoint();
    const model = peer.model();
    const modelHash = model === null ? null : await modelSha256(model);
    const summary: PeerSummary = {
      peerId: peer.peerId,
      role: peer.currentRole,
      round: done.round,
      finalTestAccuracy: peer.evaluateModel()?.accuracy ?? null,
      modelSha256: modelHash,
      sessionTestAccuracy: done.testAccuracy,
      backend: peer.backend,
      aggregatorChanges: peer.aggregatorChanges,
      frameBytes: peer.frameBytes(),
      wire: peer.traffic(),
      rejections: Object.fromEntries(peer.rejections),
      timeline: timeline.snapshot(),
      interrupted,
    };
    if (values.quiet !== true) {
      const own = summary.finalTestAccuracy;
      const acc = own === null ? 'n/a' : `${(own * 100).toFixed(2)}%`;
      console.error(
        interrupted ? `left at round ${done.round}` : `done at round ${done.round}: test accuracy ${acc}`,
      );
      if (modelHash !== null) console.error(`model sha256 ${modelHash}`);
    }
    if (values['summary-out'] !== undefined)
      await writeFile(values['summary-out'], JSON.stringify(summary, null, 2));
    return 0;
  } catch (error) {
    await peer.leave();
    await flushCheckpoint();
    // Interrupted while joining: leaving was asked for, not a failure.
    if (interrupted) return 0;
    console.error(`join failed: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  } finally {
    timeline.stop();
    checkpointer?.stop();
    events?.close();
    process.off('SIGINT', leave);
    process.off('SIGTERM', leave);
    process.off('SIGUSR2', dropLinks);
  }
}

/**
 * The link options the join flags ask for, checked as the transport will check them
 * (resolveLinkSettings): throws an Error whose message names the flag at fault.
 */
export function linkOptionsFromFlags(flags: {
  linkMbps: number | undefined;
  linkLatencyMs: number | undefined;
  iceServersJson: string | undefined;
  relayOnly: boolean;
}): Partial<LinkSettings> {
  const link: Partial<LinkSettings> = {
    ...(flags.linkMbps === undefined ? {} : { linkMbps: flags.linkMbps }),
    ...(flags.linkLatencyMs === undefined ? {} : { linkLatencyMs: flags.linkLatencyMs }),
    ...(flags.relayOnly ? { iceTransportPolicy: 'relay' as const } : {}),
  };
  if (flags.iceServersJson !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(flags.iceServersJson);
    } catch {
      throw new Error('--ice-servers must be a JSON array of {"urls": ...} objects');
    }
    const servers = iceServersSchema.safeParse(parsed);
    if (!servers.success) throw new Error(`--ice-servers: ${servers.error.issues[0]?.message ?? 'invalid'}`);
    link.iceServers = servers.data;
  }
  try {
    resolveLinkSettings(link);
  } catch (error) {
    throw new Error(`link options: ${error instanceof Error ? error.message : String(error)}`);
  }
  return link;
}

const iceServersSchema = z.array(
  z.object({
    urls: z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]),
    username: z.string().optional(),
    credential: z.string().optional(),
  }),
);
