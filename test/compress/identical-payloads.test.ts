import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CodecError, parseCompressor } from '../../shared/compress/index.ts';
import { setSimdKernels, simdKernels } from '../../shared/compress/kernels.ts';
import { createRng } from '../../shared/random.ts';
import { gaussian, heavyTailed } from './helpers.ts';
import { referenceEncode } from './reference-encoders.ts';

// Other peers decode what these encoders write: the fast encoders must reproduce the old
// encoders' bytes exactly (reference-encoders.ts), for every spec and input.

const SIGN_SPECS = ['sign', 'sign:1', 'sign:7', 'sign:32', 'sign:100', 'sign:256', 'sign:1000'];
const TOPK_SPECS = [
  'topk:0.01',
  'topk:0.01:sign',
  'topk:0.01:f32',
  'topk:0.0001',
  'topk:0.05:sign',
  'topk:0.3',
  'topk:0.5:sign',
  'topk:1',
  'topk:1:sign',
];
const SPECS = [...SIGN_SPECS, ...TOPK_SPECS];

const FLOAT32_MAX = 3.4028234663852886e38;
const SMALLEST_DENORMAL = 2 ** -149;
const LENGTHS = [0, 1, 2, 5, 31, 32, 33, 63, 64, 100, 255, 256, 257, 1000, 4097, 65_537, 70_001];

/** Checks the payload with the WebAssembly SIMD kernels and with the plain JS paths. */
function assertSame(spec: string, x: Float32Array, what: string): void {
  try {
    for (const simd of [true, false]) {
      setSimdKernels(simd);
      assertSameOnce(spec, x, `${what} (${simd ? 'SIMD' : 'JS'})`);
    }
  } finally {
    setSimdKernels(true);
  }
}

function assertSameOnce(spec: string, x: Float32Array, what: string): void {
  let expected: Uint8Array | Error;
  try {
    expected = referenceEncode(spec, x);
  } catch (e) {
    expected = e as Error;
  }
  const codec = parseCompressor(spec);
  if (expected instanceof Error) {
    assert.equal(
      expected.message,
      'NON_FINITE_INPUT',
      `${spec} ${what}: reference threw ${expected.message}`,
    );
    assert.throws(
      () => codec.encode(x, 1),
      (e: unknown) => e instanceof CodecError && e.code === 'NON_FINITE_INPUT',
      `${spec} ${what}`,
    );
    return;
  }
  const actual = codec.encode(x, 1);
  if (actual.length !== expected.length || !actual.every((v, i) => v === expected[i])) {
    let at = 0;
    while (at < Math.min(actual.length, expected.length) && actual[at] === expected[at]) at++;
    assert.fail(`${spec} ${what}: ${actual.length} bytes vs ${expected.length}, first difference at ${at}`);
  }
}

/** Vectors of length d that stress one property each. */
function cases(d: number, seed: number): Array<[string, Float32Array]> {
  const rng = createRng(seed);
  const pick = (values: number[]): Float32Array =>
    Float32Array.from({ length: d }, () => values[rng.int(values.length)]!);
  const out: Array<[string, Float32Array]> = [
    ['gaussian', gaussian(d, seed, 1e-3)],
    ['heavy-tailed', heavyTailed(d, seed + 1)],
    ['zeros', new Float32Array(d)],
    ['negative zeros', new Float32Array(d).fill(-0)],
    ['constant', new Float32Array(d).fill(-2.5)],
    ['ties', pick([0, -0, 0.5, -0.5, 1, -1, 1, 1])],
    ['extremes', pick([FLOAT32_MAX, -FLOAT32_MAX, 3.3e38, -3e38, 1e38, 0])],
    ['denormals', pick([SMALLEST_DENORMAL, -SMALLEST_DENORMAL, 3 * SMALLEST_DENORMAL, -1e-40, 1.1e-38, 0])],
    ['mixed scales', pick([FLOAT32_MAX, -1e-40, 1, -1e-20, 1e20, SMALLEST_DENORMAL, -0])],
  ];
  const sparse = new Float32Array(d);
  for (let i = 0; i < Math.min(d, 50); i++) sparse[rng.int(d)] = rng.normal();
  out.push(['sparse', sparse]);
  // A block the sampled threshold misses: large values clustered in one place.
  const clustered = gaussian(d, seed + 2, 1e-3);
  for (let i = Math.floor(d / 3); i < Math.floor(d / 3) + Math.ceil(d / 50); i++) clustered[i] = 10 + (i % 7);
  out.push(['clustered', clustered]);
  return out;
}

test('the WebAssembly SIMD kernels run here (Node 20 has SIMD)', () => {
  assert.ok(simdKernels() !== undefined);
});

test('sign and topk payloads are byte-identical to the old encoders on edge cases', () => {
  for (const d of LENGTHS) {
    for (const [name, x] of cases(d, d + 1)) {
      for (const spec of SPECS) assertSame(spec, x, `${name} d=${d}`);
    }
  }
});

/**
 * 64 values whose sums differ by order: the even positions of the first 32 add up to
 * B = 64 + 2^-18 exactly, then 16 values of 1.5 * 2^-51 each round away one at a time
 * (below half an ulp of B) but not as a group (1.5 ulps together). Added in order, the
 * scale B / 64 = 1 + 2^-24 is a float32 tie and rounds to 1; summed any other way it
 * would round up to 1 + 2^-23.
 */
