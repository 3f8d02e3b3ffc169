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
 * inner.step(model, g1);                 // x_local moves, x_i kept aside
 * const delta = inner.finish(model, g2); // model is x_i again; delta = x_i - x_local
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

/** out[i] = from[i] - to[i]: how far H inner steps moved the model, as a descent direction. */
export function pseudoGradient(out: Float32Array, from: Float32Array, to: Float32Array): Float32Array {
  if (out.length !== from.length || to.length !== from.length)
    throw new RangeError(`pseudoGradient: lengths ${out.length}, ${from.length}, ${to.length}`);
  for (let i = 0; i < from.length; i++) out[i] = (from[i] as number) - (to[i] as number);
  return out;
}

/**
 * One exchange's inner steps on a worker's live model. The first step of an exchange keeps
 * x_i aside; finish() takes the last step, returns x_i - x_local and puts x_i back, so between
 * exchanges the live model is x_i (what a peer evaluates, checkpoints and syncs). The inner
 * optimizer's momentum carries over exchanges, as DiLoCo's inner state does.
 */
export class InnerSteps {
  private readonly optimizer: Optimizer;
  private readonly length: number;
  /** x_i while an exchange's inner steps run; null between exchanges. */
  private start: Float32Array | null = null;
  /** keepBuffers: x_i's copy and the returned pseudo-gradient, reused every exchange. */
  private readonly kept: { start: Float32Array; delta: Float32Array } | null;

  /**
   * `keepBuffers` (a real peer): the two model-sized vectors of an exchange are allocated once
   * and reused; the pseudo-gradient finish() returns is then valid until the next finish(), and
   * the caller may write over it (worker.ts keeps its residual there).
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
      ? { start: new Float32Array(length), delta: new Float32Array(length) }
      : null;
  }

  /** True between the first inner step of an exchange and finish(). */
  get running(): boolean {
    return this.start !== null;
  }

  /** x_i during an exchange (the live model is x_local then), else `model` itself. */
  ownModel(model: Float32Array): Float32Array {
    return this.start ?? model;
  }

  step(model: Float32Array, gradient: Float32Array): void {
    if (gradient.length !== this.length || model.length !== this.length) {
      throw new RangeError(`gradient has ${gradient.length} values, model has ${model.length}`);
    }
    if (this.start === null) {
      this.start = this.kept?.start ?? new Float32Array(this.length);
      this.start.set(model);
    }
    this.optimizer.step(model, gradient);
  }

  /** The exchange's last step; returns x_i - x_local and sets `model` back to x_i. */
  finish(model: Float32Array, gradient: Float32Array): Float32Array {
    this.step(model, gradient);
    const start = this.start as Float32Array;
    const delta = pseudoGradient(this.kept?.delta ?? new Float32Array(this.length), start, model);
    model.set(start);
    this.start = null;
    return delta;
  }

  /** Forgets the exchange in progress (model untouched) and the inner momentum. */
  reset(): void {
    this.start = null;
    this.optimizer.reset();
  }
}
