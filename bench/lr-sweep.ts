/**
 * `npm run bench:lr-sweep`: LIEC against DoubleSqueeze over a grid of learning rates, in the
 * simulator with the bench:links setting (4 workers, batch 128, links and the aggregator's
 * link at 2 Mbit/s, top-k 1% both ways). Shows whether LIEC's time to 90% on these links is
 * bounded by the engineering (round time) or by the method on this task (rounds):
 *  - doublesqueeze: one model, shared by every peer;
 *  - liec own: worker 0's own model x_0, what a real session's aggregator evaluates
 *    (bench:links), with its own residuals between syncs;
 *  - liec consensus: the model a sync would hand every peer now (what `npm run simulate`
 *    reports), which no peer holds between syncs.
 * Per setting (momentum and learning rate): median rounds and simulated seconds to 90% over
 * the seeds, and per run the setting with the fewest median rounds. `--grid` sweeps several
 * momenta, each over its own learning rates (momentum B multiplies the step by about
 * 1/(1 - B), so each needs a smaller range). Prints a table, saves JSON.
 *
 * @example
 * npm run bench:lr-sweep -- --lrs 0.5,0.8,1.2 --seeds 1,2,3,4 --out bench/results/lr-sweep.json
 * npm run bench:lr-sweep -- --grid "0:0.8,1.2;0.9:0.2,0.3" --out bench/results/lr-momentum-sweep.json
 * npm run bench:lr-sweep -- --runs "doublesqueeze,liec own rolling:10" --momentum 0.5 --lrs 0.8
 * npm run bench:lr-sweep -- --grid "0.7:0.6" --runs "liec own rolling:10" --eval-every 1 --slice-delta after
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { parseSimulateArgs } from '../client/sim/options.ts';
import { runSimulation } from '../client/sim/simulator.ts';
import { simulationLearner, simulationReport } from '../client/sim/cli.ts';

const { values } = parseArgs({
  options: {
    lrs: { type: 'string', default: '0.5,0.8,1.2' },
    momentum: { type: 'string', default: '0' },
    /** "B:LR,LR;B:LR,...": momenta, each with its learning rates; replaces --lrs and --momentum. */
    grid: { type: 'string' },
    /** Runs by name: doublesqueeze, liec own, liec consensus; a liec one may add "rolling:H" or "sync:H". */
    runs: { type: 'string', default: 'doublesqueeze,liec own,liec consensus' },
    seeds: { type: 'string', default: '1,2,3,4' },
    rounds: { type: 'string', default: '140' },
    compressor: { type: 'string', default: 'topk:0.01' },
    /** Rounds between test evaluations: 5 as in bench:links; 1 finds the exact round of 90%. */
    'eval-every': { type: 'string', default: '5' },
    /** LIEC rolling sync: a block's delta lands before or after (as on real peers) the next gradient. */
    'slice-delta': { type: 'string', default: 'before' },
    out: { type: 'string', default: 'bench/results/lr-sweep.json' },
  },
});

/** The bench:links setting, in simulator flags. */
const LINKS_SETTING = [
  ...['--workers', '4', '--batch', '128', '--eval-every', values['eval-every']],
  ...['--slice-delta', values['slice-delta']],
];
const LINKS_SHAPING = ['--link-mbps', '2', '--aggregator-mbps', '2'];
/** Wall seconds one 140-round run takes on this 2-core machine (measured), for the estimate. */
const SECONDS_PER_RUN_AT_140 = 15;

const ALL_RUNS: { name: string; flags: string[] }[] = [
  { name: 'doublesqueeze', flags: ['--algorithm', 'doublesqueeze'] },
  { name: 'liec own', flags: ['--algorithm', 'liec', '--evaluate', 'own'] },
  { name: 'liec consensus', flags: ['--algorithm', 'liec', '--evaluate', 'consensus'] },
];
/**
 * A run by name: one of ALL_RUNS, and for LIEC optionally a sync setting after it,
 * "rolling:H" (a rolling sync of period H) or "sync:H" (full syncs every H rounds),
 * e.g. "liec own rolling:10".
 */
function parseRun(name: string): { name: string; flags: string[] } {
  const [base, sync] = name.split(/\s+(?=(?:rolling|sync):)/);
  const run = ALL_RUNS.find((r) => r.name === base);
  if (run === undefined)
    throw new RangeError(`--runs: unknown "${name}" (${ALL_RUNS.map((r) => r.name).join(', ')})`);
  if (sync === undefined) return run;
  const [mode, period] = sync.split(':');
  if (!run.name.startsWith('liec') || !/^\d+$/.test(period ?? ''))
    throw new RangeError(`--runs: "${name}": a sync setting is "rolling:H" or "sync:H" after a liec run`);
  const modeFlags = mode === 'rolling' ? ['--sync-mode', 'rolling'] : [];
  return { name, flags: [...run.flags, ...modeFlags, '--sync', String(period)] };
}
const RUNS = values.runs.split(',').map((name) => parseRun(name.trim()));

interface Setting {
  momentum: number;
  learningRate: number;
}

const numbers = (text: string): number[] => text.split(',').map((item) => Number(item.trim()));

/** The settings to sweep, from --grid or from --momentum and --lrs. */
function parseGrid(): Setting[] {
  const groups = values.grid?.split(';') ?? [`${values.momentum}:${values.lrs}`];
  const settings = groups.flatMap((group) => {
    const [momentum, lrs] = group.split(':');
    if (momentum === undefined || lrs === undefined)
      throw new RangeError(`--grid: "${group}" is not MOMENTUM:LR,LR,...`);
    return numbers(lrs).map((learningRate) => ({ momentum: Number(momentum), learningRate }));
  });
  const valid = (s: Setting): boolean => s.momentum >= 0 && s.momentum < 1 && s.learningRate > 0;
  if (!settings.every(valid))
    throw new RangeError('--grid/--lrs/--momentum: momenta in [0, 1), learning rates above 0');
  return settings;
}