function orderSensitive(): Float32Array {
  const x = new Float32Array(64);
  for (let j = 0; j < 16; j++) x[2 * j] = j === 7 ? 4 + 2 ** -18 : 4;
  for (let j = 16; j < 32; j++) x[2 * j] = (j % 2 === 0 ? 1 : -1) * 1.5 * 2 ** -51;
  return x;
}

/**
 * The same at the edge of the kernel's exactness check: group one's even values add up to
 * 64 + 2^-18 - 2^-23, group two holds two values 2^-24 + 2^-47, each exactly half an ulp
 * off in order (ties to even: 64 + 2^-18, a float32 tie again), one ulp more together.
 */
function orderSensitiveAtTheEdge(): Float32Array {
  const x = new Float32Array(64);
  for (let j = 0; j < 14; j++) x[2 * j] = 4;
  x[28] = 8;
  x[30] = 2 ** -18 - 2 ** -23;
  x[32] = 2 ** -24 + 2 ** -47;
  x[34] = -(2 ** -24 + 2 ** -47);
  return x;
}

/**
 * The even sum after group one is 32 + 2^-47 (odd in its last bit); group two adds 32
 * (a tie, to even: 64), then 2^-23 + 2^-46, 93 * 2^-23 and (2^23 - 1) * 2^-45, all exact:
 * 64 + 3 * 2^-18 - 2^-46 in order, whose scale rounds down to 1 + 2^-23, while the group
 * summed first ends on the float32 tie 1 + 3 * 2^-24, which rounds up to 1 + 2^-22. Every
 * term is coarse enough; only the accumulator's odd last bit tells the kernel to add in order.
 */
function orderSensitiveAccumulator(): Float32Array {
  const x = new Float32Array(64);
  x[0] = 32;
  x[2] = 2 ** -47;
  x[32] = 32;
  x[34] = 2 ** -23 + 2 ** -46;
  x[36] = 93 * 2 ** -23;
  x[38] = (2 ** 23 - 1) * 2 ** -45;
  return x;
}

test('sums of |x| keep their order: vectors whose scale depends on it', () => {
  const accumulator = orderSensitiveAccumulator();
  assert.equal(new DataView(referenceEncode('sign', accumulator).buffer).getFloat32(9, true), 1 + 2 ** -23);
  assertSame('sign', accumulator, 'order-sensitive accumulator');
  const edge = orderSensitiveAtTheEdge();
  assert.equal(new DataView(referenceEncode('sign', edge).buffer).getFloat32(9, true), 1);
  assertSame('sign', edge, 'order-sensitive at the edge');
  const x = orderSensitive();
  const scaleOf = (payload: Uint8Array): number => new DataView(payload.buffer).getFloat32(9, true);
  assert.equal(scaleOf(referenceEncode('sign', x)), 1);
  const repeated = new Float32Array(64 * 40);
  for (let b = 0; b < 40; b++) repeated.set(x, 64 * b);
  for (const spec of ['sign', 'sign:64', 'sign:128']) {
    assertSame(spec, x, 'order-sensitive');
    assertSame(spec, repeated, 'order-sensitive, repeated');
  }
  assertSame('sign:64', repeated.subarray(0, 64 * 40 - 5), 'order-sensitive, short last block');
});

test('byte-identical on seeded random vectors of random lengths, offsets and mixtures', () => {
  const rng = createRng(20);
  for (let trial = 0; trial < 120; trial++) {
    const d = rng.next() < 0.2 ? 65_537 + rng.int(40_000) : rng.int(3000);
    const buffer = new Float32Array(d + 3);
    const x = buffer.subarray(rng.int(3), rng.int(3) + d); // also a nonzero byteOffset
    const scale = 10 ** (rng.int(60) - 30);
    const zeroShare = rng.next() * 0.5;
    for (let i = 0; i < d; i++) x[i] = rng.next() < zeroShare ? 0 : rng.normal() * scale;
    if (rng.next() < 0.3) for (let i = 0; i < 10; i++) x[rng.int(Math.max(1, d))] = FLOAT32_MAX;
    for (const spec of SPECS) {
      if (rng.next() < 0.5) assertSame(spec, x, `trial ${trial} d=${d}`);
    }
  }
});

test('both throw NON_FINITE_INPUT on NaN and infinities, wherever they are', () => {
  for (const d of [40, 70_001]) {
    for (const bad of [NaN, Infinity, -Infinity]) {
      for (const at of [0, d >> 1, d - 1]) {
        const x = gaussian(d, at);
        x[at] = bad;
        for (const spec of SPECS) assertSame(spec, x, `${bad} at ${at}, d=${d}`);
        const sparse = new Float32Array(d); // top-k's histogram fallback
        sparse[at] = bad;
        for (const spec of TOPK_SPECS) assertSame(spec, sparse, `${bad} at ${at} of zeros, d=${d}`);
      }
    }
  }
});

test('byte-identical on a 1M-value gradient-like vector (the sampled top-k path at scale)', () => {
  const x = gaussian(1_000_003, 33, 1e-3);
  for (const spec of ['sign', 'sign:256', 'topk:0.01', 'topk:0.01:sign', 'topk:0.001:f32']) {
    assertSame(spec, x, 'd=1000003');
  }
});
