/**
 * The local-step baselines: what federated and low-communication training run today. Each
 * round a worker takes H inner optimizer steps from the common model x, uploads the
 * pseudo-gradient delta = x - x_local, and every peer moves x by the round's broadcast
 * (the aggregated deltas) with an outer optimizer; the local model is then dropped.
 *
 *   fedavg      upload C(delta)                           x <- x - c           (the models averaged)
 *   diloco      upload C(delta)                           x <- Nesterov(0.7, 0.9) step of c
 *   sparseloco  m <- beta m + delta, upload C(m), m -= C  x <- x - c           (top-k, EF as momentum)
 *
 * DiLoCo: arXiv 2311.08105 (outer SGD lr 0.7, Nesterov momentum 0.9). SparseLoCo: arXiv
 * 2508.15706 (top-k 1-3% of the error-feedback memory, 2-bit values; its decayed memory
 * replaces outer momentum). The aggregator is the common one (aggregator.ts): mean + e,
 * C_down, e keeps what C_down dropped, late deltas folded into e.
 *
 * Between rounds `model` is always x (every peer that applied the same broadcasts holds the
 * same bits), so what a peer evaluates, checkpoints or hands a joiner is the common model.
 *
 * @example
 * const w = createLocalStepWorker(options, x0); // options.local.steps = 4
 * for (let h = 1; h < w.localSteps; h++) w.localStep(gradientAt(w.model));
 * const upload = w.prepareUpload(gradientAt(w.model), seed);
 */
import type { Compressor } from '../compress/types.ts';
import { decodeChecked } from './decode.ts';
import { createOptimizer, type Optimizer } from './optimizer.ts';
import {
  LOCAL_STEP_ALGORITHMS,
  type AlgorithmOptions,
  type LocalStepAlgorithm,
  type LocalStepOptions,
  type WorkerAlgorithm,
} from './types.ts';
import { copyOf } from './vector.ts';

/** DiLoCo's outer step size (arXiv 2311.08105, section 3). */
export const DILOCO_OUTER_LEARNING_RATE = 0.7;
/** DiLoCo's outer Nesterov momentum (same paper). */
export const DILOCO_OUTER_MOMENTUM = 0.9;
/** SparseLoCo's error-feedback decay beta (arXiv 2508.15706). */
export const SPARSELOCO_FEEDBACK_DECAY = 0.95;

export function isLocalStepAlgorithm(name: string): name is LocalStepAlgorithm {
  return (LOCAL_STEP_ALGORITHMS as readonly string[]).includes(name);
}

/** Local-step settings as plain data (CLI flags, session configs). */
export interface LocalStepSpec {
  /** H. @default 1 */
  localSteps?: number;
  outerLearningRate?: number;
  outerMomentum?: number;
  feedbackDecay?: number;
}

/**
 * The LocalStepOptions of `algorithm`, its defaults filled in; undefined for the other
 * algorithms, which take no local-step setting (throws RangeError if one is given). liec
 * takes them when localSteps > 1 (liec-local.ts), with fedavg's outer defaults (lr 1, no
 * outer momentum).
 */
