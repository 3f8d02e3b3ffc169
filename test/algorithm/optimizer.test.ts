/**
 * The optimizer's fused LIEC step (stepLiecPair) against what it replaces: common.step(c),
 * the sum c + r in a float32 array, own.step(c + r) and distanceSq, bit for bit, over rounds
 * with and without momentum and weight decay.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOptimizer, stepLiecPair, type OptimizerOptions } from '../../shared/algorithm/optimizer.ts';
import { distanceSq } from '../../shared/algorithm/vector.ts';
import { createRng } from '../../shared/random.ts';

const DIM = 257;

function randomVector(rng: ReturnType<typeof createRng>, scale: number): Float32Array {
  return Float32Array.from({ length: DIM }, () => scale * rng.normal());
}

const settings: OptimizerOptions[] = [
  { learningRate: 0.3 },
  { learningRate: 0.3, momentum: 0.9 },
  { learningRate: 0.05, momentum: 0.5, weightDecay: 1e-3 },
  { learningRate: 0.1, weightDecay: 1e-2 },
];

for (const options of settings) {
  test(`stepLiecPair is the two steps and the distance, bit for bit: ${JSON.stringify(options)}`, () => {
    const rng = createRng(7);
    const start = randomVector(rng, 1);
    const fused = { own: Float32Array.from(start), common: Float32Array.from(start) };
    const plain = { own: Float32Array.from(start), common: Float32Array.from(start) };
    const optimizers = {
      fusedOwn: createOptimizer(options, DIM),
      fusedCommon: createOptimizer(options, DIM),
      plainOwn: createOptimizer(options, DIM),
      plainCommon: createOptimizer(options, DIM),
    };
    for (let round = 0; round < 12; round++) {
      const broadcast = randomVector(rng, 0.5);
      const residual = randomVector(rng, 0.1);
      const distance = stepLiecPair(
        { model: fused.own, optimizer: optimizers.fusedOwn },
        { model: fused.common, optimizer: optimizers.fusedCommon },
        broadcast,
        residual,
      );
      optimizers.plainCommon.step(plain.common, broadcast);
      const direction = new Float32Array(DIM);
      for (let i = 0; i < DIM; i++) direction[i] = (broadcast[i] as number) + (residual[i] as number);
      optimizers.plainOwn.step(plain.own, direction);
      assert.deepEqual(fused.own, plain.own, `x_i, round ${round}`);
      assert.deepEqual(fused.common, plain.common, `x_common, round ${round}`);
      assert.equal(distance, distanceSq(plain.own, plain.common), `distance, round ${round}`);
    }
    assert.ok(distanceSq(fused.own, fused.common) > 0, 'the residuals moved x_i away from x_common');
  });
}

test('stepLiecPair refuses vectors of another length', () => {
  const optimizer = createOptimizer({ learningRate: 0.1 }, DIM);
  const model = new Float32Array(DIM);
  assert.throws(
    () =>
      stepLiecPair(
        { model, optimizer },
        { model: new Float32Array(DIM), optimizer },
        new Float32Array(DIM - 1),
        new Float32Array(DIM),
      ),
    RangeError,
  );
});

test('stepLiecPair refuses a pair with momentum on one optimizer only', () => {
  const vectors = () => new Float32Array(DIM);
  assert.throws(
    () =>
      stepLiecPair(
        { model: vectors(), optimizer: createOptimizer({ learningRate: 0.1, momentum: 0.9 }, DIM) },
        { model: vectors(), optimizer: createOptimizer({ learningRate: 0.1 }, DIM) },
        vectors(),
        vectors(),
      ),
    RangeError,
  );
});
