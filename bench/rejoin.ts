/**
 * Rejoin bench (issue 17, fast rejoin): how long a restarted (`--resume`) or new peer takes
 * to be counted in a round, from its join reaching the signaling server. A session of
 * `--peers` `liec join` processes on loopback (real WebRTC, MNIST); once it runs, one worker
 * is SIGKILLed and restarted with --resume `--restarts` times, then a new peer (its own
 * shard) joins, each event after the previous one was counted and `--gap-rounds` more rounds
 * closed. Per event, from the peers' event logs: seconds from process start to join-reached,
 * from join-reached to its learner ready (negative: a resumed peer preloads it before
 * joining), to holding the session's model, its first compute, and to the close of the first
 * round that counted it (and how many rounds closed until then). Prints them with median and
 * max, and saves the JSON (default bench/results/rejoin.json). Target: counted within 3
 * rounds or 3 s, whichever is longer.
 *
 * @example
 * npm run bench:rejoin
 * npm run bench:rejoin -- --restarts 5 --out /tmp/rejoin.json
 */
import { Command, Option } from 'commander';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { integerIn, plainDefaults, processIo, runProgram, type CliIo } from '../client/cli/command.ts';
import { parseEventLog, rejoinBreakdown, roundRecords, type IncarnationLog } from './chaos/accounting.ts';
import { spawnJoin, type JoinProcess } from './chaos/processes.ts';

export const DEFAULT_OUT = join(dirname(fileURLToPath(import.meta.url)), 'results', 'rejoin.json');
/** How often the bench reads the server's status and the event logs while it waits. */
const POLL_MS = 200;
/** How long one event may take to be counted before the bench gives up on it. */
const COUNTED_TIMEOUT_MS = 90_000;
/** How long the peers get to leave on SIGTERM at the end before they are killed. */
const LEAVE_TIMEOUT_MS = 10_000;

interface RejoinOptions {
  peers: number;
  restarts: number;
  deadlineMs: number;
  seed: number;
  gapRounds: number;
  restartDelayMs: number;
  built: boolean;
  out: string;
}

export interface RejoinEvent {
  kind: 'resume' | 'new';
  peerId: string;
  incarnation: number;
  /** The round the server had last seen reported when the process started. */
  startedAtRound: number;
  secondsToJoin: number | null;
  /** From join-reached to the learner ready; negative when it was ready before the join. */
  secondsToLearner: number | null;
  /** From join-reached to its data channel to the aggregator open. */
  secondsToLink: number | null;
  secondsToModel: number | null;
  firstComputeMs: number | null;
  secondsToCounted: number | null;
  roundsToCounted: number | null;
  countedInRound: number | null;
  /** Counted within 3 rounds or 3 s of its join reaching the server. */
  withinTarget: boolean;
  /** From its process start to that round's close (what a restart costs in all). */
  secondsFromStart: number | null;
  /** The longest of the rounds that closed meanwhile (what its join cost the other peers). */
  slowestRoundSeconds: number | null;
}

