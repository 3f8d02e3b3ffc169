/**
 * Test vectors and small numeric helpers for the codec tests.
 *
 * @example
 * const x = gaussian(1000, 7); // seeded N(0, 1) float32 vector
 */
import { createRng } from '../../shared/random.ts';
import { CodecError, type CodecErrorCode } from '../../shared/compress/index.ts';

/** Every codec with representative parameters. */
export const ALL_SPECS = [
  'identity',
  'fp16',
  'topk:0.01',
  'topk:0.1:f32',
  'topk:0.01:sign',
  'randk:0.05',
  'sign',
  'sign:256',
  'sign:100',
  'qsgd:4',
  'qsgd:255',
  'q8',
  'q8:64',
  'q4',
  'q4:100',
];

export function gaussian(d: number, seed: number, scale = 1): Float32Array {
  const rng = createRng(seed);
  const x = new Float32Array(d);
  for (let i = 0; i < d; i++) x[i] = rng.normal() * scale;
  return x;
}

/** Heavy-tailed (Cauchy-like) values: a few huge entries among small ones. */
export function heavyTailed(d: number, seed: number): Float32Array {
  const rng = createRng(seed);
  const x = new Float32Array(d);
  for (let i = 0; i < d; i++) x[i] = rng.normal() / Math.max(1e-3, Math.abs(rng.normal()));
  return x;
}

export function squaredNorm(x: Float32Array): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return s;
}

export function squaredDistance(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s;
}

/** Asserts fn throws a CodecError with this code (and returns it). */
export function expectCode(fn: () => unknown, code: CodecErrorCode): CodecError {
  try {
    fn();
  } catch (e) {
    if (e instanceof CodecError && e.code === code) return e;
    throw new Error(`expected CodecError ${code}, got ${e instanceof CodecError ? e.code : String(e)}`);
  }
  throw new Error(`expected CodecError ${code}, nothing thrown`);
}
