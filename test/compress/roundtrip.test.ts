import { test } from 'node:test';
import assert from 'node:assert/strict';
import { compress, describePayload, decodePayload, parseCompressor } from '../../shared/compress/index.ts';
import { selectTopK } from '../../shared/compress/select.ts';
import { ALL_SPECS, gaussian, heavyTailed } from './helpers.ts';

const D = 20_000;

function maxAbs(x: Float32Array): number {
  let m = 0;
  for (const v of x) m = Math.max(m, Math.abs(v));
  return m;
}

/** fp16-with-scale error bound from half.ts: relative 2^-11, absolute max * 2^-39. */
function assertHalfClose(decoded: number, x: number, max: number, where: string): void {
  const bound = 2 ** -11 * Math.abs(x) + 2 ** -39 * max;
  assert.ok(Math.abs(decoded - x) <= bound, `${where}: ${decoded} vs ${x}`);
}

test('identity is exact', () => {
  const x = heavyTailed(D, 1);
  assert.deepEqual(compress(parseCompressor('identity'), x).decoded, x);
});

test('fp16 is within one fp16 rounding of x, relative to a per-payload scale', () => {
  for (const x of [gaussian(D, 2), heavyTailed(D, 3), gaussian(D, 4, 1e-6), gaussian(D, 5, 1e7)]) {
    const { decoded } = compress(parseCompressor('fp16'), x);
    const max = maxAbs(x);
    for (let i = 0; i < D; i++) assertHalfClose(decoded[i]!, x[i]!, max, `x[${i}]`);
  }
});

test('topk keeps exactly the top-k entries (fp16 values within rounding, f32 exact)', () => {
  const x = heavyTailed(D, 6);
  const max = maxAbs(x);
  for (const [spec, k] of [
    ['topk:0.01', 200],
    ['topk:0.1:f32', 2000],
    ['topk:0.0001', 2],
  ] as const) {
    const { decoded } = compress(parseCompressor(spec), x);
    const kept = new Set(selectTopK(x, k).indices);
    for (let i = 0; i < D; i++) {
      if (!kept.has(i)) assert.equal(decoded[i], 0, `${spec} x[${i}] dropped`);
      else if (spec.endsWith('f32')) assert.equal(decoded[i], x[i]);
      else assertHalfClose(decoded[i]!, x[i]!, max, `${spec} x[${i}]`);
    }
  }
});

test('randk keeps k entries scaled by d / k', () => {
  const x = gaussian(D, 7);
  const { decoded } = compress(parseCompressor('randk:0.05'), x, 11);
  let kept = 0;
  for (let i = 0; i < D; i++) {
    if (decoded[i] === 0) continue;
    kept++;
    assert.equal(decoded[i], Math.fround(x[i]! * 20));
  }
  assert.equal(kept, 1000);
});

test('sign gives +-(mean |x| of the block) with the sign of x', () => {
  const x = gaussian(D, 8);
  for (const [spec, block] of [
    ['sign', D],
    ['sign:256', 256],
    ['sign:100', 100],
  ] as const) {
    const { decoded } = compress(parseCompressor(spec), x);
    for (let start = 0; start < D; start += block) {
      const end = Math.min(D, start + block);
      let sum = 0;
      for (let i = start; i < end; i++) sum += Math.abs(x[i]!);
      const scale = Math.fround(sum / (end - start));
      for (let i = start; i < end; i++)
        assert.equal(decoded[i], x[i]! < 0 ? -scale : scale, `${spec} x[${i}]`);
    }
  }
});

test('qsgd decodes to one of the two levels around |x|, with its sign', () => {
  const x = gaussian(D, 9);
  let norm = 0;
  for (const v of x) norm += v * v;
  norm = Math.sqrt(norm);
  for (const levels of [4, 255]) {
    const { decoded } = compress(parseCompressor(`qsgd:${levels}`), x, 5);
    const unit = norm / levels;
    for (let i = 0; i < D; i++) {
      const level = Math.abs(decoded[i]!) / unit;
      assert.ok(Math.abs(level - Math.round(level)) < 1e-3, `level ${level}`);
      assert.ok(Math.abs(decoded[i]! - x[i]!) <= unit * (1 + 1e-6), `x[${i}]`);
      if (decoded[i] !== 0) assert.equal(Math.sign(decoded[i]!), Math.sign(x[i]!));
    }
  }
});

