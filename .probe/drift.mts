import { createMnistLearner } from '../client/training/mnist-learner.ts';
import { parseSimulateArgs } from '../client/sim/options.ts';
import { runSimulation } from '../client/sim/simulator.ts';
import { normSq } from '../shared/algorithm/vector.ts';
const [seed, partition, ...candFlags] = process.argv.slice(2);
const flags = ['--workers', '4', '--lr', '0.8', '--batch', '128', '--rounds', '120', '--eval-every', '5', '--link-mbps', '2', '--aggregator-mbps', '2', '--seed', seed!, '--partition', partition!, '--quiet', ...candFlags];
const cli = parseSimulateArgs(flags);
if (cli === 'help') throw new Error('help');
const inner = await createMnistLearner({ workers: cli.config.workers, partition: cli.partition, batchSize: cli.batchSize, seed: cli.config.seed, arch: cli.model, log: () => {} });
let w0: Float32Array | null = null;
const learner = { numParams: inner.numParams, initialWeights: () => inner.initialWeights(), gradient: (i: number, w: Float32Array) => { if (i === 0) w0 = w; return inner.gradient(i, w); }, evaluate: (w: Float32Array) => inner.evaluate(w) };
let hit: number | null = null; let sec: number | null = null;
const drifts: string[] = [];
const res = runSimulation(cli.config, learner, { onRound: (r) => {
  if (hit === null && r.testAccuracy !== null && r.testAccuracy >= 0.9) { hit = r.round + 1; sec = r.simSeconds; }
  if (r.drift !== null && w0) drifts.push(((r.drift) / normSq(w0)).toExponential(1));
} });
inner.dispose();
console.log(JSON.stringify({ seed, partition, flags: candFlags.join(' '), hit, sec: sec?.toFixed(2), syncs: res.syncs, final: res.final.testAccuracy, drifts: drifts.join(' ') }));
