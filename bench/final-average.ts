/**
 * `npm run bench:final-average`: what ending on the mean of the last rounds' models
 * (finalAverageShare, shared/algorithm/tail-average.ts) does to a session's final accuracy, in
 * the simulator with `npm start`'s tuned defaults (6 workers, 300 rounds, dirichlet:0.1 unless
 * told otherwise). Every run of a seed and scenario trains the same trajectory whatever the
 * share (the mean is taken at the end only), so the shares are compared on one trajectory.
 *
 * Besides the clean run (`none`), scenarios disturb the trajectory as a chaos run does
 * (`absent`: worker 2 away for rounds 100-140; `partial`: each worker in 80% of the rounds;
 * `late`: worker 4 away for rounds 240-280), and the JSON gives, per share, how far each
 * disturbed run ends from the clean run of its seed: a chaos run is judged against its own
 * clean baseline (`npm run chaos`, within 1 point).
 *
 * Runs two simulator processes at a time. Prints a table, saves JSON.
 *
 * @example
 * npm run bench:final-average -- --seeds 1,2,3,4 --shares 0,0.05,0.1,0.2 --scenarios none
 * npm run bench:final-average -- --seeds 5,6,7,8 --shares 0,0.1 --out bench/results/final-average.json
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '5,6,7,8' },
    shares: { type: 'string', default: '0,0.1' },
    scenarios: { type: 'string', default: 'none,absent,partial,late' },
    partition: { type: 'string', default: 'dirichlet:0.1' },
    workers: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '300' },
    /** Simulator processes at a time. */
    jobs: { type: 'string', default: '2' },
    out: { type: 'string', default: 'bench/results/final-average.json' },
  },
});

/** `npm start`'s tuned defaults (shared/defaults.ts TUNED_LEARNING_DEFAULTS). */
const DEFAULTS = ['--algorithm', 'liec', '--local-steps', '2', '--lr', '0.6', '--up', 'topk:0.01:sign'];
const SCENARIOS: Record<string, string[]> = {
  none: [],
  absent: ['--absences', '2:100-140'],
  partial: ['--participation', '0.8'],
  late: ['--absences', '4:240-280'],
};

const seeds = values.seeds.split(',').map(Number);
const shares = values.shares.split(',').map(Number);
const scenarios = values.scenarios.split(',');
for (const name of scenarios)
  if (SCENARIOS[name] === undefined)
    throw new RangeError(`--scenarios: unknown "${name}" (${Object.keys(SCENARIOS).join(', ')})`);

interface Run {
  seed: number;
  scenario: string;
  share: number;
  accuracy: number;
}

const dir = await mkdtemp(join(tmpdir(), 'final-average-'));
const jobs = scenarios.flatMap((scenario) =>
  seeds.flatMap((seed) => shares.map((share) => ({ seed, scenario, share }))),
);

/** One simulator run in its own process; resolves to its final accuracy. */
async function simulate(job: { seed: number; scenario: string; share: number }): Promise<Run> {
  const out = join(dir, `${job.scenario}-${job.seed}-${job.share}.json`);
  const args = [
    ...['--import', 'tsx', 'client/sim/cli.ts', ...DEFAULTS, '--workers', values.workers],
    ...['--rounds', values.rounds, '--partition', values.partition, '--seed', String(job.seed)],
    ...['--final-average', String(job.share), ...(SCENARIOS[job.scenario] ?? []), '--out', out, '--quiet'],
  ];
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`simulator exited ${code}`))));
  });
  const report = JSON.parse(await readFile(out, 'utf8')) as { final: { testAccuracy: number } };
  return { ...job, accuracy: report.final.testAccuracy };
}

const runs: Run[] = [];
const started = performance.now();
let next = 0;
await Promise.all(
  Array.from({ length: Number(values.jobs) }, async () => {
    while (next < jobs.length) {
      const job = jobs[next++];
      if (job === undefined) return;
      const run = await simulate(job);
      runs.push(run);
      console.log(
        `${run.scenario} seed ${run.seed} share ${run.share}: ${(run.accuracy * 100).toFixed(2)}% ` +
          `(${runs.length}/${jobs.length}, ${((performance.now() - started) / 1000).toFixed(0)} s)`,
      );
    }
  }),
);
await rm(dir, { recursive: true, force: true });

const accuracyOf = (seed: number, scenario: string, share: number) =>
  runs.find((r) => r.seed === seed && r.scenario === scenario && r.share === share)?.accuracy;
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / Math.max(1, xs.length);
const points = (x: number) => Math.round(x * 10_000) / 100;

const summary = shares.map((share) => {
  const byScenario = Object.fromEntries(
    scenarios.map((scenario) => {
      const accuracies = seeds.map((seed) => accuracyOf(seed, scenario, share) ?? Number.NaN);
      return [scenario, { accuracies: accuracies.map(points), meanPercent: points(mean(accuracies)) }];
    }),
  );
  // How far each disturbed run ends from its seed's clean run, in points.
  const gaps = scenarios
    .filter((s) => s !== 'none')
    .flatMap((scenario) =>
      seeds.map((seed) => {
        const clean = accuracyOf(seed, 'none', share);
        const disturbed = accuracyOf(seed, scenario, share);
        return clean === undefined || disturbed === undefined ? Number.NaN : (disturbed - clean) * 100;
      }),
    )
    .filter((gap) => !Number.isNaN(gap));
  return {
    share,
    byScenario,
    gapsToCleanPoints: gaps.map((g) => Math.round(g * 100) / 100),
    meanAbsGapPoints: Math.round(mean(gaps.map(Math.abs)) * 100) / 100,
    worstGapPoints: gaps.length === 0 ? null : Math.round(Math.min(...gaps) * 100) / 100,
  };
});

console.log('\nshare | ' + scenarios.map((s) => `${s} mean %`).join(' | ') + ' | mean |gap| | worst gap');
for (const row of summary)
  console.log(
    `${row.share} | ` +
      scenarios.map((s) => row.byScenario[s]?.meanPercent.toFixed(2)).join(' | ') +
      ` | ${row.meanAbsGapPoints} | ${row.worstGapPoints}`,
  );

const result = {
  command: `npm run bench:final-average -- ${process.argv.slice(2).join(' ')}`.trim(),
  setting: {
    defaults: DEFAULTS,
    workers: values.workers,
    rounds: values.rounds,
    partition: values.partition,
  },
  seeds,
  scenarios: Object.fromEntries(scenarios.map((s) => [s, SCENARIOS[s]])),
  summary,
  runs: runs.sort((a, b) => a.scenario.localeCompare(b.scenario) || a.seed - b.seed || a.share - b.share),
};
await mkdir(dirname(values.out), { recursive: true });
await writeFile(values.out, JSON.stringify(result, null, 2) + '\n');
console.log(`saved ${values.out}`);
