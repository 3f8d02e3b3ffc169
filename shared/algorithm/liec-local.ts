/**
 * LIEC with H local steps per exchange (algorithm 'liec' with localSteps > 1). A worker takes
 * H inner optimizer steps from its own model x_i and treats the model change as its gradient:
 *
 *   delta = x_i - x_local                       (the pseudo-gradient of the H steps)
 *   upload C_up(delta + d),  r = delta + d - C  (LIEC's residual, as for one step)
 *   broadcast c = C_down(mean + e)              (the common aggregator, unchanged)
 *   x_i      <- outer(x_i, c + a r)             (its own error applied in the same exchange)
 *   x_common <- outer(x_common, c)              d <- (1 - a) r
 *
 * With identity codecs and the default outer step (lr 1, no momentum) this is fedavg; with
 * H = 1 and plain inner SGD it is one-step LIEC on lr-scaled gradients. Everything after the
 * pseudo-gradient is worker.ts's LIEC path as it is (residual split, syncs, 'auto' alpha),
 * so only two things differ: where the "gradient" comes from (InnerSteps below) and which
 * optimizer applies broadcasts (the outer one, liecOuterOptions). A sync's flush step is then
 * the outer step's (syncFlushStep), since e and d are in pseudo-gradient units.
 *
 * @example
 * const inner = new InnerSteps(options, d);
 * inner.step(own, gradientAt(own));                       // x_local = x_i stepped; x_i only read
 * const g2 = gradientAt(inner.liveModel(own));             // at x_local
 * const delta = inner.finish(own, g2);                     // x_i - x_local after the last step
 */
import { createOptimizer, type Optimizer, type OptimizerOptions } from './optimizer.ts';
import type { LocalStepOptions } from './types.ts';

/**
 * The optimizer that applies broadcasts (and c + a r) to a local-step LIEC worker's models:
 * plain SGD at the outer step size, with heavy-ball outer momentum if set. No weight decay:
 * the inner steps already decayed the weights (as in fedavg's outer step).
 */
export function liecOuterOptions(local: LocalStepOptions): OptimizerOptions {
  return { learningRate: local.outerLearningRate, momentum: local.outerMomentum, weightDecay: 0 };
}

/**
 * The exchange's last inner step, its pseudo-gradient and the error-feedback memory in one
 * pass: out = (origin - step(local, gradient)) + plus, each rounded to float32 as separate
 * passes storing them would round it. `local` is not written (the exchange ends here); the
 * optimizer's momentum is. `plus` null: the pseudo-gradient alone.
 */
export function lastStepDescent(
  out: Float32Array,
  origin: Float32Array,
  local: Float32Array,
  gradient: Float32Array,
  optimizer: Optimizer,
  plus: Float32Array | null,
): Float32Array {
  const length = origin.length;
  if (
    out.length !== length ||
    local.length !== length ||
    gradient.length !== length ||
    (plus ?? out).length !== length
  )
    throw new RangeError(
      `lastStepDescent: lengths ${out.length}, ${length}, ${local.length}, ${gradient.length}`,
    );
  const { learningRate: lr, momentum: beta, weightDecay: wd, velocity: v } = optimizer;
  // Four loops, so that none tests per value for momentum or a memory.
  if (v === null && plus === null) {
    for (let i = 0; i < length; i++) {
      const x = local[i] as number;
      const stepped = Math.fround(x - lr * ((gradient[i] as number) + wd * x));
      out[i] = (origin[i] as number) - stepped;
    }
  } else if (v === null && plus !== null) {
    for (let i = 0; i < length; i++) {
      const x = local[i] as number;
      const stepped = Math.fround(x - lr * ((gradient[i] as number) + wd * x));
      out[i] = Math.fround((origin[i] as number) - stepped) + (plus[i] as number);
    }
  } else if (v !== null && plus === null) {
    for (let i = 0; i < length; i++) {
      const x = local[i] as number;
      const m = beta * (v[i] as number) + (gradient[i] as number) + wd * x;
      v[i] = m;
      out[i] = (origin[i] as number) - Math.fround(x - lr * m);
    }
  } else if (v !== null && plus !== null) {
    for (let i = 0; i < length; i++) {
      const x = local[i] as number;
      const m = beta * (v[i] as number) + (gradient[i] as number) + wd * x;
      v[i] = m;
      out[i] = Math.fround((origin[i] as number) - Math.fround(x - lr * m)) + (plus[i] as number);
    }
  }
  return out;
}

/**
 * One exchange's inner steps, taken on x_local, a vector of their own: x_i (the worker's own
 * model, `own` below) is only read, so between exchanges and during one it is x_i, what a peer
 * evaluates, checkpoints and syncs; the gradients are computed at liveModel(own). The first
 * step writes x_local from x_i; finish() takes the last step, and returns x_i - x_local with
 * the error-feedback memory added, all in one pass (lastStepDescent). The inner optimizer's
 * momentum carries over exchanges, as DiLoCo's inner state does.
 */
export class InnerSteps {
  private readonly optimizer: Optimizer;
  private readonly length: number;
  /** x_local while an exchange's inner steps run; null between exchanges. */
  private local: Float32Array | null = null;
  /** keepBuffers: x_local and the returned vector, reused every exchange. */
  private readonly kept: { local: Float32Array; delta: Float32Array } | null;

  /**
   * `keepBuffers` (a real peer): the two model-sized vectors of an exchange are allocated once
   * and reused; the vector finish() returns is then valid until the next finish(), and the
   * caller may write over it (worker.ts keeps its residual there).
   * Without (the simulator's many virtual workers), they are allocated per exchange and held
   * only while it runs.
   */
  constructor(
    options: OptimizerOptions,
    length: number,
    settings: { keepBuffers: boolean } = { keepBuffers: false },
  ) {
    this.optimizer = createOptimizer(options, length);
    this.length = length;
    this.kept = settings.keepBuffers
      ? { local: new Float32Array(length), delta: new Float32Array(length) }
      : null;
  }

  /** True between the first inner step of an exchange and finish(). */
  get running(): boolean {
    return this.local !== null;
  }

  /** The model to compute the next gradient at: x_local during an exchange, else `own` (x_i). */
  liveModel(own: Float32Array): Float32Array {
    return this.local ?? own;
  }

  step(own: Float32Array, gradient: Float32Array): void {
    if (gradient.length !== this.length || own.length !== this.length) {
      throw new RangeError(`gradient has ${gradient.length} values, model has ${own.length}`);
    }
    if (this.local === null) {
      this.local = this.kept?.local ?? new Float32Array(this.length);
      this.optimizer.stepInto(this.local, own, gradient);
    } else this.optimizer.step(this.local, gradient);
  }

  /**
   * The exchange's last step: returns x_i - x_local, plus `memory` when given (g + d, worker.ts),
   * in one pass. `own` stays x_i.
   */
  finish(own: Float32Array, gradient: Float32Array, memory: Float32Array | null = null): Float32Array {
    if (gradient.length !== this.length || own.length !== this.length) {
      throw new RangeError(`gradient has ${gradient.length} values, model has ${own.length}`);
    }
    const out = this.kept?.delta ?? new Float32Array(this.length);
    // An exchange of one step (none before the last) starts from x_i itself.
    lastStepDescent(out, own, this.local ?? own, gradient, this.optimizer, memory);
    this.local = null;
    return out;
  }

  /** Forgets the exchange in progress (x_i untouched) and the inner momentum. */
  reset(): void {
    this.local = null;
    this.optimizer.reset();
  }
}
