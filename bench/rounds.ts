/**
 * Round protocol overhead and aggregator failover, with 4 headless peers in separate
 * processes on loopback (real WebRTC), default session config (MLP, LIEC, top-k 1% both ways).
 *
 * Overhead (session 1, no faults, every peer runs to the end and writes its JSON summary):
 *   wall(r)     = closedAt(r) - closedAt(r-1), the aggregator's time between two broadcasts;
 *   compute(r)  = the slowest peer's local work for round r: max over every worker's first
 *                 upload of round r of (gradient + upload compression), and the aggregator's
 *                 own (gradient + compression) plus its test-set evaluation of round r-1
 *                 (every evalEvery rounds), which it runs right after its own gradient, while
 *                 the workers compute; each measured in its own process;
 *   overhead(r) = wall(r) - compute(r): framing, WebRTC transfer both ways, decoding,
 *                 aggregation, applying the broadcast, timers, scheduling delays, LIEC syncs.
 *                 Median over r >= 1.
 * The raw median (evaluation not counted as compute) is reported next to it.
 *
 * Failover (session 2): after warm-up, SIGKILL the aggregator's process mid-round and time
 * from the kill to the first round:report of the new term at the signaling server (sent
 * right after that round's broadcast): the time to the first completed round under the new
 * aggregator. Then a replacement peer joins (a late joiner) and, once it is counted, the
 * next trial kills the new aggregator. Median over trials.
 *
 * Silent failover (sessions 3..): the same with SIGSTOP (a frozen device), a fresh session of
 * 4 processes per trial (test/support/aggregator-failure.ts): silentFailoverSeconds, median.
 *
 * @example
 * npm run bench:rounds -- --out /tmp/rounds.json   # writes there only (default bench/results/rounds.json)
 * node --import tsx bench/rounds.ts --rounds 100 --trials 3
 */
import { Command, Option } from 'commander';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { integerIn, plainDefaults, processIo, runProgram, type CliIo } from '../client/cli/command.ts';
import { SignalingClient } from '../client/signaling/index.ts';
import { DEFAULT_SESSION_CONFIG, type SessionConfigInput } from '../shared/protocol/session-config.ts';
import type { SessionStatus } from '../shared/protocol/signaling-status.ts';
import { createSignalingServer, type SignalingServer } from '../signaling/index.ts';
import { runAggregatorFailure } from '../test/support/aggregator-failure.ts';

