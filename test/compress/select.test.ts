import { test } from 'node:test';
import assert from 'node:assert/strict';
import { kthLargest, selectTopK, sparseCount } from '../../shared/compress/select.ts';
import { createRng } from '../../shared/random.ts';
import { expectCode, gaussian } from './helpers.ts';

/** Reference: sort by |x| descending, ties by index ascending, take k, sort indices. */
function referenceTopK(x: Float32Array, k: number): number[] {
  const order = Array.from(x, (_, i) => i).sort((a, b) => Math.abs(x[b]!) - Math.abs(x[a]!) || a - b);
  return order.slice(0, k).sort((a, b) => a - b);
}

test('sparseCount is max(1, ceil(r d)) capped at d, without float noise', () => {
  assert.equal(sparseCount(0.01, 0), 0);
  assert.equal(sparseCount(0.01, 1), 1);
  assert.equal(sparseCount(0.01, 150), 2);
  assert.equal(sparseCount(0.07, 100), 7);
  assert.equal(sparseCount(0.01, 10_000_000), 100_000);
  assert.equal(sparseCount(1, 5), 5);
});

test('kthLargest matches sorting, with duplicates', () => {
  const rng = createRng(1);
  for (let n = 1; n < 60; n++) {
    const a = Uint32Array.from({ length: n }, () => rng.int(8));
    const sorted = Array.from(a).sort((p, q) => q - p);
    for (let r = 0; r < n; r++) assert.equal(kthLargest(a.slice(), r), sorted[r]);
  }
});

test('selectTopK equals the reference on small vectors with ties and zeros', () => {
  const rng = createRng(2);
  for (let trial = 0; trial < 200; trial++) {
    const d = 1 + rng.int(300);
    const x = new Float32Array(d);
    for (let i = 0; i < d; i++) x[i] = rng.next() < 0.3 ? 0 : (rng.int(7) - 3) * 0.5; // many ties
    const k = rng.int(d + 2);
    const { indices, maxAbsBits } = selectTopK(x, k);
    assert.deepEqual(Array.from(indices), referenceTopK(x, Math.min(k, d)));
    if (k > 0)
      assert.equal(
        new Float32Array(Uint32Array.of(maxAbsBits).buffer)[0],
        Math.max(...Array.from(x, Math.abs)),
      );
  }
});

test('selectTopK on large vectors: sampled path, and its fallbacks for sparse and constant data', () => {
  const d = 200_000;
  const cases: Array<[string, Float32Array]> = [['gaussian', gaussian(d, 3)]];
  const sparse = new Float32Array(d);
  const rng = createRng(4);
  for (let i = 0; i < 500; i++) sparse[rng.int(d)] = rng.normal();
  cases.push(['sparse (sample bound is 0)', sparse]);
  cases.push(['constant (all ties)', new Float32Array(d).fill(-2)]);
  const clustered = gaussian(d, 5, 1e-3);
  for (let i = 150_000; i < 160_000; i++) clustered[i] = 10 + (i % 7); // sample misses the block
  cases.push(['clustered', clustered]);
  for (const [name, x] of cases) {
    for (const k of [1, 2000, 30_000]) {
      assert.deepEqual(Array.from(selectTopK(x, k).indices), referenceTopK(x, k), `${name} k=${k}`);
    }
  }
});

test('selectTopK with a stratified sample: model-sized and small-sampled vectors, periodic data', () => {
  // 20,000: sampled now (4096 values); 101,770: the MLP (4240, 1/24 of it).
  for (const d of [20_000, 101_770]) {
    const stratum = Math.ceil(d / Math.min(16384, Math.max(4096, Math.floor(d / 24))));
    const cases: Array<[string, Float32Array]> = [['gaussian', gaussian(d, 6)]];
    // Large values once a stratum, at a fixed phase: a strided sample would see all or none.
    for (const phase of [0, 1]) {
      const periodic = gaussian(d, 7, 1e-3);
      for (let i = phase; i < d; i += stratum) periodic[i] = 5 + (i % 3);
      cases.push([`one large value per stratum, phase ${phase}`, periodic]);
    }
    for (const [name, x] of cases)
      for (const k of [1, Math.ceil(d / 100), Math.ceil(d / 10)])
        assert.deepEqual(Array.from(selectTopK(x, k).indices), referenceTopK(x, k), `d=${d} ${name} k=${k}`);
  }
});

test('selectTopK rejects NaN and Inf wherever they are', () => {
  for (const d of [10, 100_000]) {
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, d >> 1, d - 1]) {
        const x = gaussian(d, 6);
        x[at] = bad;
        for (const k of [1, Math.ceil(d / 100), d]) expectCode(() => selectTopK(x, k), 'NON_FINITE_INPUT');
      }
    }
  }
});

test('selectTopK results are its own: a later selection does not change them', () => {
  const a = gaussian(100_000, 7);
  const b = gaussian(100_000, 8);
  const first = selectTopK(a, 1000);
  const indices = Array.from(first.indices);
  const bits = Array.from(first.bits);
  selectTopK(b, 1000);
  assert.deepEqual(Array.from(first.indices), indices);
  assert.deepEqual(Array.from(first.bits), bits);
  const u = new Uint32Array(a.buffer);
  assert.deepEqual(
    bits,
    indices.map((i) => u[i]),
  );
});
