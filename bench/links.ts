/**
 * `npm run bench:links`: time to accuracy on thin links, over real WebRTC. For each run, a
 * fresh session of N headless peers (separate processes, loopback) whose links are shaped
 * to --mbps each way (client/transport/shaping.ts) trains MNIST until a test evaluation
 * reaches --target or a cap stops it (--round-cap rounds, --max-run-seconds, and the whole
 * bench's --max-seconds). Runs: sgd (fp32), then ef-sgd, doublesqueeze and liec with top-k 1%
 * and with scaled sign; liec top-k 1% also with a rolling sync (`+rolling` in --runs;
 * `+sync=H` sets LIEC's sync period, one above --round-cap leaves only the final sync).
 * Every run trains with --lr and --momentum unless its own `+lr=X` / `+momentum=B` says
 * otherwise, so each algorithm can run at its own best setting (bench:lr-sweep finds them).
 * speedupVsSgd = SGD's secondsTo90 / LIEC's (top-k 1%, default sync), same bench run.
 *
 * Time to 90% is wall time from the opening of round 0 to the broadcast of the round whose
 * evaluation (the aggregator's model, every --eval-every rounds) first reached the target.
 * That is quantized to --eval-every rounds, so `exact` (on by default; `--no-exact` or
 * `--exact false` skips it) has the round itself: the aggregator's peer writes its model at
 * every round it closes (bench/snapshots.ts), and after the run, outside the timed session,
 * the bench evaluates them in order until one reaches the target (bench/snapshot-eval.ts), on
 * the same clock; rounds the session evaluated too are compared, and a disagreement is
 * printed and kept in `exact.mismatches`.
 * Runs expected to take under --repeat-below seconds are repeated --repeat times, interleaved
 * (seconds-long runs on a shared 2-core machine vary with its load): their record is the
 * repeat with the median time to 90%, and `repeats` lists them all; `exactSecondsTo90Median`
 * and `exactRoundsTo90Median` are the medians of the repeats' exact figures. One session seed
 * gives one trajectory (data order, initial model, codec randomness), so its repeats differ
 * only in timing; `--seeds 1,2,3,4,5` runs every run once per seed instead, to compare
 * algorithms over trajectories.
 *
 * @example
 * npm run bench:links -- --mbps 2 --peers 4 --out links.json
 * npm run bench:links -- --algorithms sgd,liec
 * npm run bench:links -- --runs "doublesqueeze@topk:0.01/topk:0.01,liec@topk:0.01/topk:0.01+rolling" --seeds 1,2,3,4,5
 * npm run bench:links -- --runs "doublesqueeze@topk:0.01/topk:0.01,liec@topk:0.01/topk:0.01+rolling"
 * npm run bench:links -- --runs "liec@topk:0.01/topk:0.01,liec@topk:0.01/topk:0.01+sync=1000"
 * npm run bench:links -- --runs "doublesqueeze@topk:0.01/topk:0.01+lr=0.3,liec@topk:0.01/topk:0.01+lr=0.4" --momentum 0.9
 * npm run bench:links -- --runs "liec@topk:auto/topk:0.01,liec@topk:0.01/topk:0.01" --mbps 0.5,10 --deadline-ms 1500
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_SYNC_CODEC, DEFAULT_SYNC_PERIOD } from '../shared/algorithm/index.ts';
import { sessionConfigSchema, type SessionConfigInput } from '../shared/protocol/session-config.ts';
import { createSignalingServer } from '../signaling/index.ts';
import { predictRoundSeconds } from './link-model.ts';
import { runLiveSession, sessionStart, type LiveSessionResult, type RoundRecord } from './live-session.ts';
import { exactTimeToTarget, type ExactFigures } from './snapshot-eval.ts';
import { progressing } from './snapshots.ts';

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results', 'links.json');

/** Runs per algorithm name: [up, down] or [up, down, LIEC sync mode]. */
const RUNS: Record<string, ([string, string] | [string, string, SyncMode])[]> = {
  sgd: [['identity', 'identity']],
  'ef-sgd': [
    ['topk:0.01', 'identity'],
    ['sign', 'identity'],
  ],
  doublesqueeze: [
    ['topk:0.01', 'topk:0.01'],
    ['sign', 'sign'],
  ],
  liec: [
    ['topk:0.01', 'topk:0.01'],
    ['topk:0.01', 'topk:0.01', 'rolling'],
    ['sign', 'sign'],
  ],
  // Local-step baselines: H from `+local=H` (bench:links-sim picks it), 1 without.
  fedavg: [['identity', 'identity']],
  diloco: [['identity', 'identity']],
  sparseloco: [['topk:0.02:sign', 'topk:0.02:sign']],
};

