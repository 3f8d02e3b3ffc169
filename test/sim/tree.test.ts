/**
 * The two-level aggregation tree (client/sim/tree.ts): its grouping, error feedback and
 * timing by hand, exact codecs against the flat star, and a run on MNIST digits.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveAlgorithmOptions, type AlgorithmSpec } from '../../shared/algorithm/index.ts';
import { parseCompressor } from '../../shared/compress/index.ts';
import { runSimulation, type SimulationConfig } from '../../client/sim/simulator.ts';
import {
  compressWithError,
  runTreeSimulation,
  SubAggregator,
  treeGroups,
  treeRoundSeconds,
  weightedMean,
} from '../../client/sim/tree.ts';
import { parseSimulateArgs } from '../../client/sim/options.ts';
import { simulationLearner } from '../../client/sim/cli.ts';
import type { Learner } from '../../client/training/learner.ts';
import { quadraticProblem } from '../algorithm/fixtures.ts';

const DIM = 400;

/** The quadratic fixture as a Learner ("accuracy" 1 / (1 + loss)). */
function quadraticLearner(workers: number): Learner {
  const problem = quadraticProblem(DIM, workers, 11);
  const rounds = new Map<number, number>();
  return {
    numParams: DIM,
    initialWeights: () => problem.initialModel(),
    gradient(worker, weights) {
      const round = rounds.get(worker) ?? 0;
      rounds.set(worker, round + 1);
      const gradient = problem.gradient(worker, weights, round);
      return { gradient, loss: gradient.reduce((s, v) => s + v * v, 0) };
    },
    evaluate(weights) {
      let loss = 0;
      for (let i = 0; i < workers; i++)
        loss += problem.gradient(i, weights, 0).reduce((s, v) => s + v * v, 0);
      loss /= workers;
      return { accuracy: 1 / (1 + loss), loss };
    },
  };
}

function config(spec: Partial<AlgorithmSpec>, extra: Partial<SimulationConfig> = {}): SimulationConfig {
  return {
    options: resolveAlgorithmOptions({
      algorithm: 'liec',
      up: 'topk:0.05',
      down: 'topk:0.05',
      learningRate: 0.05,
      compensation: 1,
      ...spec,
    }),
    workers: 8,
    rounds: 60,
    seed: 1,
    participation: 1,
    stragglerProbability: 0,
    stragglerSlowdown: 10,
    computeMs: 10,
    roundDeadlineMs: Infinity,
    quorum: 0,
    workerLink: () => ({ mbps: 2, latencyMs: 0 }),
    aggregatorLink: { mbps: 2, latencyMs: 0 },
    evalEvery: 10,
    ...extra,
  };
}

test('treeGroups: contiguous groups of at most the fanout, sizes within one', () => {
  assert.deepEqual(treeGroups(10, 4), [
    [0, 1, 2, 3],
    [4, 5, 6],
    [7, 8, 9],
  ]);
  assert.deepEqual(
    treeGroups(64, 8).map((g) => g.length),
    Array(8).fill(8),
  );
  assert.deepEqual(treeGroups(3, 8), [[0, 1, 2]]);
  assert.throws(() => treeGroups(8, 1), RangeError);
});

test('weightedMean weights each vector by its group size', () => {
  const m = weightedMean([Float32Array.of(1, 2), Float32Array.of(3, 6)], [1, 3], 2);
  assert.deepEqual([...m], [2.5, 5]);
});

test('compressWithError: v = x + e, C(v) sent, e <- v - C(v), by hand', () => {
  const topk = parseCompressor('topk:0.25:f32'); // one of four values
  const error = Float32Array.of(0.5, 0, 0, -1);
  const { sent } = compressWithError(Float32Array.of(1, -3, 0.5, 2), error, topk, 1);
  assert.deepEqual([...sent], [0, -3, 0, 0]);
  assert.deepEqual([...error], [1.5, 0, 0.5, 1]);
  // Next round the kept error wins: v = (0, 0, 0, 0) + e.
  const second = compressWithError(new Float32Array(4), error, topk, 2);
  assert.deepEqual([...second.sent], [1.5, 0, 0, 0]);
  assert.deepEqual([...error], [0, 0, 0.5, 1]);
  const identity = parseCompressor('identity');
  const e = Float32Array.of(0.25, -0.5);
  assert.deepEqual([...compressWithError(Float32Array.of(1, 1), e, identity, 3).sent], [1.25, 0.5]);
  assert.deepEqual([...e], [0, 0]);
});