export function rejoinCommand(): Command {
  return plainDefaults(
    new Command('npm run bench:rejoin --')
      .description('How fast a resumed or new `liec join` peer is counted after its join reaches the server.')
      .addOption(new Option('--peers <n>', 'peers at the start').argParser(integerIn(2, 16)).default(4))
      .addOption(
        new Option('--restarts <n>', 'SIGKILL + --resume of one worker').argParser(integerIn(0)).default(3),
      )
      .addOption(
        new Option('--deadline-ms <ms>', 'round deadline (as chaos)').argParser(integerIn(100)).default(2000),
      )
      .addOption(new Option('--seed <n>', 'session seed').argParser(integerIn(0)).default(5))
      .addOption(
        new Option('--gap-rounds <n>', 'rounds between two events').argParser(integerIn(1)).default(15),
      )
      .addOption(
        new Option('--restart-delay-ms <ms>', 'pause between a kill and the restart')
          .argParser(integerIn(0))
          .default(500),
      )
      .addOption(new Option('--built', 'peers run the build (npm run build first), not tsx').default(false))
      .addOption(new Option('--out <file>', 'write the JSON here').default(DEFAULT_OUT)),
  );
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let code = 0;
  const command = rejoinCommand().action(async () => {
    code = await run(command.opts<RejoinOptions>(), io);
  });
  return runProgram(command, argv, io, () => code, 'npm run bench:rejoin --');
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function run(opts: RejoinOptions, io: CliIo): Promise<number> {
  const log = (line: string) => io.out(`${line}\n`);
  const loadBefore = loadavg();
  const workdir = await mkdtemp(join(tmpdir(), 'liec-rejoin-'));
  const { createSignalingServer } = await import('../signaling/index.ts');
  const { SignalingClient } = await import('../client/signaling/index.ts');
  const server = createSignalingServer({ logLevel: 'warn' });
  await server.start({ port: 0, host: '127.0.0.1' });
  const processes: JoinProcess[] = [];
  const killedAt = new Map<JoinProcess, number>();
  /** The events measured: each resumed or new process, with the round it started at. */
  const measured = new Map<JoinProcess, { kind: RejoinEvent['kind']; round: number }>();
  const began = Date.now();
  try {
    const creator = new SignalingClient();
    await creator.connect(server.url);
    const { sessionId, token } = await creator.create({
      rounds: 100_000,
      roundDeadlineMs: opts.deadlineMs,
      minPeers: opts.peers,
      dataShards: opts.peers + 1,
      evalEvery: 100_000,
      seed: opts.seed,
    });
    creator.close();
    const status = () => server.status().sessions.find((s) => s.sessionId === sessionId);
    const lastRound = () => status()?.aggregator.lastRound ?? 0;
    const spawn = (peerId: string, shard: number, incarnation: number, kind?: RejoinEvent['kind']) => {
      const child = spawnJoin({
        ...{ server: server.url, sessionId, token, workdir, peerId, shard, incarnation },
        resume: kind === 'resume',
        checkpointEvery: 5,
        built: opts.built,
      });
      processes.push(child);
      if (kind !== undefined) measured.set(child, { kind, round: lastRound() });
      return child;
    };
    const waitUntil = async (what: string, done: () => boolean): Promise<void> => {
      const until = Date.now() + COUNTED_TIMEOUT_MS;
      while (!done()) {
        if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
        await sleep(POLL_MS);
      }
    };
    const counted = (child: JoinProcess): boolean => {
      // The process creates its log when it starts: none yet, nothing counted yet.
      if (!existsSync(child.eventsPath)) return false;
      const reached = parseEventLog(readFileSync(child.eventsPath, 'utf8')).find(
        (e) => e.type === 'join-reached',
      );
      if (reached === undefined) return false;
      return roundRecords(readLogs(workdir, killedAt)).some(
        (r) => r.closedAt > reached.at && r.participants.includes(child.peerId),
      );
    };
    for (let i = 0; i < opts.peers; i++) spawn(`p${i}`, i, 0);
    await waitUntil('round 20', () => lastRound() >= 20);
    const victimId = `p${opts.peers - 1}`;
    for (let k = 1; k <= opts.restarts; k++) {
      const current = processes.filter((p) => p.peerId === victimId).at(-1);
      if (current === undefined) break;
      log(`round ${lastRound()}: SIGKILL ${victimId}, --resume after ${opts.restartDelayMs} ms`);
      current.signal('SIGKILL');
      killedAt.set(current, Date.now());
      await current.exited;
      await sleep(opts.restartDelayMs);
      const resumed = spawn(victimId, opts.peers - 1, k, 'resume');
      await waitUntil(`${victimId} counted again`, () => counted(resumed));
      const at = lastRound();
      await waitUntil(`${opts.gapRounds} more rounds`, () => lastRound() >= at + opts.gapRounds);
    }
    log(`round ${lastRound()}: a new peer p${opts.peers} joins`);
    const newcomer = spawn(`p${opts.peers}`, opts.peers, 0, 'new');
    await waitUntil('the new peer counted', () => counted(newcomer));
  } finally {
    for (const p of processes) p.signal('SIGTERM');
    await Promise.race([Promise.all(processes.map((p) => p.exited)), sleep(LEAVE_TIMEOUT_MS)]);
    for (const p of processes) p.signal('SIGKILL');
    await server.stop();
  }
  const logs = readLogs(workdir, killedAt);
  await rm(workdir, { recursive: true, force: true });
  const events = rejoinEvents(logs, measured);
  const seconds = events.map((e) => e.secondsToCounted ?? Infinity);
  const rounds = events.map((e) => e.roundsToCounted ?? Infinity);
  const result = {
    peers: opts.peers,
    restarts: opts.restarts,
    roundDeadlineSeconds: opts.deadlineMs / 1000,
    events,
    secondsToCounted: { median: median(seconds), max: Math.max(...seconds) },
    roundsToCounted: { median: median(rounds), max: Math.max(...rounds) },
    allWithinTarget: events.every((e) => e.withinTarget),
    /** The median round over the whole run, beside each event's slowestRoundSeconds. */
    medianRoundSeconds: median(roundRecords(logs).map((r) => r.durationMs / 1000)),
    seconds: (Date.now() - began) / 1000,
    settings: opts,
    load: { cpus: cpus().length, loadavgBefore: loadBefore, loadavgAfter: loadavg() },
    date: new Date().toISOString(),
  };
  const f = (x: number | null, digits = 2) => (x === null ? '-' : x.toFixed(digits));
  log(
    'kind    peer inc  join s  learner s  link s  model s  compute ms  counted s  rounds  from start s  slowest round s',
  );
  for (const e of events)
    log(
      `${e.kind.padEnd(7)} ${e.peerId.padEnd(4)} ${String(e.incarnation).padStart(3)} ${f(e.secondsToJoin).padStart(7)} ${f(e.secondsToLearner).padStart(10)} ${f(e.secondsToLink).padStart(7)} ${f(e.secondsToModel).padStart(8)} ${f(e.firstComputeMs, 0).padStart(11)} ${f(e.secondsToCounted).padStart(10)} ${String(e.roundsToCounted ?? '-').padStart(7)} ${f(e.secondsFromStart).padStart(13)} ${f(e.slowestRoundSeconds).padStart(16)}`,
    );
  log(
    `counted after: median ${result.secondsToCounted.median.toFixed(2)} s, max ${result.secondsToCounted.max.toFixed(2)} s; rounds median ${result.roundsToCounted.median}, max ${result.roundsToCounted.max}; within 3 rounds or 3 s: ${events.filter((e) => e.withinTarget).length} of ${events.length}; median round ${result.medianRoundSeconds.toFixed(3)} s`,
  );
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, JSON.stringify(result, null, 2) + '\n');
  log(`saved ${opts.out}`);
  return result.allWithinTarget ? 0 : 1;
}