/** Rounds the simulator needed for 90% with these settings (4 workers): 60-85; the estimate uses this. */
const EXPECTED_ROUNDS = 70;

type SyncMode = 'full' | 'rolling';

interface Run {
  algorithm: 'sgd' | 'ef-sgd' | 'doublesqueeze' | 'liec' | 'fedavg' | 'diloco' | 'sparseloco';
  /** fedavg, diloco, sparseloco: local steps per round (the session default 1 when undefined). */
  localSteps?: number;
  up: string;
  down: string;
  /** LIEC's sync: a sync phase every H rounds ('full'), or a block every round ('rolling'). */
  syncMode: SyncMode;
  /** LIEC's H (above the round cap: only the final sync); the session default when undefined. */
  syncPeriod?: number;
  /** This run's learning rate; the bench's --lr when undefined (to compare each at its best). */
  learningRate?: number;
  /** This run's heavy-ball momentum; the bench's --momentum when undefined. */
  momentum?: number;
  /** LIEC rolling sync: the peers' settings.sliceWaitMs (0 when undefined). */
  sliceWaitMs?: number;
}

const RUN_SYNTAX = 'ALGORITHM@UP/DOWN[+rolling][+sync=H][+local=H][+lr=X][+momentum=B][+slice-wait=MS]';

/** Reads one `--runs` item's `+option` suffixes into the run; unknown or repeated ones throw. */
function applyRunOption(run: Run, option: string, item: string): Run {
  const [key = '', value] = option.split('=', 2);
  const seen =
    (key === 'rolling' && run.syncMode === 'rolling') ||
    (key === 'sync' && run.syncPeriod !== undefined) ||
    (key === 'local' && run.localSteps !== undefined) ||
    (key === 'lr' && run.learningRate !== undefined) ||
    (key === 'momentum' && run.momentum !== undefined) ||
    (key === 'slice-wait' && run.sliceWaitMs !== undefined);
  if (seen) throw new RangeError(`--runs: "${item}" sets +${key} twice`);
  if (key === 'rolling' && value === undefined) return { ...run, syncMode: 'rolling' };
  const number = value !== undefined && /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  if (key === 'sync' && Number.isInteger(number)) return { ...run, syncPeriod: number };
  if (key === 'local' && Number.isInteger(number) && number >= 1) return { ...run, localSteps: number };
  if (key === 'lr' && number > 0) return { ...run, learningRate: number };
  if (key === 'momentum' && Number.isFinite(number)) return { ...run, momentum: number };
  if (key === 'slice-wait' && Number.isInteger(number)) return { ...run, sliceWaitMs: number };
  throw new RangeError(`--runs: "${item}" has a bad option "+${option}" (${RUN_SYNTAX})`);
}

export function parseRuns(algorithms: string, explicit: string | undefined): Run[] {
  const isAlgorithm = (name: string): name is Run['algorithm'] => name in RUNS;
  if (explicit !== undefined) {
    return explicit.split(',').map((raw) => {
      const item = raw.trim();
      const match = /^([a-z-]+)@([^/+]+)\/([^+]+)((?:\+[^+]+)*)$/.exec(item);
      const name = match?.[1] ?? '';
      if (match === null || !isAlgorithm(name))
        throw new RangeError(`--runs: "${item}" is not ${RUN_SYNTAX}`);
      const base: Run = { algorithm: name, up: match[2] ?? '', down: match[3] ?? '', syncMode: 'full' };
      const options = (match[4] ?? '').split('+').filter((option) => option !== '');
      return options.reduce((run, option) => applyRunOption(run, option, item), base);
    });
  }
  return algorithms.split(',').flatMap((name) => {
    if (!isAlgorithm(name))
      throw new RangeError(`--algorithms: unknown "${name}" (${Object.keys(RUNS).join(', ')})`);
    return (RUNS[name] ?? []).map(([up, down, syncMode]) => ({
      algorithm: name,
      up,
      down,
      syncMode: syncMode ?? 'full',
    }));
  });
}

