/**
 * topk:R[:f32|:sign]: keeps the k = max(1, ceil(R d)) entries of largest magnitude.
 *
 * Body: u8 value mode (0 = fp16, 1 = f32), u32 k, u8 Rice parameter b, [i16 fp16 scale
 * exponent, fp16 mode only], k values (fp16 of x * 2^-shift as in half.ts, or f32), then
 * the ascending indices as Golomb-Rice codes of their gaps (index - previous - 1, the
 * first from -1), zero-padded to a byte. b is the cheapest of a few values around
 * log2(d / k), so one entry costs about 2 + 1 bytes (fp16) at 1%.
 * Bytes: 11 + (fp16 ? 2 + 2k : 4k) + ceil((sum_i (gap_i >> b) + k (b + 1)) / 8).
 * topk:R:sign sends every kept value as its sign times one scale, the mean magnitude of the
 * kept values (the least-squares scale, so ||C(x) - x||^2 < ||x||^2 still holds): body u8
 * mode 2, u32 k, u8 b, f32 scale, then k sign bits and the Rice-coded gaps in one bit stream.
 * About 1 + 8.5 bits per kept value at 1%: 0.095 bits per parameter, near the positions'
 * entropy bound h(0.01) = 0.081. What the sign drops stays with the sender like the rest of
 * its compression error (error feedback, LIEC's residual).
 * Decoding is self-describing: any topk compressor reads any topk payload.
 * Encoding keeps the selected values' bits from the selection (select.ts), so it never
 * gathers from x again, and ORs the Rice codes into 32-bit words (bits.ts riceIntoWords).
 *
 * @example
 * const c = createTopK({ ratio: 0.01 });
 * const approx = c.decode(c.encode(g), g.length); // 1% of g nonzero
 */
import { BitReader, BitWriter, riceIntoWords } from './bits.ts';
import {
  ByteWriter,
  HEADER_BYTES,
  decodeFresh,
  float32View,
  readHeader,
  uint16View,
  writeHeader,
} from './bytes.ts';
import { checkHalfShift, expandHalves, halfShiftFor, halvesInto } from './half.ts';
import { Slot, scratch } from './scratch.ts';
import { selectTopKTransient, sparseCount } from './select.ts';
import { CodecError, CodecId, type Compressor } from './types.ts';

export interface TopKInit {
  /** Fraction of entries kept, in (0, 1]. */
  ratio: number;
  /**
   * How values travel: fp16 with a power-of-two scale, exact f32, or one sign bit each times
   * a shared scale. @default 'f16'
   */
  values?: 'f16' | 'f32' | 'sign';
}

const MODE_F16 = 0;
const MODE_F32 = 1;
const MODE_SIGN = 2;

/**
 * Rice parameter with the fewest bits for these gaps, searched near log2(mean gap) (ties:
 * the guess, else the smallest), and that many bits; one pass over the gaps.
 */
function riceChoice(gaps: Uint32Array, d: number): { b: number; bits: number } {
  const k = gaps.length;
  if (k === 0) return { b: 0, bits: 0 };
  const guess = Math.max(0, Math.min(31, Math.round(Math.log2(Math.max(1, (d - k) / k)))));
  const lo = Math.max(0, guess - 3);
  const hi = Math.min(31, guess + 2);
  // Sums of gap >> b for b = lo .. lo + 5 (shifts past 31 are never used).
  const b1 = Math.min(31, lo + 1);
  const b2 = Math.min(31, lo + 2);
  const b3 = Math.min(31, lo + 3);
  const b4 = Math.min(31, lo + 4);
  const b5 = Math.min(31, lo + 5);
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let s4 = 0;
  let s5 = 0;
  for (let j = 0; j < k; j++) {
    const g = gaps[j]!;
    s0 += g >>> lo;
    s1 += g >>> b1;
    s2 += g >>> b2;
    s3 += g >>> b3;
    s4 += g >>> b4;
    s5 += g >>> b5;
  }
  const sums = [s0, s1, s2, s3, s4, s5];
  const bitsFor = (b: number): number => k * (b + 1) + sums[b - lo]!;
  let best = guess;
  let bestBits = bitsFor(guess);
  for (let b = lo; b <= hi; b++) {
    const bits = bitsFor(b);
    if (bits < bestBits) {
      best = b;
      bestBits = bits;
    }
  }
  return { b: best, bits: bestBits };
}

