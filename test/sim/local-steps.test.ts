/**
 * The local-step baselines in the simulator, on MNIST: H gradients per participant and
 * round, H x compute time, partial participation and late uploads, every worker on one model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { simulationLearner } from '../../client/sim/cli.ts';
import { parseSimulateArgs } from '../../client/sim/options.ts';
import { runSimulation } from '../../client/sim/simulator.ts';

test('sparseloco H=3 with half the workers per round and a deadline: H gradients each, one model', async () => {
  const cli = parseSimulateArgs([
    ...[
      '--algorithm',
      'sparseloco',
      '--local-steps',
      '3',
      '--up',
      'topk:0.02:sign',
      '--down',
      'topk:0.02:sign',
    ],
    ...['--workers', '4', '--rounds', '20', '--participation', '0.5', '--seed', '3', '--eval-every', '10'],
    ...['--stragglers', '0.3', '--straggler-slowdown', '20', '--deadline-ms', '200', '--compute-ms', '10'],
    '--quiet',
  ]);
  assert.ok(cli !== 'help');
  assert.deepEqual(cli.config.options.local, {
    steps: 3,
    outerLearningRate: 1,
    outerMomentum: 0,
    feedbackDecay: 0.95,
  });
  const learner = await simulationLearner(cli);
  let gradients = 0;
  const counting = {
    ...learner,
    numParams: learner.numParams,
    initialWeights: () => learner.initialWeights(),
    evaluate: (weights: Float32Array) => learner.evaluate(weights),
    gradient(worker: number, weights: Float32Array) {
      gradients++;
      return learner.gradient(worker, weights);
    },
  };
  try {
    const result = runSimulation(cli.config, counting);
    const participations = result.history.reduce((n, r) => n + r.participants, 0);
    assert.ok(participations > 10 && participations < 70, `${participations} participations`);
    assert.equal(gradients, 3 * participations, 'three gradients per participant and round');
    // A straggler computes 3 x 10 ms x 20 = 600 ms: past the 200 ms deadline, so folded in late.
    assert.ok(result.lateUploads > 0, 'some uploads were late');
    assert.ok(result.identicalModels, 'every worker holds the same model');
    // 20 rounds of 3 steps on about 2 workers each: far above chance (10%).
    assert.ok(result.final.testAccuracy > 0.6, `accuracy ${result.final.testAccuracy}`);
    // Top-2% with 1-bit values: well under a bit per parameter each way.
    const d = learner.numParams;
    assert.ok((result.bytes.up * 8) / (d * participations) < 0.5, 'compressed uploads');
  } finally {
    learner.dispose();
  }
});
