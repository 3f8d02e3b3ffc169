/**
 * Finiteness at both ends of a codec: encoders reject NaN/Inf input (NON_FINITE_INPUT),
 * decoders reject non-finite or negative scales (MALFORMED) and clamp what they output
 * into the float32 range, so a decoded vector is always finite.
 *
 * @example
 * assertFinite(x);                  // throws CodecError('NON_FINITE_INPUT') on NaN/Inf
 * out[i] = clampFloat32(v * gain);  // never Inf
 */
import { bitsOf } from './bytes.ts';
import { CodecError } from './types.ts';

/** Largest finite float32; decoders clamp to it so their output is always finite. */
export const FLOAT32_MAX = 3.4028234663852886e38;

/** Throws NON_FINITE_INPUT naming the first NaN/Inf; call once a fused check has failed. */
export function throwNonFinite(x: Float32Array): never {
  for (let i = 0; i < x.length; i++) {
    const v = x[i] ?? 0;
    if (!Number.isFinite(v)) throw new CodecError('NON_FINITE_INPUT', `x[${i}] is ${v}`);
  }
  throw new Error('throwNonFinite called on a finite vector');
}

/** Throws NON_FINITE_INPUT if x holds a NaN or an infinity. */
export function assertFinite(x: Float32Array): void {
  if (nonFiniteFlags(x) < 0) throwNonFinite(x);
}

/**
 * Negative if x holds a NaN or an infinity. The exponent field is all ones only for NaN/Inf;
 * adding one more exponent step then carries into bit 31. Integer ops only, no dependency
 * through a float add. The loop is a function of its own (see shared/algorithm/vector.ts).
 */
export function nonFiniteFlags(x: Float32Array): number {
  const u = bitsOf(x);
  let flags = 0;
  for (let i = 0; i < u.length; i++) flags |= (u[i]! & 0x7f800000) + 0x800000;
  return flags;
}

/** Clamps a decoded value into the float32 range, so decoders never output Inf. */
export function clampFloat32(v: number): number {
  return v > FLOAT32_MAX ? FLOAT32_MAX : v < -FLOAT32_MAX ? -FLOAT32_MAX : v;
}

/** Throws MALFORMED unless v is a finite number >= 0 (decoded scales and norms). */
export function checkScale(v: number, what: string): number {
  if (!(v >= 0 && v <= Number.MAX_VALUE)) throw new CodecError('MALFORMED', `${what} is ${v}`);
  return v;
}