/** Rice parameter with the fewest bits for these gaps, searched near log2(mean gap). */
export function chooseRiceParameter(gaps: Uint32Array, d: number): number {
  return riceChoice(gaps, d).b;
}

/**
 * Appends the bit stream: `prefix` bits already in `words` (the sign mode's signs), then
 * the Rice codes of the gaps; zero padded to a byte.
 */
function writeStream(
  w: ByteWriter,
  words: Uint32Array,
  prefix: number,
  gaps: Uint32Array,
  b: number,
  total: number,
): void {
  const bytes = Math.ceil(total / 8);
  if (total < 2 ** 31) {
    riceIntoWords(words, prefix, gaps, b);
    w.bytes.set(new Uint8Array(words.buffer, words.byteOffset, bytes), w.pos);
    w.pos += bytes;
    return;
  }
  // Bit positions past 2^31 (over 256 MiB of codes): the general writer, bit by bit.
  const bits = new BitWriter(w.bytes, w.pos);
  for (let j = 0; j < prefix; j++) bits.write((words[j >>> 5]! >>> (j & 31)) & 1, 1);
  for (let j = 0; j < gaps.length; j++) bits.rice(gaps[j]!, b);
  bits.flush();
  w.pos = bits.pos;
}

export function createTopK(init: TopKInit): Compressor {
  const { ratio } = init;
  const mode = init.values === 'f32' ? MODE_F32 : init.values === 'sign' ? MODE_SIGN : MODE_F16;
  /** decodeInto, returning the positions it wrote (strictly ascending). */
  const decodeSparseInto = (payload: Uint8Array, out: Float32Array): Uint32Array => {
    const { length: d, reader } = readHeader(payload, CodecId.topk, out.length);
    const valueMode = reader.u8();
    const k = reader.u32();
    const b = reader.u8();
    if (valueMode !== MODE_F16 && valueMode !== MODE_F32 && valueMode !== MODE_SIGN) {
      throw new CodecError('MALFORMED', `unknown value mode ${valueMode}`);
    }
    if (k > d || (k === 0 && d > 0)) throw new CodecError('MALFORMED', `k = ${k} for d = ${d}`);
    if (b > 31) throw new CodecError('MALFORMED', `Rice parameter ${b}`);
    if (valueMode === MODE_SIGN) return decodeSigns(payload, reader.f32(), reader.pos, k, b, out);
    const shift = valueMode === MODE_F16 ? checkHalfShift(reader.i16()) : 0;
    const rawValues = reader.take(valueMode === MODE_F16 ? 2 * k : 4 * k);

    const indices = new Uint32Array(k);
    const bits = new BitReader(payload, reader.pos, payload.length);
    const maxQuotient = Math.floor(d / 2 ** b);
    let prev = -1;
    for (let j = 0; j < k; j++) {
      const i = prev + 1 + bits.rice(b, maxQuotient);
      if (i >= d) throw new CodecError('MALFORMED', `index ${i} out of range ${d}`);
      indices[j] = i;
      prev = i;
    }
    bits.finish();

    out.fill(0); // a sparse payload: what it does not set is zero
    if (valueMode === MODE_F16) {
      expandHalves(uint16View(rawValues), shift, out, indices);
    } else {
      const values = float32View(rawValues);
      let acc = 0;
      for (let j = 0; j < k; j++) {
        const v = values[j]!;
        acc += v - v;
        out[indices[j]!] = v;
      }
      if (acc !== 0) throw new CodecError('MALFORMED', 'non-finite value');
    }
    return indices;
  };
  const decodeInto = (payload: Uint8Array, out: Float32Array): Float32Array => {
    decodeSparseInto(payload, out);
    return out;
  };
  return {
    spec: `topk:${ratio}${mode === MODE_F32 ? ':f32' : mode === MODE_SIGN ? ':sign' : ''}`,
    unbiased: false,
    encode(x: Float32Array): Uint8Array {
      const d = x.length;
      // Positions and their bits: no gathers from x from here on.
      const { indices, bits, maxAbsBits } = selectTopKTransient(x, sparseCount(ratio, d));
      const k = indices.length;
      const gaps = scratch(Slot.gaps, k);
      let prev = -1;
      for (let j = 0; j < k; j++) {
        const i = indices[j]!;
        gaps[j] = i - prev - 1;
        prev = i;
      }
      const { b, bits: indexBits } = riceChoice(gaps, d);
      const prefix = mode === MODE_SIGN ? k : 0;
      const total = prefix + indexBits;
      const words = scratch(Slot.riceWords, Math.ceil(total / 32) + 2).fill(0);
      if (mode === MODE_SIGN) return encodeSigns(d, bits, words, gaps, b, total);
      const valueBytes = mode === MODE_F16 ? 2 + 2 * k : 4 * k;
      const w = new ByteWriter(HEADER_BYTES + 6 + valueBytes + Math.ceil(indexBits / 8));
      writeHeader(w, CodecId.topk, d);
      w.u8(mode);
      w.u32(k);
      w.u8(b);
      if (mode === MODE_F16) {
        const shift = halfShiftFor(maxAbsBits);
        w.i16(shift);
        const halves = new Uint16Array(scratch(Slot.halves, (k + 1) >>> 1).buffer, 0, k);
        halvesInto(bits, shift, halves);
        w.array(halves);
      } else {
        w.array(bits); // the f32 values, bit for bit
      }
      writeStream(w, words, 0, gaps, b, total);
      return w.finish();
    },
    decode: (payload, expectedLength) => decodeFresh(payload, CodecId.topk, expectedLength, decodeInto),
    decodeInto,
    decodeSparseInto,
  };
}

