/**
 * A worker's persistent per-coordinate state (error-feedback memory d_i, LIEC's x_i - x_common)
 * in float32 or float16. The simulator holds one per virtual worker, so at 1,000 workers of a
 * 1M-parameter model each byte per value is a GiB: 'f16' halves it, at a relative rounding error
 * of at most 2^-11 per write (round to nearest even, with a power-of-two scale fitted to each
 * written vector, as shared/compress/half.ts does for fp16 payloads: the largest |value| lands
 * in [2^14, 2^15), so nothing overflows and values down to 2^-28 of it stay normal halves).
 *
 * A state vector is read and written whole: view() gives its values as a Float32Array (f32: the
 * vector itself, changed in place; f16: expanded into a scratch array that the caller lends),
 * commit(values) stores them back (f32: a no-op when `values` is the vector itself). An f16
 * vector that was never written holds no array at all (zeros), so state nobody needs costs
 * nothing.
 *
 * @example
 * const d = createStateVector('f16', length, () => scratch);
 * const values = d.view();      // zeros until the first commit
 * values[0] = 0.5;
 * d.commit(values);             // rounded to float16
 */
import { halfShiftFor, halfTable, halvesInto } from '../compress/half.ts';

/** How a worker stores its persistent vectors: exact float32, or float16 (half the memory). */
export type StatePrecision = 'f32' | 'f16';

export const STATE_PRECISIONS: readonly StatePrecision[] = ['f32', 'f16'];

export interface StateVector {
  readonly length: number;
  /** The values: f32 the live vector, f16 a copy in the lent scratch (valid until its next use). */
  view(): Float32Array;
  /** Stores `values` (length values). f16: rounded, and the scratch may be reused after. */
  commit(values: Float32Array): void;
  /** All zeros (f16: frees its array). */
  clear(): void;
  /** Bytes it holds now. */
  readonly bytes: number;
}

export function createStateVector(
  precision: StatePrecision,
  length: number,
  scratch: () => Float32Array,
): StateVector {
  switch (precision) {
    case 'f32':
      return new Float32State(length);
    case 'f16':
      return new HalfState(length, scratch);
    default: {
      const unreachable: never = precision;
      throw new RangeError(`unknown state precision ${String(unreachable)}`);
    }
  }
}

class Float32State implements StateVector {
  private values: Float32Array;

  constructor(readonly length: number) {
    this.values = new Float32Array(length);
  }

  get bytes(): number {
    return this.values.byteLength;
  }

  view(): Float32Array {
    return this.values;
  }

  commit(values: Float32Array): void {
    if (values !== this.values) this.values.set(values);
  }

  clear(): void {
    this.values.fill(0);
  }
}

class HalfState implements StateVector {
  /** null: all zeros. */
  private halves: Uint16Array | null = null;
  /** The values are halves[i] * 2^shift. */
  private shift = 0;

  constructor(
    readonly length: number,
    private readonly scratch: () => Float32Array,
  ) {}

  get bytes(): number {
    return this.halves?.byteLength ?? 0;
  }

  view(): Float32Array {
    const out = this.scratch().subarray(0, this.length);
    expandInto(this.halves, this.shift, out);
    return out;
  }

  commit(values: Float32Array): void {
    if (values.length !== this.length)
      throw new RangeError(`state vector of ${this.length} values given ${values.length}`);
    this.halves ??= new Uint16Array(this.length);
    this.shift = roundToHalves(values, this.halves);
  }

  clear(): void {
    this.halves = null;
    this.shift = 0;
  }
}

/**
 * Writes values as halves with the shift that puts the largest |value| in [2^14, 2^15);
 * returns the shift. Values must be finite (a non-finite one would be stored as Inf).
 */
export function roundToHalves(values: Float32Array, out: Uint16Array): number {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  let maxAbs = 0;
  for (let i = 0; i < bits.length; i++) {
    const a = (bits[i] as number) & 0x7fffffff;
    if (a > maxAbs) maxAbs = a;
  }
  const shift = halfShiftFor(maxAbs);
  halvesInto(bits, shift, out);
  return shift;
}

/** out[i] = halves[i] * 2^shift (zeros for null). */
export function expandInto(halves: Uint16Array | null, shift: number, out: Float32Array): void {
  if (halves === null) {
    out.fill(0);
    return;
  }
  const table = halfTable();
  const scale = 2 ** shift;
  for (let i = 0; i < out.length; i++) out[i] = (table[halves[i] as number] as number) * scale;
}