const CLI_MAIN = fileURLToPath(new URL('../client/cli/main.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results', 'rounds.json');
const PEERS = 4;

/** The parts of a peer's JSON summary (client/cli/join.ts PeerSummary) this bench reads. */
const summarySchema = z.object({
  peerId: z.string(),
  backend: z.string(),
  timeline: z.object({
    rounds: z.array(
      z.object({
        round: z.number(),
        term: z.number(),
        closedAt: z.number(),
        computeMs: z.number(),
        evalMs: z.number(),
        counted: z.number(),
        sync: z.boolean(),
      }),
    ),
    applied: z.array(z.object({ round: z.number(), term: z.number(), at: z.number() })),
    models: z.array(z.object({ round: z.number(), source: z.string(), at: z.number() })),
    uploads: z.array(
      z.object({
        round: z.number(),
        term: z.number(),
        kind: z.string(),
        resent: z.boolean(),
        computeMs: z.number(),
      }),
    ),
  }),
});
type Summary = z.infer<typeof summarySchema>;

interface RoundRow {
  round: number;
  wallMs: number;
  slowestComputeMs: number;
  aggregatorComputeMs: number;
  evalMs: number;
  overheadMs: number;
  /** Overhead with the evaluation not counted as compute. */
  overheadRawMs: number;
  /** The previous round ended with a LIEC sync (its exchange is inside wallMs). */
  afterSync: boolean;
  counted: number;
}

interface FailoverTrial {
  killed: string;
  oldTerm: number;
  newTerm: number;
  newAggregator: string | null;
  /** How long after a round's report the kill came. */
  killDelayMs: number;
  lastRoundBefore: number;
  firstRoundAfter: number;
  seconds: number;
  participants: number;
}

interface Child {
  peerId: string;
  process: ChildProcess;
  exited: Promise<number | null>;
  summaryPath: string;
}

function spawnPeer(server: string, sessionId: string, token: string, peerId: string, dir: string): Child {
  const summaryPath = join(dir, `${peerId}.json`);
  const args = ['--import', 'tsx', CLI_MAIN, 'join', '--server', server, '--session', sessionId];
  args.push('--token', token, '--peer-id', peerId, '--summary-out', summaryPath, '--quiet');
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { peerId, process: child, exited, summaryPath };
}

async function readSummary(path: string): Promise<Summary | null> {
  const text = await readFile(path, 'utf8').catch(() => null);
  if (text === null) return null;
  const parsed = summarySchema.safeParse(JSON.parse(text));
  return parsed.success ? parsed.data : null;
}

async function createSession(server: SignalingServer, config: SessionConfigInput) {
  const client = new SignalingClient();
  await client.connect(server.url);
  const created = await client.create(config);
  client.close();
  return created;
}

/** Polls the server's status (in this process) until `probe` returns a value. */
async function until<T>(
  server: SignalingServer,
  sessionId: string,
  probe: (s: SessionStatus) => T | undefined,
  timeoutMs: number,
  what: string,
  intervalMs = 5,
): Promise<T> {
  const started = performance.now();
  for (;;) {
    const status = server.status().sessions.find((s) => s.sessionId === sessionId);
    const value = status === undefined ? undefined : probe(status);
    if (value !== undefined) return value;
    if (performance.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length === 0
    ? NaN
    : s.length % 2 === 1
      ? (s[mid] ?? NaN)
      : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};
const quantile = (xs: number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

/** Per-round overhead from the summaries of a fault-free run (one term). */
export function overheadRows(summaries: Summary[]): RoundRow[] {
  const aggregator = summaries.find((s) => s.timeline.rounds.length > 0);
  if (aggregator === undefined) throw new Error('no summary holds the rounds (the aggregator)');
  const rounds = aggregator.timeline.rounds;
  const rows: RoundRow[] = [];
  for (let i = 1; i < rounds.length; i++) {
    const prev = rounds[i - 1];
    const cur = rounds[i];
    if (prev === undefined || cur === undefined || cur.term !== prev.term) continue;
    let workers = 0;
    for (const s of summaries) {
      const upload = s.timeline.uploads.find(
        (u) => u.round === cur.round && u.kind === 'upload' && !u.resent,
      );
      if (upload !== undefined) workers = Math.max(workers, upload.computeMs);
    }
    const slowest = Math.max(workers, cur.computeMs + prev.evalMs);
    const wallMs = cur.closedAt - prev.closedAt;
    rows.push({
      round: cur.round,
      wallMs,
      slowestComputeMs: slowest,
      aggregatorComputeMs: cur.computeMs,
      evalMs: prev.evalMs,
      overheadMs: wallMs - slowest,
      overheadRawMs: wallMs - Math.max(workers, cur.computeMs),
      afterSync: prev.sync,
      counted: cur.counted,
    });
  }
  return rows;
}

async function overheadSession(server: SignalingServer, rounds: number, peers: number, dir: string) {
  const { sessionId, token } = await createSession(server, { rounds, minPeers: peers, dataShards: peers });
  const children = Array.from({ length: peers }, (_, i) =>
    spawnPeer(server.url, sessionId, token, `peer-${i}`, dir),
  );
  const codes = await Promise.all(children.map((c) => c.exited));
  const summaries = (await Promise.all(children.map((c) => readSummary(c.summaryPath)))).filter(
    (s): s is Summary => s !== null,
  );
  if (summaries.length !== peers)
    throw new Error(`only ${summaries.length} summaries (exit codes ${codes.join(',')})`);
  return { rows: overheadRows(summaries), backends: [...new Set(summaries.map((s) => s.backend))] };
}

async function failoverSession(server: SignalingServer, trials: number, warmup: number, dir: string) {
  const { sessionId, token } = await createSession(server, {
    rounds: 100_000,
    minPeers: PEERS,
    dataShards: PEERS,
  });
  const live = new Map<string, Child>();
  let next = 0;
  const add = () => {
    const child = spawnPeer(server.url, sessionId, token, `fo-${next++}`, dir);
    live.set(child.peerId, child);
    return child;
  };
  for (let i = 0; i < PEERS; i++) add();
  const results: FailoverTrial[] = [];
  try {
    await until(
      server,
      sessionId,
      (s) => (s.aggregator.lastRound >= warmup ? true : undefined),
      120_000,
      'warm-up',
    );
    for (let t = 0; t < trials; t++) {
      // Every peer counted in the last round: a full session, mid-round right after a report.
      const before = await until(
        server,
        sessionId,
        (s) => (s.lastReport?.participants.length === PEERS ? s : undefined),
        120_000,
        'a round counting every peer',
      );
      const killed = before.aggregator.peerId;
      const victim = killed === null ? undefined : live.get(killed);
      if (victim === undefined) throw new Error(`aggregator ${String(killed)} is not a child of this bench`);
      // Somewhere in the round: from right after its broadcast to well into the next one.
      const delayMs = (t * 37) % 60;
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      const lastBefore =
        server.status().sessions.find((s) => s.sessionId === sessionId)?.lastReport?.round ?? -1;
      const killedAt = Date.now();
      victim.process.kill('SIGKILL');
      live.delete(victim.peerId);
      const after = await until(
        server,
        sessionId,
        (s) => (s.lastReport !== undefined && s.lastReport.term > before.aggregator.term ? s : undefined),
        60_000,
        'a round under the new aggregator',
      );
      const report = after.lastReport;
      if (report === undefined) throw new Error('unreachable: no report');
      results.push({
        killed: victim.peerId,
        oldTerm: before.aggregator.term,
        newTerm: report.term,
        newAggregator: after.aggregator.peerId,
        killDelayMs: delayMs,
        lastRoundBefore: lastBefore,
        firstRoundAfter: report.round,
        seconds: (report.receivedAt - killedAt) / 1000,
        participants: report.participants.length,
      });
      console.log(
        `failover ${t + 1}/${trials}: ${victim.peerId} killed, ${after.aggregator.peerId} closed round ${report.round} after ${((report.receivedAt - killedAt) / 1000).toFixed(2)} s`,
      );
      const joiner = add();
      await until(
        server,
        sessionId,
        (s) => (s.lastReport?.participants.includes(joiner.peerId) === true ? true : undefined),
        120_000,
        `${joiner.peerId} counted`,
      );
    }
  } finally {
    for (const child of live.values()) child.process.kill('SIGTERM');
    await Promise.all([...live.values()].map((c) => c.exited));
  }
  const survivors = await Promise.all([...live.values()].map((c) => readSummary(c.summaryPath)));
  return { trials: results, continuity: roundContinuity(survivors.filter((x): x is Summary => x !== null)) };
}

/**
 * The round counter as each surviving peer lived it: every broadcast it applied or round it
 * closed, in time order, must be the previous one + 1, except right after it adopted a model
 * (joining, or catching up after a failover). Counts the exceptions.
 */
export function roundContinuity(summaries: Summary[]): {
  peers: number;
  steps: number;
  repeated: number;
  skipped: number;
  modelAdoptions: number;
} {
  let steps = 0;
  let repeated = 0;
  let skipped = 0;
  let modelAdoptions = 0;
  for (const s of summaries) {
    const events = [
      ...s.timeline.applied.map((e) => ({ at: e.at, round: e.round, model: false })),
      ...s.timeline.rounds.map((e) => ({ at: e.closedAt, round: e.round, model: false })),
      ...s.timeline.models.map((e) => ({ at: e.at, round: e.round, model: true })),
    ].sort((a, b) => a.at - b.at);
    let previous: number | null = null;
    for (const e of events) {
      if (e.model) {
        modelAdoptions++;
        previous = e.round - 1;
        continue;
      }
      steps++;
      if (previous !== null && e.round <= previous) repeated++;
      if (previous !== null && e.round > previous + 1) skipped++;
      previous = e.round;
    }
  }
  return { peers: summaries.length, steps, repeated, skipped, modelAdoptions };
}

/**
 * A silent aggregator, `trials` times: 4 peers in their own processes on the session
 * defaults, the aggregator SIGSTOPped mid-session (test/support/aggregator-failure.ts, which
 * the silent-aggregator test runs too); seconds from the signal to the successor's role and
 * to the first round it closed.
 */
async function silentFailovers(trials: number): Promise<{ seconds: number; takeoverSeconds: number }[]> {
  const runs: { seconds: number; takeoverSeconds: number }[] = [];
  for (let i = 0; i < trials; i++) {
    const run = await runAggregatorFailure('SIGSTOP', {
      rounds: 200,
      roundDeadlineMs: DEFAULT_SESSION_CONFIG.roundDeadlineMs,
    });
    runs.push({ seconds: run.firstRoundAfterMs / 1000, takeoverSeconds: run.takeoverAfterMs / 1000 });
  }
  return runs;
}

/** `npm run bench:rounds`: its flags with their defaults. */
export function roundsCommand(): Command {
  const command = new Command('npm run bench:rounds --')
    .description('Round protocol overhead (--peers headless peers) and aggregator failover (4), on loopback.')
    .addOption(
      new Option('--rounds <n>', 'rounds of the overhead session').argParser(integerIn(2)).default(100),
    )
    .addOption(
      new Option('--peers <n>', 'peer processes of the overhead session (the failover sessions keep 4)')
        .argParser(integerIn(2))
        .default(PEERS),
    )
    .addOption(
      new Option('--trials <n>', 'aggregator kills (0: no failover session)')
        .argParser(integerIn(0))
        .default(3),
    )
    .addOption(new Option('--warmup <n>', 'rounds before the first kill').argParser(integerIn(1)).default(10))
    .addOption(
      new Option('--silent-trials <n>', 'sessions whose aggregator is SIGSTOPped (0: none)')
        .argParser(integerIn(0))
        .default(3),
    )
    .addOption(
      new Option('--out <file>', 'write the JSON result here (and only here)').default(
        RESULTS,
        relative(ROOT, RESULTS),
      ),
    );
  return plainDefaults(command);
}

interface RoundsOptions {
  rounds: number;
  peers: number;
  trials: number;
  silentTrials: number;
  warmup: number;
  out: string;
}

/** Writes the result to `out` alone: a run given --out leaves bench/results/rounds.json as it is. */
export function writeResult(out: string, result: unknown): void {
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let code = 0;
  const command = roundsCommand().action(async () => {
    await run(command.opts<RoundsOptions>());
    code = 0;
  });
  return runProgram(command, argv, io, () => code, 'npm run bench:rounds --');
}

async function run(values: RoundsOptions): Promise<void> {
  const { rounds, trials, peers } = values;
  const loadBefore = loadavg();
  const server = createSignalingServer({ logLevel: 'warn' });
  await server.start({ port: 0, host: '127.0.0.1' });
  const dir = await mkdtemp(join(tmpdir(), 'liec-bench-rounds-'));
  try {
    const overhead = await overheadSession(server, rounds, peers, dir);
    const loadMid = loadavg();
    const failover =
      trials > 0
        ? await failoverSession(server, trials, values.warmup, dir)
        : { trials: [], continuity: null };
    const failovers = failover.trials;
    const silent = await silentFailovers(values.silentTrials);
    const rows = overhead.rows;
    const result = {
      peers,
      rounds,
      config: { ...DEFAULT_SESSION_CONFIG, rounds, minPeers: peers, dataShards: peers },
      backends: overhead.backends,
      overheadMsMedian: median(rows.map((r) => r.overheadMs)),
      overheadMsP90: quantile(
        rows.map((r) => r.overheadMs),
        0.9,
      ),
      overheadMsRawMedian: median(rows.map((r) => r.overheadRawMs)),
      roundWallMsMedian: median(rows.map((r) => r.wallMs)),
      slowestComputeMsMedian: median(rows.map((r) => r.slowestComputeMs)),
      failoverSeconds: median(failovers.map((f) => f.seconds)),
      failoverSecondsMax: Math.max(...failovers.map((f) => f.seconds)),
      /** SIGSTOP instead of SIGKILL: from the signal to the first round closed under the successor. */
      silentFailoverSeconds: median(silent.map((f) => f.seconds)),
      silentFailovers: silent,
      /** Per surviving peer: no broadcast applied twice for a round, none skipped. */
      roundContinuity: failover.continuity,
      failovers,
      load: { cpus: cpus().length, loadavgBefore: loadBefore, loadavgMid: loadMid, loadavgAfter: loadavg() },
      date: new Date().toISOString(),
      perRound: rows,
    };
    const f = (x: number) => x.toFixed(1).padStart(8);
    console.log(`\n${peers} peers, ${rows.length} rounds measured, backend ${overhead.backends.join('/')}`);
    console.log(
      `load average (1 min) before/mid/after: ${[loadBefore, result.load.loadavgMid, result.load.loadavgAfter].map((l) => l[0]?.toFixed(1)).join(' / ')} on ${cpus().length} cores`,
    );
    console.log('metric (ms)                  median      p90');
    for (const [name, key] of [
      ['round wall time', 'wallMs'],
      ['slowest peer compute', 'slowestComputeMs'],
      ['aggregator compute', 'aggregatorComputeMs'],
      ['evaluation', 'evalMs'],
      ['protocol overhead', 'overheadMs'],
    ] as const) {
      const xs = rows.map((r) => r[key]);
      console.log(`${name.padEnd(24)} ${f(median(xs))} ${f(quantile(xs, 0.9))}`);
    }
    // Rounds as the server saw them: last reported before the kill -> first of the new term.
    console.log('failover  killed   new aggregator  rounds (last -> first)  seconds');
    for (const t of failovers)
      console.log(
        `          ${t.killed.padEnd(8)} ${String(t.newAggregator).padEnd(15)} ${`${t.lastRoundBefore} -> ${t.firstRoundAfter}`.padEnd(23)} ${t.seconds.toFixed(2)}`,
      );
    const c = failover.continuity;
    if (c !== null)
      console.log(
        `round counter on the ${c.peers} surviving peers: ${c.steps} rounds applied, ${c.repeated} repeated, ${c.skipped} skipped (${c.modelAdoptions} models adopted)`,
      );
    for (const [i, t] of silent.entries())
      console.log(
        `silent failover ${i + 1}: takeover ${t.takeoverSeconds.toFixed(2)} s, first round ${t.seconds.toFixed(2)} s after SIGSTOP`,
      );
    console.log(
      `overheadMsMedian ${result.overheadMsMedian.toFixed(1)} ms (target <= 20), failoverSeconds ${result.failoverSeconds.toFixed(2)} s, ` +
        `silentFailoverSeconds ${result.silentFailoverSeconds.toFixed(2)} s (targets <= 3)`,
    );
    writeResult(values.out, result);
  } finally {
    await rm(dir, { recursive: true, force: true });
    await server.stop();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
