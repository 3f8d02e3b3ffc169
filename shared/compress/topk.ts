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
 *
 * @example
 * const c = createTopK({ ratio: 0.01 });
 * const approx = c.decode(c.encode(g), g.length); // 1% of g nonzero
 */
import { BitReader, BitWriter, riceBits } from './bits.ts';
import {
  ByteWriter,
  HEADER_BYTES,
  bitsOf,
  float32View,
  readHeader,
  uint16View,
  writeHeader,
} from './bytes.ts';
import { checkHalfShift, expandHalves, halfShiftFor, halvesOf } from './half.ts';
import { selectTopK, sparseCount } from './select.ts';
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

/** Rice parameter with the fewest bits for these gaps, searched near log2(mean gap). */
export function chooseRiceParameter(gaps: Uint32Array, d: number): number {
  const k = gaps.length;
  if (k === 0) return 0;
  const guess = Math.max(0, Math.min(31, Math.round(Math.log2(Math.max(1, (d - k) / k)))));
  let best = guess;
  let bestBits = riceBits(gaps, guess);
  for (let b = Math.max(0, guess - 3); b <= Math.min(31, guess + 2); b++) {
    const bits = riceBits(gaps, b);
    if (bits < bestBits) {
      best = b;
      bestBits = bits;
    }
  }
  return best;
}

export function createTopK(init: TopKInit): Compressor {
  const { ratio } = init;
  const mode = init.values === 'f32' ? MODE_F32 : init.values === 'sign' ? MODE_SIGN : MODE_F16;
  return {
    spec: `topk:${ratio}${mode === MODE_F32 ? ':f32' : mode === MODE_SIGN ? ':sign' : ''}`,
    unbiased: false,
    encode(x: Float32Array): Uint8Array {
      const d = x.length;
      const { indices, maxAbsBits } = selectTopK(x, sparseCount(ratio, d));
      const k = indices.length;
      const gaps = new Uint32Array(k);
      let prev = -1;
      for (let j = 0; j < k; j++) {
        const i = indices[j]!;
        gaps[j] = i - prev - 1;
        prev = i;
      }
      const b = chooseRiceParameter(gaps, d);
      if (mode === MODE_SIGN) return encodeSigns(x, indices, gaps, b);
      const indexBytes = Math.ceil(riceBits(gaps, b) / 8);
      const valueBytes = mode === MODE_F16 ? 2 + 2 * k : 4 * k;
      const w = new ByteWriter(HEADER_BYTES + 6 + valueBytes + indexBytes);
      writeHeader(w, CodecId.topk, d);
      w.u8(mode);
      w.u32(k);
      w.u8(b);
      const u = bitsOf(x);
      if (mode === MODE_F16) {
        const shift = halfShiftFor(maxAbsBits);
        w.i16(shift);
        w.array(halvesOf(u, shift, indices));
      } else {
        const values = new Float32Array(k);
        for (let j = 0; j < k; j++) values[j] = x[indices[j]!]!;
        w.array(values);
      }
      const bits = new BitWriter(w.bytes, w.pos);
      for (let j = 0; j < k; j++) bits.rice(gaps[j]!, b);
      bits.flush();
      w.pos = bits.pos;
      return w.finish();
    },
    decode(payload: Uint8Array, expectedLength?: number): Float32Array {
      const { length: d, reader } = readHeader(payload, CodecId.topk, expectedLength);
      const valueMode = reader.u8();
      const k = reader.u32();
      const b = reader.u8();
      if (valueMode !== MODE_F16 && valueMode !== MODE_F32 && valueMode !== MODE_SIGN) {
        throw new CodecError('MALFORMED', `unknown value mode ${valueMode}`);
      }
      if (k > d || (k === 0 && d > 0)) throw new CodecError('MALFORMED', `k = ${k} for d = ${d}`);
      if (b > 31) throw new CodecError('MALFORMED', `Rice parameter ${b}`);
      if (valueMode === MODE_SIGN) return decodeSigns(payload, reader.f32(), reader.pos, d, k, b);
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

      const out = new Float32Array(d);
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
      return out;
    },
  };
}

/** Body of topk:R:sign after the mode, k and b: the scale, then signs and gaps as bits. */
function encodeSigns(x: Float32Array, indices: Uint32Array, gaps: Uint32Array, b: number): Uint8Array {
  const d = x.length;
  const k = indices.length;
  let sum = 0;
  for (let j = 0; j < k; j++) sum += Math.abs(x[indices[j]!]!);
  const scale = k === 0 ? 0 : Math.fround(sum / k);
  const w = new ByteWriter(HEADER_BYTES + 10 + Math.ceil((k + riceBits(gaps, b)) / 8));
  writeHeader(w, CodecId.topk, d);
  w.u8(MODE_SIGN);
  w.u32(k);
  w.u8(b);
  w.f32(scale);
  const bits = new BitWriter(w.bytes, w.pos);
  for (let j = 0; j < k; j++) bits.write(x[indices[j]!]! < 0 ? 1 : 0, 1);
  for (let j = 0; j < k; j++) bits.rice(gaps[j]!, b);
  bits.flush();
  w.pos = bits.pos;
  return w.finish();
}

function decodeSigns(
  payload: Uint8Array,
  scale: number,
  pos: number,
  d: number,
  k: number,
  b: number,
): Float32Array {
  if (!(scale >= 0) || !Number.isFinite(scale)) throw new CodecError('MALFORMED', `sign scale ${scale}`);
  const bits = new BitReader(payload, pos, payload.length);
  const negative = new Uint8Array(k);
  for (let j = 0; j < k; j++) negative[j] = bits.read(1);
  const out = new Float32Array(d);
  const maxQuotient = Math.floor(d / 2 ** b);
  let prev = -1;
  for (let j = 0; j < k; j++) {
    const i = prev + 1 + bits.rice(b, maxQuotient);
    if (i >= d) throw new CodecError('MALFORMED', `index ${i} out of range ${d}`);
    out[i] = negative[j] === 1 ? -scale : scale;
    prev = i;
  }
  bits.finish();
  return out;
}