/** A run's name in the tables and in speedupsVsSgd: algorithm, compressors, LIEC's sync if not the default. */
const label = (run: Run): string =>
  [
    `${run.algorithm} ${run.up}/${run.down}`,
    run.syncMode === 'rolling' ? ' rolling' : '',
    run.syncPeriod === undefined ? '' : ` sync=${run.syncPeriod}`,
    run.localSteps === undefined ? '' : ` H=${run.localSteps}`,
    run.learningRate === undefined ? '' : ` lr=${run.learningRate}`,
    run.momentum === undefined ? '' : ` momentum=${run.momentum}`,
    run.sliceWaitMs === undefined ? '' : ` slice-wait=${run.sliceWaitMs}`,
  ].join('');

/**
 * Reads `--exact` (alone or `true`), `--exact false`, `--exact=BOOL` and `--no-exact` out of
 * argv (parseArgs in Node 20 has no negated flags); the rest goes to parseArgs. @default true
 */
export function readExactFlag(argv: readonly string[]): { exact: boolean; rest: string[] } {
  let exact = true;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const next = argv[i + 1];
    if (arg === '--no-exact') exact = false;
    else if (arg === '--exact' && (next === 'true' || next === 'false')) {
      exact = next === 'true';
      i++;
    } else if (arg === '--exact') exact = true;
    else if (arg.startsWith('--exact=')) {
      const value = arg.slice('--exact='.length);
      if (value !== 'true' && value !== 'false')
        throw new RangeError(`--exact: "${value}" is not true or false`);
      exact = value === 'true';
    } else rest.push(arg);
  }
  return { exact, rest };
}

const median = (xs: number[]): number | null => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return null;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] ?? null) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
};

/**
 * The rounds as training progressed: records in closing order, each for a later round than
 * the one before. Drops a successor's re-close of a round already closed (after the last
 * round, peers leave one by one and each may briefly become aggregator).
 */
export function progressingRounds(rounds: readonly RoundRecord[]): RoundRecord[] {
  return progressing(rounds);
}

type RunRecord = ReturnType<typeof summarizeRun>;

/** The median, null (not reached) counting as slowest; null when the median is not reached. */
/** `--seeds 1,2,3`: distinct positive integers (session seeds). */
export function parseSeeds(text: string): number[] {
  const items = text.split(',').map((item) => item.trim());
  const seeds = items.map(Number);
  if (items.some((item) => !/^\d+$/.test(item)) || seeds.some((seed) => seed > 0xffff_ffff))
    throw new RangeError(`--seeds: "${text}" is not a list of integers such as 1,2,3`);
  if (new Set(seeds).size !== seeds.length) throw new RangeError(`--seeds: "${text}" repeats a seed`);
  return seeds;
}

export function medianOrNull(values: readonly (number | null)[]): number | null {
  const sorted = values.map((v) => v ?? Number.POSITIVE_INFINITY).sort((a, b) => a - b);
  const m = median(sorted);
  return m === null || !Number.isFinite(m) ? null : m;
}

/**
 * The repeat with the median time to 90% (not reached counts as slowest), with every repeat
 * listed, and the median of the repeats' exact times (null without exact figures).
 */
export function medianRepeat(repeats: RunRecord[]) {
  const key = (r: RunRecord): number => r.secondsTo90 ?? Number.POSITIVE_INFINITY;
  const sorted = [...repeats].sort((a, b) => key(a) - key(b));
  const chosen = sorted[Math.floor((sorted.length - 1) / 2)];
  if (chosen === undefined) throw new Error('no repeats');
  const exacts = repeats.flatMap((r) => (r.exact === null ? [] : [r.exact.secondsTo90]));
  return {
    ...chosen,
    /** The median over repeats of exact.secondsTo90 (each repeat's own; not reached counts as slowest). */
    exactSecondsTo90Median: exacts.length === repeats.length ? medianOrNull(exacts) : null,
    /** The median over repeats of exact.roundsTo90 (not reached counts as the most). */
    exactRoundsTo90Median:
      exacts.length === repeats.length
        ? medianOrNull(repeats.map((r) => r.exact?.roundsTo90 ?? Number.POSITIVE_INFINITY))
        : null,
    repeats: repeats.map((r) => ({
      seed: r.seed,
      secondsTo90: r.secondsTo90,
      roundsTo90: r.roundsTo90,
      exact: r.exact === null ? null : { roundsTo90: r.exact.roundsTo90, secondsTo90: r.exact.secondsTo90 },
      roundSecondsMedian: r.roundSecondsMedian,
      cpuMsPerRound: r.cpuMsPerRound,
      syncsTo90: r.syncsTo90,
      syncExtraSecondsTo90: r.syncExtraSecondsTo90,
      stoppedBy: r.stoppedBy,
    })),
  };
}

