/**
 * `npm run bench:tasks`: the csv and images tasks against their references, in the simulator
 * (the same algorithm code as real peers), and the time to read and prepare an image folder.
 *  - prepare: the 10,000 shipped MNIST digits written as PNG files into class folders, then
 *    read, decoded and turned into 28x28 inputs (readImageFolder) in this process;
 *  - images vs mnist: `--task images --data DIR` on that folder (its held-back 20% as the test
 *    set, the other 8,000 split among the workers) against the built-in mnist task (8,000 to
 *    train, 2,000 to test), same workers, algorithm, rounds and seed;
 *  - csv vs central: vega-datasets' seattle-weather.csv (label weather, the four numeric
 *    columns) split among the workers with LIEC top-k both ways, against the same MLP trained
 *    centrally in one process (one worker, plain SGD, the workers' combined batch).
 * Settings are the defaults (nothing tuned); seeds 1-4 and 5-8 are reported apart.
 *
 * @example
 * npm run bench:tasks -- --seeds 1,2,3,4,5,6,7,8 --out bench/results/tasks.json
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { simulationLearner } from '../client/sim/cli.ts';
import { parseSimulateArgs, type SimulateCli } from '../client/sim/options.ts';
import { runSimulation } from '../client/sim/simulator.ts';
import { imageClasses, readImageFolder } from '../client/training/image-folder.ts';
import { DEFAULT_BATCH_SIZE } from '../shared/defaults.ts';
import { writeMnistPngs } from '../test/support/mnist-png.ts';

const { values } = parseArgs({
  options: {
    seeds: { type: 'string', default: '1,2,3,4,5,6,7,8' },
    workers: { type: 'string', default: '4' },
    'image-rounds': { type: 'string', default: '300' },
    'csv-rounds': { type: 'string', default: '300' },
    csv: { type: 'string', default: 'node_modules/vega-datasets/data/seattle-weather.csv' },
    /** The csv task's codec both ways (its MLP has 1,285 parameters: top-k 1% keeps 12). */
    'csv-codec': { type: 'string', default: 'topk:0.01' },
    /** Only the csv comparison (no image folder). */
    'csv-only': { type: 'boolean', default: false },
    out: { type: 'string', default: 'bench/results/tasks.json' },
  },
});
const GRAY28 = { kind: 'images', width: 28, height: 28, channels: 1 } as const;
const seeds = (values.seeds ?? '').split(',').map(Number);
const workers = values.workers ?? '4';

async function accuracy(argv: string[]): Promise<number> {
  const cli = parseSimulateArgs([...argv, '--quiet']);
  if (cli === 'help') throw new Error('help');
  const learner = await simulationLearner(cli as SimulateCli);
  try {
    return runSimulation(cli.config, learner).final.testAccuracy;
  } finally {
    learner.dispose();
  }
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
function bySeedGroup(rows: { seed: number; [k: string]: number }[], key: string) {
  const group = (low: number, high: number) => {
    const picked = rows.filter((r) => r.seed >= low && r.seed <= high).map((r) => r[key] ?? Number.NaN);
    return picked.length === 0 ? null : mean(picked);
  };
  return { seeds1to4: group(1, 4), seeds5to8: group(5, 8) };
}

const dir = await mkdtemp(join(tmpdir(), 'liec-bench-tasks-'));
try {
  const folder = join(dir, 'digits');
  const written = values['csv-only'] ? { images: 0, ms: 0 } : await writeMnistPngs(folder);
  const started = performance.now();
  const data = values['csv-only']
    ? { labels: new Uint8Array(0) }
    : await readImageFolder(folder, { ...GRAY28, classes: await imageClasses(folder) });
  const prepareMs = performance.now() - started;
  if (!values['csv-only'])
    console.log(
      `prepare: ${data.labels.length} PNGs read, decoded and resized in ${(prepareMs / 1000).toFixed(2)} s (${((prepareMs * 1000) / data.labels.length).toFixed(0)} us each); writing them took ${(written.ms / 1000).toFixed(1)} s`,
    );

  const common = ['--workers', workers, '--algorithm', 'liec', '--eval-every', '1000000'];
  const images: { seed: number; images: number; mnist: number }[] = [];
  for (const seed of values['csv-only'] ? [] : seeds) {
    const run = [...common, '--rounds', values['image-rounds'] ?? '300', '--seed', String(seed)];
    const row = {
      seed,
      images: await accuracy([...run, '--task', 'images', '--data', folder]),
      mnist: await accuracy(run),
    };
    images.push(row);
    console.log(`images vs mnist, seed ${seed}: ${row.images.toFixed(4)} vs ${row.mnist.toFixed(4)}`);
  }

  const csvFlags = ['--task', 'csv', '--data', values.csv ?? '', '--label', 'weather'];
  csvFlags.push('--features', 'precipitation,temp_max,temp_min,wind');
  const csvRounds = values['csv-rounds'] ?? '300';
  const csv: { seed: number; p2p: number; central: number }[] = [];
  for (const seed of seeds) {
    const row = {
      seed,
      p2p: await accuracy([
        ...[...csvFlags, ...common, '--rounds', csvRounds, '--seed', String(seed)],
        ...['--up', values['csv-codec'] ?? '', '--down', values['csv-codec'] ?? ''],
      ]),
      central: await accuracy([
        ...csvFlags,
        ...['--workers', '1', '--algorithm', 'sgd', '--eval-every', '1000000'],
        ...[
          '--batch',
          String(DEFAULT_BATCH_SIZE * Number(workers)),
          '--rounds',
          csvRounds,
          '--seed',
          String(seed),
        ],
      ]),
    };
    csv.push(row);
    console.log(`csv p2p vs central, seed ${seed}: ${row.p2p.toFixed(4)} vs ${row.central.toFixed(4)}`);
  }

  const result = {
    command: `npm run bench:tasks -- ${process.argv.slice(2).join(' ')}`.trim(),
    prepare: {
      images: data.labels.length,
      readDecodeResizeMs: prepareMs,
      writeMs: written.ms,
      input: '28x28x1',
    },
    imagesVsMnist: {
      settings: {
        workers: Number(workers),
        algorithm: 'liec',
        rounds: Number(values['image-rounds']),
        codecs: 'topk:0.01 both ways',
      },
      runs: images,
      meanImages: bySeedGroup(images, 'images'),
      meanMnist: bySeedGroup(images, 'mnist'),
    },
    csvVsCentral: {
      data: values.csv,
      settings: {
        workers: Number(workers),
        p2p: `liec ${values['csv-codec']} both ways, batch ${DEFAULT_BATCH_SIZE} per worker`,
        central: `1 worker, sgd, batch ${DEFAULT_BATCH_SIZE * Number(workers)}`,
        rounds: Number(csvRounds),
      },
      runs: csv,
      meanP2p: bySeedGroup(csv, 'p2p'),
      meanCentral: bySeedGroup(csv, 'central'),
    },
  };
  await mkdir(dirname(values.out ?? '.'), { recursive: true });
  await writeFile(values.out ?? 'tasks.json', JSON.stringify(result, null, 2));
  console.log(
    JSON.stringify({
      images: result.imagesVsMnist.meanImages,
      mnist: result.imagesVsMnist.meanMnist,
      csv: result.csvVsCentral.meanP2p,
      central: result.csvVsCentral.meanCentral,
    }),
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
