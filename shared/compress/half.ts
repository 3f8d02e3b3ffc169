/**
 * IEEE 754 half precision (fp16) with a per-payload power-of-two scale. Values are stored
 * as half(x * 2^-shift); the shift puts the largest |x| in [2^14, 2^15), so nothing can
 * overflow to Inf, dividing by the scale is exact, and the only error is one
 * round-to-nearest-even fp16 rounding: relative 2^-11 for |x| >= max|x| * 2^-28 (the
 * fp16 normal range), absolute 2^-25 * 2^shift below. Conversion works on the float32
 * bits in integers, so it is exact (no double rounding) and fast.
 *
 * @example
 * const shift = halfShiftFor(maxAbsBits);        // from max |x| as float32 bits
 * const h = f32BitsToHalf(bits, shift);          // uint16
 * halfTable()[h]! * 2 ** shift;                  // back to (almost) x
 */
import { FLOAT32_MAX } from './finite.ts';
import { CodecError } from './types.ts';

/** fp16 bits of the largest magnitude the encoders ever write (2^15). */
export const HALF_MAX_WRITTEN = 0x7800;
/** Range of shifts encoders produce: float32 magnitudes span 2^-149 .. 2^128. */
export const HALF_SHIFT_MIN = -163;
export const HALF_SHIFT_MAX = 113;

/**
 * The shift for a vector whose largest |x| has float32 bits `maxAbsBits` (sign cleared).
 * An all-zero vector gets 0.
 */
export function halfShiftFor(maxAbsBits: number): number {
  if (maxAbsBits === 0) return 0;
  const exp32 = maxAbsBits >>> 23;
  // floor(log2 max): from the exponent field, or from the leading bit of a subnormal.
  const log2 = exp32 === 0 ? 31 - Math.clz32(maxAbsBits) - 149 : exp32 - 127;
  return log2 - 14;
}

/**
 * Half bits of (float32 with bits `bits`) * 2^-shift, rounded to nearest even. Infinite
 * or NaN inputs are the caller's to reject; finite ones past the fp16 range give Inf.
 */
export function f32BitsToHalf(bits: number, shift: number): number {
  const sign = (bits >>> 16) & 0x8000;
  const exp32 = (bits >>> 23) & 0xff;
  let m = bits & 0x7fffff;
  let e: number;
  if (exp32 === 0) {
    if (m === 0) return sign;
    const lz = Math.clz32(m) - 8; // normalize the subnormal so bit 23 leads
    m <<= lz;
    e = -126 - lz;
  } else {
    m |= 0x800000;
    e = exp32 - 127;
  }
  // value = m * 2^(e - 23) with m in [2^23, 2^24)
  e -= shift;
  if (e > 15) return sign | 0x7c00;
  if (e >= -14) {
    let h = ((e + 15) << 10) | ((m >>> 13) & 0x3ff);
    const rest = m & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (h & 1) === 1)) h++; // a carry may reach Inf: correct
    return sign | h;
  }
  // fp16 subnormal: value / 2^-24 = m * 2^(e + 1)
  const s = -e - 1;
  if (s > 24) return sign;
  let h = m >>> s;
  const rest = m & ((1 << s) - 1);
  const half = 1 << (s - 1);
  if (rest > half || (rest === half && (h & 1) === 1)) h++;
  return sign | h;
}

/**
 * Halves of x * 2^-shift for the float32 bits u (at the positions `at`, or all of them),
 * as f32BitsToHalf would give, with an inline fast path for normal-to-normal values.
 */
export function halvesOf(u: Uint32Array, shift: number, at?: Uint32Array): Uint16Array {
  const out = new Uint16Array(at === undefined ? u.length : at.length);
  halvesInto(u, shift, out, at);
  return out;
}

/** halvesOf into out (length: at.length, or u.length). */
export function halvesInto(u: Uint32Array, shift: number, out: Uint16Array, at?: Uint32Array): void {
  const n = at === undefined ? u.length : at.length;
  // float32 magnitudes (bits) whose half is normal, and the exponent rebias between them
  const lowest = Math.max(0x800000, (113 + shift) * 0x800000);
  const beyond = (143 + shift) * 0x800000;
  const rebias = (112 + shift) * 0x800000;
  for (let j = 0; j < n; j++) {
    const bits = at === undefined ? u[j]! : u[at[j]!]!;
    const a = bits & 0x7fffffff;
    if (a >= lowest && a < beyond) {
      // Round to nearest even: add 0xfff plus the lowest kept bit, then truncate.
      out[j] = ((a - rebias + 0xfff + ((a >>> 13) & 1)) >>> 13) | ((bits >>> 16) & 0x8000);
    } else {
      out[j] = f32BitsToHalf(bits, shift);
    }
  }
}

/** Range-checks a decoded shift: MALFORMED outside what encoders write. */
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

/** Exact value of fp16 bits h. */
export function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * 2 ** -24;
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1024 + m) * 2 ** (e - 25);
}

let table: Float32Array | undefined;

/** All 65536 fp16 values as float32 (exact), built on first use; 256 KiB. */
export function halfTable(): Float32Array {
  if (table === undefined) {
    table = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) table[h] = halfToNumber(h);
  }
  return table;
}
