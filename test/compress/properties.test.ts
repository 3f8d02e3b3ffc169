import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compress, parseCompressor } from '../../shared/compress/index.ts';
import { sparseCount } from '../../shared/compress/select.ts';
import { createRng } from '../../shared/random.ts';
import { gaussian, heavyTailed, squaredDistance, squaredNorm } from './helpers.ts';

const D = 10_000;

function testVectors(): Array<[string, Float32Array]> {
  const rng = createRng(99);
  const sparse = new Float32Array(D);
  for (let i = 0; i < 30; i++) sparse[rng.int(D)] = rng.normal();
  const oneHot = new Float32Array(D);
  oneHot[1234] = -7;
  return [
    ['gaussian', gaussian(D, 1)],
    ['heavy-tailed', heavyTailed(D, 2)],
    ['offset', gaussian(D, 3).map((v) => v + 5)],
    ['sparse', sparse],
    ['one-hot', oneHot],
    ['constant', new Float32Array(D).fill(0.5)],
  ];
}

/**
 * The contraction ||C(x) - x||^2 <= (1 - delta) ||x||^2 with each codec's proven delta:
 * top-k keeps the k largest squares (delta = k / d; fp16 values lose at most 2^-10 of
 * that); scaled sign loses ||x||_1^2 / n per block of n >= ||x||^2 / n by Cauchy-Schwarz;
 * q8 errs by at most half a step = (max - min) / 510 <= max|x| / 255 per value.
 */
test('biased codecs are contractions with their delta', () => {
  const deltas: Array<[string, number]> = [
    ['topk:0.01', (sparseCount(0.01, D) / D) * (1 - 2 ** -10)],
    ['topk:0.01:f32', sparseCount(0.01, D) / D],
    // One scale, the least-squares one: at least what a single kept value gives.
    ['topk:0.01:sign', 1 / D],
    ['topk:0.3', (sparseCount(0.3, D) / D) * (1 - 2 ** -10)],
    ['sign', 1 / D],
    ['sign:256', 1 / 256],
    ['sign:100', 1 / 100],
    ['q8', 1 - 256 / 255 ** 2],
    ['fp16', 1 - 2 ** -20],
  ];
  for (const [name, x] of testVectors()) {
    const norm = squaredNorm(x);
    for (const [spec, delta] of deltas) {
      const error = squaredDistance(compress(parseCompressor(spec), x).decoded, x);
      // 1e-6 relative slack for float32 rounding of the stored scales
      assert.ok(
        error <= (1 - delta) * norm * (1 + 1e-6),
        `${spec} on ${name}: ${error / norm} > ${1 - delta}`,
      );
    }
  }
});

/**
 * Unbiasedness: the mean of N independent draws (seeds 0..N-1) has per-coordinate
 * standard deviation sigma_i / sqrt(N), with sigma_i^2 = x_i^2 (d/k - 1) for random-k and
 * <= (||x|| / S)^2 / 4 for QSGD. Every coordinate must sit within 5 standard deviations
 * (two-sided p ~ 6e-7 each, ~1e-4 over all coordinates), and the total squared error must
 * match its expectation sum sigma_i^2 / N (random-k) or stay below it (QSGD) within 40%.
 */
test('randk and qsgd are unbiased', () => {
  const d = 200;
  const draws = 2000;
  const rng = createRng(5);
  const x = Float32Array.from({ length: d }, () => (rng.next() < 0.5 ? -1 : 1) * (0.5 + rng.next()));
  const norm = Math.sqrt(squaredNorm(x));
  for (const spec of ['randk:0.1', 'qsgd:4', 'qsgd:1']) {
    const c = parseCompressor(spec);
    assert.ok(c.unbiased);
    const mean = new Float64Array(d);
    for (let s = 0; s < draws; s++) {
      const decoded = c.decode(c.encode(x, s), d);
      for (let i = 0; i < d; i++) mean[i]! += decoded[i]! / draws;
    }
    let totalError = 0;
    let totalVariance = 0;
    for (let i = 0; i < d; i++) {
      const variance = spec.startsWith('randk')
        ? x[i]! ** 2 * (d / sparseCount(0.1, d) - 1)
        : (norm / Number(spec.split(':')[1])) ** 2 / 4;
      const z = (mean[i]! - x[i]!) / Math.sqrt(variance / draws);
      assert.ok(Math.abs(z) < 5, `${spec} coordinate ${i}: z = ${z}`);
      totalError += (mean[i]! - x[i]!) ** 2;
      totalVariance += variance / draws;
    }
    const ratio = totalError / totalVariance;
    assert.ok(ratio < 1.4, `${spec}: squared error ${ratio} x its expectation`);
    if (spec.startsWith('randk')) assert.ok(ratio > 0.6, `${spec}: squared error ${ratio} x its expectation`);
  }
});

test('biased codecs say so, unbiased ones too', () => {
  const unbiased = ['identity', 'randk:0.1', 'qsgd:4'];
  for (const spec of ['identity', 'fp16', 'topk:0.1', 'randk:0.1', 'sign', 'qsgd:4', 'q8']) {
    assert.equal(parseCompressor(spec).unbiased, unbiased.includes(spec), spec);
  }
});
