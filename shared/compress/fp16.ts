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
  FLOAT32_MAX,
  HEADER_BYTES,
  bitsOf,
  readHeader,
  throwNonFinite,
  uint16View,
  writeHeader,
} from './bytes.ts';
import {
  HALF_MAX_WRITTEN,
  HALF_SHIFT_MAX,
  HALF_SHIFT_MIN,
  halfShiftFor,
  halfTable,
  halvesOf,
} from './half.ts';
import { CodecError, CodecId, type Compressor } from './types.ts';

/** Reads and range-checks the i16 shift written by encodeHalves. */
export function checkHalfShift(shift: number): number {
  if (shift < HALF_SHIFT_MIN || shift > HALF_SHIFT_MAX) {
    throw new CodecError('MALFORMED', `fp16 scale exponent ${shift} out of range`);
  }
  return shift;
}

/**
 * Converts halves to floats times 2^shift into out[at[j]] (or out[j] without `at`).
 * Throws MALFORMED for halves the encoder cannot produce (|h| > 2^15, Inf, NaN).
 */
export function expandHalves(halves: Uint16Array, shift: number, out: Float32Array, at?: Uint32Array): void {
  const table = halfTable();
  const scale = 2 ** shift;
  let maxMagnitude = 0;
  if (at === undefined) {
    for (let j = 0; j < halves.length; j++) {
      const h = halves[j]!;
      if ((h & 0x7fff) > maxMagnitude) maxMagnitude = h & 0x7fff;
      out[j] = table[h]! * scale;
    }
  } else {
    for (let j = 0; j < halves.length; j++) {
      const h = halves[j]!;
      if ((h & 0x7fff) > maxMagnitude) maxMagnitude = h & 0x7fff;
      out[at[j]!] = table[h]! * scale;
    }
  }
  if (maxMagnitude > HALF_MAX_WRITTEN)
    throw new CodecError('MALFORMED', 'fp16 value beyond the scaled range');
  // Only the largest shift can round up past float32's range (2^15 * 2^113 = 2^128).
  if (shift === HALF_SHIFT_MAX && scale * 2 ** 15 > FLOAT32_MAX) {
    for (let j = 0; j < halves.length; j++) {
      const i = at === undefined ? j : at[j]!;
      const v = out[i]!;
      if (v === Infinity) out[i] = FLOAT32_MAX;
      else if (v === -Infinity) out[i] = -FLOAT32_MAX;
    }
  }
}

export function createFp16(): Compressor {
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
    decode(payload: Uint8Array, expectedLength?: number): Float32Array {
      const { length, reader } = readHeader(payload, CodecId.fp16, expectedLength);
      const shift = checkHalfShift(reader.i16());
      reader.expectRemaining(2 * length);
      const out = new Float32Array(length);
      expandHalves(uint16View(reader.take(2 * length)), shift, out);
      return out;
    },
  };
}
