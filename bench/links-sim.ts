/**
 * `npm run bench:links-sim`: seconds and bytes to 90% test accuracy for sgd, doublesqueeze,
 * liec and the local-step baselines fedavg, diloco and sparseloco, on a fast link and at 10
 * and 2 Mbit/s per peer, from simulator runs (client/sim: the same algorithm objects as real
 * peers, every frame encoded and counted). Each algorithm runs at each of its candidate
 * settings on seeds 1-4; per link, the setting with the lowest median seconds to 90% there
 * is then run on seeds 5-8, and those are the figures reported (median and range).
 *
 * Time model. A run's trajectory (accuracy and bytes per round) does not depend on the link
 * in the simulator's lockstep mode with no deadline, so each run is simulated once and timed
 * on every link: a round takes H x COMPUTE_MS (its gradients) + ROUND_OVERHEAD_MS (protocol,
 * measured on real peers) + its wire bytes, up and down, over one link of the given rate:
 * N workers and an aggregator on a link of the same rate, through which every upload and
 * every broadcast copy passes. That is the simulator's own lockstep arithmetic with an
 * aggregator link of the workers' rate (client/sim/links.ts: uploads serialized one after
 * the other on the aggregator's link, broadcast copies likewise).
 *
 * Runs are appended to a JSONL file as they finish (a rerun skips the ones present), so
 * groups can run in parallel processes; `--summarize` reads them all and writes the table
 * (bench/results/links-sim.json) and the plots (docs/links-sim-accuracy-vs-*.svg).
 *
 * `--full` runs the settings chosen (per link) for the local-step comparison on seeds 5-8 to
 * the step cap without stopping at 90%, into FULL_RUNS_FILE, so that final accuracy at equal
 * compute is known too; `--summarize-full` tabulates them (links-sim-final.ts).
 *
 * @example
 * npm run bench:links-sim -- --peers 4 --partition iid
 * npm run bench:links-sim -- --peers 4 --partition dirichlet:0.1
 * npm run bench:links-sim -- --peers 8 --partition iid --chosen-at 4   # 4 peers' settings, seeds 5-8
 * npm run bench:links-sim -- --summarize
 * npm run bench:links-sim -- --peers 4 --partition iid --full
 * npm run bench:links-sim -- --summarize-full
 * npm run bench:links-sim -- --partition iid --default-candidates --seeds 1,2,3,4 --lrs 0.3,0.6
 * npm run bench:links-sim -- --summarize-default   # links-sim-default.ts
 * npm run bench:links-sim -- --retime-overhead-ms 11.8   # links-sim-retime.ts
 */
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { simulationLearner } from '../client/sim/cli.ts';
import { parseSimulateArgs } from '../client/sim/options.ts';
import { runSimulation } from '../client/sim/simulator.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
export const RUNS_FILE = join(ROOT, 'bench', 'results', 'links-sim-runs.jsonl');
/** Runs to the step cap (--full): final accuracy as well as the time to 90%. */
export const FULL_RUNS_FILE = join(ROOT, 'bench', 'results', 'links-sim-full-runs.jsonl');

/** Modeled time of one gradient step (the simulator's default --compute-ms). */
export const COMPUTE_MS = 10;
/** Per-round protocol overhead: bench:rounds' median with 4 real peers (24-25 ms). */
export const ROUND_OVERHEAD_MS = 25;
/** The links every run is timed on: "fast" stands for loopback or a LAN. */
export const LINKS = [
  { name: 'fast (1 Gbit/s)', mbps: 1000 },
  { name: '10 Mbit/s', mbps: 10 },
  { name: '2 Mbit/s', mbps: 2 },
] as const;
/** Every run stops at the target or after this many gradient steps per worker. */
export const STEP_CAP = 400;
/** About this many steps between evaluations, whatever H is (time to 90% is quantized by it). */
const EVAL_STEPS = 8;
const TARGET = 0.9;
const SELECTION_SEEDS = [1, 2, 3, 4];
const REPORT_SEEDS = [5, 6, 7, 8];

export interface Setting {
  name: string;
  algorithm: string;
  /** What it is chosen against and reported as (the algorithm, unless set). */
  group?: string;
  localSteps: number;
  flags: string[];
}

