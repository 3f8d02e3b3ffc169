import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BitReader, BitWriter, riceBits, riceIntoWords } from '../../shared/compress/bits.ts';
import { createRng } from '../../shared/random.ts';
import { expectCode } from './helpers.ts';

function riceEncode(values: Uint32Array, b: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(riceBits(values, b) / 8));
  const w = new BitWriter(out, 0);
  for (const v of values) w.rice(v, b);
  w.flush();
  assert.equal(w.pos, out.length, 'riceBits predicts the exact size');
  return out;
}

test('Rice codes round-trip for every parameter, including 32-bit values', () => {
  const rng = createRng(1);
  for (let b = 0; b <= 31; b++) {
    const values = new Uint32Array(300);
    for (let i = 0; i < values.length; i++) {
      const big = rng.next() < 0.1;
      values[i] = big
        ? Math.min(0xffffffff, Math.floor(rng.next() * 2 ** Math.min(32, b + 6)))
        : rng.int(2 ** b * 3 + 1);
    }
    const bytes = riceEncode(values, b);
    const r = new BitReader(bytes, 0, bytes.length);
    for (const v of values) assert.equal(r.rice(b, 2 ** 40), v);
    r.finish();
  }
});

test('riceIntoWords writes the same bits as BitWriter.rice, after any prefix', () => {
  const rng = createRng(3);
  for (let b = 0; b <= 31; b++) {
    for (const prefix of [0, 1, 7, 8, 31, 32, 45]) {
      const values = new Uint32Array(200);
      for (let i = 0; i < values.length; i++) {
        values[i] =
          rng.next() < 0.1 ? Math.floor(rng.next() * 2 ** Math.min(32, b + 6)) : rng.int(2 ** b * 4 + 1);
      }
      const prefixBits = Array.from({ length: prefix }, () => rng.int(2));
      const total = prefix + riceBits(values, b);
      const expected = new Uint8Array(Math.ceil(total / 8));
      const w = new BitWriter(expected, 0);
      for (const bit of prefixBits) w.write(bit, 1);
      for (const v of values) w.rice(v, b);
      w.flush();
      const words = new Uint32Array(Math.ceil(total / 32) + 2);
      prefixBits.forEach((bit, j) => (words[j >>> 5]! |= bit << (j & 31)));
      assert.equal(riceIntoWords(words, prefix, values, b), total);
      assert.deepEqual(new Uint8Array(words.buffer, 0, expected.length), expected, `b=${b} prefix=${prefix}`);
      assert.ok(
        words.subarray(Math.ceil(total / 32)).every((x) => x === 0),
        'nothing past the end',
      );
    }
  }
});

test('fixed-width fields round-trip', () => {
  const rng = createRng(2);
  const widths = Array.from({ length: 500 }, () => 1 + rng.int(32));
  const values = widths.map((w) => Math.floor(rng.next() * 2 ** w));
  const totalBits = widths.reduce((a, b) => a + b, 0);
  const out = new Uint8Array(Math.ceil(totalBits / 8));
  const w = new BitWriter(out, 0);
  values.forEach((v, i) => w.writeWide(v, widths[i]!));
  w.flush();
  const r = new BitReader(out, 0, out.length);
  values.forEach((v, i) => assert.equal(r.readWide(widths[i]!), v));
  r.finish();
});

test('reader: running out is TRUNCATED, leftovers and padding are MALFORMED, long runs are capped', () => {
  const bytes = riceEncode(Uint32Array.of(5, 900, 3), 4);
  const short = new BitReader(bytes, 0, bytes.length - 1);
  expectCode(() => {
    for (let i = 0; i < 3; i++) short.rice(4, 1000);
  }, 'TRUNCATED');

  const extra = new Uint8Array(bytes.length + 1);
  extra.set(bytes);
  const long = new BitReader(extra, 0, extra.length);
  for (let i = 0; i < 3; i++) long.rice(4, 1000);
  expectCode(() => long.finish(), 'MALFORMED');

  const padded = Uint8Array.of(0b1000_0001); // a 0-valued b=0 code, then a stray padding bit
  const p = new BitReader(padded, 0, 1);
  assert.equal(p.rice(0, 10), 0);
  expectCode(() => p.finish(), 'MALFORMED');

  const zeros = new Uint8Array(1000);
  expectCode(() => new BitReader(zeros, 0, zeros.length).rice(0, 100), 'MALFORMED');
  expectCode(() => new BitReader(zeros, 0, zeros.length).rice(0, 1e9), 'TRUNCATED');
});
