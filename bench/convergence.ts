/**
 * `npm run bench:convergence`: every algorithm with top-k 1% and with scaled sign, plus
 * uncompressed SGD, on MNIST with 8 simulated workers; final accuracy, rounds to 90%, bytes
 * both ways and the ratio to fp32 SGD. Prints a table, saves bench/results/convergence.json.
 *
 * LIEC runs use the simulator's sync defaults unless --sync / --sync-codec / --sync-mode say
 * otherwise (skewed data: --partition dirichlet:0.1 --sync 6 --sync-codec q4).
 *
 * @example
 * npm run bench:convergence -- --rounds 300 --partition iid
 *
 * With --heterogeneous: sgd, doublesqueeze and liec on three partitions over seeds 5-8
 * (heterogeneous.ts).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { heterogeneous } from './heterogeneous.ts';
import { parseArgs } from 'node:util';
import { parseSimulateArgs } from '../client/sim/options.ts';
import { runSimulation } from '../client/sim/simulator.ts';
import { simulationLearner, simulationReport } from '../client/sim/cli.ts';

if (process.argv.includes('--heterogeneous')) {
  await heterogeneous(process.argv.slice(2));
  process.exit(0);
}

const { values } = parseArgs({
  options: {
    rounds: { type: 'string', default: '300' },
    workers: { type: 'string', default: '8' },
    partition: { type: 'string', default: 'iid' },
    seed: { type: 'string', default: '1' },
    only: { type: 'string' },
    sync: { type: 'string' },
    'sync-codec': { type: 'string' },
    'sync-mode': { type: 'string' },
    'eval-every': { type: 'string', default: '10' },
    out: { type: 'string', default: 'bench/results/convergence.json' },
  },
});

/** Each run: a name and the simulator flags that define it (defaults fill the rest). */
const RUNS: [string, string[]][] = [
  ['sgd fp32', ['--algorithm', 'sgd', '--up', 'identity', '--down', 'identity']],
  ['ef-sgd topk', ['--algorithm', 'ef-sgd', '--up', 'topk:0.01', '--down', 'identity']],
  ['ef-sgd sign', ['--algorithm', 'ef-sgd', '--up', 'sign', '--down', 'identity']],
  ['doublesqueeze topk', ['--algorithm', 'doublesqueeze', '--up', 'topk:0.01', '--down', 'topk:0.01']],
  ['doublesqueeze sign', ['--algorithm', 'doublesqueeze', '--up', 'sign', '--down', 'sign']],
  ['liec topk', ['--algorithm', 'liec', '--up', 'topk:0.01', '--down', 'topk:0.01']],
  ['liec sign', ['--algorithm', 'liec', '--up', 'sign', '--down', 'sign']],
];

const common = [
  '--rounds',
  values.rounds,
  '--workers',
  values.workers,
  '--partition',
  values.partition,
  '--seed',
  values.seed,
  '--eval-every',
  values['eval-every'],
  '--quiet',
];
const liecFlags = [
  ...(values.sync === undefined ? [] : ['--sync', values.sync]),
  ...(values['sync-codec'] === undefined ? [] : ['--sync-codec', values['sync-codec']]),
  ...(values['sync-mode'] === undefined ? [] : ['--sync-mode', values['sync-mode']]),
];
const selected =
  values.only === undefined
    ? RUNS
    : RUNS.filter(([name]) => values.only?.split(',').some((o) => name.startsWith(o)));
const results = [];
const started = performance.now();
console.log(
  `${selected.length} runs of ${values.rounds} rounds, ${values.workers} workers, partition ${values.partition}; about ${selected.length} min on this machine`,
);
for (const [name, flags] of selected) {
  const cli = parseSimulateArgs([...common, ...flags, ...(flags.includes('liec') ? liecFlags : [])]);
  if (cli === 'help') throw new Error('unreachable');
  const learner = await simulationLearner(cli);
  const runStarted = performance.now();
  try {
    const result = runSimulation(cli.config, learner);
    const report = simulationReport(cli, result, learner.backend, (performance.now() - runStarted) / 1000);
    results.push({
      name,
      ...report,
      history: undefined,
      accuracyByRound: report.history
        .filter((h) => h.testAccuracy !== null)
        .map((h) => [h.round + 1, h.testAccuracy]),
    });
    console.log(
      `  ${name}: ${(report.final.testAccuracy * 100).toFixed(2)}% (${report.wallSeconds.toFixed(0)} s)`,
    );
  } finally {
    learner.dispose();
  }
}
const sgd = results.find((r) => r.algorithm === 'sgd');
const sgdBytes = sgd === undefined ? null : sgd.bytes.up + sgd.bytes.down;
const rows = results.map((r) => ({
  run: r.name,
  'final acc %': (r.final.testAccuracy * 100).toFixed(2),
  'rounds to 90%': r.roundsTo90 ?? '-',
  'MB up': (r.bytes.up / 1e6).toFixed(2),
  'MB down': (r.bytes.down / 1e6).toFixed(2),
  'x fewer than fp32 SGD':
    sgdBytes === null
      ? (r.compressionRatio?.toFixed(1) ?? '-')
      : (sgdBytes / (r.bytes.up + r.bytes.down)).toFixed(1),
  syncs: r.sync.count,
}));
console.table(rows);
await mkdir('bench/results', { recursive: true });
const document = {
  benchmark: 'convergence',
  date: new Date().toISOString(),
  seconds: (performance.now() - started) / 1000,
  settings: values,
  rows,
  runs: results,
};
await writeFile(values.out, JSON.stringify(document, null, 2));
console.log(`saved ${values.out}`);