/** LIEC with H local steps competes as its own group, apart from one-step LIEC. */
export const LIEC_LOCAL_GROUP = 'liec H>1';

/** The local-step comparison (--full): one-step LIEC, LIEC H>1 and the local-step baselines. */
export const COMPARED_GROUPS = ['liec', LIEC_LOCAL_GROUP, 'fedavg', 'diloco', 'sparseloco'];

/** Suffix of the lr 0.6 variants of the one-step LIEC and baseline candidates (LR_VARIANTS). */
const LR06 = ' lr 0.6';

/**
 * Controls for the comparison's one asymmetry, the learning rate (the main groups run at lr
 * 0.3 but for LIEC H>1): LIEC H>1 chosen among its lr 0.3 settings only, and each compared
 * group chosen over its candidates at lr 0.3 and at lr 0.6 (its "lr 0.6" variants).
 */
export const CONTROL_GROUPS: { name: string; member: (s: Setting) => boolean }[] = [
  {
    name: `${LIEC_LOCAL_GROUP} at lr 0.3`,
    member: (s) => groupOf(s) === LIEC_LOCAL_GROUP && s.name.endsWith(' lr 0.3'),
  },
  ...['liec', 'fedavg', 'diloco', 'sparseloco'].map((group) => ({
    name: `${group}, lr 0.3 or 0.6`,
    member: (s: Setting) => groupOf(s) === group || groupOf(s) === `${group}${LR06}`,
  })),
];

export function groupOf(setting: Pick<Setting, 'algorithm' | 'group'>): string {
  return setting.group ?? setting.algorithm;
}

const local = (algorithm: string, h: number, codec?: string): Setting => ({
  name: `${algorithm} H=${h}`,
  algorithm,
  localSteps: h,
  flags: [
    '--algorithm',
    algorithm,
    '--local-steps',
    String(h),
    ...(codec === undefined ? [] : ['--up', codec, '--down', codec]),
  ],
});

/**
 * LIEC with H local steps (top-k 1% both ways, its defaults otherwise): H and the inner lr
 * are chosen, the others run at lr 0.3 only.
 */
const liecLocal = (h: number, lr: number): Setting => ({
  name: `liec H=${h} lr ${lr}`,
  algorithm: 'liec',
  group: LIEC_LOCAL_GROUP,
  localSteps: h,
  flags: ['--algorithm', 'liec', '--local-steps', String(h), '--lr', String(lr)],
});

/** Each algorithm's candidates (lr 0.3, batch 32, no momentum: the project defaults). */
export const SETTINGS: Setting[] = [
  { name: 'sgd', algorithm: 'sgd', localSteps: 1, flags: ['--algorithm', 'sgd'] },
  {
    name: 'doublesqueeze topk:0.01',
    algorithm: 'doublesqueeze',
    localSteps: 1,
    flags: ['--algorithm', 'doublesqueeze', '--up', 'topk:0.01', '--down', 'topk:0.01'],
  },
  { name: 'liec (defaults)', algorithm: 'liec', localSteps: 1, flags: ['--algorithm', 'liec'] },
  local('fedavg', 4),
  local('fedavg', 16),
  local('diloco', 4),
  local('diloco', 16),
  local('sparseloco', 4, 'topk:0.02:sign'),
  local('sparseloco', 16, 'topk:0.02:sign'),
  ...[4, 8, 16].flatMap((h) => [0.1, 0.3, 0.6].map((lr) => liecLocal(h, lr))),
];

/** The lr 0.6 variants of one-step LIEC and the local-step baselines (CONTROL_GROUPS). */
const LR_VARIANTS: Setting[] = SETTINGS.filter((s) =>
  ['liec', 'fedavg', 'diloco', 'sparseloco'].includes(groupOf(s)),
).map((s) => ({
  ...s,
  name: `${s.name}${LR06}`,
  group: `${groupOf(s)}${LR06}`,
  flags: [...s.flags, '--lr', '0.6'],
}));
SETTINGS.push(...LR_VARIANTS);

/** Runs of the default's candidates (--default-candidates), each to the step cap. */
export const DEFAULT_RUNS_FILE = join(ROOT, 'bench', 'results', 'links-sim-default-runs.jsonl');

/** What a default candidate is reported as (links-sim-default.ts). */
export const DEFAULT_CANDIDATE_GROUP = 'default candidates';

