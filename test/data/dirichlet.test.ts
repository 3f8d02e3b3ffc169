import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../shared/random.ts';
import { sampleDirichlet, sampleGamma, sampleLogGamma } from '../../shared/data/dirichlet.ts';

test('gamma samples have mean close to the shape parameter', () => {
  for (const shape of [0.1, 0.5, 1, 3, 20]) {
    const rng = createRng(100 + shape * 10);
    const count = 20000;
    let sum = 0;
    for (let i = 0; i < count; i++) sum += sampleGamma(rng, shape);
    // Standard error of the mean is sqrt(shape / count); allow 5 of them.
    const tolerance = 5 * Math.sqrt(shape / count);
    assert.ok(Math.abs(sum / count - shape) < tolerance, `shape ${shape}: mean ${sum / count}`);
  }
});

test('dirichlet proportions are non-negative, sum to 1 and stay finite for tiny alpha', () => {
  const rng = createRng(3);
  for (const alpha of [1e-3, 0.01, 0.1, 1, 100]) {
    for (const k of [1, 2, 10, 1000]) {
      const p = sampleDirichlet(rng, alpha, k);
      assert.equal(p.length, k);
      let sum = 0;
      for (const x of p) {
        assert.ok(Number.isFinite(x) && x >= 0);
        sum += x;
      }
      assert.ok(Math.abs(sum - 1) < 1e-9, `alpha ${alpha} k ${k}: sum ${sum}`);
    }
  }
  assert.ok(Number.isFinite(sampleLogGamma(rng, 1e-3)));
  assert.throws(() => sampleLogGamma(rng, 0), RangeError);
});

test('small alpha concentrates mass, large alpha spreads it', () => {
  const rng = createRng(4);
  const maxShare = (alpha: number): number => {
    let total = 0;
    for (let i = 0; i < 200; i++) total += Math.max(...sampleDirichlet(rng, alpha, 10));
    return total / 200;
  };
  assert.ok(maxShare(0.1) > 0.6);
  assert.ok(maxShare(100) < 0.2);
});
