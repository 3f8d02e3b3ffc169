/**
 * `npm run bench:links-sim -- --summarize-default`: which LIEC setting could be the project's
 * default (issue 20, item 2). Each of DEFAULT_CANDIDATES ran to the step cap on seeds 1-4 (and
 * the chosen one on seeds 5-8) with 4 peers on iid and dirichlet:0.1 (DEFAULT_RUNS_FILE); the
 * baselines are the existing stopped runs (RUNS_FILE): fedavg at its best over H = 4, 16 and lr
 * 0.3, 0.6 and SGD, each chosen per link on seeds 1-4 as in the links-sim table.
 *
 * The goals, on both partitions: (a) seconds to 90% on the fast link no later than fedavg's best;
 * (b) at 2 Mbit/s at least 10x sooner than fedavg's best and than SGD; and on dirichlet:0.1 (c)
 * final accuracy at the step cap within 0.3 point of today's default and seconds to 90% no later
 * than today's default on every link. A candidate is chosen on seeds 1-4: most goals met, then
 * the smallest worst miss (its seconds over the bound, over the time goals), then the higher
 * final accuracy on dirichlet:0.1. The chosen one and today's default are then reported on seeds
 * 5-8, the goals checked again there. Writes bench/results/default-candidates.json and prints the
 * markdown tables.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  COMPUTE_MS,
  DEFAULT_CANDIDATES,
  LINKS,
  ROUND_OVERHEAD_MS,
  secondsTo,
  selectSettings,
  STEP_CAP,
  TODAY_DEFAULT,
  bytesTo,
  spread,
  type RunRecord,
  type Spread,
} from './links-sim.ts';

const PEERS = 4;
const PARTITIONS = ['iid', 'dirichlet:0.1'] as const;
/** The partition on which the candidate must keep today's default's accuracy and speed (c). */
const SKEWED = 'dirichlet:0.1';
const SELECTION_SEEDS = [1, 2, 3, 4];
const REPORT_SEEDS = [5, 6, 7, 8];
/** Goal (b): this many times sooner than fedavg and SGD at 2 Mbit/s. */
const SPEEDUP_GOAL = 10;
/** Goal (c): final accuracy at most this far below today's default's. */
const ACCURACY_SLACK = 0.003;
/** fedavg's candidates at lr 0.3 and 0.6 (links-sim.ts CONTROL_GROUPS). */
const FEDAVG_BEST = 'fedavg, lr 0.3 or 0.6';
/** Today's default as named in the earlier full runs (FULL_RUNS_FILE): the same flags. */
const DEFAULT_IN_FULL_RUNS = 'liec (defaults)';
const FAST = 0;
const SLOW = LINKS.length - 1;

/** One setting on one partition over some seeds. */
interface Stats {
  setting: string;
  seeds: number[];
  reached: string;
  /** Per link of LINKS, in order. */
  secondsTo90: Spread[];
  bytesTo90: Spread;
  finalAccuracy: Spread;
  bitsPerParam: { up: number; down: number };
}

interface Goal {
  name: string;
  met: boolean;
  value: number | null;
  bound: number | null;
  /** value / bound for a time goal (<= 1: met); null for the accuracy goal. */
  ratio: number | null;
}

function runsOf(runs: RunRecord[], setting: string, partition: string, seeds: number[]): RunRecord[] {
  return runs.filter(
    (r) => r.peers === PEERS && r.partition === partition && r.setting === setting && seeds.includes(r.seed),
  );
}

function stats(mine: RunRecord[], setting: string): Stats {
  const mean = (f: (r: RunRecord) => number) => mine.reduce((sum, r) => sum + f(r), 0) / mine.length;
  return {
    setting,
    seeds: mine.map((r) => r.seed),
    reached: `${mine.filter((r) => r.reachedAt !== null).length}/${mine.length}`,
    secondsTo90: LINKS.map((_, k) => spread(mine.map((r) => secondsTo(r, k)))),
    bytesTo90: spread(mine.map(bytesTo)),
    // Runs stopped at 90% (the baselines) have no final accuracy: NaN, shown as "-".
    finalAccuracy: spread(mine.map((r) => (r.full === true ? (r.evals.at(-1)?.accuracy ?? NaN) : NaN))),
    bitsPerParam: { up: mean((r) => r.bitsPerParam.up), down: mean((r) => r.bitsPerParam.down) },
  };
}