test('q8 and q4 are within half a quantization step per block', () => {
  const x = heavyTailed(D, 10);
  for (const [spec, block, levels] of [
    ['q8', 256, 255],
    ['q8:64', 64, 255],
    ['q4', 256, 15],
    ['q4:64', 64, 15],
  ] as const) {
    const { decoded } = compress(parseCompressor(spec), x);
    for (let start = 0; start < D; start += block) {
      const end = Math.min(D, start + block);
      let min = Infinity;
      let max = -Infinity;
      for (let i = start; i < end; i++) [min, max] = [Math.min(min, x[i]!), Math.max(max, x[i]!)];
      const step = Math.fround((max - min) / levels);
      for (let i = start; i < end; i++) {
        const slack = 2 ** -23 * (Math.abs(x[i]!) + Math.abs(min)); // float32 rounding of m + q s
        assert.ok(Math.abs(decoded[i]! - x[i]!) <= step / 2 + slack, `${spec} x[${i}]`);
      }
    }
  }
});

test('same seed gives the same bytes; random codecs differ across seeds', () => {
  const x = gaussian(5000, 12);
  for (const spec of ALL_SPECS) {
    const c = parseCompressor(spec);
    assert.deepEqual(c.encode(x, 42), c.encode(x, 42), spec);
    if (c.unbiased && spec !== 'identity') assert.notDeepEqual(c.encode(x, 42), c.encode(x, 43), spec);
  }
});

test('decodePayload and describePayload work for every codec', () => {
  const x = gaussian(3000, 13);
  for (const spec of ALL_SPECS) {
    const c = parseCompressor(spec);
    const { payload, decoded } = compress(c, x, 3);
    assert.deepEqual(describePayload(payload), { codec: spec.split(':')[0], length: 3000 });
    assert.deepEqual(decodePayload(payload, 3000), decoded, spec);
  }
});

test('edge cases: empty, one value, k >= d, zeros, huge and tiny magnitudes', () => {
  const F32_MAX = 3.4028234663852886e38;
  const inputs: Array<[string, Float32Array]> = [
    ['empty', new Float32Array(0)],
    ['one', Float32Array.of(-1.5)],
    ['two', Float32Array.of(0.25, -3)],
    ['zeros', new Float32Array(1000)],
    ['huge', Float32Array.of(F32_MAX, -F32_MAX, 1, -3e38, 2e38, 0)],
    ['tiny', Float32Array.of(1e-40, -2e-42, 1.4e-45, -1e-38, 0, 3e-39)],
    ['mixed', Float32Array.of(1e30, 1e-30, -5, 0, -1e-45)],
  ];
  const specs = [...ALL_SPECS, 'topk:1', 'topk:1:f32', 'randk:1', 'topk:0.5'];
  for (const [name, x] of inputs) {
    for (const spec of specs) {
      const c = parseCompressor(spec);
      const { decoded } = compress(c, x, 9);
      const where = `${spec} on ${name}`;
      assert.equal(decoded.length, x.length, where);
      for (const v of decoded) assert.ok(Number.isFinite(v), `${where}: ${v}`);
      if (name === 'zeros')
        assert.ok(
          decoded.every((v) => v === 0),
          where,
        );
      const exact = spec === 'identity' || spec.startsWith('topk:1:f32') || spec === 'randk:1';
      if (exact) assert.deepEqual(decoded, x, where);
      if (name === 'one') {
        // One value: every codec but fp16-rounding ones is exact, and fp16 of 1.5 is exact too.
        assert.equal(decoded[0], -1.5, where);
      }
    }
  }
});

test('fp16-valued codecs keep relative precision at both ends of the float32 range', () => {
  for (const x of [Float32Array.of(3e38, -1e37, 2.5e38), Float32Array.of(1e-40, -3e-41, 7e-42)]) {
    for (const spec of ['fp16', 'topk:1']) {
      const { decoded } = compress(parseCompressor(spec), x);
      const max = maxAbs(x);
      x.forEach((v, i) => assertHalfClose(decoded[i]!, v, max, `${spec} ${v}`));
    }
  }
});

test('payloads at any byte offset decode the same (network frames are not aligned)', () => {
  const x = gaussian(1000, 14);
  for (const spec of ALL_SPECS) {
    const c = parseCompressor(spec);
    const { payload, decoded } = compress(c, x, 2);
    for (const offset of [1, 2, 3]) {
      const frame = new Uint8Array(payload.length + 8);
      frame.set(payload, offset);
      assert.deepEqual(
        c.decode(frame.subarray(offset, offset + payload.length), 1000),
        decoded,
        `${spec} @${offset}`,
      );
    }
  }
});