/** Every incarnation's event log in `workdir` (files `<peerId>.<incarnation>.jsonl`). */
function readLogs(workdir: string, killedAt: ReadonlyMap<JoinProcess, number>): IncarnationLog[] {
  const killed = new Map([...killedAt].map(([p, at]) => [`${p.peerId}.${p.incarnation}`, at]));
  return readdirSync(workdir)
    .filter((name) => name.endsWith('.jsonl'))
    .map((name) => {
      const [peerId = '', incarnation = '0'] = name.slice(0, -'.jsonl'.length).split('.');
      return {
        peerId,
        incarnation: Number(incarnation),
        killedAt: killed.get(`${peerId}.${incarnation}`) ?? null,
        events: parseEventLog(readFileSync(join(workdir, name), 'utf8')),
      };
    });
}

/** One RejoinEvent per resumed or new process the bench measured (`measured`). */
export function rejoinEvents(
  logs: IncarnationLog[],
  measured: ReadonlyMap<JoinProcess, { kind: RejoinEvent['kind']; round: number }>,
): RejoinEvent[] {
  const rounds = roundRecords(logs);
  const events: RejoinEvent[] = [];
  for (const [p, { kind, round }] of measured) {
    const log = logs.find((l) => l.peerId === p.peerId && l.incarnation === p.incarnation);
    const reached = log?.events.find((e) => e.type === 'join-reached')?.at;
    if (log === undefined || reached === undefined) continue;
    const learner = log.events.find((e) => e.type === 'learner-ready')?.at;
    const again = rounds.find((r) => r.closedAt > reached && r.participants.includes(p.peerId));
    const between =
      again === undefined ? null : rounds.filter((r) => r.closedAt > reached && r.closedAt <= again.closedAt);
    const secondsToCounted = again === undefined ? null : (again.closedAt - reached) / 1000;
    const roundsToCounted = between?.length ?? null;
    events.push({
      kind,
      peerId: p.peerId,
      incarnation: p.incarnation,
      startedAtRound: round,
      secondsToJoin: (reached - p.startedAt) / 1000,
      secondsToLearner: learner === undefined ? null : (learner - reached) / 1000,
      ...rejoinBreakdown(log.events, reached),
      secondsToCounted,
      roundsToCounted,
      countedInRound: again?.round ?? null,
      withinTarget: (secondsToCounted ?? Infinity) <= 3 || (roundsToCounted ?? Infinity) <= 3,
      secondsFromStart: again === undefined ? null : (again.closedAt - p.startedAt) / 1000,
      slowestRoundSeconds: between === null ? null : Math.max(0, ...between.map((r) => r.durationMs)) / 1000,
    });
  }
  return events;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
