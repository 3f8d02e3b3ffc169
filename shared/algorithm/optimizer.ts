/**
 * The local optimizer every peer applies to its model: SGD with optional heavy-ball
 * momentum and L2 weight decay. The algorithms decide WHAT direction goes in (c, c + r_i,
 * ...); this module decides how a direction moves the weights.
 *
 * @example
 * const opt = createOptimizer({ learningRate: 0.1, momentum: 0.9 }, d);
 * opt.step(model, direction); // model -= lr * (momentum-filtered direction + wd * model)
 */
import { assertSameLength } from './vector.ts';

export interface OptimizerOptions {
  /** Step size eta. */
  learningRate: number;
  /** Heavy-ball momentum beta in [0, 1). @default 0 */
  momentum?: number;
  /** L2 weight decay added to the direction as wd * x. @default 0 */
  weightDecay?: number;
}

export interface Optimizer {
  readonly learningRate: number;
  readonly momentum: number;
  readonly weightDecay: number;
  /** The momentum buffer m (null without momentum); stepLiecPair updates it in place. */
  readonly velocity: Float32Array | null;
  /** model <- model - lr * m, with m <- beta*m + (direction + wd*model). */
  step(model: Float32Array, direction: Float32Array): void;
  /** step, with the stepped model written to `out` (model itself untouched, the momentum moved). */
  stepInto(out: Float32Array, model: Float32Array, direction: Float32Array): void;
  /** Forgets the momentum (a peer that adopts a new model starts afresh). */
  reset(): void;
}

export function validateOptimizerOptions(options: OptimizerOptions): Required<OptimizerOptions> {
  const { learningRate, momentum = 0, weightDecay = 0 } = options;
  if (!(learningRate > 0) || !Number.isFinite(learningRate)) {
    throw new RangeError(`learningRate must be a positive number, got ${learningRate}`);
  }
  if (!(momentum >= 0 && momentum < 1)) throw new RangeError(`momentum must be in [0, 1), got ${momentum}`);
  if (!(weightDecay >= 0) || !Number.isFinite(weightDecay)) {
    throw new RangeError(`weightDecay must be >= 0, got ${weightDecay}`);
  }
  return { learningRate, momentum, weightDecay };
}

export function createOptimizer(options: OptimizerOptions, length: number): Optimizer {
  const { learningRate, momentum, weightDecay } = validateOptimizerOptions(options);
  // Allocated only when momentum is on: plain SGD keeps no state at all.
  let velocity: Float32Array | null = momentum > 0 ? new Float32Array(length) : null;
  // A loop of its own (see vector.ts); step is stepInto the model itself.
  function stepInto(out: Float32Array, model: Float32Array, direction: Float32Array): void {
    assertSameLength(model, direction, 'optimizer.step');
    assertSameLength(model, out, 'optimizer.step');
    if (velocity === null) {
      for (let i = 0; i < model.length; i++) {
        const x = model[i] as number;
        out[i] = x - learningRate * ((direction[i] as number) + weightDecay * x);
      }
      return;
    }
    const v = velocity;
    for (let i = 0; i < model.length; i++) {
      const x = model[i] as number;
      const m = momentum * (v[i] as number) + (direction[i] as number) + weightDecay * x;
      v[i] = m;
      out[i] = x - learningRate * m;
    }
  }
  return {
    learningRate,
    momentum,
    weightDecay,
    get velocity() {
      return velocity;
    },
    step(model, direction) {
      stepInto(model, model, direction);
    },
    stepInto,
    reset() {
      if (velocity !== null) velocity = new Float32Array(length);
    },
  };
}

/** One model and the optimizer that moves it. */
export interface Stepped {
  model: Float32Array;
  optimizer: Optimizer;
}

/**
 * A LIEC worker's round in one pass over memory: `common.step(c)` and `own.step(c + r)`
 * (c + r rounded to float32, as an array holding it would be), with exactly the arithmetic
 * of Optimizer.step, so the models come out bit for bit the same. Returns
 * ||own - common||^2 after both, as distanceSq would, which LIEC reports every round: four
 * passes over the model (two steps, the sum, the distance) became one, about half the time.
 * Both optimizers must have momentum, or neither (LIEC's two share their settings).
 */
export function stepLiecPair(
  own: Stepped,
  common: Stepped,
  broadcast: Float32Array,
  residual: Float32Array,
): number {
  assertSameLength(own.model, common.model, 'stepLiecPair');
  assertSameLength(own.model, broadcast, 'stepLiecPair');
  assertSameLength(own.model, residual, 'stepLiecPair');
  const x = own.model;
  const y = common.model;
  const vx = own.optimizer.velocity;
  const vy = common.optimizer.velocity;
  const { learningRate: lx, momentum: bx, weightDecay: wx } = own.optimizer;
  const { learningRate: ly, momentum: by, weightDecay: wy } = common.optimizer;
  let distance = 0;
  // Two loops, so that neither tests for momentum per value.
  if (vx !== null && vy !== null) {
    for (let i = 0; i < x.length; i++) {
      const c = broadcast[i] as number;
      const yi = y[i] as number;
      const my = by * (vy[i] as number) + c + wy * yi;
      vy[i] = my;
      const yNext = Math.fround(yi - ly * my);
      y[i] = yNext;
      const xi = x[i] as number;
      const mx = bx * (vx[i] as number) + Math.fround(c + (residual[i] as number)) + wx * xi;
      vx[i] = mx;
      const xNext = Math.fround(xi - lx * mx);
      x[i] = xNext;
      const v = xNext - yNext;
      distance += v * v;
    }
    return distance;
  }
  if (vx !== null || vy !== null) throw new RangeError('stepLiecPair: momentum on one optimizer only');
  for (let i = 0; i < x.length; i++) {
    const c = broadcast[i] as number;
    const yi = y[i] as number;
    const yNext = Math.fround(yi - ly * (c + wy * yi));
    y[i] = yNext;
    const xi = x[i] as number;
    const xNext = Math.fround(xi - lx * (Math.fround(c + (residual[i] as number)) + wx * xi));
    x[i] = xNext;
    const v = xNext - yNext;
    distance += v * v;
  }
  return distance;
}