/** fedavg's best and SGD per link: the setting chosen on seeds 1-4, over `seeds`. */
function baselines(
  stopped: RunRecord[],
  partition: string,
  seeds: number[],
): { fedavg: Stats[]; sgd: Stats[] } {
  const chosen = selectSettings(stopped, PEERS, partition);
  const at = (group: string) =>
    LINKS.map((_, k) => {
      const setting = chosen.get(group)?.[k] ?? '';
      return stats(runsOf(stopped, setting, partition, seeds), setting);
    });
  return { fedavg: at(FEDAVG_BEST), sgd: at('sgd') };
}

function timeGoal(name: string, value: number | null, bound: number | null): Goal {
  const v = value ?? Infinity;
  const b = bound ?? Infinity;
  return { name, met: v <= b, value, bound, ratio: Number.isFinite(v) && Number.isFinite(b) ? v / b : null };
}

/** Issue 20's goals for a candidate (medians), per partition, against the baselines and today's default. */
function goals(
  candidate: Record<string, Stats>,
  today: Record<string, Stats>,
  base: Record<string, { fedavg: Stats[]; sgd: Stats[] }>,
): Goal[] {
  const out: Goal[] = [];
  const s90 = (s: Stats | undefined, k: number) => s?.secondsTo90[k]?.median ?? null;
  for (const partition of PARTITIONS) {
    const mine = candidate[partition];
    const ref = base[partition];
    const slow = s90(mine, SLOW);
    const tenfold = slow === null ? null : slow * SPEEDUP_GOAL;
    out.push(timeGoal(`${partition} (a) fast link <= fedavg`, s90(mine, FAST), s90(ref?.fedavg[FAST], FAST)));
    out.push(timeGoal(`${partition} (b) 2 Mbit/s 10x fedavg`, tenfold, s90(ref?.fedavg[SLOW], SLOW)));
    out.push(timeGoal(`${partition} (b) 2 Mbit/s 10x sgd`, tenfold, s90(ref?.sgd[SLOW], SLOW)));
  }
  const mine = candidate[SKEWED];
  const def = today[SKEWED];
  const accuracy = mine?.finalAccuracy.median ?? null;
  const bound = def?.finalAccuracy.median ?? null;
  out.push({
    name: `${SKEWED} (c) final accuracy >= default - 0.3`,
    met: accuracy !== null && bound !== null && accuracy >= bound - ACCURACY_SLACK - 1e-9,
    value: accuracy,
    bound: bound === null ? null : bound - ACCURACY_SLACK,
    ratio: null,
  });
  LINKS.forEach((link, k) =>
    out.push(timeGoal(`${SKEWED} (c) ${link.name} <= default`, s90(mine, k), s90(def, k))),
  );
  return out;
}

/** Worst miss over the time goals (ratio over the bound; 1 or less when all are met). */
function worstRatio(list: Goal[]): number {
  return Math.max(...list.map((g) => (g.ratio === null ? (g.met ? 0 : Infinity) : g.ratio)));
}

const perPartition = (runs: RunRecord[], setting: string, seeds: number[]): Record<string, Stats> =>
  Object.fromEntries(PARTITIONS.map((p) => [p, stats(runsOf(runs, setting, p, seeds), setting)]));

const complete = (s: Record<string, Stats>, seeds: number[]) =>
  PARTITIONS.every((p) => s[p]?.seeds.length === seeds.length);

