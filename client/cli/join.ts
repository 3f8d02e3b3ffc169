/**
 * `liec join --server URL --session ID --token T`: runs one headless peer until training
 * ends, with a progress line; Ctrl-C (SIGINT) or SIGTERM leaves cleanly (and writes a last
 * checkpoint with --checkpoint-dir). `--resume` continues from that checkpoint: same session,
 * peer id and shard (see client/roles/checkpoint.ts). Every flag is checked before anything
 * connects; the peer runtime (TF.js, WebRTC) is loaded only then.
 */
import { Command, Option } from 'commander';
import { mkdir, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import type { Checkpoint } from '../roles/checkpoint.ts';
import type { Role } from '../roles/events.ts';
import type { SessionConfig } from '../../shared/protocol/session-config.ts';
import type { Learner } from '../training/learner.ts';
import { DEFAULT_SNAPSHOT_SETTINGS } from '../roles/snapshots.ts';
import { describeMissedEnd, type MissedEnd } from '../roles/final-model.ts';
import { RolePriority } from './role-priority.ts';
import type { LinkSettings } from '../transport/index.ts';
import {
  CommandFailure,
  connectionCause,
  httpUrl,
  integerIn,
  numberWhere,
  oneLine,
  plainDefaults,
  processIo,
  requireOptions,
  runProgram,
  UsageError,
  type CliIo,
} from './command.ts';
import type { Timeline } from './timeline.ts';
import type { SessionAccuracy } from '../../shared/protocol/signaling-status.ts';
import { joinData, type TestSetSummary } from './join-data.ts';

/** `--debug-signals`: how long SIGPWR cuts the data path (longer than failure detection). */
const DEBUG_PARTITION_MS = 4000;
/** `--debug-signals`: the share of frames SIGURG makes this peer truncate. */
const DEBUG_CORRUPT_SHARE = 0.3;

export function joinCommand(): Command {
  const nonNegative = numberWhere((v) => v >= 0, 'a number >= 0');
  const command = new Command('liec join')
    .description('Run one headless peer of a session until training ends (Ctrl-C leaves).')
    .addOption(new Option('--server <url>', 'the signaling server (required)').argParser(httpUrl))
    .addOption(new Option('--session <id>', "the session's id (default: the checkpoint's, with --resume)"))
    .addOption(new Option('--token <token>', 'the join token `liec create` printed (required)'))
    .addOption(new Option('--peer-id <id>', 'request this peer id (default: assigned)'))
    .addOption(
      new Option(
        '--shard <n>',
        "train on data shard n (default: join slot mod the session's dataShards)",
      ).argParser(integerIn(0)),
    )
    .addOption(
      new Option(
        '--data <path>',
        "this peer's own data for a csv or images session: a CSV file or a folder of class folders (with --shard: that part of it, after a held-back test part)",
      ),
    )
    .addOption(
      new Option(
        '--test-data <path>',
        "the test set the session names (liec create --test-set), checked by its SHA-256: this peer reports its model's accuracy on it, the session's accuracy",
      ),
    )
    .addOption(
      new Option('--compute-delay-ms <ms>', 'delay before each gradient (straggler injection)')
        .argParser(nonNegative)
        .default(0),
    )
    .addOption(
      new Option(
        '--aggregator-silence-ms <ms>',
        'report the aggregator unreachable after this long without a byte from it (default 1500; raise it for models whose gradient takes longer)',
      ).argParser(integerIn(100)),
    )
    .addOption(
      new Option(
        '--worker-niceness <n>',
        'peers sharing one machine: as a worker run n nicer than as the aggregator, which every round waits for (npm start passes 9 past 2 x cores peers; default 0)',
      )
        .argParser(integerIn(0))
        .default(0),
    )
    .addOption(
      new Option(
        '--link-mbps <x>',
        "shape this peer's link to x Mbit/s each way (default: unshaped)",
      ).argParser(numberWhere((v) => v > 0, 'a number > 0')),
    )
    .addOption(
      new Option('--link-latency-ms <ms>', 'one-way delay added to what this peer sends')
        .argParser(nonNegative)
        .default(0),
    )
    .addOption(
      new Option(
        '--ice-servers <json>',
        `STUN/TURN servers, e.g. '[{"urls":"turn:host:3478","username":"u","credential":"p"}]' (default: none, host candidates only)`,
      ),
    )
    .addOption(
      new Option(
        '--relay-only',
        "send everything through the TURN relay (iceTransportPolicy 'relay')",
      ).default(false),
    )
    .addOption(
      new Option(
        '--checkpoint-dir <dir>',
        'checkpoint model, round and config into dir (one peer per directory)',
      ),
    )
    .addOption(
      new Option('--checkpoint-every <n>', 'rounds between checkpoints (also one on SIGTERM/SIGINT)')
        .argParser(integerIn(1))
        .default(10),
    )
    .addOption(
      new Option(
        '--resume',
        "continue from --checkpoint-dir's checkpoint (its session, peer id and shard)",
      ).default(false),
    )
    .addOption(
      new Option(
        '--snapshot-every <n>',
        'as the aggregator, keep the model every n rounds (operator rollback)',
      )
        .argParser(integerIn(1))
        .default(DEFAULT_SNAPSHOT_SETTINGS.everyRounds),
    )
    .addOption(
      new Option('--snapshots-kept <n>', 'how many of those snapshots to keep (the oldest goes first)')
        .argParser(integerIn(1))
        .default(DEFAULT_SNAPSHOT_SETTINGS.keep),
    )
    .addOption(new Option('--summary-out <file>', 'write a JSON summary when done'))
    .addOption(
      new Option(
        '--save-model <dir>',
        'a session with its own model (liec create --model): write the model this peer ends on to dir (model.json + weights, for tf.loadLayersModel)',
      ),
    )
    .addOption(new Option('--events-out <file>', 'append one JSON line per protocol event as it happens'))
    .addOption(
      new Option(
        '--debug-signals',
        'fault injection: SIGUSR2 closes every data channel, SIGPWR cuts the data path for 4 s ' +
          '(signaling stays up), SIGURG toggles truncating 30% of the frames sent',
      ).default(false),
    )
    .addOption(
      new Option(
        '--progress-width <columns>',
        'redraw the progress line in place, this wide (default: the terminal width when stderr is one, else a line per evaluated round)',
      ).argParser(integerIn(10)),
    )
    .addOption(new Option('--quiet', 'no progress line').default(false))
    .addOption(new Option('--verbose', 'log protocol events to stderr').default(false));
  return plainDefaults(command);
}

interface JoinOptions {
  server: string;
  session?: string;
  token: string;
  peerId?: string;
  shard?: number;
  data?: string;
  testData?: string;
  computeDelayMs: number;
  aggregatorSilenceMs?: number;
  workerNiceness: number;
  linkMbps?: number;
  linkLatencyMs: number;
  iceServers?: string;
  relayOnly: boolean;
  checkpointDir?: string;
  checkpointEvery: number;
  resume: boolean;
  snapshotEvery: number;
  snapshotsKept: number;
  summaryOut?: string;
  saveModel?: string;
  eventsOut?: string;
  debugSignals: boolean;
  progressWidth?: number;
  quiet: boolean;
  verbose: boolean;
}

export interface PeerSummary {
  peerId: string;
  /** The role it ended in (it left or training ended), null if it never had one. */
  role: string | null;
  round: number;
  /** Test accuracy of this peer's own final model (null: it never had one). */
  finalTestAccuracy: number | null;
  /** SHA-256 of its final flat weights: every peer that finished holds the same model. */
  modelSha256: string | null;
  /**
   * csv and images tasks: this peer's examples and its final model's accuracy on its own
   * validation part (the session's accuracy is their size-weighted mean); finalTestAccuracy
   * is then on the held-back test part with --shard, else equal to this accuracy.
   */
  validation?: { examples: number; accuracy: number | null; train: number; test: number };
  /** With --test-data: the session's named test set and this peer's final model's accuracy on it. */
  testSet?: TestSetSummary;
  /** The aggregator's test accuracy as announced when training ended (null if it left first). */
  sessionTestAccuracy: number | null;
  /**
   * csv and images tasks: the session's accuracy on /status once this peer reported its final
   * one (the members' evaluations weighted by their sizes; null if the server had none).
   */
  sessionAccuracy?: SessionAccuracy | null;
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
  /** Set when the session ended while this peer was rounds behind (Peer.missedEnd): its model is its own. */
  missedEnd?: MissedEnd;
  /**
   * CPU time of this process (user and system, every thread) from its start to this summary:
   * what a session costs the device, start-up included. Summed over peers, a steadier figure
   * than wall time on a shared machine (bench:start).
   */
  cpuSeconds: number;
}

/** This process's user and system CPU time so far, in seconds. */
function cpuSecondsSoFar(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let code = 0;
  const command = joinCommand().action(async () => {
    requireOptions(command, ['server', 'token']);
    code = await run(command.opts<JoinOptions>(), io);
  });
  return runProgram(command, argv, io, () => code);
}

async function run(opts: JoinOptions, io: CliIo): Promise<number> {
  const { server, token, checkpointDir } = opts;
  let link: Partial<LinkSettings>;
  try {
    link = await linkOptionsFromFlags({
      linkMbps: opts.linkMbps,
      linkLatencyMs: opts.linkLatencyMs === 0 ? undefined : opts.linkLatencyMs,
      iceServersJson: opts.iceServers,
      relayOnly: opts.relayOnly,
    });
  } catch (error) {
    throw new UsageError(oneLine(error));
  }
  if (opts.resume && checkpointDir === undefined) throw new UsageError('--resume needs --checkpoint-dir');
  if (!opts.resume && opts.session === undefined)
    throw new UsageError("required option '--session <id>' not specified");
  const { Checkpointer, readCheckpointFile, removeStaleTemps } = await import('../roles/checkpoint.ts');
  let resume: Checkpoint | undefined;
  if (opts.resume && checkpointDir !== undefined) {
    try {
      resume = await readCheckpointFile(checkpointDir);
    } catch (error) {
      // A missing, truncated or corrupt file: a coded error (CheckpointError), not a crash.
      throw new CommandFailure(`cannot resume: ${oneLine(error)}`);
    }
  }
  const session = opts.session ?? resume?.sessionId;
  if (session === undefined) throw new UsageError("required option '--session <id>' not specified");
  if (resume !== undefined && resume.sessionId !== session)
    throw new UsageError(`cannot resume: the checkpoint is of session ${resume.sessionId}, not ${session}`);
  if (checkpointDir !== undefined) {
    await mkdir(checkpointDir, { recursive: true });
    await removeStaleTemps(checkpointDir);
  }
  const [{ Peer }, { openEventLog }, { showProgress, wireBytesText }, { recordTimeline }, { modelSha256 }] =
    await Promise.all([
      import('../roles/peer.ts'),
      import('./event-log.ts'),
      import('./progress.ts'),
      import('./timeline.ts'),
      import('../../shared/model-hash.ts'),
    ]);
  // Fast rejoin: what a peer needs before its first round (TF.js, the model, its data) loads
  // while it joins, not after. A resumed peer knows the session's config from its checkpoint
  // and builds its learner at once; a new one starts TF.js.
  const shard = opts.shard ?? resume?.shard;
  const peerId = opts.peerId ?? resume?.peerId;
  const local = joinData({
    ...(opts.data === undefined ? {} : { data: opts.data }),
    ...(opts.testData === undefined ? {} : { testData: opts.testData }),
    ...(shard === undefined ? {} : { share: shard }),
    round: () => peer.round,
  });
  // A model over the inline limit: its weights come from the server (by hash) before the learner.
  const { fetchingModelWeights } = await import('../training/model-weights.ts');
  const create = fetchingModelWeights(server, local.create);
  const preloaded = resume === undefined ? null : preloadLearner(resume.config, create, shard);
  if (preloaded === null)
    void import('../training/backend.ts').then(({ selectBackend }) => selectBackend()).catch(() => {});
  // A new peer does not warm its learner up: with one throw-away gradient at the join (tried
  // in f2d7795) test/cli/custom-model-held.test.ts's conv net ended at 0.18-0.37 accuracy after
  // its 10 rounds instead of 0.50-0.56, for a cause not found yet.
  const load = preloaded ?? create;
  const peer = new Peer({
    // The event log says when it was ready, against its join (bench/rejoin.ts).
    createLearner: (config) =>
      load(config).then((learner) => {
        events?.write('learner-ready', {});
        return learner;
      }),
    serverUrl: server,
    sessionId: session,
    token,
    kind: 'headless',
    ...(peerId === undefined ? {} : { peerId }),
    ...(shard === undefined ? {} : { shard }),
    settings: {
      ...(opts.computeDelayMs > 0 ? { computeDelayMs: opts.computeDelayMs } : {}),
      ...(opts.aggregatorSilenceMs === undefined ? {} : { aggregatorSilenceMs: opts.aggregatorSilenceMs }),
    },
    ...(resume === undefined ? {} : { resume }),
    onJoined: (client) => {
      events?.write('join-reached', {});
      local.attach(client);
    },
    snapshots: { everyRounds: opts.snapshotEvery, keep: opts.snapshotsKept },
    link,
    log: (level, message) => {
      if (opts.verbose || level === 'warn') io.err(`${message}\n`);
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
  // The role it ended in: a peer that left has none (currentRole null).
  let lastRole: Role | null = null;
  const priority = new RolePriority(opts.workerNiceness, (message) => io.err(`${message}\n`));
  const offRole = peer.events.on('role', (e) => {
    lastRole = e.role;
    priority.apply(e.role);
  });
  const events = opts.eventsOut === undefined ? null : openEventLog(opts.eventsOut, peer);
  const checkpointer =
    checkpointDir === undefined
      ? null
      : new Checkpointer(peer, {
          dir: checkpointDir,
          sessionId: session,
          everyRounds: opts.checkpointEvery,
          onWritten: (written) => events?.write('checkpoint', written),
          onError: (error) => io.err(`checkpoint failed: ${String(error)}\n`),
        });
  checkpointer?.start();
  const flushCheckpoint = () =>
    checkpointer?.flush().catch((error: unknown) => io.err(`checkpoint failed: ${String(error)}\n`));
  const dropLinks = () => {
    events?.write('links-dropped', {});
    peer.dropLinks();
  };
  let corrupting = false;
  const toggleCorruption = () => {
    corrupting = !corrupting;
    events?.write('corrupting', { on: corrupting });
    peer.corruptFrames(corrupting ? DEBUG_CORRUPT_SHARE : 0);
  };
  const cutLinks = () => {
    events?.write('partitioned', { ms: DEBUG_PARTITION_MS });
    peer.partitionLinks(DEBUG_PARTITION_MS);
  };
  const debugHandlers = [
    ['SIGUSR2', dropLinks],
    ['SIGPWR', cutLinks],
    ['SIGURG', toggleCorruption],
  ] as const;
  if (opts.debugSignals) for (const [signal, handler] of debugHandlers) process.on(signal, handler);
  try {
    try {
      await peer.start();
    } catch (error) {
      if (interrupted) throw error;
      const cause = await connectionCause(server);
      throw cause === null ? error : new CommandFailure(`cannot connect to ${server}: ${cause}`);
    }
    events?.write('joined', { round: peer.round, resumed: resume?.round ?? null });
    const progress = opts.quiet
      ? null
      : showProgress(peer, process.stderr, peer.config?.rounds ?? 0, opts.progressWidth);
    const done = await peer.finished;
    progress?.stop();
    // Out of the session for repeated offences (the server refuses its rejoin): a failure.
    if (peer.expelled !== null) throw new CommandFailure(`expelled from the session: ${peer.expelled}`);
    // The final model's figure goes to the server before this peer leaves, then the session's.
    // Not a model of its own: one that missed the end holds no final model.
    const sessionAccuracy =
      peer.missedEnd === null ? await local.reportFinal(peer.model(), server, session) : undefined;
    // As the aggregator, not before a worker that missed the end has fetched the final model.
    if (!interrupted) await peer.finalModelServed();
    await peer.leave();
    await flushCheckpoint();
    const model = peer.model();
    const modelHash = model === null ? null : await modelSha256(model);
    const validation = local.validation(model);
    const testSet = local.testSet(model);
    const summary: PeerSummary = {
      peerId: peer.peerId,
      role: peer.currentRole ?? lastRole,
      round: done.round,
      finalTestAccuracy: local.testAccuracy(model) ?? peer.evaluateModel()?.accuracy ?? null,
      ...(validation === undefined ? {} : { validation }),
      ...(testSet === undefined ? {} : { testSet }),
      modelSha256: modelHash,
      sessionTestAccuracy: done.testAccuracy,
      ...(sessionAccuracy === undefined ? {} : { sessionAccuracy }),
      backend: peer.backend,
      aggregatorChanges: peer.aggregatorChanges,
      frameBytes: peer.frameBytes(),
      wire: peer.traffic(),
      rejections: Object.fromEntries(peer.rejections),
      timeline: timeline.snapshot(),
      interrupted,
      ...(peer.missedEnd === null ? {} : { missedEnd: peer.missedEnd }),
      cpuSeconds: cpuSecondsSoFar(),
    };
    if (!opts.quiet) {
      const own = summary.finalTestAccuracy;
      const acc = own === null ? 'n/a' : `${(own * 100).toFixed(2)}%`;
      io.err(
        `${interrupted ? `left at round ${done.round}` : `done at round ${done.round}: test accuracy ${acc}`}; ${wireBytesText(summary.role, summary.wire)}\n`,
      );
      if (peer.missedEnd !== null) io.err(`${describeMissedEnd(peer.missedEnd)}\n`);
      if (modelHash !== null) io.err(`model sha256 ${modelHash}\n`);
      if (sessionAccuracy != null)
        io.err(`${(await import('./session-accuracy.ts')).sessionAccuracyText(sessionAccuracy)}\n`);
    }
    if (opts.summaryOut !== undefined) await writeFile(opts.summaryOut, JSON.stringify(summary, null, 2));
    if (opts.saveModel !== undefined) await saveFinalModel(peer.config, model, opts.saveModel, io);
    return 0;
  } catch (error) {
    await peer.leave();
    await flushCheckpoint();
    // Interrupted while joining: leaving was asked for, not a failure.
    if (interrupted) return 0;
    if (error instanceof CommandFailure) throw error;
    throw new CommandFailure(`join failed: ${oneLine(error)}`);
  } finally {
    timeline.stop();
    offRole();
    checkpointer?.stop();
    events?.close();
    process.off('SIGINT', leave);
    process.off('SIGTERM', leave);
    for (const [signal, handler] of debugHandlers) process.off(signal, handler);
  }
}

/** --save-model: the session's own model holding `model`, written to `dir` (said on stderr). */
async function saveFinalModel(
  config: SessionConfig | null,
  model: Float32Array | null,
  dir: string,
  io: CliIo,
): Promise<void> {
  const custom = config?.customModel;
  if (custom === undefined)
    throw new CommandFailure(
      '--save-model needs a session created with its own model (liec create --model DIR)',
    );
  if (model === null)
    throw new CommandFailure('--save-model: this peer holds no model (it left before training)');
  const { saveSessionModel } = await import('./model-dir.ts');
  await saveSessionModel(custom, model, dir);
  io.err(`model saved to ${dir} (model.json, tf.loadLayersModel)\n`);
}

/**
 * The link options the join flags ask for, checked as the transport will check them
 * (resolveLinkSettings): throws an Error whose message names the flag at fault.
 */
export async function linkOptionsFromFlags(flags: {
  linkMbps: number | undefined;
  linkLatencyMs: number | undefined;
  iceServersJson: string | undefined;
  relayOnly: boolean;
}): Promise<Partial<LinkSettings>> {
  const { resolveLinkSettings } = await import('../transport/index.ts');
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

/**
 * Peer's createLearner for a resumed peer: the learner of the checkpoint's config starts
 * loading now, before the join, and serves if the session's config is that one (else
 * resuming fails anyway, CHECKPOINT_MISMATCH). With its shard known, it also computes one
 * gradient there (warmUpLearner) while the join and the links are under way.
 */
function preloadLearner(
  expected: SessionConfig,
  create: (config: SessionConfig) => Promise<Learner & { backend?: string }>,
  shard: number | undefined,
): (config: SessionConfig) => Promise<Learner & { backend?: string }> {
  const loading = create(expected).then((learner) => {
    if (shard !== undefined) warmUpLearner(learner, shard % expected.dataShards);
    return learner;
  });
  loading.catch(() => {}); // a failure surfaces where it is awaited
  return (config) => (JSON.stringify(config) === JSON.stringify(expected) ? loading : create(config));
}

/**
 * One gradient on `shard`, thrown away: the first one reads the shard's images and builds
 * the backend's kernels (0.5-0.7 s of a resumed chaos peer's first round under load, 0.05-0.2
 * s later). It takes one batch of the shard's sampler, which a restarted process starts
 * from its beginning anyway (the checkpoint holds no batch position). A failure is left to
 * the peer's own first gradient.
 */
function warmUpLearner(learner: Learner, shard: number): void {
  try {
    learner.gradient(shard, learner.initialWeights());
  } catch {
    // the same call fails again in the peer's first round, where it is reported
  }
}