export function resolveLocalSteps(algorithm: string, spec: LocalStepSpec): LocalStepOptions | undefined {
  const steps = spec.localSteps ?? 1;
  if (!Number.isInteger(steps) || steps < 1) throw new RangeError(`localSteps must be an integer >= 1`);
  // liec takes H > 1 as an option (liec-local.ts); at H = 1 it stays the one-step method.
  const liecLocal = algorithm === 'liec' && steps > 1;
  if (!isLocalStepAlgorithm(algorithm) && !liecLocal) {
    if (steps !== 1 || spec.outerLearningRate !== undefined || spec.outerMomentum !== undefined) {
      throw new RangeError(
        `local steps and outer settings need ${LOCAL_STEP_ALGORITHMS.join(', ')}, or liec with localSteps > 1 (algorithm "${algorithm}")`,
      );
    }
    return undefined;
  }
  const diloco = algorithm === 'diloco';
  const outerLearningRate = spec.outerLearningRate ?? (diloco ? DILOCO_OUTER_LEARNING_RATE : 1);
  const outerMomentum = spec.outerMomentum ?? (diloco ? DILOCO_OUTER_MOMENTUM : 0);
  const feedbackDecay = spec.feedbackDecay ?? (algorithm === 'sparseloco' ? SPARSELOCO_FEEDBACK_DECAY : 0);
  if (!(outerLearningRate > 0) || !Number.isFinite(outerLearningRate))
    throw new RangeError(`outerLearningRate must be a positive number, got ${outerLearningRate}`);
  if (!(outerMomentum >= 0 && outerMomentum < 1))
    throw new RangeError(`outerMomentum must be in [0, 1), got ${outerMomentum}`);
  if (!(feedbackDecay >= 0 && feedbackDecay <= 1))
    throw new RangeError(`feedbackDecay must be in [0, 1], got ${feedbackDecay}`);
  if (algorithm !== 'sparseloco' && spec.feedbackDecay !== undefined)
    throw new RangeError(`feedbackDecay is sparseloco's error-feedback memory (algorithm "${algorithm}")`);
  return { steps, outerLearningRate, outerMomentum, feedbackDecay };
}

/**
 * One outer step, in place: SGD with Nesterov momentum as PyTorch runs it (m <- mu m + c;
 * x <- x - lr (c + mu m)); plain x <- x - lr c when velocity is null.
 */
export function outerStep(
  model: Float32Array,
  velocity: Float32Array | null,
  direction: Float32Array,
  learningRate: number,
  momentum: number,
): void {
  if (velocity === null) {
    for (let i = 0; i < model.length; i++)
      model[i] = (model[i] as number) - learningRate * (direction[i] as number);
    return;
  }
  for (let i = 0; i < model.length; i++) {
    const c = direction[i] as number;
    const m = momentum * (velocity[i] as number) + c;
    velocity[i] = m;
    model[i] = (model[i] as number) - learningRate * (c + momentum * m);
  }
}

class LocalStepWorker implements WorkerAlgorithm {
  readonly algorithm: LocalStepAlgorithm;
  readonly localSteps: number;
  readonly compensation = 0;
  /** The live model: x between rounds, x_local during the round's inner steps. */
  model: Float32Array;
  /** x: the common model, moved only by broadcasts (or adoptModel). */
  private anchor: Float32Array;
  private readonly length: number;
  private readonly up: Compressor;
  private readonly down: Compressor;
  private readonly settings: LocalStepOptions;
  private readonly options: AlgorithmOptions;
  /** Inner optimizer; its momentum carries over rounds, as DiLoCo's inner state does. */
  private inner: Optimizer;
  /** Outer momentum (null without it); every peer applies the same broadcasts to the same one. */
  private outerVelocity: Float32Array | null;
  /** sparseloco: the memory m of what its uploads have not delivered yet. */
  private memory: Float32Array | null;
  private pending = false;

  constructor(algorithm: LocalStepAlgorithm, options: AlgorithmOptions, initialModel: Float32Array) {
    if (options.local === undefined) throw new RangeError(`${algorithm} needs options.local`);
    this.algorithm = algorithm;
    this.options = options;
    this.settings = options.local;
    this.localSteps = options.local.steps;
    this.length = initialModel.length;
    this.up = options.up;
    this.down = options.down;
    this.model = Float32Array.from(initialModel);
    this.anchor = Float32Array.from(initialModel);
    this.inner = createOptimizer(options, this.length);
    this.outerVelocity = this.freshVelocity();
    this.memory = this.freshMemory();
  }

  private freshVelocity(): Float32Array | null {
    return this.settings.outerMomentum > 0 ? new Float32Array(this.length) : null;
  }

  private freshMemory(): Float32Array | null {
    return this.algorithm === 'sparseloco' ? new Float32Array(this.length) : null;
  }

  get hasPendingUpload(): boolean {
    return this.pending;
  }