/**
 * Candidates for the project default (issue 20, item 2): liec with H local steps, inner lr
 * and the kept values of top-k 1% both ways (fp16, or one sign bit times a scale); sync and
 * compensation as the defaults. lr 0.45 comes last in the list so a short sweep can leave it out.
 * H = 8 and 16 (lr 0.6) were added after the choice, to see how near LIEC gets to fedavg's best
 * on the fast link with as few rounds.
 */
export const DEFAULT_CANDIDATES: Setting[] = [0.3, 0.6, 0.45].flatMap((lr) =>
  // H = 8 and 16 at lr 0.6 only: fewer rounds, for goal (a) on the fast link (fedavg's best is H = 16).
  (lr === 0.6 ? [1, 2, 4, 8, 16] : [1, 2, 4]).flatMap((h) =>
    (['fp16', 'sign'] as const).map((values) => ({
      name: `liec H=${h} lr ${lr} ${values}`,
      algorithm: 'liec',
      group: DEFAULT_CANDIDATE_GROUP,
      localSteps: h,
      flags: [
        ...['--algorithm', 'liec', '--local-steps', String(h), '--lr', String(lr)],
        ...(values === 'sign' ? ['--up', 'topk:0.01:sign', '--down', 'topk:0.01:sign'] : []),
      ],
    })),
  ),
);

/** Today's default among DEFAULT_CANDIDATES (H=1, lr 0.3, fp16 values). */
export const TODAY_DEFAULT = 'liec H=1 lr 0.3 fp16';

export interface EvalPoint {
  round: number;
  steps: number;
  accuracy: number;
  bytes: number;
  /** Seconds since the start on each of LINKS, in order. */
  seconds: number[];
}

export interface RunRecord {
  peers: number;
  partition: string;
  seed: number;
  setting: string;
  algorithm: string;
  localSteps: number;
  flags: string[];
  /** Run to the step cap whatever the accuracy (--full); absent: stopped at the target. */
  full?: boolean;
  /** Index in `evals` of the first at or above the target; null if never. */
  reachedAt: number | null;
  evals: EvalPoint[];
  bitsPerParam: { up: number; down: number };
  wallSeconds: number;
}

export function readRuns(file: string): RunRecord[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RunRecord);
}

async function simulate(
  setting: Setting,
  peers: number,
  partition: string,
  seed: number,
  full: boolean,
): Promise<RunRecord> {
  const h = setting.localSteps;
  const rounds = Math.ceil(STEP_CAP / h);
  const evalEvery = Math.max(1, Math.round(EVAL_STEPS / h));
  const argv = [
    ...setting.flags,
    ...['--workers', String(peers), '--partition', partition, '--seed', String(seed)],
    ...['--rounds', String(rounds), '--eval-every', String(evalEvery), '--quiet'],
  ];
  const cli = parseSimulateArgs(argv);
  if (cli === 'help') throw new Error('unreachable: no --help');
  const learner = await simulationLearner(cli);
  const started = performance.now();
  const evals: EvalPoint[] = [];
  const seconds = LINKS.map(() => 0);
  let bytes = 0;
  let uploads = 0;
  let upBytes = 0;
  let downBytes = 0;
  try {
    runSimulation(cli.config, learner, {
      onRound(r) {
        const roundBytes = r.roundBytesUp + r.roundBytesDown;
        bytes += roundBytes;
        upBytes += r.roundBytesUp;
        downBytes += r.roundBytesDown;
        uploads += r.participants;
        LINKS.forEach((link, k) => {
          const fixed = (h * COMPUTE_MS + ROUND_OVERHEAD_MS) / 1000;
          seconds[k] = (seconds[k] ?? 0) + fixed + (roundBytes * 8) / (link.mbps * 1e6);
        });
        if (r.testAccuracy === null) return;
        evals.push({
          round: r.round + 1,
          steps: (r.round + 1) * h,
          accuracy: r.testAccuracy,
          bytes,
          seconds: [...seconds],
        });
      },
      stopAfter: (r) => !full && (r.testAccuracy ?? 0) >= TARGET,
    });
  } finally {
    learner.dispose();
  }
  const reached = evals.findIndex((e) => e.accuracy >= TARGET);
  const d = learner.numParams;
  const roundsRun = evals.at(-1)?.round ?? 1;
  return {
    peers,
    partition,
    seed,
    setting: setting.name,
    algorithm: setting.algorithm,
    localSteps: h,
    flags: argv,
    ...(full ? { full } : {}),
    reachedAt: reached < 0 ? null : reached,
    evals,
    bitsPerParam: {
      up: (upBytes * 8) / (d * Math.max(1, uploads)),
      down: (downBytes * 8) / (d * peers * roundsRun),
    },
    wallSeconds: (performance.now() - started) / 1000,
  };
}

