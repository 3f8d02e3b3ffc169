/**
 * How a LIEC worker's own model x_i moves next to x_common (common-model.ts), in its two
 * storages:
 *
 * - float32 (exact): stepOwn takes x_i's step, c + a r through its own optimizer, after
 *   x_common took c alone (a simulator's group, whose x_common takes c once for all), with
 *   exactly the arithmetic of Optimizer.step and of optimizer.ts's stepLiecPair (a real peer's
 *   two steps in one pass, common-model.ts's broadcastWithOwn), and measures
 *   ||x_i - x_common||^2 on the way.
 * - float16 (OwnOffset): x_i kept as its offset o = x_i - x_common. Both models take the same
 *   c through the same optimizer (lr, momentum beta, weight decay wd), x_i with its residual
 *   added, so their difference moves by the residual alone, whatever c is:
 *     u <- beta u + a r + wd o,   o <- o - lr u        (u: the momentum buffers' difference)
 *   A worker can then apply its residual as it cuts it (prepareUpload) instead of keeping it
 *   until the broadcast, and needs no residual vector. Exact arithmetic would give the same
 *   model; float16 rounds o and u at every write, and x_i = x_common + o is rounded once more.
 *
 * @example
 * const distance = stepOwn(own, common.model, c, residual); // after common.broadcast(...)
 */
import type { OptimizerOptions, Stepped } from './optimizer.ts';
import { createStateVector, type StateVector } from './state-vector.ts';

/**
 * own.step(c + r) (c + r rounded to float32, as an array holding it would be), then
 * ||own - common||^2 with `common` already stepped. `residual` null: zeros.
 */
export function stepOwn(
  own: Stepped,
  common: Float32Array,
  broadcast: Float32Array,
  residual: Float32Array | null,
): number {
  const x = own.model;
  if (common.length !== x.length || broadcast.length !== x.length || (residual ?? x).length !== x.length)
    throw new RangeError(`stepOwn: lengths ${x.length}, ${common.length}, ${broadcast.length}`);
  const r = residual ?? new Float32Array(x.length);
  const v = own.optimizer.velocity;
  const { learningRate: lr, momentum: beta, weightDecay: wd } = own.optimizer;
  let distance = 0;
  // Two loops, so that neither tests for momentum per value.
  if (v !== null) {
    for (let i = 0; i < x.length; i++) {
      const xi = x[i] as number;
      const m = beta * (v[i] as number) + Math.fround((broadcast[i] as number) + (r[i] as number)) + wd * xi;
      v[i] = m;
      const next = Math.fround(xi - lr * m);
      x[i] = next;
      const d = next - (common[i] as number);
      distance += d * d;
    }
    return distance;
  }
  for (let i = 0; i < x.length; i++) {
    const xi = x[i] as number;
    const next = Math.fround(xi - lr * (Math.fround((broadcast[i] as number) + (r[i] as number)) + wd * xi));
    x[i] = next;
    const d = next - (common[i] as number);
    distance += d * d;
  }
  return distance;
}

/** x_i as its float16 offset from x_common, and the momentum buffers' difference. */
export class OwnOffset {
  private readonly offset: StateVector;
  private readonly velocity: StateVector | null;
  private readonly options: Required<OptimizerOptions>;

  /** `scratch(0)`, `scratch(1)`: two distinct length-d work vectors it may overwrite. */
  constructor(length: number, options: Required<OptimizerOptions>, scratch: (slot: 0 | 1) => Float32Array) {
    this.options = options;
    this.offset = createStateVector('f16', length, () => scratch(0));
    this.velocity = options.momentum > 0 ? createStateVector('f16', length, () => scratch(1)) : null;
  }

  /** x_i is x_common (and so is its momentum): nothing stored. */
  get isZero(): boolean {
    return this.offset.bytes === 0 && (this.velocity?.bytes ?? 0) === 0;
  }

  get bytes(): number {
    return this.offset.bytes + (this.velocity?.bytes ?? 0);
  }

  /** The offset's values (in the scratch: valid until the next call). */
  view(): Float32Array {
    return this.offset.view();
  }

  /** Stores the offset; all zeros frees it (the momentum difference stays). */
  commit(values: Float32Array): void {
    for (let i = 0; i < values.length; i++) {
      if (values[i] !== 0) {
        this.offset.commit(values);
        return;
      }
    }
    this.offset.clear();
  }

  /** ||o||^2. */
  normSq(): number {
    if (this.offset.bytes === 0) return 0;
    const o = this.offset.view();
    let sum = 0;
    for (let i = 0; i < o.length; i++) sum += (o[i] as number) ** 2;
    return sum;
  }

  /**
   * x_i's own part of a round: the applied residual a r (null: none, a worker that sat the
   * round out), through the momentum and decay. Returns ||o||^2 after.
   */
  applyResidual(residual: Float32Array | null): number {
    const { learningRate: lr, momentum: beta, weightDecay: wd } = this.options;
    if (residual === null && (this.isZero || (beta === 0 && wd === 0))) return this.normSq();
    const o = this.offset.view();
    let distance = 0;
    if (this.velocity === null) {
      for (let i = 0; i < o.length; i++) {
        const oi = o[i] as number;
        const next = Math.fround(oi - lr * ((residual === null ? 0 : (residual[i] as number)) + wd * oi));
        o[i] = next;
        distance += next * next;
      }
    } else {
      const u = this.velocity.view();
      for (let i = 0; i < o.length; i++) {
        const oi = o[i] as number;
        const m = beta * (u[i] as number) + (residual === null ? 0 : (residual[i] as number)) + wd * oi;
        u[i] = m;
        const next = Math.fround(oi - lr * m);
        o[i] = next;
        distance += next * next;
      }
      this.velocity.commit(u);
    }
    this.commit(o);
    return distance;
  }

  /** x_i = x_common + o, written into `out`. */
  modelInto(common: Float32Array, out: Float32Array): Float32Array {
    const o = this.offset.view();
    for (let i = 0; i < o.length; i++) out[i] = (common[i] as number) + (o[i] as number);
    return out;
  }

  /** Drops the offset (x_i = x_common); the momentum difference stays. */
  clearOffset(): void {
    this.offset.clear();
  }
}
