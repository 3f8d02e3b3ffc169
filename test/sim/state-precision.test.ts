/**
 * --state-precision f16 on real MNIST digits (the 0.1M MLP, 4 workers, 40 rounds, LIEC with
 * 'auto' compensation and a sync every 10 rounds, so alpha > 0 between syncs): the virtual
 * workers keep their error memories and offsets in float16 and still end on one model, whose
 * test accuracy is within TOLERANCE of the exact (f32) run's; and the run is not the f32 one
 * under another name (its final model differs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseSimulateArgs } from '../../client/sim/options.ts';
import { simulationLearner } from '../../client/sim/cli.ts';
import { runSimulation, type SimulationResult } from '../../client/sim/simulator.ts';
import { sameBits } from '../../client/sim/model-checks.ts';

/** Allowed difference of final test accuracy, f16 against f32 (1.5 points). */
const TOLERANCE = 0.015;

async function run(precision: 'f32' | 'f16'): Promise<SimulationResult> {
  const cli = parseSimulateArgs(
    `--model mlp --workers 4 --rounds 40 --sync 10 --eval-every 10 --seed 2 --state-precision ${precision}`.split(
      ' ',
    ),
  );
  assert.ok(cli !== 'help');
  const learner = await simulationLearner(cli);
  try {
    return runSimulation(cli.config, learner);
  } finally {
    learner.dispose();
  }
}

test('f16 state: one final model, test accuracy within 1.5 points of f32', async () => {
  const exact = await run('f32');
  const half = await run('f16');
  assert.ok(half.identicalModels && exact.identicalModels);
  // Alpha was above 0 for some rounds: the offsets were in use.
  assert.ok(half.history.some((r) => (r.compensation ?? 0) > 0));
  assert.ok(!sameBits(half.finalModel, exact.finalModel));
  const difference = half.final.testAccuracy - exact.final.testAccuracy;
  assert.ok(
    Math.abs(difference) <= TOLERANCE,
    `f16 ${half.final.testAccuracy} vs f32 ${exact.final.testAccuracy}`,
  );
  assert.ok(exact.final.testAccuracy > 0.8, `f32 trained: ${exact.final.testAccuracy}`);
});

test('--state-precision: f16 refused for liec with local steps, a bad value named', () => {
  assert.throws(
    () => parseSimulateArgs(['--state-precision', 'f16', '--local-steps', '2']),
    /--state-precision f16/,
  );
  assert.throws(() => parseSimulateArgs(['--state-precision', 'f8']), /--state-precision/);
});
