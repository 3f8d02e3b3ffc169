/**
 * `npm start` (`liec demo`): the demo on embedded defaults. Starts a signaling server,
 * creates a LIEC-SGD session, launches N headless peers as separate processes on loopback,
 * prints the URL to watch, the aggregator's progress, and at the end the final accuracy and traffic:
 * the aggregator's wire bytes and all peers' frame bytes, labelled as in the progress line. A csv
 * or images task's session accuracy is the one the server states on /status (the members' own
 * reports weighted by their sizes, signaling/session-accuracy.ts), followed while they train.
 * Each peer's stderr goes to a log file in a temp folder, kept (and named) when a peer fails.
 *
 * @example
 * npm start -- --peers 4 --rounds 300 --out summary.json
 */
import { Command, Option } from 'commander';
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, getPriority, setPriority, tmpdir } from 'node:os';
import { join as joinPath, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  CommandFailure,
  integerIn,
  numberWhere,
  oneLine,
  plainDefaults,
  processIo,
  runProgram,
  UsageError,
  type CliIo,
} from './command.ts';
import { cliEntry } from './entry.ts';
import { addConfigOptions, configFlagValues, configInputFromFlags } from './config-flags.ts';
import { parseSessionConfig } from '../../shared/protocol/session-config.ts';
import type { SessionAccuracy } from '../../shared/protocol/signaling-status.ts';
import type { PeerSummary } from './join.ts';
import { roundStats } from './round-stats.ts';
import { mb, wireBytesText } from './progress.ts';
import { sessionAccuracyText } from './session-accuracy.ts';
import { addTaskOptions, withTask, type TaskOptions } from './task-flags.ts';
import { buildWebAppInto } from './web-app.ts';

const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

export function demoCommand(name = 'liec demo'): Command {
  const command = new Command(name)
    .description(
      'Train on loopback: a signaling server and N headless peers (separate processes, real WebRTC); ' +
        'print the watch link, progress, final accuracy and traffic.',
    )
    .addOption(new Option('--peers <n>', 'headless peers').argParser(integerIn(1, 64)).default(4))
    .addOption(
      new Option('--port <port>', 'signaling server port (the default falls back to any free port)')
        .argParser(integerIn(0, 65_535))
        .default(8080),
    )
    .addOption(new Option('--out <file>', 'write the JSON summary here'))
    .addOption(
      new Option(
        '--link-mbps <x>',
        "shape every peer's link to x Mbit/s (see `liec join`; default: unshaped)",
      ).argParser(numberWhere((v) => v > 0, 'a number > 0')),
    )
    .addOption(
      new Option('--link-latency-ms <ms>', 'one-way delay added by every peer')
        .argParser(numberWhere((v) => v >= 0, 'a number >= 0'))
        .default(0),
    );
  return plainDefaults(
    addConfigOptions(addTaskOptions(command), {
      rounds: { value: '300' },
      'min-peers': { text: 'the value of --peers' },
      'data-shards': { text: 'the value of --peers' },
    }),
  );
}

interface DemoOptions {
  peers: number;
  port: number;
  out?: string;
  linkMbps?: number;
  linkLatencyMs: number;
}

/**
 * The niceness the demo's peers run at, above the demo's own process, which hosts the
 * signaling server, when there are more peers than STARTING_PEERS_AT_ONCE: then the peers
 * compete for the CPU, and a starved server stops answering joins and heartbeats (64 peers on
 * 2 cores at niceness 5: load 65, the server's process got 3% of a core and /status took over
 * 20 s). The server needs little CPU, so this costs the peers next to nothing. Fewer peers
 * keep the demo's priority (tests run small demos beside other work).
 */
export const DEMO_PEER_NICENESS = 10;

/**
 * How much nicer than the aggregator the demo's workers run, past STARTING_PEERS_AT_ONCE
 * peers (client/cli/role-priority.ts): niceness 19 against the aggregator's 10, about 7x
 * less CPU each than it when all compete.
 */
export const DEMO_WORKER_NICENESS = 9;

function lowerPriority(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    setPriority(pid, Math.min(19, getPriority(process.pid) + DEMO_PEER_NICENESS));
  } catch {
    // Not permitted or already gone: the peer runs at the demo's priority, as before.
  }
}