/**
 * topk:R:sign from the kept values' bits: the scale (their mean magnitude, summed in index
 * order), then the sign bits (set for x < 0, so not for -0) and the Rice-coded gaps.
 */
function encodeSigns(
  d: number,
  bits: Uint32Array,
  words: Uint32Array,
  gaps: Uint32Array,
  b: number,
  total: number,
): Uint8Array {
  const k = bits.length;
  const values = new Float32Array(bits.buffer, bits.byteOffset, k);
  let sum = 0;
  for (let j = 0; j < k; j++) sum += Math.abs(values[j]!);
  const scale = k === 0 ? 0 : Math.fround(sum / k);
  for (let j = 0; j < k; j++) {
    const v = bits[j]!;
    // Sign bit set and magnitude nonzero: (m + 0x7fffffff) >>> 31 is 1 exactly for m >= 1.
    const negative = (v >>> 31) & (((v & 0x7fffffff) + 0x7fffffff) >>> 31);
    words[j >>> 5]! |= negative << (j & 31);
  }
  const w = new ByteWriter(HEADER_BYTES + 10 + Math.ceil(total / 8));
  writeHeader(w, CodecId.topk, d);
  w.u8(MODE_SIGN);
  w.u32(k);
  w.u8(b);
  w.f32(scale);
  writeStream(w, words, k, gaps, b, total);
  return w.finish();
}

/** topk:R:sign's body after the scale, into out (zeroed first: a sparse payload); returns the positions. */
function decodeSigns(
  payload: Uint8Array,
  scale: number,
  pos: number,
  k: number,
  b: number,
  out: Float32Array,
): Uint32Array {
  const d = out.length;
  if (!(scale >= 0) || !Number.isFinite(scale)) throw new CodecError('MALFORMED', `sign scale ${scale}`);
  const bits = new BitReader(payload, pos, payload.length);
  const negative = new Uint8Array(k);
  for (let j = 0; j < k; j++) negative[j] = bits.read(1);
  out.fill(0);
  const indices = new Uint32Array(k);
  const maxQuotient = Math.floor(d / 2 ** b);
  let prev = -1;
  for (let j = 0; j < k; j++) {
    const i = prev + 1 + bits.rice(b, maxQuotient);
    if (i >= d) throw new CodecError('MALFORMED', `index ${i} out of range ${d}`);
    out[i] = negative[j] === 1 ? -scale : scale;
    indices[j] = i;
    prev = i;
  }
  bits.finish();
  return indices;
}
