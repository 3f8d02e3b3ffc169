/**
 * `npm run bench:convergence -- --heterogeneous`: sgd (fp32), doublesqueeze and liec, each on
 * the simulator's defaults with top-k 1% both ways, on iid, dirichlet:0.1 and shards:2, over
 * seeds 5-8 (settings were chosen on seeds 1-4). Every accuracy is that of a model a peer
 * holds: worker 0's own model during training, the one model all workers end on at the end.
 * Writes bench/results/convergence-heterogeneous.json and docs/convergence-heterogeneous.svg
 * (mean accuracy against round per partition).
 *
 * @example
 * npm run bench:convergence -- --heterogeneous --seeds 5,6,7,8 --jobs 2
 */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { lineChart, type Series } from './svg-chart.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

const RUNS: [string, string[]][] = [
  ['sgd', ['--algorithm', 'sgd']],
  ['doublesqueeze', ['--algorithm', 'doublesqueeze', '--up', 'topk:0.01', '--down', 'topk:0.01']],
  ['liec', ['--algorithm', 'liec', '--up', 'topk:0.01', '--down', 'topk:0.01']],
];
const PARTITIONS = ['iid', 'dirichlet:0.1', 'shards:2'];
/** Evaluated rounds from this one on count for `minAccuracyAfter100`. */
const STEADY_FROM_ROUND = 100;

const reportSchema = z.object({
  final: z.object({ testAccuracy: z.number(), modelSha256: z.string() }),
  identicalModels: z.boolean(),
  bytes: z.object({ up: z.number(), down: z.number() }),
  fp32Bytes: z.object({ up: z.number(), down: z.number() }),
  roundsTo90: z.number().nullable(),
  history: z.array(z.object({ round: z.number(), testAccuracy: z.number().nullable() })),
});
type Report = z.infer<typeof reportSchema>;

function simulate(flags: string[], out: string): Promise<Report> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'client/sim/cli.ts'), ...flags, '--quiet', '--out', out],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) {
        reject(new Error(`simulate ${flags.join(' ')} exited ${code}`));
        return;
      }
      readFile(out, 'utf8')
        .then((text) => resolve(reportSchema.parse(JSON.parse(text))))
        .catch(reject);
    });
  });
}

/** Runs `tasks` with at most `jobs` at a time, results in order. */
async function pool<T>(tasks: (() => Promise<T>)[], jobs: number): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await (tasks[index] as () => Promise<T>)();
    }
  };
  await Promise.all(Array.from({ length: jobs }, lane));
  return results;
}

const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;

export async function heterogeneous(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      heterogeneous: { type: 'boolean' },
      seeds: { type: 'string', default: '5,6,7,8' },
      rounds: { type: 'string', default: '300' },
      jobs: { type: 'string', default: '2' },
      out: { type: 'string', default: 'bench/results/convergence-heterogeneous.json' },
      plot: { type: 'string', default: 'docs/convergence-heterogeneous.svg' },
    },
  });
  const seeds = values.seeds.split(',').map(Number);
  const work = await mkdtemp(join(tmpdir(), 'liec-heterogeneous-'));
  const cases = PARTITIONS.flatMap((partition) =>
    RUNS.flatMap(([name, flags]) => seeds.map((seed) => ({ partition, name, flags, seed }))),
  );
  console.log(`${cases.length} simulations (${values.jobs} at a time), seeds ${values.seeds}`);
  const started = performance.now();
  try {
    const reports = await pool(
      cases.map((c, i) => async () => {
        const flags = [
          ...c.flags,
          '--partition',
          c.partition,
          '--seed',
          String(c.seed),
          '--rounds',
          values.rounds,
        ];
        const report = await simulate(flags, join(work, `${i}.json`));
        console.log(
          `  ${c.partition} ${c.name} seed ${c.seed}: ${(report.final.testAccuracy * 100).toFixed(2)}%`,
        );
        return report;
      }),
      Number(values.jobs),
    );
    const rows = [];
    const series: Series[] = [];
    for (const partition of PARTITIONS) {
      for (const [name] of RUNS) {
        const runs = cases.flatMap((c, i) =>
          c.partition === partition && c.name === name ? [reports[i] as Report] : [],
        );
        const finals = runs.map((r) => r.final.testAccuracy);
        const steady = runs.map((r) =>
          Math.min(
            ...r.history
              .filter((h) => h.round >= STEADY_FROM_ROUND && h.testAccuracy !== null)
              .map((h) => h.testAccuracy as number),
          ),
        );
        const ratios = runs.map((r) => (r.fp32Bytes.up + r.fp32Bytes.down) / (r.bytes.up + r.bytes.down));
        const to90 = runs.map((r) => r.roundsTo90);
        rows.push({
          partition,
          algorithm: name,
          finalAccuracyMean: mean(finals),
          finalAccuracyMin: Math.min(...finals),
          minAccuracyAfter100: Math.min(...steady),
          bytesRatioVsFp32: mean(ratios),
          roundsTo90: to90,
          roundsTo90Mean: to90.every((r) => r !== null) ? mean(to90 as number[]) : null,
          identicalModels: runs.every((r) => r.identicalModels),
          seeds,
        });
        const evaluated = runs[0]?.history.filter((h) => h.testAccuracy !== null) ?? [];
        series.push({
          name: `${partition} ${name}`,
          dashed: name !== 'liec',
          points: evaluated.map((h, k) => [
            h.round + 1,
            mean(runs.map((r) => r.history.filter((x) => x.testAccuracy !== null)[k]?.testAccuracy ?? 0)),
          ]),
        });
      }
    }
    const table = rows.map((r) => ({
      partition: r.partition,
      algorithm: r.algorithm,
      'final % mean': (r.finalAccuracyMean * 100).toFixed(2),
      'final % min': (r.finalAccuracyMin * 100).toFixed(2),
      'min % after r100': (r.minAccuracyAfter100 * 100).toFixed(2),
      'x fewer bytes': r.bytesRatioVsFp32.toFixed(1),
      'rounds to 90%': r.roundsTo90Mean?.toFixed(1) ?? 'not all',
      'one model': r.identicalModels,
    }));
    console.table(table);
    await mkdir(join(ROOT, 'bench/results'), { recursive: true });
    const document = {
      benchmark: 'convergence-heterogeneous',
      date: new Date().toISOString(),
      seconds: (performance.now() - started) / 1000,
      settings: { ...values, workers: 8, batch: 32, learningRate: 0.3, evalEvery: 10 },
      rows,
    };
    await writeFile(values.out, JSON.stringify(document, null, 2));
    const svg = lineChart({
      title: `Accuracy of worker 0's own model, mean over seeds ${values.seeds} (8 workers, top-k 1% both ways)`,
      xLabel: 'round',
      yLabel: 'test accuracy',
      yMin: 0.8,
      yMax: 0.93,
      series,
    });
    await writeFile(values.plot, svg);
    console.log(`saved ${values.out} and ${values.plot}`);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
