/**
 * fp16: IEEE half precision with a per-payload power-of-two scale (see half.ts), so
 * magnitudes beyond the fp16 range (65504) never become Inf and tiny ones keep their
 * relative precision. Body: i16 shift, then d x u16 halves of x * 2^-shift.
 * Bytes: 7 + 2d. Error: |decoded - x| <= 2^-11 |x| for |x| >= max|x| * 2^-28, and
 * <= max|x| * 2^-39 below that.
 *
 * @example
 * const c = createFp16();
 * c.decode(c.encode(Float32Array.of(1e6, 1e-3)), 2); // ~[1e6, 1e-3]
 */
import {
  ByteWriter,
  HEADER_BYTES,
  bitsOf,
  decodeFresh,
  readHeader,
  uint16View,
  writeHeader,
} from './bytes.ts';
import { throwNonFinite } from './finite.ts';
import { checkHalfShift, expandHalves, halfShiftFor, halvesOf } from './half.ts';
import { CodecId, type Compressor } from './types.ts';

export function createFp16(): Compressor {
  const decodeInto = (payload: Uint8Array, out: Float32Array): Float32Array => {
    const { length, reader } = readHeader(payload, CodecId.fp16, out.length);
    const shift = checkHalfShift(reader.i16());
    reader.expectRemaining(2 * length);
    expandHalves(uint16View(reader.take(2 * length)), shift, out);
    return out;
  };
  return {
    spec: 'fp16',
    unbiased: false,
    encode(x: Float32Array): Uint8Array {
      const d = x.length;
      const u = bitsOf(x);
      let maxAbsBits = 0;
      for (let i = 0; i < d; i++) {
        const a = u[i]! & 0x7fffffff;
        if (a > maxAbsBits) maxAbsBits = a;
      }
      if (maxAbsBits >= 0x7f800000) throwNonFinite(x);
      const shift = halfShiftFor(maxAbsBits);
      const halves = halvesOf(u, shift);
      const w = new ByteWriter(HEADER_BYTES + 2 + 2 * d);
      writeHeader(w, CodecId.fp16, d);
      w.i16(shift);
      w.array(halves);
      return w.finish();
    },
    decode: (payload, expectedLength) => decodeFresh(payload, CodecId.fp16, expectedLength, decodeInto),
    decodeInto,
  };
}
