/**
 * q8 and q8:B: deterministic 8-bit blockwise quantization for compact model syncs. Each
 * block of B values (default 256) keeps its min m and step s = (max - min) / 255 as f32;
 * a value becomes round((x - m) / s) in 0..255 and decodes to m + q s, so
 * |decoded - x| <= s / 2 (plus float32 rounding of the result).
 * Body: u32 B, ceil(d / B) f32 mins, ceil(d / B) f32 steps, d u8 codes.
 * Bytes: 9 + 8 ceil(d / B) + d.
 *
 * @example
 * const c = createQ8();                       // B = 256
 * c.decode(c.encode(delta), delta.length);    // each value within half a step
 */
import { ByteWriter, HEADER_BYTES, decodeFresh, float32View, readHeader, writeHeader } from './bytes.ts';
import { FLOAT32_MAX, checkScale, clampFloat32, throwNonFinite } from './finite.ts';
import { CodecError, CodecId, type Compressor } from './types.ts';

export interface Q8Init {
  /** Values per block (each block costs 8 bytes of min and step). @default 256 */
  blockSize?: number;
}

export const DEFAULT_Q8_BLOCK = 256;

export function createQ8(init: Q8Init = {}): Compressor {
  const blockSize = init.blockSize ?? DEFAULT_Q8_BLOCK;
  const decodeInto = (payload: Uint8Array, out: Float32Array): Float32Array => {
    const { length: d, reader } = readHeader(payload, CodecId.q8, out.length);
    const block = reader.u32();
    if (block === 0) throw new CodecError('MALFORMED', 'block size 0');
    const blocks = Math.ceil(d / block);
    reader.expectRemaining(8 * blocks + d);
    const mins = float32View(reader.take(4 * blocks));
    const steps = float32View(reader.take(4 * blocks));
    const codes = reader.take(d);
    for (let b = 0; b < blocks; b++) {
      const min = mins[b]!;
      if (!Number.isFinite(min)) throw new CodecError('MALFORMED', `min of block ${b} is ${min}`);
      const step = checkScale(steps[b]!, `step of block ${b}`);
      const end = Math.min(d, (b + 1) * block);
      if (Math.abs(min) + 255 * step < FLOAT32_MAX) {
        for (let i = b * block; i < end; i++) out[i] = min + codes[i]! * step;
      } else {
        for (let i = b * block; i < end; i++) out[i] = clampFloat32(min + codes[i]! * step);
      }
    }
    return out;
  };
  return {
    spec: blockSize === DEFAULT_Q8_BLOCK ? 'q8' : `q8:${blockSize}`,
    unbiased: false,
    encode(x: Float32Array): Uint8Array {
      const d = x.length;
      const blocks = Math.ceil(d / blockSize);
      const mins = new Float32Array(blocks);
      const steps = new Float32Array(blocks);
      const codes = new Uint8Array(d);
      for (let b = 0; b < blocks; b++) {
        const start = b * blockSize;
        const end = Math.min(d, start + blockSize);
        let min = Infinity;
        let max = -Infinity;
        let sum = 0;
        for (let i = start; i < end; i++) {
          const v = x[i]!;
          sum += v;
          if (v < min) min = v;
          if (v > max) max = v;
        }
        // A sum of finite float32 values cannot overflow a double: NaN/Inf show here.
        if (!Number.isFinite(sum)) throwNonFinite(x);
        mins[b] = min;
        steps[b] = (max - min) / 255;
        const step = steps[b]!; // the rounded float32 step, as the decoder will see it
        const inverse = step > 0 ? 1 / step : 0;
        for (let i = start; i < end; i++) {
          const q = ((x[i]! - min) * inverse + 0.5) | 0; // round half up; the operand is >= 0
          codes[i] = q > 255 ? 255 : q;
        }
      }
      const w = new ByteWriter(HEADER_BYTES + 4 + 8 * blocks + d);
      writeHeader(w, CodecId.q8, d);
      w.u32(blockSize);
      w.array(mins);
      w.array(steps);
      w.array(codes);
      return w.finish();
    },
    decode: (payload, expectedLength) => decodeFresh(payload, CodecId.q8, expectedLength, decodeInto),
    decodeInto,
  };
}