test('SubAggregator: what it sent plus what it keeps is its group means, nothing lost', () => {
  const sub = new SubAggregator([0, 1], parseCompressor('topk:0.25:f32'), 4);
  const rounds = [
    [Float32Array.of(1, 2, -4, 0.5), Float32Array.of(3, 0, -1, 0.5)],
    [Float32Array.of(0, 1, 1, -1), Float32Array.of(2, -1, 3, 1)],
  ];
  const total = new Float32Array(4);
  const sentSum = new Float32Array(4);
  rounds.forEach((uploads, r) => {
    const mean = weightedMean(uploads, [1, 1], 4);
    mean.forEach((v, j) => (total[j] = (total[j] as number) + v));
    const sent = parseCompressor('topk:0.25:f32').decode(sub.aggregate(uploads, r), 4);
    sent.forEach((v, j) => (sentSum[j] = (sentSum[j] as number) + v));
  });
  // Means (2, 1, -2.5, 0.5) and (1, 0, 2, 0): sent -2.5, then 2 + e = 2 on index 2... the sums hold.
  assert.deepEqual(
    [...sentSum].map((v, j) => v + (sub.error[j] as number)),
    [...total],
  );
  const flushed = sub.flushError(parseCompressor('identity'), 9);
  assert.deepEqual(
    [...flushed.sent].map((v, j) => v + (sentSum[j] as number)),
    [...total],
  );
  assert.deepEqual([...sub.error], [0, 0, 0, 0]);
});

test('treeRoundSeconds: each phase on its busiest link, one after the other', () => {
  // 2 Mbit/s = 250,000 B/s; 2 groups of 2, every frame 2,500 B: 4 phases of 2 x 10 ms.
  const link = { mbps: 2, latencyMs: 0 };
  const seconds = treeRoundSeconds({ worker: () => link, node: link }, treeGroups(4, 2), {
    up: () => 2500,
    subUp: () => 2500,
    down: () => 2500,
    rootDown: 2500,
  });
  assert.ok(Math.abs(seconds - 0.08) < 1e-12, `${seconds}`);
  // A flat star of 16 moves 16 + 16 copies through one link; a tree of 4 x 4 4 + 4 + 4 + 4.
  const flat = 32 * 0.01;
  const tree = treeRoundSeconds({ worker: () => link, node: link }, treeGroups(16, 4), {
    up: () => 2500,
    subUp: () => 2500,
    down: () => 2500,
    rootDown: 2500,
  });
  assert.ok(Math.abs(tree - 0.16) < 1e-12 && tree < flat, `${tree}`);
});

test('exact codecs: the tree lands where the flat star does (no second compression error)', () => {
  const spec = { up: 'identity', down: 'identity', syncPeriod: 0 };
  const flat = runSimulation(config(spec), quadraticLearner(8));
  const tree = runTreeSimulation(config(spec), 3, quadraticLearner(8)); // groups 3, 3, 2
  let worst = 0;
  flat.finalModel.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - (tree.finalModel[j] as number)))));
  assert.ok(worst < 1e-5, `largest difference ${worst}`);
  assert.equal(tree.identicalModels, true);
});

test('top-k 5%: the tree converges about as the flat star, one model after the final sync, faster rounds', () => {
  const flat = runSimulation(config({ syncPeriod: 20 }, { workers: 16 }), quadraticLearner(16));
  const tree = runTreeSimulation(config({ syncPeriod: 20 }, { workers: 16 }), 4, quadraticLearner(16));
  assert.equal(tree.identicalModels, true);
  assert.equal(tree.syncs, 3);
  const initial = quadraticLearner(16).evaluate(quadraticLearner(16).initialWeights()).loss;
  assert.ok(tree.final.testLoss < initial / 2, `tree ${tree.final.testLoss} vs initial ${initial}`);
  assert.ok(
    tree.final.testLoss < flat.final.testLoss * 1.5,
    `tree ${tree.final.testLoss} flat ${flat.final.testLoss}`,
  );
  assert.ok(tree.simSeconds < flat.simSeconds, `tree ${tree.simSeconds} s flat ${flat.simSeconds} s`);
  assert.throws(
    () => runTreeSimulation(config({}, { participation: 0.5 }), 4, quadraticLearner(8)),
    /full participation/,
  );
});

test('MNIST digits, 8 peers in 2 groups of 4: learns, one model, as the flat star', async () => {
  const args = ['--workers', '8', '--rounds', '40', '--seed', '2', '--eval-every', '40', '--quiet'];
  const cli = parseSimulateArgs([
    ...args,
    '--tree-fanout',
    '4',
    '--link-mbps',
    '2',
    '--aggregator-mbps',
    '2',
  ]);
  assert.ok(cli !== 'help');
  assert.equal(cli.treeFanout, 4);
  assert.throws(() => parseSimulateArgs([...args, '--tree-fanout', '1']), /tree-fanout/);
  const learner = await simulationLearner(cli);
  try {
    const tree = runTreeSimulation(cli.config, 4, learner);
    const flat = runSimulation(cli.config, learner);
    assert.equal(tree.identicalModels, true);
    assert.ok(tree.final.testAccuracy > 0.7, `tree ${tree.final.testAccuracy}`);
    assert.ok(
      tree.final.testAccuracy > flat.final.testAccuracy - 0.05,
      `tree ${tree.final.testAccuracy} flat ${flat.final.testAccuracy}`,
    );
  } finally {
    learner.dispose();
  }
});
