/**
 * The final model's mean over the last rounds (shared/algorithm/tail-average.ts): which rounds
 * it takes, the mean itself, and starting over when rounds are replayed.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TailAverage, tailAverageFrom } from '../../shared/algorithm/tail-average.ts';

test('tailAverageFrom takes the last share of the rounds, at least the last one', () => {
  assert.equal(tailAverageFrom(300, 0.1), 270);
  assert.equal(tailAverageFrom(300, 0), 299);
  assert.equal(tailAverageFrom(8, 0.1), 7); // less than one round of it: the last model
  assert.equal(tailAverageFrom(10, 1), 0);
  assert.throws(() => tailAverageFrom(10, 1.5), /share/);
  assert.throws(() => tailAverageFrom(10, Number.NaN), /share/);
});

test('the mean of the added models and the last one', () => {
  const tail = new TailAverage();
  tail.add(7, Float32Array.of(1, -2, 4));
  tail.add(8, Float32Array.of(3, 2, 0));
  assert.equal(tail.size, 2);
  const mean = tail.finish(Float32Array.of(5, 3, 2));
  assert.deepEqual([...mean], [3, 1, 2]);
  assert.equal(tail.size, 0, 'finish starts over');
});

test('with nothing added the final model is a copy of the last one', () => {
  const last = Float32Array.of(0.1, 0.2);
  const mean = new TailAverage().finish(last);
  assert.deepEqual(mean, last);
  assert.notEqual(mean, last);
});

test('a replayed round (a rollback) starts the mean over; a model of another length throws', () => {
  const tail = new TailAverage();
  tail.add(5, Float32Array.of(100));
  tail.add(6, Float32Array.of(100));
  tail.add(4, Float32Array.of(2)); // rounds 4.. again, on another model
  assert.equal(tail.size, 1);
  assert.deepEqual([...tail.finish(Float32Array.of(4))], [3]);
  tail.add(1, Float32Array.of(1, 2));
  assert.throws(() => tail.add(2, Float32Array.of(1)), /parameters/);
});

test('peers adding the same models in the same order hold the same bits', () => {
  const models = Array.from({ length: 30 }, (_, r) =>
    Float32Array.from({ length: 64 }, (_, i) => Math.sin(r * 7.1 + i * 0.37) * 3),
  );
  const one = new TailAverage();
  const two = new TailAverage();
  models.slice(0, -1).forEach((m, r) => {
    one.add(r, m);
    two.add(r, Float32Array.from(m));
  });
  const a = one.finish(models.at(-1) as Float32Array);
  const b = two.finish(models.at(-1) as Float32Array);
  assert.deepEqual(new Uint8Array(a.buffer), new Uint8Array(b.buffer));
  // And it is the mean to float32 precision.
  for (let i = 0; i < 64; i++) {
    const exact = models.reduce((sum, m) => sum + (m[i] as number), 0) / models.length;
    assert.ok(Math.abs((a[i] as number) - exact) < 1e-5, `parameter ${i}: ${a[i]} against ${exact}`);
  }
});