/** Runs one headless peer process, its stderr into `logPath` (and to `echo`); resolves with its exit code. */
export function runPeer(
  args: string[],
  logPath: string,
  echo: (text: string) => void = () => {},
  niced = false,
): Promise<number> {
  // Built peers when this demo runs from the build (npm start), source peers when from source.
  const { execArgv, script } = cliEntry();
  const child = spawn(process.execPath, [...execArgv, script, 'join', ...args], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  if (niced) lowerPriority(child.pid);
  const log = createWriteStream(logPath);
  child.stderr.pipe(log);
  child.stderr.on('data', (chunk: Buffer) => echo(chunk.toString('utf8')));
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
  const logged = new Promise<void>((resolve) => log.once('close', () => resolve()));
  return Promise.all([exited, logged]).then(([code]) => code);
}

/**
 * Peers starting at once (spawned, not yet in the session): each start costs about a second
 * of CPU (loading the code, TF.js's wasm, the digits). With 64 started together on 2 cores
 * (load average 80) 17 of 64 timed out connecting to the signaling server (10 s) and the
 * session, waiting for minPeers, never began; started 4 at a time every one joins.
 */
export const STARTING_PEERS_AT_ONCE = Math.max(2, 2 * availableParallelism());
/** How often the demo looks whether a starting peer has joined (the server is in-process). */
const JOIN_POLL_MS = 100;

/**
 * Starts `count` peers (`start(i)` resolves with peer i's exit code), keeping at most
 * `limit` of them starting at a time: peer i has started once `hasJoined(i)` or it exited.
 * Resolves with every exit code, in peer order.
 */
export async function startPaced(
  count: number,
  start: (i: number) => Promise<number>,
  hasJoined: (i: number) => boolean,
  limit = STARTING_PEERS_AT_ONCE,
): Promise<number[]> {
  const exits: Promise<number>[] = [];
  const exited = new Set<number>();
  const starting = () => exits.filter((_, i) => !exited.has(i) && !hasJoined(i)).length;
  for (let i = 0; i < count; i++) {
    while (starting() >= limit) await new Promise((resolve) => setTimeout(resolve, JOIN_POLL_MS));
    const index = i;
    exits.push(
      start(i).then((code) => {
        exited.add(index);
        return code;
      }),
    );
  }
  return Promise.all(exits);
}

/**
 * Calls `onChange` with the session's aggregator each time the server's /status names a new
 * one (every `intervalMs`) until the returned function is called.
 */
export function followAggregator(
  url: string,
  sessionId: string,
  onChange: (peerId: string) => void,
  intervalMs = 250,
): () => void {
  let stopped = false;
  let current: string | null = null;
  const poll = async () => {
    while (!stopped) {
      try {
        const response = await fetch(new URL('/status', url));
        const status = (await response.json()) as {
          sessions?: { sessionId: string; aggregator: { peerId: string | null } }[];
        };
        const id = status.sessions?.find((s) => s.sessionId === sessionId)?.aggregator.peerId ?? null;
        if (id !== null && id !== current && !stopped) {
          current = id;
          onChange(id);
        }
      } catch {
        // The server is local; a failed poll is retried.
      }
      await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
  };
  void poll();
  return () => {
    stopped = true;
  };
}

/** How often the demo reads the session's accuracy from its in-process server's status. */
const ACCURACY_POLL_MS = 250;
/**
 * The demo server's heartbeat interval (the server's default is 5000 ms). Peers report their
 * accuracy with their heartbeats, and a demo run lasts seconds: at 5 s a busy machine ended
 * a 40-round csv run before the second peer's report reached /status, and the summary's
 * session figure covered one peer of two.
 */
const DEMO_HEARTBEAT_INTERVAL_MS = 1000;

/**
 * Of two figures /status stated for the session, the one to keep: a test-set figure over a
 * validation one, then the one over more reporting members, the later (`seen`) on a tie.
 * Members leave one by one at the end and /status stops counting a member once it left, so
 * what is kept is the last figure before the first of them left (with the final reports of
 * those that had sent theirs), not the lone last peer's.
 */
export function keepSessionAccuracy(
  kept: SessionAccuracy | null,
  seen: SessionAccuracy | null | undefined,
): SessionAccuracy | null {
  if (seen == null) return kept;
  if (kept === null) return seen;
  if (seen.set !== kept.set) return seen.set === 'test' ? seen : kept;
  return seen.peers >= kept.peers ? seen : kept;
}

/**
 * Reads the session's accuracy every `intervalMs` until `stop`, which returns the figure kept
 * (keepSessionAccuracy; null when no member reported: an mnist task).
 */
export function followSessionAccuracy(
  read: () => SessionAccuracy | undefined,
  intervalMs = ACCURACY_POLL_MS,
): { stop(): SessionAccuracy | null } {
  let kept: SessionAccuracy | null = null;
  const timer = setInterval(() => (kept = keepSessionAccuracy(kept, read())), intervalMs);
  return {
    stop() {
      clearInterval(timer);
      kept = keepSessionAccuracy(kept, read());
      return kept;
    },
  };
}

/** The test accuracy the demo times (secondsTo90): DISCO's target in issue 20's comparison. */
export const TARGET_TEST_ACCURACY = 0.9;

/**
 * Wall seconds from the opening of the first round to the end of the first evaluation at
 * which an aggregator's own model (the one it holds, evaluated every evalEvery rounds) reached
 * `target` test accuracy, and the rounds done by then; null when none did. Read from every
 * peer's timeline, so rounds closed by an aggregator that was replaced count too.
 */
export function timeToAccuracy(
  summaries: readonly PeerSummary[],
  target = TARGET_TEST_ACCURACY,
): { seconds: number | null; rounds: number | null } {
  const rounds = summaries.flatMap((s) => s.timeline.rounds);
  if (rounds.length === 0) return { seconds: null, rounds: null };
  const start = Math.min(...rounds.map((r) => r.closedAt - r.durationMs));
  const reached = rounds
    .filter((r) => r.testAccuracy !== null && r.testAccuracy >= target)
    .sort((a, b) => a.closedAt - b.closedAt)[0];
  if (reached === undefined) return { seconds: null, rounds: null };
  return { seconds: (reached.closedAt + reached.evalMs - start) / 1000, rounds: reached.round + 1 };
}

/**
 * The demo's JSON summary from the peers' own summaries and the session's accuracy the server
 * stated: what followSessionAccuracy kept and the figures the peers read from /status at their
 * end, the one over the most members (keepSessionAccuracy).
 */
export function demoSummary(
  summaries: PeerSummary[],
  meta: {
    peerCount: number;
    rounds: number;
    algorithm: string;
    up: string;
    down: string;
    wallSeconds: number;
  },
  exitCodes: number[],
  followed: SessionAccuracy | null = null,
) {
  const finished = summaries.filter((s) => !s.interrupted && s.modelSha256 !== null);
  const testAccuracy = finished.find((s) => s.finalTestAccuracy !== null)?.finalTestAccuracy ?? null;
  // The peers' own reads count too: each read /status once every member's final report was in,
  // a moment the demo's polling can miss when a short run ends within one poll.
  const sessionAccuracy = summaries.reduce<SessionAccuracy | null>(
    (kept, s) => keepSessionAccuracy(kept, s.sessionAccuracy),
    followed,
  );
  const hashes = new Set(finished.map((s) => s.modelSha256));
  const aggregator = summaries.find((s) => s.role === 'aggregator') ?? null;
  const to90 = timeToAccuracy(summaries);
  return {
    ...meta,
    /** timeToAccuracy at TARGET_TEST_ACCURACY (null: never reached). */
    secondsTo90: to90.seconds,
    roundsTo90: to90.rounds,
    /** Of the model the peers end on; identicalModels: every finished peer holds the same bits. */
    final: {
      testAccuracy,
      /** csv and images: the session's accuracy as /status stated it (its members' own reports). */
      ...(sessionAccuracy === null ? {} : { sessionAccuracy }),
    },
    identicalModels: finished.length > 0 && hashes.size === 1,
    peers: finished.map((s) => ({
      peerId: s.peerId,
      modelSha256: s.modelSha256,
      finalTestAccuracy: s.finalTestAccuracy,
      ...(s.validation === undefined ? {} : { validation: s.validation }),
    })),
    /** All peers' frame bytes: sent up as workers, down as aggregators. */
    bytes: {
      up: summaries.reduce((s, p) => s + p.frameBytes.up, 0),
      down: summaries.reduce((s, p) => s + p.frameBytes.down, 0),
    },
    /** All peers' wire bytes sent (frames plus WebRTC framing). */
    wireBytes: summaries.reduce((s, p) => s + p.wire.sent, 0),
    /** The wire bytes of the peer that was the aggregator at the end (null: none finished as one). */
    aggregatorWireBytes: aggregator === null ? null : aggregator.wire,
    aggregatorChanges: Math.max(0, ...summaries.map((s) => s.aggregatorChanges)),
    /** CPU seconds of all peer processes, start-up included (PeerSummary.cpuSeconds). */
    peerCpuSeconds: summaries.reduce((s, p) => s + p.cpuSeconds, 0),
    /** Rounds per second and peers counted per round (null: no round closed). */
    pace: roundStats(summaries.map((s) => s.timeline)),
    backends: [...new Set(summaries.map((s) => s.backend))],
    transport: 'webrtc' as const,
    exitCodes,
  };
}

/** The summary's last lines, with the same traffic labels as the progress line. */
export function summaryLines(summary: ReturnType<typeof demoSummary>): string[] {
  const { testAccuracy } = summary.final;
  const modelCount = new Set(summary.peers.map((p) => p.modelSha256)).size;
  const lines: string[] = [];
  if (summary.peers.length > 0)
    lines.push(
      modelCount === 1
        ? `all ${summary.peers.length} peers hold the same model, sha256 ${summary.peers[0]?.modelSha256 ?? ''}`
        : `warning: the ${summary.peers.length} peers hold ${modelCount} different models`,
    );
  lines.push(
    `final test accuracy ${testAccuracy === null ? 'n/a' : `${(testAccuracy * 100).toFixed(2)}%`}, ${summary.wallSeconds.toFixed(1)} s`,
  );
  lines.push(
    summary.secondsTo90 === null
      ? `${TARGET_TEST_ACCURACY * 100}% test accuracy: not reached`
      : `${TARGET_TEST_ACCURACY * 100}% test accuracy after ${summary.secondsTo90.toFixed(1)} s (round ${summary.roundsTo90 ?? '?'})`,
  );
  if (summary.final.sessionAccuracy !== undefined)
    lines.push(sessionAccuracyText(summary.final.sessionAccuracy));
  const { pace } = summary;
  if (pace !== null) {
    const { min, median, max } = pace.countedPerRound;
    lines.push(
      `pace: ${pace.rounds} rounds in ${pace.trainingSeconds.toFixed(1)} s (${pace.roundsPerSecond.toFixed(2)}/s), peers counted per round ${min}-${max} (median ${median}) of ${summary.peerCount}`,
    );
  }
  if (summary.aggregatorWireBytes !== null)
    lines.push(`traffic: ${wireBytesText('aggregator', summary.aggregatorWireBytes)}`);
  lines.push(`traffic: all peers' frame bytes: up ${mb(summary.bytes.up)}, down ${mb(summary.bytes.down)}`);
  return lines;
}

/**
 * Names the log file of every peer that failed (and the folder if none did but no accuracy
 * came); true when something failed, so the logs are kept.
 */
export function reportFailures(
  codes: readonly number[],
  logPath: (peer: number) => string,
  accuracyKnown: boolean,
  workdir: string,
  io: CliIo,
): boolean {
  let failed = false;
  codes.forEach((code, i) => {
    if (code === 0) return;
    failed = true;
    io.err(`peer ${i} failed (exit code ${code}); its log: ${logPath(i)}\n`);
  });
  if (!failed && !accuracyKnown) io.err(`no peer reported a final accuracy; the peers' logs: ${workdir}\n`);
  return failed || !accuracyKnown;
}

export async function main(
  argv: readonly string[],
  io: CliIo = processIo,
  name = 'liec demo',
): Promise<number> {
  let code = 0;
  const command = demoCommand(name).action(async () => {
    code = await run(command, io);
  });
  return runProgram(command, argv, io, () => code, name);
}

async function run(command: Command, io: CliIo): Promise<number> {
  const opts = command.opts<DemoOptions>();
  const peers = opts.peers;
  const flags = configFlagValues(command);
  const taskOpts = command.opts<TaskOptions>();
  const config = parseSessionConfig(
    await withTask(
      configInputFromFlags({
        ...flags,
        'min-peers': flags['min-peers'] ?? String(peers),
        'data-shards': flags['data-shards'] ?? String(peers),
      }),
      taskOpts,
    ),
  );
  // Every peer reads the one file and keeps its part (--shard) after the held-back test part.
  const dataArgs = taskOpts.data === undefined ? [] : ['--data', resolvePath(taskOpts.data)];
  if (config.minPeers > peers)
    throw new UsageError(
      `option '--min-peers <n>' argument '${config.minPeers}' is invalid. expected at most --peers ${peers}`,
    );
  const [{ createAppServer }, { SignalingClient }, { joinLinks }] = await Promise.all([
    import('../../signaling/app-server.ts'),
    import('../signaling/index.ts'),
    import('./create.ts'),
  ]);
  // Serves the web app too, so the watch link below opens the dashboard.
  const server = await createAppServer({
    logLevel: 'warn',
    buildApp: buildWebAppInto,
    heartbeatIntervalMs: DEMO_HEARTBEAT_INTERVAL_MS,
  });
  let url: string;
  try {
    url = await server.start({ port: opts.port, host: '127.0.0.1' });
  } catch (error) {
    if (command.getOptionValueSource('port') !== 'default')
      throw new CommandFailure(`cannot listen on 127.0.0.1:${opts.port}: ${oneLine(error)}`);
    url = await server.start({ port: 0, host: '127.0.0.1' }); // 8080 taken: any free port
  }
  const workdir = await mkdtemp(joinPath(tmpdir(), 'liec-demo-'));
  let keepLogs = false;
  try {
    const creator = new SignalingClient();
    await creator.connect(url);
    const { sessionId, token } = await creator.create(config);
    creator.close();
    const links = joinLinks(url, sessionId, token);
    io.out(
      `signaling server: ${url}\nwatch the session: ${links.watch}\njoin from a browser tab: ${links.browser}\n`,
    );
    io.out(
      `training ${config.algorithm} (up ${config.up}, down ${config.down}, lr ${config.learningRate}, batch ${config.batchSize}) on ${config.task === 'mnist' ? 'MNIST' : `${config.task} ${taskOpts.data ?? ''}`} with ${peers} headless peers, ${config.rounds} rounds\n`,
    );
    const width = process.stderr.isTTY ? (process.stderr.columns ?? 80) : undefined;
    const started = performance.now();
    const logPath = (i: number) => joinPath(workdir, `peer-${i}.log`);
    // Every peer draws its progress into its log; the aggregator's is shown here.
    let shown = -1;
    const stopFollowing = followAggregator(url, sessionId, (peerId) => {
      const index = Number(peerId.replace(/^peer-/, ''));
      if (shown !== -1) io.err(`${width === undefined ? '' : '\n'}the aggregator is now ${peerId}\n`);
      shown = index;
    });
    const session = () => server.status().sessions.find((s) => s.sessionId === sessionId);
    const joined = (): Set<string> => new Set(session()?.peers.map((p) => p.peerId) ?? []);
    const accuracy = followSessionAccuracy(() => session()?.accuracy);
    let followed: SessionAccuracy | null = null;
    const codes = await startPaced(
      peers,
      (i) =>
        runPeer(
          [
            ...['--server', url, '--session', sessionId, '--token', token],
            ...['--peer-id', `peer-${i}`, '--shard', String(i)],
            ...dataArgs,
            ...['--summary-out', joinPath(workdir, `peer-${i}.json`)],
            ...(opts.linkMbps === undefined ? [] : ['--link-mbps', String(opts.linkMbps)]),
            ...(opts.linkLatencyMs === 0 ? [] : ['--link-latency-ms', String(opts.linkLatencyMs)]),
            ...(width === undefined ? [] : ['--progress-width', String(width)]),
            ...(peers > STARTING_PEERS_AT_ONCE ? ['--worker-niceness', String(DEMO_WORKER_NICENESS)] : []),
          ],
          logPath(i),
          (text) => {
            if (shown === i) io.err(text);
          },
          peers > STARTING_PEERS_AT_ONCE,
        ),
      (i) => joined().has(`peer-${i}`),
    ).finally(() => {
      stopFollowing();
      followed = accuracy.stop();
    });
    const summaries: PeerSummary[] = [];
    for (let i = 0; i < peers; i++) {
      const text = await readFile(joinPath(workdir, `peer-${i}.json`), 'utf8').catch(() => null);
      if (text !== null) summaries.push(JSON.parse(text) as PeerSummary);
    }
    const summary = demoSummary(
      summaries,
      {
        peerCount: peers,
        rounds: config.rounds,
        algorithm: config.algorithm,
        up: config.up,
        down: config.down,
        wallSeconds: (performance.now() - started) / 1000,
      },
      codes,
      followed,
    );
    io.out(summaryLines(summary).join('\n') + '\n');
    if (opts.out !== undefined) await writeFile(opts.out, JSON.stringify(summary, null, 2));
    keepLogs = reportFailures(codes, logPath, summary.final.testAccuracy !== null, workdir, io);
    return keepLogs ? 1 : 0;
  } finally {
    if (!keepLogs) await rm(workdir, { recursive: true, force: true });
    await server.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2), processIo, 'npm start --');
}
