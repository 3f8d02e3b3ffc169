/**
 * A LIEC worker's own step next to a shared x_common (own-step.ts): stepOwn after x_common's
 * step gives optimizer.ts's fused stepLiecPair bit for bit, and OwnOffset moves x_i - x_common
 * as the two exact steps do, to float16 rounding.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createOptimizer, stepLiecPair, type OptimizerOptions } from '../../shared/algorithm/optimizer.ts';
import { OwnOffset, stepOwn } from '../../shared/algorithm/own-step.ts';
import { createRng } from '../../shared/random.ts';

const LENGTH = 500;

function vector(seed: number, scale: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: LENGTH }, () => scale * rng.normal());
}

const SETTINGS: Required<OptimizerOptions>[] = [
  { learningRate: 0.1, momentum: 0, weightDecay: 0 },
  { learningRate: 0.05, momentum: 0.9, weightDecay: 1e-3 },
];

for (const options of SETTINGS) {
  test(`stepOwn after x_common's step is stepLiecPair, bit for bit: ${JSON.stringify(options)}`, () => {
    const pair = {
      own: { model: vector(1, 1), optimizer: createOptimizer(options, LENGTH) },
      common: { model: vector(2, 1), optimizer: createOptimizer(options, LENGTH) },
    };
    const split = {
      own: { model: Float32Array.from(pair.own.model), optimizer: createOptimizer(options, LENGTH) },
      common: { model: Float32Array.from(pair.common.model), optimizer: createOptimizer(options, LENGTH) },
    };
    for (let t = 0; t < 5; t++) {
      const c = vector(10 + t, 0.1);
      const r = t === 3 ? null : vector(20 + t, 0.01);
      const fused = stepLiecPair(pair.own, pair.common, c, r ?? new Float32Array(LENGTH));
      split.common.optimizer.step(split.common.model, c);
      const distance = stepOwn(split.own, split.common.model, c, r);
      assert.equal(distance, fused);
      assert.deepEqual(split.own.model, pair.own.model);
      assert.deepEqual(split.common.model, pair.common.model);
    }
  });

  test(`OwnOffset follows x_i - x_common to float16 rounding: ${JSON.stringify(options)}`, () => {
    const scratches = [new Float32Array(LENGTH), new Float32Array(LENGTH)];
    const offset = new OwnOffset(LENGTH, options, (slot) => scratches[slot] as Float32Array);
    assert.ok(offset.isZero);
    const start = vector(3, 1);
    const own = { model: Float32Array.from(start), optimizer: createOptimizer(options, LENGTH) };
    const common = { model: Float32Array.from(start), optimizer: createOptimizer(options, LENGTH) };
    for (let t = 0; t < 8; t++) {
      const c = vector(30 + t, 0.1);
      const r = t === 5 ? null : vector(40 + t, 0.01);
      common.optimizer.step(common.model, c);
      const exact = stepOwn(own, common.model, c, r);
      const measured = offset.applyResidual(r);
      assert.ok(Math.abs(measured - exact) <= exact * 1e-2, `round ${t}: ${measured} vs ${exact}`);
      // Each write rounds the offset to 2^-11 of its largest value; a few rounds compound that.
      let largest = 0;
      own.model.forEach((x, i) => (largest = Math.max(largest, Math.abs(x - (common.model[i] as number)))));
      const x = offset.modelInto(common.model, new Float32Array(LENGTH));
      x.forEach((value, i) => {
        const error = Math.abs(value - (own.model[i] as number));
        assert.ok(error <= largest * 2 ** -8 + 1e-7, `round ${t}, value ${i}: ${value} vs ${own.model[i]}`);
      });
    }
    assert.ok(!offset.isZero);
    offset.clearOffset();
    assert.equal(offset.normSq(), 0);
  });
}
