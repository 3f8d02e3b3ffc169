import { test } from 'node:test';
import assert from 'node:assert/strict';
import { f32BitsToHalf, halfShiftFor, halfToNumber, halvesOf } from '../../shared/compress/half.ts';
import { createRng } from '../../shared/random.ts';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function bitsOf(v: number): number {
  f32[0] = v;
  return u32[0]!;
}

/** Independent reference: nearest half by binary search over the half values, ties to even. */
function referenceHalf(v: number): number {
  const sign = v < 0 || Object.is(v, -0) ? 0x8000 : 0;
  const a = Math.abs(v);
  if (a >= 65520) return sign | 0x7c00;
  let lo = 0;
  let hi = 0x7bff;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (halfToNumber(mid) <= a) lo = mid;
    else hi = mid - 1;
  }
  if (lo === 0x7bff) return sign | 0x7bff; // a < 65520 here
  const below = a - halfToNumber(lo);
  const above = halfToNumber(lo + 1) - a;
  if (below < above || (below === above && (lo & 1) === 0)) return sign | lo;
  return sign | (lo + 1);
}

test('halfToNumber knows the landmarks', () => {
  assert.equal(halfToNumber(0x3c00), 1);
  assert.equal(halfToNumber(0xc000), -2);
  assert.equal(halfToNumber(0x7bff), 65504);
  assert.equal(halfToNumber(0x0001), 2 ** -24);
  assert.equal(halfToNumber(0x0400), 2 ** -14);
  assert.equal(halfToNumber(0x7c00), Infinity);
  assert.ok(Number.isNaN(halfToNumber(0x7e00)));
});

test('every finite half survives float32 -> half unchanged', () => {
  for (let h = 0; h < 0x10000; h++) {
    if ((h & 0x7c00) === 0x7c00) continue;
    assert.equal(f32BitsToHalf(bitsOf(halfToNumber(h)), 0), h === 0x8000 ? 0x8000 : h);
  }
});

test('rounding matches the reference, including ties, subnormals and overflow', () => {
  const cases = [
    1 + 2 ** -11, // tie between 1 and 1+2^-10: to even (1)
    1 + 3 * 2 ** -11, // tie: to even (1 + 2^-9)
    2 ** -25, // tie between 0 and the smallest subnormal: to 0
    3 * 2 ** -25, // tie: to 2 * 2^-24
    2 ** -25 + 2 ** -40,
    65504,
    65519.99,
    65520,
    1e6,
    2 ** -14 - 2 ** -26,
    1e-45,
    -0.1,
  ];
  for (const v of cases) {
    const f = Math.fround(v);
    assert.equal(f32BitsToHalf(bitsOf(f), 0), referenceHalf(f), `value ${f}`);
  }
  const rng = createRng(3);
  for (let n = 0; n < 20000; n++) {
    const f = Math.fround((rng.next() - 0.5) * 2 ** (rng.int(50) - 30));
    assert.equal(f32BitsToHalf(bitsOf(f), 0), referenceHalf(f), `value ${f}`);
  }
});

test('shift scaling: half(x * 2^-shift) is exact scaling then one rounding', () => {
  const rng = createRng(4);
  for (let n = 0; n < 5000; n++) {
    const shift = rng.int(277) - 163;
    const f = Math.fround((rng.next() + 0.01) * 2 ** (shift + 14));
    if (!Number.isFinite(f) || f === 0) continue;
    assert.equal(
      f32BitsToHalf(bitsOf(f), shift),
      referenceHalf(f * 2 ** -shift),
      `value ${f} shift ${shift}`,
    );
  }
});

test('halfShiftFor puts the largest magnitude in [2^14, 2^15)', () => {
  for (const v of [1, 0.3, 65504, 1e6, 3.4e38, 1e-30, 1e-40, 1.4e-45]) {
    const f = Math.fround(v);
    const scaled = f * 2 ** -halfShiftFor(bitsOf(f));
    assert.ok(scaled >= 2 ** 14 && scaled < 2 ** 15, `${f} -> ${scaled}`);
  }
  assert.equal(halfShiftFor(0), 0);
});

test('halvesOf fast path agrees with f32BitsToHalf, dense and indexed', () => {
  const rng = createRng(5);
  const x = new Float32Array(4000);
  for (let i = 0; i < x.length; i++) x[i] = (rng.next() - 0.5) * 2 ** (rng.int(80) - 60);
  x[7] = 0;
  x[8] = -0;
  x[9] = 1e-45;
  const u = new Uint32Array(x.buffer);
  for (const shift of [-120, -30, 0, 5, 40]) {
    const dense = halvesOf(u, shift);
    for (let i = 0; i < x.length; i++) assert.equal(dense[i], f32BitsToHalf(u[i]!, shift));
    const at = Uint32Array.of(3, 9, 100, 3999);
    const some = halvesOf(u, shift, at);
    for (let j = 0; j < at.length; j++) assert.equal(some[j], dense[at[j]!]);
  }
});