function show(s: Spread, scale: number, digits: number): string {
  const f = (v: number | null) => (v === null ? '-' : (v / scale).toFixed(digits));
  if (s.median === null && s.min === null) return '-';
  return `${f(s.median)} (${f(s.min)}-${s.max === null ? 'never' : f(s.max)})`;
}

const med = (s: Spread | undefined, digits = 1, scale = 1) =>
  s?.median === null || s === undefined ? '-' : (s.median / scale).toFixed(digits);

export function summarizeDefault(
  candidates: RunRecord[],
  stopped: RunRecord[],
  full: RunRecord[],
  root: string,
): void {
  const baseOn = (seeds: number[]) =>
    Object.fromEntries(PARTITIONS.map((p) => [p, baselines(stopped, p, seeds)]));
  const selectionBase = baseOn(SELECTION_SEEDS);
  const todaySelection = perPartition(candidates, TODAY_DEFAULT, SELECTION_SEEDS);

  const selection = DEFAULT_CANDIDATES.map((c) => perPartition(candidates, c.name, SELECTION_SEEDS))
    .filter((s) => complete(s, SELECTION_SEEDS))
    .map((s) => {
      const list = goals(s, todaySelection, selectionBase);
      const name = Object.values(s)[0]?.setting ?? '';
      const flags = DEFAULT_CANDIDATES.find((c) => c.name === name)?.flags ?? [];
      return { setting: name, flags, stats: s, goals: list, met: list.filter((g) => g.met).length };
    });
  const ranked = [...selection].sort(
    (a, b) =>
      b.met - a.met ||
      worstRatio(a.goals) - worstRatio(b.goals) ||
      (b.stats[SKEWED]?.finalAccuracy.median ?? 0) - (a.stats[SKEWED]?.finalAccuracy.median ?? 0),
  );
  const chosen = ranked[0]?.setting ?? '';

  // Seeds 5-8: the chosen candidate, today's default (the earlier full runs if not rerun here).
  const reportBase = baseOn(REPORT_SEEDS);
  let today = perPartition(candidates, TODAY_DEFAULT, REPORT_SEEDS);
  let todaySource = 'links-sim-default-runs.jsonl';
  if (!complete(today, REPORT_SEEDS)) {
    today = perPartition(full, DEFAULT_IN_FULL_RUNS, REPORT_SEEDS);
    todaySource = `links-sim-full-runs.jsonl (${DEFAULT_IN_FULL_RUNS})`;
  }
  const reported = perPartition(candidates, chosen, REPORT_SEEDS);
  const reportGoals = complete(reported, REPORT_SEEDS) ? goals(reported, today, reportBase) : [];

  // The same flags give the same trajectory: today's default here against the earlier runs.
  const determinism = PARTITIONS.flatMap((p) =>
    [...SELECTION_SEEDS, ...REPORT_SEEDS].flatMap((seed) => {
      const mine = candidates.find(
        (r) => r.peers === PEERS && r.partition === p && r.seed === seed && r.setting === TODAY_DEFAULT,
      );
      const earlier = [...stopped, ...full].filter(
        (r) =>
          r.peers === PEERS && r.partition === p && r.seed === seed && r.setting === DEFAULT_IN_FULL_RUNS,
      );
      if (mine === undefined) return [];
      return earlier.map((e) => {
        const a = mine.reachedAt === null ? null : mine.evals[mine.reachedAt];
        const b = e.reachedAt === null ? null : e.evals[e.reachedAt];
        const finalSame = e.full !== true || mine.evals.at(-1)?.accuracy === e.evals.at(-1)?.accuracy;
        return {
          partition: p,
          seed,
          earlier: e.full === true ? 'full' : 'stopped',
          same: a?.steps === b?.steps && a?.bytes === b?.bytes && finalSame,
        };
      });
    }),
  );

  const out = {
    benchmark: 'default-candidates',
    date: new Date().toISOString(),
    peers: PEERS,
    stepCap: STEP_CAP,
    timeModel: {
      computeMsPerStep: COMPUTE_MS,
      roundOverheadMs: ROUND_OVERHEAD_MS,
      links: LINKS,
      note: 'simulator runs (bench/links-sim.ts), timed per link: H x compute + overhead + round wire bytes / rate',
    },
    rule: 'chosen on seeds 1-4: most goals met, then the smallest worst time ratio, then dirichlet:0.1 final accuracy; reported on seeds 5-8',
    baselines: { selectionSeeds: selectionBase, reportSeeds: reportBase },
    selection: ranked.map((r) => ({ ...r, worstRatio: worstRatio(r.goals) })),
    chosen,
    report: { seeds: REPORT_SEEDS, chosen: reported, today, todaySource, goals: reportGoals },
    determinism,
  };
  writeFileSync(
    join(root, 'bench', 'results', 'default-candidates.json'),
    `${JSON.stringify(out, null, 2)}\n`,
  );
  printTables(ranked, chosen, reported, today, reportBase, reportGoals);
  const same = determinism.filter((d) => d.same).length;
  console.log(
    `determinism: today's default rerun against ${determinism.length} earlier runs, ${same} identical`,
  );
}

