import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BitWriter } from '../../shared/compress/bits.ts';
import { ByteWriter, writeHeader } from '../../shared/compress/bytes.ts';
import {
  CodecError,
  CodecId,
  decodePayload,
  describePayload,
  parseCompressor,
} from '../../shared/compress/index.ts';
import { createRng } from '../../shared/random.ts';
import { ALL_SPECS, expectCode, gaussian } from './helpers.ts';

test('NaN and Inf anywhere in the input are NON_FINITE_INPUT for every codec', () => {
  for (const spec of ALL_SPECS) {
    const c = parseCompressor(spec);
    for (const d of [1, 300, 70_000]) {
      for (const bad of [NaN, Infinity, -Infinity]) {
        for (const at of new Set([0, d >> 1, d - 1])) {
          const x = gaussian(d, at);
          x[at] = bad;
          expectCode(() => c.encode(x, 1), 'NON_FINITE_INPUT');
        }
      }
    }
  }
});

test('header checks: truncated, other codec, unknown codec, wrong length', () => {
  const x = gaussian(100, 1);
  for (const spec of ALL_SPECS) {
    const c = parseCompressor(spec);
    const payload = c.encode(x, 1);
    expectCode(() => c.decode(new Uint8Array(0)), 'TRUNCATED');
    expectCode(() => c.decode(payload.subarray(0, 4)), 'TRUNCATED');
    expectCode(() => c.decode(payload, 101), 'LENGTH_MISMATCH');
    expectCode(() => c.decode(payload, 0), 'LENGTH_MISMATCH');
    for (const other of ALL_SPECS) {
      if (other.split(':')[0] === spec.split(':')[0]) continue;
      expectCode(() => parseCompressor(other).decode(payload, 100), 'WRONG_CODEC');
    }
    const unknown = payload.slice();
    unknown[0] = 99;
    expectCode(() => c.decode(unknown, 100), 'WRONG_CODEC');
    expectCode(() => describePayload(unknown), 'WRONG_CODEC');
    expectCode(() => decodePayload(unknown), 'WRONG_CODEC');
  }
  expectCode(() => describePayload(Uint8Array.of(1, 0, 0)), 'TRUNCATED');
});

test('every strict prefix is TRUNCATED, one extra byte is MALFORMED', () => {
  const x = gaussian(100, 2);
  for (const spec of ALL_SPECS) {
    const c = parseCompressor(spec);
    const payload = c.encode(x, 1);
    for (let n = 0; n < payload.length; n++) {
      expectCode(() => c.decode(payload.subarray(0, n), 100), 'TRUNCATED');
    }
    const longer = new Uint8Array(payload.length + 1);
    longer.set(payload);
    expectCode(() => c.decode(longer, 100), 'MALFORMED');
    longer[payload.length] = 0xff;
    expectCode(() => c.decode(longer, 100), 'MALFORMED');
  }
});

/** Rewrites bytes of a valid payload of `spec` for x at `offset`. */
function patched(spec: string, x: Float32Array, offset: number, bytes: number[]): Uint8Array {
  const payload = parseCompressor(spec).encode(x, 1).slice();
  payload.set(bytes, offset);
  return payload;
}

test('inconsistent bodies are MALFORMED', () => {
  const x = gaussian(50, 3);
  const cases: Array<[string, Uint8Array]> = [
    ['identity NaN', patched('identity', x, 5, [0, 0, 0xc0, 0x7f])],
    ['fp16 scale out of range', patched('fp16', x, 5, [0xff, 0x7f])],
    ['fp16 Inf value', patched('fp16', x, 7, [0x00, 0x7c])],
    ['fp16 value beyond 2^15', patched('fp16', x, 7, [0x00, 0x7a])],
    ['topk bad mode', patched('topk:0.1', x, 5, [7])],
    ['topk k > d', patched('topk:0.1', x, 6, [51, 0, 0, 0])],
    ['topk k = 0', patched('topk:0.1', x, 6, [0, 0, 0, 0])],
    ['topk Rice parameter 40', patched('topk:0.1', x, 10, [40])],
    ['randk k > d', patched('randk:0.1', x, 9, [51, 0, 0, 0])],
    ['randk NaN value', patched('randk:0.1', x, 13, [0, 0, 0xc0, 0x7f])],
    ['sign negative scale', patched('sign', x, 9, [0, 0, 0x80, 0xbf])],
    ['sign NaN scale', patched('sign', x, 9, [0, 0, 0xc0, 0x7f])],
    ['sign padding bits', patched('sign', x, 13 + 6, [0xff])],
    ['qsgd zero levels', patched('qsgd:4', x, 5, [0, 0, 0, 0])],
    ['qsgd Inf norm', patched('qsgd:4', x, 9, [0, 0, 0, 0, 0, 0, 0xf0, 0x7f])],
    ['qsgd level above S', patched('qsgd:4', x, 17, [0x77])],
    ['q8 block size 0', patched('q8', x, 5, [0, 0, 0, 0])],
    ['q8 Inf step', patched('q8', x, 13, [0, 0, 0x80, 0x7f])],
    ['q8 NaN min', patched('q8', x, 9, [0, 0, 0xc0, 0x7f])],
  ];
  // A top-k payload whose second gap runs past d.
  const w = new ByteWriter(5 + 6 + 4 * 2 + 1); // 3 + 5 bits of gaps
  writeHeader(w, CodecId.topk, 10);
  w.u8(1); // f32 values
  w.u32(2);
  w.u8(2);
  w.array(Float32Array.of(1, 2));
  const bits = new BitWriter(w.bytes, w.pos);
  bits.rice(3, 2);
  bits.rice(9, 2); // index 3 + 1 + 9 = 13 >= 10
  bits.flush();
  w.pos = bits.pos;
  cases.push(['topk index out of range', w.finish()]);
  for (const [name, payload] of cases) {
    assert.throws(
      () => decodePayload(payload, payload[0] === CodecId.topk && name.includes('range') ? 10 : 50),
      (e: unknown) => e instanceof CodecError && e.code === 'MALFORMED',
      name,
    );
  }
});

test('random byte flips give a CodecError or a finite vector of the right length', () => {
  const rng = createRng(4);
  const d = 500;
  const x = gaussian(d, 5);
  x[17] = 3e38;
  x[18] = -1e-42;
  for (const spec of [...ALL_SPECS, 'sign:7', 'q8:3', 'qsgd:65535']) {
    const c = parseCompressor(spec);
    const payload = c.encode(x, 1);
    const codes = new Map<string, number>();
    for (let trial = 0; trial < 400; trial++) {
      const corrupted = payload.slice();
      const flips = 1 + rng.int(4);
      for (let f = 0; f < flips; f++) {
        const at = rng.int(corrupted.length);
        corrupted[at] = corrupted[at]! ^ (1 << rng.int(8));
      }
      // Without the header's length field corrupted, also try decoding without expectedLength.
      const expected =
        trial % 2 === 0 || corrupted.subarray(1, 5).some((b, i) => b !== payload[i + 1]) ? d : undefined;
      try {
        const out = c.decode(corrupted, expected);
        assert.equal(out.length, d, spec);
        for (const v of out) assert.ok(Number.isFinite(v), `${spec}: decoded ${v}`);
        codes.set('ok', (codes.get('ok') ?? 0) + 1);
      } catch (e) {
        if (!(e instanceof CodecError)) throw new Error(`${spec}: ${String(e)}`);
        codes.set(e.code, (codes.get(e.code) ?? 0) + 1);
      }
    }
    assert.ok(codes.size > 0, spec);
  }
});
