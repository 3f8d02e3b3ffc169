/**
 * `npm run bench:adaptive`: topk:auto against fixed top-k ratios on heterogeneous links, in
 * the simulator. Half the workers on --link-mbps' first rate, half on its second (default
 * 0.5 and 10 Mbit/s), a round deadline, late uploads folded when they arrive (and queueing
 * the worker's next upload behind them). For each up codec and seed: simulated time to 90%,
 * rounds to 90%, uploads that missed the deadline, and the ratios auto picked per link class.
 * --link-model picks the simulator's time model (SimulationConfig.linkModel): 'fairShare'
 * (default: each worker starts a round when its own broadcast is in, as real peers do, and
 * transfers share the aggregator's link max-min fairly) or 'lockstep' (everyone starts
 * together after the slowest download; uploads cross the aggregator's link one at a time).
 *
 * @example
 * npm run bench:adaptive -- --deadline-ms 100 --seeds 1,2,3
 * npm run bench:adaptive -- --extra='--partition dirichlet:0.5'
 * npm run bench:adaptive -- --algorithm doublesqueeze --out bench/results/adaptive-doublesqueeze.json
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { simulationLearner, simulationReport } from '../client/sim/cli.ts';
import { parseSimulateArgs } from '../client/sim/options.ts';
import { runSimulation, type RoundRecord } from '../client/sim/simulator.ts';

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results', 'adaptive.json');

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '8' },
    'link-mbps': { type: 'string', default: '0.5,10' },
    'aggregator-mbps': { type: 'string', default: '10' },
    'deadline-ms': { type: 'string', default: '100' },
    ratios: { type: 'string', default: '0.0005,0.001,0.002,0.005,0.01,0.02' },
    'link-model': { type: 'string', default: 'fairShare' },
    auto: { type: 'string', default: 'topk:auto' },
    algorithm: { type: 'string', default: 'liec' },
    down: { type: 'string', default: 'topk:0.01' },
    rounds: { type: 'string', default: '300' },
    lr: { type: 'string', default: '0.8' },
    batch: { type: 'string', default: '32' },
    'eval-every': { type: 'string', default: '5' },
    seeds: { type: 'string', default: '1,2,3,4,5,6,7,8,9,10' },
    /** More simulator flags for every run, e.g. "--partition dirichlet:0.1 --sync 6". */
    extra: { type: 'string', default: '' },
    out: { type: 'string' },
  },
});
const extra = values.extra.split(' ').filter((w) => w.length > 0);

const ups = [values.auto, ...values.ratios.split(',').map((r) => `topk:${r}`)];
const seeds = values.seeds.split(',').map(Number);
console.log(
  `${ups.length} codecs x ${seeds.length} seeds, ${values.workers} workers at ${values['link-mbps']} Mbit/s, deadline ${values['deadline-ms']} ms; about ${Math.ceil((ups.length * seeds.length * 12) / 60)} min`,
);

interface RunRecord {
  up: string;
  seed: number;
  simSecondsTo90: number | null;
  roundsTo90: number | null;
  roundsRun: number;
  secondsPerRound: number;
  uploads: number;
  missedDeadline: number;
  bytes: { up: number; down: number };
  finalTestAccuracy: number;
  autoRatio: { min: number; mean: number; max: number } | null;
  /** topk:auto: mean ratio the workers of each link class picked (same order as linkClasses). */
  autoRatioByClass: number[] | null;
  meanUploadSeconds: number;
  linkClasses: string[];
  accuracyBySeconds: [number, number | null, number][];
}

const runs: RunRecord[] = [];
for (const up of ups) {
  for (const seed of seeds) {
    const cli = parseSimulateArgs([
      ...['--workers', values.workers, '--algorithm', values.algorithm, '--up', up, '--down', values.down],
      ...[
        '--rounds',
        values.rounds,
        '--lr',
        values.lr,
        '--batch',
        values.batch,
        '--eval-every',
        values['eval-every'],
      ],
      ...['--link-mbps', values['link-mbps'], '--aggregator-mbps', values['aggregator-mbps']],
      ...['--deadline-ms', values['deadline-ms'], '--seed', String(seed), '--quiet'],
      ...extra,
    ]);
    if (cli === 'help') throw new Error('unreachable');
    const linkModel = values['link-model'];
    if (linkModel !== 'fairShare' && linkModel !== 'lockstep')
      throw new RangeError(`--link-model: expected fairShare or lockstep, got "${linkModel}"`);
    cli.config.linkModel = linkModel;
    const learner = await simulationLearner(cli);
    const started = performance.now();
    try {
      const result = runSimulation(cli.config, learner, { stopAfter: (r) => (r.testAccuracy ?? 0) >= 0.9 });
      const report = simulationReport(cli, result, learner.backend, (performance.now() - started) / 1000);
      const rates = values['link-mbps'].split(',');
      // Ratios auto picked, per link class (worker i is on rates[i % rates.length]).
      const picked = result.history.flatMap((r) => (r.upRatio === null ? [] : [r.upRatio]));
      const uploads = result.history.reduce((s, r) => s + r.participants, 0);
      runs.push({
        up,
        seed,
        simSecondsTo90: report.simSecondsTo90,
        roundsTo90: report.roundsTo90,
        roundsRun: result.history.length,
        secondsPerRound: result.simSeconds / Math.max(1, result.history.length),
        uploads,
        missedDeadline: result.lateUploads,
        bytes: { up: result.bytes.up, down: result.bytes.down },
        finalTestAccuracy: report.final.testAccuracy,
        autoRatio:
          picked.length === 0
            ? null
            : {
                min: Math.min(...picked.slice(1).map((p) => p.min)),
                mean: picked.slice(1).reduce((s, p) => s + p.mean, 0) / Math.max(1, picked.length - 1),
                max: Math.max(...picked.slice(1).map((p) => p.max)),
              },
        linkClasses: rates,
        autoRatioByClass: byClass(result.history, rates.length),
        meanUploadSeconds:
          result.history.reduce((s, r) => s + r.uploadSeconds, 0) / Math.max(1, result.history.length),
        accuracyBySeconds: result.history
          .filter((r) => r.testAccuracy !== null)
          .map((r): [number, number | null, number] => [
            r.simSeconds,
            r.testAccuracy,
            r.bytesUp + r.bytesDown,
          ]),
      });
      const last = runs.at(-1);
      console.log(
        `${up.padEnd(12)} seed ${seed}: to 90% ${last?.simSecondsTo90?.toFixed(2) ?? '-'} s (${last?.roundsTo90 ?? '-'} rounds), ${last?.secondsPerRound.toFixed(4)} s/round, missed ${last?.missedDeadline}/${uploads}${last?.autoRatioByClass ? `, ratio by class ${last.autoRatioByClass.map((r) => r.toFixed(4)).join('/')}` : ''}`,
      );
    } finally {
      learner.dispose();
    }
  }
}