function printTables(
  ranked: { setting: string; stats: Record<string, Stats>; goals: Goal[]; met: number }[],
  chosen: string,
  reported: Record<string, Stats>,
  today: Record<string, Stats>,
  base: Record<string, { fedavg: Stats[]; sgd: Stats[] }>,
  reportGoals: Goal[],
): void {
  console.log('Seeds 1-4 (medians; s to 90% per link fast/10/2 Mbit/s; accuracy after the cap):');
  console.log(
    '| candidate | iid s to 90% | iid acc % | dirichlet:0.1 s to 90% | dirichlet:0.1 acc % | goals met | worst ratio |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of ranked) {
    const cells = PARTITIONS.map((p) => {
      const s = r.stats[p];
      return `${(s?.secondsTo90 ?? []).map((x) => med(x)).join(' / ')} (${s?.reached ?? '-'}) | ${med(s?.finalAccuracy, 1, 0.01)}`;
    });
    console.log(
      `| ${r.setting} | ${cells.join(' | ')} | ${r.met}/${r.goals.length} | ${worstRatio(r.goals).toFixed(2)} |`,
    );
  }
  console.log(`\nchosen: ${chosen}\n\nSeeds 5-8 (median (range)):`);
  console.log(
    '| partition | run | reached | s to 90%, fast | 10 Mbit/s | 2 Mbit/s | MB to 90% | accuracy after the cap (%) | bits/param up, down |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const p of PARTITIONS) {
    const rows: [string, Stats | undefined, number | null][] = [
      [`chosen: ${chosen}`, reported[p], null],
      [`today's default (${TODAY_DEFAULT})`, today[p], null],
      ...LINKS.map((_, k): [string, Stats | undefined, number] => [
        `fedavg best for ${LINKS[k]?.name}: ${base[p]?.fedavg[k]?.setting}`,
        base[p]?.fedavg[k],
        k,
      ]),
      [`sgd`, base[p]?.sgd[SLOW], null],
    ];
    for (const [label, s, only] of rows) {
      if (s === undefined || s.seeds.length === 0) continue;
      const at = (k: number) =>
        only === null || only === k ? show(s.secondsTo90[k] ?? spread([]), 1, 1) : '';
      console.log(
        `| ${p} | ${label} | ${s.reached} | ${at(0)} | ${at(1)} | ${at(2)} | ${show(s.bytesTo90, 1e6, 2)} | ${show(s.finalAccuracy, 0.01, 1)} | ${s.bitsPerParam.up.toFixed(3)}, ${s.bitsPerParam.down.toFixed(3)} |`,
      );
    }
  }
  for (const g of reportGoals)
    console.log(
      `${g.met ? 'met   ' : 'missed'} ${g.name}: ${g.value?.toFixed(3) ?? '-'} vs ${g.bound?.toFixed(3) ?? '-'}`,
    );
}