/**
 * CPU all peer processes spend on one round, in ms: for each peer the median CPU used
 * between two consecutive uploads (the gradient, the codecs, the transport: everything the
 * process did that round), summed over peers. On a machine with fewer cores than peers this,
 * not the links, can set the round time. Null when no peer uploaded twice in a row.
 */
export function cpuMsPerRound(uploads: LiveSessionResult['uploads']): number | null {
  const byPeer = new Map<string, { round: number; cpuMs: number }[]>();
  for (const u of uploads) {
    const list = byPeer.get(u.peerId);
    if (list === undefined) byPeer.set(u.peerId, [u]);
    else list.push(u);
  }
  let total = 0;
  let peers = 0;
  for (const list of byPeer.values()) {
    const sorted = [...list].sort((a, b) => a.round - b.round);
    const perRound = sorted.slice(1).flatMap((u, i) => {
      const before = sorted[i];
      return before !== undefined && u.round === before.round + 1 ? [u.cpuMs - before.cpuMs] : [];
    });
    const typical = median(perRound);
    if (typical === null) continue;
    total += typical;
    peers++;
  }
  return peers === 0 ? null : total;
}

/** One run's JSON record, from the aggregator's round records (and the exact figures, null when skipped). */
export function summarizeRun(
  run: Run,
  result: LiveSessionResult,
  target: number,
  predicted: number,
  settings: { learningRate: number; momentum: number; seed: number },
  exact: ExactFigures | null = null,
) {
  const rounds = progressingRounds(result.rounds);
  const start = sessionStart(rounds);
  const hit = rounds.find((r) => r.testAccuracy !== null && r.testAccuracy >= target);
  const evaluated = rounds.filter((r) => r.testAccuracy !== null);
  const last = rounds.at(-1);
  const gaps = rounds.slice(1).map((r, i) => (r.closedAt - (rounds[i]?.closedAt ?? r.closedAt)) / 1000);
  const typicalGap = median(gaps);
  // A LIEC sync runs between the round it follows and the next one: its cost is how much
  // longer that gap was than a typical round.
  const syncsTo90 = rounds.filter((r) => r.sync && (hit === undefined || r.round < hit.round));
  const syncExtraSeconds = syncsTo90.reduce((sum, r) => {
    const next = rounds.find((n) => n.round > r.round);
    return next === undefined || typicalGap === null
      ? sum
      : sum + Math.max(0, (next.closedAt - r.closedAt) / 1000 - typicalGap);
  }, 0);
  return {
    /** The run's name in tables and speedupsVsSgd: what differs from the bench's defaults. */
    label: label(run),
    algorithm: run.algorithm,
    up: run.up,
    down: run.down,
    learningRate: run.learningRate ?? settings.learningRate,
    momentum: run.momentum ?? settings.momentum,
    /** The session seed (--seed, or this repeat's one of --seeds). */
    seed: settings.seed,
    ...(run.algorithm === 'liec'
      ? { syncMode: run.syncMode, syncPeriod: run.syncPeriod ?? DEFAULT_SYNC_PERIOD }
      : {}),
    secondsTo90: hit === undefined ? null : (hit.closedAt - start) / 1000,
    roundsTo90: hit === undefined ? null : hit.round + 1,
    /** The round the model first reached the target, from every round's snapshot (not every --eval-every). */
    exact,
    bytes: { up: last?.bytesUp ?? 0, down: last?.bytesDown ?? 0 },
    final: { testAccuracy: evaluated.at(-1)?.testAccuracy ?? null },
    rounds: last === undefined ? 0 : last.round + 1,
    roundSecondsMedian: typicalGap,
    /** CPU all peers spent per round, ms (cpuMsPerRound). */
    cpuMsPerRound: cpuMsPerRound(result.uploads),
    /** LIEC: model syncs before the target round, and the wall time they added over typical rounds. */
    syncsTo90: syncsTo90.length,
    syncExtraSecondsTo90: syncExtraSeconds,
    predictedRoundSeconds: predicted,
    lateUploads: rounds.reduce((s, r) => s + r.late, 0),
    aggregatorChanges: new Set(rounds.map((r) => r.term)).size - 1,
    stoppedBy: result.stoppedBy,
    wallSeconds: result.wallSeconds,
    backend: [...new Set(result.exits.map((e) => e.backend))].join('/'),
    history: evaluated.map((r) => ({
      round: r.round,
      seconds: (r.closedAt - start) / 1000,
      testAccuracy: r.testAccuracy,
      bytesUp: r.bytesUp,
      bytesDown: r.bytesDown,
      /** How long the aggregator's test evaluation of that round took, ms. */
      evalMs: r.evalMs,
    })),
    /** Every round's duration in s (the gap between two closings), where the slow ones are. */
    roundSeconds: gaps.map((gap) => Math.round(gap * 1e4) / 1e4),
  };
}

