/**
 * q4 and q4:B: deterministic 4-bit blockwise quantization, half the bytes of q8, for model
 * syncs whose quantization error stays with the sender (LIEC keeps it as residual), so a
 * coarse code loses nothing, it only leaves a little drift for the next sync. Each block of
 * B values (default 256) keeps its min m and step s = (max - min) / 15 as f32; a value
 * becomes round((x - m) / s) in 0..15, two codes a byte (low nibble first).
 * Body: u32 B, ceil(d / B) f32 mins, ceil(d / B) f32 steps, ceil(d / 2) code bytes.
 * Bytes: 9 + 8 ceil(d / B) + ceil(d / 2).
 *
 * @example
 * const c = createQ4();
 * c.decode(c.encode(delta), delta.length); // each value within half a step
 */
import { ByteWriter, HEADER_BYTES, decodeFresh, float32View, readHeader, writeHeader } from './bytes.ts';
import { FLOAT32_MAX, checkScale, clampFloat32, throwNonFinite } from './finite.ts';
import { CodecError, CodecId, type Compressor } from './types.ts';

export interface Q4Init {
  /** Values per block (each block costs 8 bytes of min and step). @default 256 */
  blockSize?: number;
}

export const DEFAULT_Q4_BLOCK = 256;
const LEVELS = 15;

export function createQ4(init: Q4Init = {}): Compressor {
  const blockSize = init.blockSize ?? DEFAULT_Q4_BLOCK;
  const decodeInto = (payload: Uint8Array, out: Float32Array): Float32Array => {
    const { length: d, reader } = readHeader(payload, CodecId.q4, out.length);
    const block = reader.u32();
    if (block === 0) throw new CodecError('MALFORMED', 'block size 0');
    const blocks = Math.ceil(d / block);
    const codeBytes = Math.ceil(d / 2);
    reader.expectRemaining(8 * blocks + codeBytes);
    const mins = float32View(reader.take(4 * blocks));
    const steps = float32View(reader.take(4 * blocks));
    const codes = reader.take(codeBytes);
    if (d % 2 === 1 && codes[codeBytes - 1]! >> 4 !== 0)
      throw new CodecError('MALFORMED', 'non-zero padding nibble');
    for (let b = 0; b < blocks; b++) {
      const min = mins[b]!;
      if (!Number.isFinite(min)) throw new CodecError('MALFORMED', `min of block ${b} is ${min}`);
      const step = checkScale(steps[b]!, `step of block ${b}`);
      const end = Math.min(d, (b + 1) * block);
      const safe = Math.abs(min) + LEVELS * step < FLOAT32_MAX;
      for (let i = b * block; i < end; i++) {
        const q = (i & 1) === 0 ? codes[i >> 1]! & 15 : codes[i >> 1]! >> 4;
        const value = min + q * step;
        out[i] = safe ? value : clampFloat32(value);
      }
    }
    return out;
  };
  return {
    spec: blockSize === DEFAULT_Q4_BLOCK ? 'q4' : `q4:${blockSize}`,
    unbiased: false,
    encode(x: Float32Array): Uint8Array {
      const d = x.length;
      const blocks = Math.ceil(d / blockSize);
      const mins = new Float32Array(blocks);
      const steps = new Float32Array(blocks);
      const codes = new Uint8Array(Math.ceil(d / 2));
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
        if (!Number.isFinite(sum)) throwNonFinite(x);
        mins[b] = min;
        steps[b] = (max - min) / LEVELS;
        const step = steps[b]!; // the float32 step the decoder will see
        const inverse = step > 0 ? 1 / step : 0;
        for (let i = start; i < end; i++) {
          let q = ((x[i]! - min) * inverse + 0.5) | 0;
          if (q > LEVELS) q = LEVELS;
          const at = i >> 1;
          codes[at] = codes[at]! | ((i & 1) === 0 ? q : q << 4);
        }
      }
      const w = new ByteWriter(HEADER_BYTES + 4 + 8 * blocks + codes.length);
      writeHeader(w, CodecId.q4, d);
      w.u32(blockSize);
      w.array(mins);
      w.array(steps);
      w.array(codes);
      return w.finish();
    },
    decode: (payload, expectedLength) => decodeFresh(payload, CodecId.q4, expectedLength, decodeInto),
    decodeInto,
  };
}