const settings = parseGrid();
const seeds = numbers(values.seeds);
if (!seeds.every(Number.isFinite)) throw new RangeError('--seeds is a list of numbers');
const settingName = (s: Setting): string => `momentum ${s.momentum} lr ${s.learningRate}`;

function median(list: (number | null)[]): number | null {
  // A seed that never reached 90% counts as slower than every one that did.
  const sorted = list.map((v) => v ?? Infinity).sort((a, b) => a - b);
  const middle = sorted[Math.floor((sorted.length - 1) / 2)];
  return middle === undefined || !Number.isFinite(middle) ? null : middle;
}

const total = RUNS.length * settings.length * seeds.length;
const estimateMinutes = (total * SECONDS_PER_RUN_AT_140 * Number(values.rounds)) / 140 / 60;
console.log(
  `${total} simulations (${RUNS.length} runs x ${settings.length} settings x ${seeds.length} seeds); about ${estimateMinutes.toFixed(0)} min`,
);

interface SeedResult extends Setting {
  run: string;
  seed: number;
  roundsTo90: number | null;
  simSecondsTo90: number | null;
  finalAccuracy: number;
  syncs: number;
}

const started = performance.now();
const results: SeedResult[] = [];
for (const setting of settings) {
  for (const run of RUNS) {
    for (const seed of seeds) {
      const compressor = values.compressor;
      const cli = parseSimulateArgs([
        ...LINKS_SETTING,
        ...LINKS_SHAPING,
        ...run.flags,
        ...['--up', compressor, '--down', compressor],
        ...['--lr', String(setting.learningRate), '--momentum', String(setting.momentum)],
        ...['--seed', String(seed), '--rounds', values.rounds, '--quiet'],
      ]);
      if (cli === 'help') throw new Error('unreachable');
      const learner = await simulationLearner(cli);
      try {
        const runStarted = performance.now();
        const report = simulationReport(cli, runSimulation(cli.config, learner), learner.backend, 0);
        results.push({
          run: run.name,
          ...setting,
          seed,
          roundsTo90: report.roundsTo90,
          simSecondsTo90: report.simSecondsTo90,
          finalAccuracy: report.final.testAccuracy,
          syncs: report.sync.count,
        });
        const to90 = report.roundsTo90 === null ? 'not reached' : `${report.roundsTo90} rounds`;
        console.log(
          `  ${settingName(setting)} ${run.name} seed ${seed}: ${to90} (${((performance.now() - runStarted) / 1000).toFixed(0)} s)`,
        );
      } finally {
        learner.dispose();
      }
    }
  }
}

const summary = settings.flatMap((setting) =>
  RUNS.map((run) => {
    const rows = results.filter(
      (r) => r.run === run.name && r.learningRate === setting.learningRate && r.momentum === setting.momentum,
    );
    return {
      run: run.name,
      ...setting,
      medianRoundsTo90: median(rows.map((r) => r.roundsTo90)),
      medianSimSecondsTo90: median(rows.map((r) => r.simSecondsTo90)),
      roundsTo90BySeed: rows.map((r) => r.roundsTo90),
    };
  }),
);
/** Per run, the setting with the fewest median rounds to 90% (ties: the fewer simulated seconds). */
const bestSetting = Object.fromEntries(
  RUNS.map((run) => {
    const ranked = summary
      .filter((s) => s.run === run.name)
      .sort(
        (a, b) =>
          (a.medianRoundsTo90 ?? Infinity) - (b.medianRoundsTo90 ?? Infinity) ||
          (a.medianSimSecondsTo90 ?? Infinity) - (b.medianSimSecondsTo90 ?? Infinity),
      );
    return [run.name, ranked[0] ?? null];
  }),
);
console.table(
  summary.map((s) => ({
    run: s.run,
    momentum: s.momentum,
    lr: s.learningRate,
    'median rounds to 90%': s.medianRoundsTo90 ?? '-',
    'median sim s to 90%': s.medianSimSecondsTo90?.toFixed(2) ?? '-',
    'rounds by seed': s.roundsTo90BySeed.map((r) => r ?? '-').join(' '),
  })),
);
for (const [run, best] of Object.entries(bestSetting))
  console.log(
    `best for ${run}: ${best === null ? '-' : `${settingName(best)}, ${best.medianRoundsTo90 ?? '-'} rounds`}`,
  );
const gridArgument =
  values.grid === undefined ? `--momentum ${values.momentum} --lrs ${values.lrs}` : `--grid "${values.grid}"`;
const document = {
  benchmark: 'lr-sweep',
  date: new Date().toISOString(),
  command: `npm run bench:lr-sweep -- ${gridArgument} --runs "${values.runs}" --seeds ${values.seeds} --rounds ${values.rounds} --compressor ${values.compressor} --eval-every ${values['eval-every']} --out ${values.out}`,
  setting: [...LINKS_SETTING, ...LINKS_SHAPING, '--up', values.compressor, '--down', values.compressor].join(
    ' ',
  ),
  wallSeconds: (performance.now() - started) / 1000,
  summary,
  bestSetting,
  runs: results,
};
await mkdir(dirname(values.out), { recursive: true });
await writeFile(values.out, `${JSON.stringify(document, null, 2)}\n`);
console.log(`saved ${values.out}`);