  localStep(gradient: Float32Array): void {
    if (gradient.length !== this.length) {
      throw new RangeError(`gradient has ${gradient.length} values, model has ${this.length}`);
    }
    if (this.pending) throw new Error('localStep called between prepareUpload and applyBroadcast');
    this.inner.step(this.model, gradient);
  }

  prepareUpload(gradient: Float32Array, seed: number, roundUp?: Compressor): Uint8Array {
    const up = roundUp ?? this.up;
    this.localStep(gradient);
    const delta = new Float32Array(this.length);
    for (let i = 0; i < this.length; i++) delta[i] = (this.anchor[i] as number) - (this.model[i] as number);
    let payload: Uint8Array;
    switch (this.algorithm) {
      case 'fedavg':
      case 'diloco':
        payload = up.encode(delta, seed);
        break;
      case 'sparseloco': {
        // m <- beta m + delta; send C(m); m keeps what C dropped (never lost, only late).
        const memory = this.memory as Float32Array;
        const beta = this.settings.feedbackDecay;
        for (let i = 0; i < this.length; i++) memory[i] = beta * (memory[i] as number) + (delta[i] as number);
        payload = up.encode(memory, seed);
        const sent = up.decode(payload, this.length);
        for (let i = 0; i < this.length; i++) memory[i] = (memory[i] as number) - (sent[i] as number);
        break;
      }
      default: {
        const unreachable: never = this.algorithm;
        throw new Error(`unknown algorithm ${String(unreachable)}`);
      }
    }
    // The local model has served its purpose: back on x until the broadcast moves it.
    this.model.set(this.anchor);
    this.pending = true;
    return payload;
  }

  applyBroadcast(payload: Uint8Array): void {
    const broadcast = decodeChecked(this.down, payload, this.length);
    const { outerLearningRate, outerMomentum } = this.settings;
    outerStep(this.anchor, this.outerVelocity, broadcast, outerLearningRate, outerMomentum);
    this.model.set(this.anchor);
    this.pending = false;
  }

  deviationSq(): number {
    return 0;
  }

  commonModel(into?: Float32Array): Float32Array {
    return copyOf(this.anchor, into);
  }

  prepareSync(): Uint8Array {
    throw new Error(`model sync is only defined for liec (algorithm: ${this.algorithm})`);
  }

  applySync(): void {
    throw new Error(`model sync is only defined for liec (algorithm: ${this.algorithm})`);
  }

  applyFinalSync(): void {
    throw new Error(`model sync is only defined for liec (algorithm: ${this.algorithm})`);
  }

  adoptModel(model: Float32Array): void {
    if (model.length !== this.length)
      throw new RangeError(`model has ${model.length} values, expected ${this.length}`);
    this.model = Float32Array.from(model);
    this.anchor = Float32Array.from(model);
    this.inner = createOptimizer(this.options, this.length);
    this.outerVelocity = this.freshVelocity();
    this.memory = this.freshMemory();
    this.pending = false;
  }
}

/**
 * A round's gradients: worker.localSteps - 1 inner steps, each from a gradient at the
 * current model, then the gradient to hand to prepareUpload, with the mean loss of all of
 * them (one gradient and its loss for the one-step algorithms).
 */
export function takeLocalSteps(
  worker: WorkerAlgorithm,
  gradientAt: (model: Float32Array) => { gradient: Float32Array; loss: number },
): { gradient: Float32Array; loss: number } {
  let lossSum = 0;
  for (let h = 1; h < worker.localSteps; h++) {
    const { gradient, loss } = gradientAt(worker.model);
    lossSum += loss;
    worker.localStep(gradient);
  }
  const last = gradientAt(worker.model);
  return { gradient: last.gradient, loss: (lossSum + last.loss) / worker.localSteps };
}

export function createLocalStepWorker(
  options: AlgorithmOptions,
  initialModel: Float32Array,
): WorkerAlgorithm {
  const { algorithm } = options;
  if (!isLocalStepAlgorithm(algorithm)) throw new RangeError(`${algorithm} takes no local steps`);
  return new LocalStepWorker(algorithm, options, initialModel);
}
