/**
 * decodeInto(payload, out): the same bits as decode(), into a buffer the caller keeps from
 * one round to the next. What a reused buffer held before (last round's decode, or garbage)
 * must never leak into the next one: a sparse payload zeroes every entry it does not set.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodePayload,
  decodePayloadInto,
  parseCompressor,
  type Compressor,
} from '../../shared/compress/index.ts';
import { ALL_SPECS, expectCode, gaussian, heavyTailed } from './helpers.ts';

/** Asserts a and b hold the same float32 bits (so -0 and +0, and NaN payloads, differ). */
function assertSameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.equal(a.length, b.length, `${what}: length`);
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) assert.fail(`${what}: entry ${i} is ${a[i]} (bits ${ua[i]}), decode gave ${b[i]}`);
  }
}

/** A vector with a few exact zeros and negative zeros among the values. */
function withZeros(d: number, seed: number): Float32Array {
  const x = gaussian(d, seed);
  for (let i = 0; i < d; i += 7) x[i] = i % 14 === 0 ? 0 : -0;
  return x;
}

const LENGTHS = [0, 1, 7, 33, 257, 10_001];

test('decodeInto gives decode bit for bit, for every codec, length and reused buffer', () => {
  for (const spec of ALL_SPECS) {
    const c = parseCompressor(spec);
    for (const d of LENGTHS) {
      // One buffer for three "rounds" of different vectors, as a peer keeps it.
      const out = new Float32Array(d);
      for (const [round, x] of [gaussian(d, 1), heavyTailed(d, 2), withZeros(d, 3)].entries()) {
        const payload = c.encode(x, 11 + round);
        const returned = c.decodeInto(payload, out);
        assert.equal(returned, out, `${spec} d=${d}: decodeInto returns out`);
        assertSameBits(out, c.decode(payload, d), `${spec} d=${d} round ${round}`);
      }
    }
  }
});

test('a reused buffer cannot leak: every entry a payload does not set comes out +0', () => {
  const d = 5_000;
  for (const spec of ALL_SPECS) {
    const c = parseCompressor(spec);
    const payload = c.encode(gaussian(d, 5), 3);
    const fresh = c.decode(payload, d);
    // Last round's values everywhere, NaN and -0 included: none may survive.
    for (const stale of [
      gaussian(d, 6, 1e6),
      new Float32Array(d).fill(Number.NaN),
      new Float32Array(d).fill(-0),
    ]) {
      const out = stale.slice();
      c.decodeInto(payload, out);
      assertSameBits(out, fresh, `${spec} over stale values`);
    }
  }
  // The sparse codecs leave most entries unset: they must be zero, not last round's.
  for (const spec of ['topk:0.01', 'topk:0.01:sign', 'topk:0.1:f32', 'randk:0.05']) {
    const c = parseCompressor(spec);
    const out = new Float32Array(d).fill(42);
    c.decodeInto(c.encode(gaussian(d, 7), 9), out);
    const zeros = out.filter((v) => Object.is(v, 0)).length;
    assert.ok(zeros >= 0.89 * d, `${spec}: ${zeros} of ${d} entries +0`);
    assert.equal(
      out.findIndex((v) => v === 42),
      -1,
      `${spec}: a stale value survived`,
    );
  }
});

test('decodeInto a view writes only the view: the entries around it keep their values', () => {
  const d = 1_000;
  for (const spec of ALL_SPECS) {
    const c = parseCompressor(spec);
    const payload = c.encode(heavyTailed(d, 8), 4);
    const backing = new Float32Array(d + 10).fill(-7);
    const view = backing.subarray(3, 3 + d);
    c.decodeInto(payload, view);
    assertSameBits(view, c.decode(payload, d), `${spec} into a view`);
    for (const i of [0, 1, 2, d + 3, d + 9])
      assert.equal(backing[i], -7, `${spec}: entry ${i} outside the view`);
  }
});

test('decodeInto refuses what decode refuses, with the same code', () => {
  const d = 300;
  for (const spec of ALL_SPECS) {
    const c: Compressor = parseCompressor(spec);
    const payload = c.encode(gaussian(d, 9), 1);
    expectCode(() => c.decodeInto(payload, new Float32Array(d + 1)), 'LENGTH_MISMATCH');
    expectCode(() => c.decodeInto(payload.subarray(0, 3), new Float32Array(d)), 'TRUNCATED');
    expectCode(() => c.decodeInto(payload.subarray(0, payload.length - 1), new Float32Array(d)), 'TRUNCATED');
    const other = spec === 'identity' ? parseCompressor('fp16') : parseCompressor('identity');
    expectCode(() => other.decodeInto(payload, new Float32Array(d)), 'WRONG_CODEC');
  }
});

test('decodePayloadInto picks the codec from the payload, as decodePayload does', () => {
  const d = 2_000;
  const out = new Float32Array(d);
  for (const spec of ALL_SPECS) {
    const payload = parseCompressor(spec).encode(withZeros(d, 10), 2);
    assertSameBits(decodePayloadInto(payload, out), decodePayload(payload, d), `${spec} by its header`);
  }
});

test('decodeSparseInto (top-k): decodeInto bit for bit, and every position it may have set, ascending and once', () => {
  const sparse = ALL_SPECS.map((spec) => parseCompressor(spec)).filter(
    (c) => c.decodeSparseInto !== undefined,
  );
  assert.deepEqual(
    sparse.map((c) => c.spec.split(':')[0]),
    sparse.map(() => 'topk'),
    'only top-k declares its positions',
  );
  assert.ok(sparse.length >= 3, `top-k in f16, f32 and sign: ${sparse.map((c) => c.spec).join(', ')}`);
  for (const c of sparse) {
    for (const d of LENGTHS) {
      const out = new Float32Array(d).fill(42);
      for (const [round, x] of [gaussian(d, 1), heavyTailed(d, 2), withZeros(d, 3)].entries()) {
        const payload = c.encode(x, 11 + round);
        const support = (c.decodeSparseInto as NonNullable<Compressor['decodeSparseInto']>)(payload, out);
        assertSameBits(out, c.decode(payload, d), `${c.spec} d=${d} round ${round}`);
        const listed = new Set<number>();
        for (let j = 0; j < support.length; j++) {
          const i = support[j] as number;
          assert.ok(i < d, `${c.spec} d=${d}: position ${i} inside the vector`);
          if (j > 0) assert.ok(i > (support[j - 1] as number), `${c.spec} d=${d}: ascending, each once`);
          listed.add(i);
        }
        for (let i = 0; i < d; i++)
          if (!listed.has(i)) assert.ok(Object.is(out[i], 0), `${c.spec} d=${d}: unlisted entry ${i} is +0`);
      }
    }
  }
});
