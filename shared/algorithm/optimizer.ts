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
  /** model <- model - lr * m, with m <- beta*m + (direction + wd*model). */
  step(model: Float32Array, direction: Float32Array): void;
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
  return {
    learningRate,
    step(model, direction) {
      assertSameLength(model, direction, 'optimizer.step');
      if (velocity === null) {
        for (let i = 0; i < model.length; i++) {
          const x = model[i] as number;
          model[i] = x - learningRate * ((direction[i] as number) + weightDecay * x);
        }
        return;
      }
      const v = velocity;
      for (let i = 0; i < model.length; i++) {
        const x = model[i] as number;
        const m = momentum * (v[i] as number) + (direction[i] as number) + weightDecay * x;
        v[i] = m;
        model[i] = x - learningRate * m;
      }
    },
    reset() {
      if (velocity !== null) velocity = new Float32Array(length);
    },
  };
}
