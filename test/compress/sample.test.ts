import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sampleIndices } from '../../shared/compress/sample.ts';

test('sampleIndices: k distinct ascending positions in range, same for the same seed', () => {
  for (const [d, k] of [
    [1000, 10],
    [1000, 500],
    [1000, 501],
    [1000, 999],
    [1000, 1000],
    [33, 20],
    [1, 1],
    [0, 0],
  ] as const) {
    const a = sampleIndices(d, k, 7);
    assert.equal(a.length, k);
    for (let j = 0; j < k; j++) {
      assert.ok(a[j]! < d);
      if (j > 0) assert.ok(a[j]! > a[j - 1]!, `d=${d} k=${k} not strictly ascending`);
    }
    assert.deepEqual(sampleIndices(d, k, 7), a);
  }
  assert.notDeepEqual(sampleIndices(1000, 10, 7), sampleIndices(1000, 10, 8));
});

test('sampleIndices covers positions uniformly (chi-square over 10 bins)', () => {
  const d = 1000;
  const bins = new Float64Array(10);
  const draws = 400;
  for (let s = 0; s < draws; s++) for (const i of sampleIndices(d, 50, s)) bins[Math.floor(i / 100)]! += 1;
  const expected = (draws * 50) / 10;
  let chi2 = 0;
  for (const b of bins) chi2 += (b - expected) ** 2 / expected;
  // 9 degrees of freedom: P(chi2 > 33.7) < 1e-4
  assert.ok(chi2 < 33.7, `chi2 = ${chi2}`);
});
