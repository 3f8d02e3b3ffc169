/**
 * A worker's persistent vectors in float32 (the live array) and float16 (halves with a
 * power-of-two scale fitted to each write): round-trip error, zeros cost nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createStateVector, expandInto, roundToHalves } from '../../shared/algorithm/state-vector.ts';
import { createRng } from '../../shared/random.ts';

const LENGTH = 1000;

function sample(scale: number): Float32Array {
  const rng = createRng(3);
  return Float32Array.from({ length: LENGTH }, () => scale * rng.normal());
}

test('f32: view is the vector itself, commit of another array copies it', () => {
  const v = createStateVector('f32', LENGTH, () => new Float32Array(LENGTH));
  const view = v.view();
  view[3] = 1.5;
  assert.equal(v.view()[3], 1.5);
  const values = sample(1);
  v.commit(values);
  assert.deepEqual(v.view(), values);
  v.clear();
  assert.ok(v.view().every((x) => x === 0));
  assert.equal(v.bytes, 4 * LENGTH);
});

for (const scale of [1e-30, 1e-6, 1, 1e30]) {
  test(`f16 round trip at scale ${scale}: relative error at most 2^-11 of each value`, () => {
    const values = sample(scale);
    const halves = new Uint16Array(LENGTH);
    const shift = roundToHalves(values, halves);
    const back = new Float32Array(LENGTH);
    expandInto(halves, shift, back);
    const maxAbs = values.reduce((m, x) => Math.max(m, Math.abs(x)), 0);
    values.forEach((x, i) => {
      const error = Math.abs((back[i] as number) - x);
      // Normal halves: 2^-11 relative; below 2^-28 of the largest value, 2^-25 of 2^shift.
      const bound = Math.max(Math.abs(x) * 2 ** -11, maxAbs * 2 ** -38);
      assert.ok(error <= bound, `value ${i}: ${x} came back as ${back[i]}`);
    });
  });
}

test('f16: nothing held until written, half the bytes after, the lent scratch reused', () => {
  const scratch = new Float32Array(LENGTH);
  const v = createStateVector('f16', LENGTH, () => scratch);
  assert.equal(v.bytes, 0);
  assert.ok(v.view().every((x) => x === 0));
  const values = sample(0.01);
  v.commit(values);
  assert.equal(v.bytes, 2 * LENGTH);
  const view = v.view();
  assert.equal(view.buffer, scratch.buffer);
  assert.ok(
    Math.abs((view[7] as number) - (values[7] as number)) <= Math.abs(values[7] as number) * 2 ** -11,
  );
  v.clear();
  assert.equal(v.bytes, 0);
  assert.throws(() => v.commit(new Float32Array(3)), RangeError);
});