export async function main(argv: string[]): Promise<void> {
  const { exact, rest } = readExactFlag(argv);
  const { values } = parseArgs({
    args: rest,
    options: {
      mbps: { type: 'string', default: '2' },
      'latency-ms': { type: 'string', default: '0' },
      peers: { type: 'string', default: '4' },
      algorithms: { type: 'string', default: 'sgd,ef-sgd,doublesqueeze,liec' },
      runs: { type: 'string' },
      'round-cap': { type: 'string', default: '120' },
      repeat: { type: 'string', default: '3' },
      'repeat-below': { type: 'string', default: '120' },
      'max-run-seconds': { type: 'string', default: '1200' },
      'max-seconds': { type: 'string', default: '2400' },
      'eval-every': { type: 'string', default: '5' },
      lr: { type: 'string', default: '0.8' },
      momentum: { type: 'string', default: '0' },
      batch: { type: 'string', default: '128' },
      'deadline-ms': { type: 'string', default: '600000' },
      target: { type: 'string', default: '0.9' },
      seed: { type: 'string', default: '1' },
      seeds: { type: 'string' },
      out: { type: 'string' },
    },
  });
  const linkMbps = values.mbps.split(',').map(Number);
  const latencyMs = Number(values['latency-ms']);
  const peers = Number(values.peers);
  const roundCap = Number(values['round-cap']);
  const maxRunSeconds = Number(values['max-run-seconds']);
  const maxSeconds = Number(values['max-seconds']);
  const target = Number(values.target);
  const runs = parseRuns(values.algorithms, values.runs);
  // --seeds: every run once per session seed (its data order, initial model and codec
  // randomness), so repeats sample the algorithm's trajectories, not one trajectory's timing.
  const seeds = values.seeds === undefined ? null : parseSeeds(values.seeds);
  const sessionConfig = (run: Run, seed = Number(values.seed)): SessionConfigInput => ({
    algorithm: run.algorithm,
    up: run.up,
    down: run.down,
    syncMode: run.syncMode,
    ...(run.syncPeriod === undefined ? {} : { syncPeriod: run.syncPeriod }),
    ...(run.localSteps === undefined ? {} : { localSteps: run.localSteps }),
    learningRate: run.learningRate ?? Number(values.lr),
    momentum: run.momentum ?? Number(values.momentum),
    batchSize: Number(values.batch),
    rounds: roundCap,
    roundDeadlineMs: Number(values['deadline-ms']),
    evalEvery: Number(values['eval-every']),
    minPeers: peers,
    dataShards: peers,
    seed,
  });
  for (const run of runs) {
    // A run the server would refuse fails here, before any other run has spent its time.
    const checked = sessionConfigSchema.safeParse(sessionConfig(run));
    if (!checked.success)
      throw new RangeError(
        `${label(run)}: invalid session config: ${checked.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
      );
  }
  const predict = (run: Run): number =>
    predictRoundSeconds({
      up: run.up,
      down: run.down,
      peers,
      linkMbps,
      latencyMs,
      ...(run.algorithm === 'liec'
        ? { syncPeriod: run.syncPeriod ?? DEFAULT_SYNC_PERIOD, syncCodec: DEFAULT_SYNC_CODEC }
        : {}),
    });
  const startup = 15; // process start, MNIST load, WebRTC setup per run
  let expected = 0;
  let bound = 0;
  console.log(
    `${runs.length} runs, ${peers} peers at ${linkMbps.join('/')} Mbit/s, latency ${latencyMs} ms:`,
  );
  const repeat = seeds?.length ?? Number(values.repeat);
  const repeatBelow = Number(values['repeat-below']);
  const timesOf = (run: Run): number =>
    seeds !== null || startup + EXPECTED_ROUNDS * predict(run) < repeatBelow ? repeat : 1;
  for (const run of runs) {
    const round = predict(run);
    const typical = startup + EXPECTED_ROUNDS * round;
    const capped = startup + Math.min(roundCap * round, maxRunSeconds);
    const times = timesOf(run);
    expected += times * Math.min(typical, capped);
    bound += times * capped;
    console.log(
      `  ${label(run).padEnd(34)} ~${round.toFixed(2)} s/round, ~${(Math.min(typical, capped) / 60).toFixed(1)} min${times > 1 ? `, ${times} times` : ''}`,
    );
  }
  // Long runs once, in order; then the short ones, repeat after repeat (with --seeds, repeat
  // k runs on the k-th seed).
  const schedule: { run: Run; seed: number }[] = [
    ...runs.filter((r) => timesOf(r) === 1).map((run) => ({ run, seed: Number(values.seed) })),
    ...Array.from({ length: repeat }, (_, k) =>
      runs.filter((r) => timesOf(r) > 1).map((run) => ({ run, seed: seeds?.[k] ?? Number(values.seed) })),
    ).flat(),
  ];
  console.log(
    `expected duration: about ${(Math.min(expected, maxSeconds) / 60).toFixed(0)} min if each run reaches ${target * 100}% in ~${EXPECTED_ROUNDS} rounds (the simulator's figure); ` +
      `at most ${(Math.min(bound, maxSeconds) / 60).toFixed(0)} min (--round-cap ${roundCap}, --max-run-seconds ${maxRunSeconds}, --max-seconds ${maxSeconds})`,
  );

  const loadBefore = loadavg();
  const server = createSignalingServer({ logLevel: 'warn' });
  await server.start({ port: 0, host: '127.0.0.1' });
  const benchStarted = performance.now();
  const done = new Map<Run, RunRecord[]>();
  // Each run's files are removed once evaluated; the folder at the end.
  const snapshotDir = exact ? mkdtempSync(join(tmpdir(), 'links-')) : undefined;
  try {
    for (const { run, seed } of schedule) {
      const left = maxSeconds - (performance.now() - benchStarted) / 1000;
      if (left < 30) {
        console.log(`skipping ${label(run)}: the bench's --max-seconds is spent`);
        continue;
      }
      console.log(`\n${label(run)}${seeds === null ? '' : `, seed ${seed}`}`);
      const result = await runLiveSession(server, {
        config: sessionConfig(run, seed),
        peers,
        linkMbps,
        latencyMs,
        ...(run.sliceWaitMs === undefined ? {} : { peerSettings: { sliceWaitMs: run.sliceWaitMs } }),
        targetAccuracy: target,
        maxSeconds: Math.min(maxRunSeconds, left),
        ...(snapshotDir === undefined ? {} : { snapshotDir }),
        onRound: (r) => {
          if (r.testAccuracy !== null) {
            const acc = (r.testAccuracy * 100).toFixed(2);
            console.log(
              `  round ${r.round + 1}: ${acc}% (${((r.bytesUp + r.bytesDown) / 1e6).toFixed(2)} MB so far)`,
            );
          }
        },
      });
      // Outside the timed session: the session's clock stopped at its last round.
      const figures = exact
        ? await exactTimeToTarget(result, sessionConfigSchema.parse(sessionConfig(run, seed)), target).catch(
            (error: unknown) => {
              // A failed evaluation costs this run its exact figure, not the bench its other runs.
              console.warn(
                `  WARNING: no exact figure: ${error instanceof Error ? error.message : String(error)}`,
              );
              return null;
            },
          )
        : null;
      const record = summarizeRun(
        run,
        result,
        target,
        predict(run),
        { learningRate: Number(values.lr), momentum: Number(values.momentum), seed },
        figures,
      );
      done.set(run, [...(done.get(run) ?? []), record]);
      const to90 = record.secondsTo90 === null ? 'not reached' : `${record.secondsTo90.toFixed(1)} s`;
      console.log(`  -> ${to90} (${record.roundsTo90 ?? '-'} rounds), stopped by ${record.stoppedBy}`);
      if (figures !== null) {
        const exactTo90 =
          figures.secondsTo90 === null ? 'not reached' : `${figures.secondsTo90.toFixed(2)} s`;
        console.log(
          `  -> exact: ${exactTo90} (${figures.roundsTo90 ?? '-'} rounds; ${figures.evaluated} snapshots evaluated, ${figures.checkedRounds} rounds checked against the session's evaluation)`,
        );
        for (const m of figures.mismatches)
          console.warn(
            `  WARNING: round ${m.round + 1}: the snapshot's accuracy ${m.snapshot} differs from the session's ${m.session}`,
          );
        if (figures.checkedRounds === 0) console.warn('  WARNING: no round checked against the session');
        if (figures.missingSnapshots > 0)
          console.warn(`  WARNING: ${figures.missingSnapshots} rounds without a snapshot`);
      }
    }
  } finally {
    await server.stop();
    if (snapshotDir !== undefined) rmSync(snapshotDir, { recursive: true, force: true });
  }

  const records = runs.flatMap((run) => {
    const repeats = done.get(run);
    return repeats === undefined ? [] : [medianRepeat(repeats)];
  });
  const sgd = records.find((r) => r.algorithm === 'sgd' && r.up === 'identity');
  const speedups = Object.fromEntries(
    records
      .filter((r) => r !== sgd)
      .map((r) => [
        r.label,
        sgd?.secondsTo90 != null && r.secondsTo90 !== null ? sgd.secondsTo90 / r.secondsTo90 : null,
      ]),
  );
  // The headline figure: LIEC as configured by default (full syncs); the rolling run is listed too.
  const liecTopk = records.find(
    (r) =>
      r.algorithm === 'liec' &&
      r.up === 'topk:0.01' &&
      r.syncMode === 'full' &&
      r.syncPeriod === DEFAULT_SYNC_PERIOD,
  );
  const result = {
    bench: 'links',
    peers,
    linkMbps,
    latencyMs,
    target,
    settings: {
      learningRate: Number(values.lr),
      momentum: Number(values.momentum),
      batchSize: Number(values.batch),
      evalEvery: Number(values['eval-every']),
      exact,
      roundCap,
      repeat,
      repeatBelowSeconds: repeatBelow,
      maxRunSeconds,
      roundDeadlineMs: Number(values['deadline-ms']),
      seed: Number(values.seed),
      seeds,
    },
    speedupVsSgd:
      sgd?.secondsTo90 != null && liecTopk?.secondsTo90 != null
        ? sgd.secondsTo90 / liecTopk.secondsTo90
        : null,
    speedupsVsSgd: speedups,
    load: { cpus: cpus().length, loadavgBefore: loadBefore, loadavgAfter: loadavg() },
    date: new Date().toISOString(),
    runs: records,
  };
  console.log(
    '\nrun                                s to 90%  rounds  s to 90 (exact)  rounds to 90 (exact)  MB up   MB down  final acc  s/round (predicted)  CPU ms/round',
  );
  for (const r of records) {
    console.log(
      `${r.label.padEnd(34)} ${String(r.secondsTo90?.toFixed(1) ?? '-').padStart(8)}  ${String(r.roundsTo90 ?? '-').padStart(6)}  ${String(r.exact?.secondsTo90?.toFixed(2) ?? '-').padStart(15)}  ${String(r.exact?.roundsTo90 ?? '-').padStart(20)}  ${(r.bytes.up / 1e6).toFixed(2).padStart(6)}  ${(r.bytes.down / 1e6).toFixed(2).padStart(7)}  ${((r.final.testAccuracy ?? 0) * 100).toFixed(2).padStart(8)}%  ${r.roundSecondsMedian?.toFixed(2) ?? '-'} (${r.predictedRoundSeconds.toFixed(2)})  ${r.cpuMsPerRound?.toFixed(0) ?? '-'}`,
    );
  }
  console.log(`speedupVsSgd (liec top-k 1%): ${result.speedupVsSgd?.toFixed(1) ?? 'n/a'}`);
  const text = `${JSON.stringify(result, null, 2)}\n`;
  mkdirSync(dirname(RESULTS), { recursive: true });
  writeFileSync(values.out ?? RESULTS, text);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main(process.argv.slice(2));
