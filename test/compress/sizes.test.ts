import { test } from 'node:test';
import assert from 'node:assert/strict';
import { riceBits } from '../../shared/compress/bits.ts';
import { parseCompressor } from '../../shared/compress/index.ts';
import { selectTopK, sparseCount } from '../../shared/compress/select.ts';
import { chooseRiceParameter } from '../../shared/compress/topk.ts';
import { gaussian } from './helpers.ts';

const LENGTHS = [0, 1, 7, 33, 1000, 12_345];

function bytes(spec: string, x: Float32Array): number {
  return parseCompressor(spec).encode(x, 1).byteLength;
}

test('dense codecs: identity 5 + 4d, fp16 7 + 2d, q8 9 + 8 ceil(d/B) + d, q4 9 + 8 ceil(d/B) + ceil(d/2)', () => {
  for (const d of LENGTHS) {
    const x = gaussian(d, d);
    assert.equal(bytes('identity', x), 5 + 4 * d);
    assert.equal(bytes('fp16', x), 7 + 2 * d);
    assert.equal(bytes('q8', x), 9 + 8 * Math.ceil(d / 256) + d);
    assert.equal(bytes('q8:10', x), 9 + 8 * Math.ceil(d / 10) + d);
    assert.equal(bytes('q4', x), 9 + 8 * Math.ceil(d / 256) + Math.ceil(d / 2));
  }
});

test('sign: 9 + 4 (number of scales) + ceil(d / 8)', () => {
  for (const d of LENGTHS) {
    const x = gaussian(d, d);
    assert.equal(bytes('sign', x), 9 + 4 * (d > 0 ? 1 : 0) + Math.ceil(d / 8));
    assert.equal(bytes('sign:256', x), 9 + 4 * Math.ceil(d / 256) + Math.ceil(d / 8));
    assert.equal(bytes('sign:5', x), 9 + 4 * Math.ceil(d / 5) + Math.ceil(d / 8));
  }
});

test('qsgd: 17 + ceil(d (bits(S) + 1) / 8)', () => {
  for (const d of LENGTHS) {
    const x = gaussian(d, d);
    assert.equal(bytes('qsgd:1', x), 17 + Math.ceil((d * 2) / 8));
    assert.equal(bytes('qsgd:4', x), 17 + Math.ceil((d * 4) / 8));
    assert.equal(bytes('qsgd:255', x), 17 + Math.ceil((d * 9) / 8));
  }
});

test('randk: 13 + 4k', () => {
  for (const d of LENGTHS) {
    assert.equal(bytes('randk:0.01', gaussian(d, d)), 13 + 4 * sparseCount(0.01, d));
  }
});

test('topk: 11 + values + Rice-coded gaps, with the Rice parameter from the header', () => {
  for (const d of [...LENGTHS, 100_000]) {
    const x = gaussian(d, d);
    for (const [spec, ratio, valueBytes] of [
      ['topk:0.01', 0.01, (k: number) => 2 + 2 * k],
      ['topk:0.2:f32', 0.2, (k: number) => 4 * k],
    ] as const) {
      const payload = parseCompressor(spec).encode(x);
      const { indices } = selectTopK(x, sparseCount(ratio, d));
      const gaps = indices.map((i, j) => i - (j === 0 ? -1 : indices[j - 1]!) - 1);
      const b = payload[10]!;
      assert.equal(b, chooseRiceParameter(gaps, d), `${spec} d=${d}`);
      const expected = 11 + valueBytes(indices.length) + Math.ceil(riceBits(gaps, b) / 8);
      assert.equal(payload.byteLength, expected, `${spec} d=${d}`);
    }
  }
});

test('top-k 1% costs about 3 bytes an entry: over 100x below fp32', () => {
  const d = 100_000;
  const payload = parseCompressor('topk:0.01').encode(gaussian(d, 5));
  assert.ok(payload.byteLength * 100 <= 4 * d, `${payload.byteLength} bytes for ${d} floats`);
  assert.ok(payload.byteLength / 1000 < 3.1, `${payload.byteLength / 1000} bytes per entry`);
});