/** Mean ratio per link class over the rounds (worker i is in class i % classes). */
function byClass(history: RoundRecord[], classes: number): number[] | null {
  const sums = Array.from({ length: classes }, () => ({ sum: 0, n: 0 }));
  for (const r of history)
    r.workerRatios?.forEach((ratio, i) => {
      const c = sums[i % classes];
      if (ratio !== null && c !== undefined) {
        c.sum += ratio;
        c.n++;
      }
    });
  return sums.every((c) => c.n === 0) ? null : sums.map((c) => c.sum / Math.max(1, c.n));
}

const summary = ups.map((up) => {
  const mine = runs.filter((r) => r.up === up);
  const reached = mine.filter((r) => r.simSecondsTo90 !== null);
  const mean = (xs: number[]) => (xs.length === 0 ? null : xs.reduce((s, x) => s + x, 0) / xs.length);
  return {
    up,
    reached: `${reached.length}/${mine.length}`,
    meanSecondsTo90: reached.length === mine.length ? mean(reached.map((r) => r.simSecondsTo90 ?? 0)) : null,
    meanRoundsTo90: reached.length === mine.length ? mean(reached.map((r) => r.roundsTo90 ?? 0)) : null,
    meanSecondsPerRound: mean(mine.map((r) => r.secondsPerRound)),
    missedDeadline: mine.reduce((s, r) => s + r.missedDeadline, 0),
    uploads: mine.reduce((s, r) => s + r.uploads, 0),
  };
});
console.table(summary);
const fixed = summary.filter((s) => s.up !== values.auto && s.meanSecondsTo90 !== null);
const bestFixed = fixed.sort((a, b) => (a.meanSecondsTo90 ?? Infinity) - (b.meanSecondsTo90 ?? Infinity))[0];
const auto = summary.find((s) => s.up === values.auto);
// Seed by seed (same data order and partition): the noise between seeds is larger than the
// differences between codecs, so the pairs say more than the means.
const pairs = seeds.flatMap((seed) => {
  const a = runs.find((r) => r.up === values.auto && r.seed === seed)?.simSecondsTo90;
  const b = runs.find((r) => r.up === bestFixed?.up && r.seed === seed)?.simSecondsTo90;
  return a == null || b == null ? [] : [{ seed, auto: a, bestFixed: b }];
});
const pairedVsBestFixed =
  pairs.length === 0
    ? null
    : {
        seeds: pairs.length,
        autoSooner: pairs.filter((p) => p.auto < p.bestFixed).length,
        tied: pairs.filter((p) => p.auto === p.bestFixed).length,
        meanRatio: pairs.reduce((sum, p) => sum + p.bestFixed / p.auto, 0) / pairs.length,
        pairs,
      };
const document = {
  bench: 'adaptive',
  settings: values,
  date: new Date().toISOString(),
  bestFixed: bestFixed?.up ?? null,
  autoVsBestFixed:
    auto?.meanSecondsTo90 != null && bestFixed?.meanSecondsTo90 != null
      ? bestFixed.meanSecondsTo90 / auto.meanSecondsTo90
      : null,
  pairedVsBestFixed,
  summary,
  runs,
};
console.log(
  `auto vs best fixed (${document.bestFixed}): ${document.autoVsBestFixed?.toFixed(2) ?? 'n/a'}x sooner on the mean`,
);
if (pairedVsBestFixed !== null)
  console.log(
    `seed by seed: auto sooner on ${pairedVsBestFixed.autoSooner} of ${pairedVsBestFixed.seeds} (tied ${pairedVsBestFixed.tied}), mean ratio ${pairedVsBestFixed.meanRatio.toFixed(2)}x`,
  );
const out = values.out ?? RESULTS;
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(document, null, 2)}\n`);
console.log(`saved ${out}`);