/** Median of seconds to target over runs (Infinity for a run that did not reach it). */
export function secondsTo(run: RunRecord, link: number): number {
  return run.reachedAt === null ? Infinity : (run.evals[run.reachedAt]?.seconds[link] ?? Infinity);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length / 2;
  if (sorted.length === 0) return NaN;
  return sorted.length % 2 === 1
    ? (sorted[Math.floor(mid)] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Median and range of runs' figures; a run that never got there (Infinity) makes max null. */
export interface Spread {
  median: number | null;
  min: number | null;
  max: number | null;
}

export function spread(values: number[]): Spread {
  const finite = values.filter(Number.isFinite);
  const m = median(values);
  return {
    median: Number.isFinite(m) ? m : null,
    min: finite.length === 0 ? null : Math.min(...finite),
    max: finite.length === values.length && finite.length > 0 ? Math.max(...finite) : null,
  };
}

/** Bytes a run had moved when it reached 90% (Infinity: never). */
export function bytesTo(run: RunRecord): number {
  return run.reachedAt === null ? Infinity : (run.evals[run.reachedAt]?.bytes ?? Infinity);
}

/** Per link, each algorithm's setting with the lowest median seconds to 90% on the selection seeds. */
export function selectSettings(runs: RunRecord[], peers: number, partition: string): Map<string, string[]> {
  const chosen = new Map<string, string[]>();
  const groups = [...new Set(SETTINGS.map(groupOf))];
  for (const group of groups)
    chosen.set(
      group,
      chooseAmong(runs, peers, partition, (s) => groupOf(s) === group),
    );
  for (const control of CONTROL_GROUPS)
    chosen.set(control.name, chooseAmong(runs, peers, partition, control.member));
  return chosen;
}

/** Per link, the candidate with the lowest median seconds to 90% on the selection seeds ('' if none ran). */
function chooseAmong(
  runs: RunRecord[],
  peers: number,
  partition: string,
  member: (s: Setting) => boolean,
): string[] {
  return LINKS.map((_, k) => {
    let best: { setting: string; seconds: number } | null = null;
    for (const setting of SETTINGS.filter(member)) {
      const mine = runs.filter(
        (r) =>
          r.peers === peers &&
          r.partition === partition &&
          r.setting === setting.name &&
          SELECTION_SEEDS.includes(r.seed),
      );
      if (mine.length === 0) continue;
      const seconds = median(mine.map((r) => secondsTo(r, k)));
      if (best === null || seconds < best.seconds) best = { setting: setting.name, seconds };
    }
    return best?.setting ?? '';
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      peers: { type: 'string', default: '4' },
      partition: { type: 'string', default: 'iid' },
      summarize: { type: 'boolean', default: false },
      runs: { type: 'string', default: RUNS_FILE },
      /** Skip the selection: the settings chosen for this peer count (same partition). */
      'chosen-at': { type: 'string' },
      /** Then run the local-step comparison's chosen settings to the step cap (FULL_RUNS_FILE). */
      full: { type: 'boolean', default: false },
      'summarize-full': { type: 'boolean', default: false },
      /** Run DEFAULT_CANDIDATES to the step cap into DEFAULT_RUNS_FILE (on --seeds, lrs --lrs). */
      'default-candidates': { type: 'boolean', default: false },
      seeds: { type: 'string', default: SELECTION_SEEDS.join(',') },
      /** Comma-separated lrs of the candidates to run (all unless set). */
      lrs: { type: 'string' },
      /** Comma-separated candidate names to run (all unless set). */
      only: { type: 'string' },
      'summarize-default': { type: 'boolean', default: false },
      /** Time the stored runs again with this per-round overhead (links-sim-retime.ts). */
      'retime-overhead-ms': { type: 'string' },
    },
  });
  const file = values.runs;
  if (values.summarize) {
    // Loaded here: the summary imports this module's settings.
    const { summarizeLinks } = await import('./links-sim-summary.ts');
    summarizeLinks(readRuns(file), ROOT);
    return;
  }
  if (values['summarize-full']) {
    const { summarizeFinal } = await import('./links-sim-final.ts');
    summarizeFinal(readRuns(file), readRuns(FULL_RUNS_FILE), ROOT);
    return;
  }
  if (values['retime-overhead-ms'] !== undefined) {
    const overheadMs = Number(values['retime-overhead-ms']);
    if (!(overheadMs >= 0))
      throw new Error(`--retime-overhead-ms must be a number >= 0, got ${values['retime-overhead-ms']}`);
    const { summarizeRetimed } = await import('./links-sim-retime.ts');
    summarizeRetimed(
      [...readRuns(DEFAULT_RUNS_FILE), ...readRuns(file), ...readRuns(FULL_RUNS_FILE)],
      overheadMs,
      ROOT,
    );
    return;
  }
  if (values['summarize-default']) {
    const { summarizeDefault } = await import('./links-sim-default.ts');
    summarizeDefault(readRuns(DEFAULT_RUNS_FILE), readRuns(file), readRuns(FULL_RUNS_FILE), ROOT);
    return;
  }
  const peers = Number(values.peers);
  const partition = values.partition;
  const runOnce = async (
    setting: Setting,
    seed: number,
    full = false,
    into = full ? FULL_RUNS_FILE : file,
  ): Promise<void> => {
    const done = readRuns(into).some(
      (r) => r.peers === peers && r.partition === partition && r.seed === seed && r.setting === setting.name,
    );
    if (done) return;
    const record = await simulate(setting, peers, partition, seed, full);
    appendFileSync(into, `${JSON.stringify(record)}\n`);
    const at = record.reachedAt === null ? undefined : record.evals[record.reachedAt];
    const final = record.evals.at(-1)?.accuracy ?? 0;
    console.log(
      `${peers} peers ${partition} seed ${seed} ${setting.name}${full ? ' (full)' : ''}: ${at === undefined ? 'no 90%' : `90% at step ${at.steps}, ${(at.bytes / 1e6).toFixed(2)} MB`}, last ${final.toFixed(3)} (${record.wallSeconds.toFixed(1)} s)`,
    );
  };
  if (values['default-candidates']) {
    const list = (text: string | undefined) => (text === undefined ? null : text.split(','));
    const lrs = list(values.lrs)?.map(Number) ?? null;
    const only = list(values.only);
    const candidates = DEFAULT_CANDIDATES.filter(
      (s) =>
        (lrs === null || lrs.some((lr) => s.flags.join(' ').includes(`--lr ${lr}`))) &&
        (only === null || only.includes(s.name)),
    );
    for (const setting of candidates)
      for (const seed of list(values.seeds)?.map(Number) ?? [])
        await runOnce(setting, seed, true, DEFAULT_RUNS_FILE);
    return;
  }
  const chosenAt = values['chosen-at'] === undefined ? peers : Number(values['chosen-at']);
  if (chosenAt === peers)
    for (const seed of SELECTION_SEEDS) for (const setting of SETTINGS) await runOnce(setting, seed);
  const chosen = selectSettings(readRuns(file), chosenAt, partition);
  const needed = new Set([...chosen.values()].flat().filter((name) => name !== ''));
  console.log(`chosen: ${JSON.stringify(Object.fromEntries(chosen))}`);
  for (const seed of REPORT_SEEDS)
    for (const setting of SETTINGS.filter((s) => needed.has(s.name))) await runOnce(setting, seed);
  if (!values.full) return;
  const compared = new Set(
    [...COMPARED_GROUPS, ...CONTROL_GROUPS.map((c) => c.name)]
      .flatMap((group) => chosen.get(group) ?? [])
      .filter((name) => name !== ''),
  );
  for (const seed of REPORT_SEEDS)
    for (const setting of SETTINGS.filter((s) => compared.has(s.name))) await runOnce(setting, seed, true);
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  // Not awaited at the top level: the summary imports this module, which must finish loading.
  main().catch((error: unknown) => {
    console.error(error);
    process.exitCode = 1;
  });
}
