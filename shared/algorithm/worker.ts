/**
 * The worker side of sgd, ef-sgd, doublesqueeze and liec (the local-step baselines are in
 * local-steps.ts). They differ only in what a worker uploads and what direction it applies
 * when the broadcast c arrives:
 *
 *   sgd            upload C(g)                      apply c
 *   ef-sgd         upload C(g + d), d <- g + d - C  apply c          (error feedback, fp32 down)
 *   doublesqueeze  same as ef-sgd                   apply c          (c itself compressed with EF)
 *   liec           upload C(g + d), r = g + d - C   apply c + a r,   d <- (1 - a) r
 *                                                   (immediate local compensation of strength a)
 *   liec, H > 1    the same with g = x_i - x_local after H inner steps, applied by the outer
 *                  step (liec-local.ts)
 *
 * LIEC models drift apart by the residuals they apply, so a LIEC worker also tracks x_common,
 * the model it would have if it applied only the broadcasts; a sync sends what x_common lacks
 * of the worker's gradients, x_i - x_common - step d. With a = 1 (the paper's LIEC) d stays 0;
 * with a = 0 it is DoubleSqueeze. 'auto' takes a from every sync (compensation.ts).
 */
import type { Compressor } from '../compress/types.ts';
import { syncFlushStep } from './aggregator.ts';
import { AUTO_COMPENSATION_INITIAL, nextCompensation } from './compensation.ts';
import { decodeChecked } from './decode.ts';
import { decodeSyncPayload } from './sync-payload.ts';
import { checkSyncBlock } from './sync-policy.ts';
import { InnerSteps, liecOuterOptions } from './liec-local.ts';
import { createLocalStepWorker, isLocalStepAlgorithm } from './local-steps.ts';
import { createOptimizer, stepLiecPair, type Optimizer, type OptimizerOptions } from './optimizer.ts';
import type { AlgorithmName, AlgorithmOptions, SyncBlock, WorkerAlgorithm } from './types.ts';
import { distanceSq, subtract } from './vector.ts';

class Worker implements WorkerAlgorithm {
  readonly algorithm: AlgorithmName;
  readonly localSteps: number;
  model: Float32Array;
  private readonly length: number;
  private readonly up: Compressor;
  private readonly down: Compressor;
  private readonly syncCodec: Compressor | null;
  /** What applies broadcasts: the session's optimizer, or the outer step with local steps. */
  private readonly stepOptions: OptimizerOptions;
  /** liec with H > 1: the exchange's inner steps (null otherwise). */
  private readonly inner: InnerSteps | null;
  private optimizer: Optimizer;
  /**
   * Error-feedback memory d_i (ef-sgd, doublesqueeze; liec with alpha < 1: the residual not
   * applied at once); persists across rounds.
   */
  private feedback: Float32Array | null;
  /** LIEC: alpha, the share of its residual applied at once (fixed, or 'auto' from each sync). */
  compensation: number;
  private readonly autoCompensation: boolean;
  /** How far one unit of the memory moves a model through the optimizer (syncFlushStep). */
  private readonly flushStep: number;
  /** LIEC: this round's residual alpha r_i, consumed by the next broadcast. */
  private residual: Float32Array | null = null;
  private pending = false;
  /** LIEC: the broadcast-only model and its optimizer (same state machine, fewer inputs). */
  private common: Float32Array | null;
  private commonOptimizer: Optimizer | null;
  /**
   * LIEC: what each pending sync upload decoded to, by block start (0 for a full sync), so a
   * counted sync keeps only its quantization error. A rolling sync has one block in flight at
   * a time; one whose answer never comes is replaced H rounds later: as if not counted.
   */
  private readonly sentSyncDeltas = new Map<number, Float32Array>();
  /**
   * LIEC: ||x_i - x_common||^2 as applyBroadcast measured it; null once anything else moved
   * either model (a sync, adoptModel), and then measured again when asked.
   */
  private deviation: number | null = null;

  constructor(options: AlgorithmOptions, initialModel: Float32Array) {
    this.algorithm = options.algorithm;
    this.length = initialModel.length;
    this.up = options.up;
    this.down = options.down;
    this.model = Float32Array.from(initialModel);
    const isLiec = this.algorithm === 'liec';
    const local = isLiec ? options.local : undefined;
    this.localSteps = local?.steps ?? 1;
    this.inner = local === undefined ? null : new InnerSteps(options, this.length);
    this.stepOptions = local === undefined ? options : liecOuterOptions(local);
    this.optimizer = createOptimizer(this.stepOptions, this.length);
    const setting = options.compensation ?? 'auto';
    this.autoCompensation = isLiec && setting === 'auto';
    this.flushStep = syncFlushStep(options);
    this.compensation = !isLiec ? 0 : setting === 'auto' ? AUTO_COMPENSATION_INITIAL : setting;
    const usesFeedback = this.algorithm === 'ef-sgd' || this.algorithm === 'doublesqueeze';
    // An 'auto' LIEC worker may lower alpha at any sync, so it keeps the memory from the start.
    const liecFeedback = isLiec && (this.autoCompensation || this.compensation < 1);
    this.feedback = usesFeedback || liecFeedback ? new Float32Array(this.length) : null;
    this.common = isLiec ? Float32Array.from(initialModel) : null;
    this.commonOptimizer = isLiec ? createOptimizer(this.stepOptions, this.length) : null;
    this.syncCodec = isLiec ? (options.sync?.codec ?? null) : null;
  }

  get hasPendingUpload(): boolean {
    return this.pending;
  }

  localStep(gradient: Float32Array): void {
    if (this.inner === null)
      throw new Error(`${this.algorithm} takes one gradient per round: no local steps`);
    if (this.pending) throw new Error('localStep called between prepareUpload and applyBroadcast');
    this.inner.step(this.model, gradient);
  }

  prepareUpload(roundGradient: Float32Array, seed: number, roundUp?: Compressor): Uint8Array {
    const up = roundUp ?? this.up;
    if (roundGradient.length !== this.length) {
      throw new RangeError(`gradient has ${roundGradient.length} values, model has ${this.length}`);
    }
    if (this.pending) throw new Error('prepareUpload called twice without applyBroadcast in between');
    // With local steps, LIEC compresses and compensates the pseudo-gradient x_i - x_local.
    const gradient = this.inner === null ? roundGradient : this.inner.finish(this.model, roundGradient);
    let payload: Uint8Array;
    switch (this.algorithm) {
      case 'sgd':
        payload = up.encode(gradient, seed);
        break;
      case 'ef-sgd':
      case 'doublesqueeze': {
        const feedback = this.feedback as Float32Array;
        const corrected = new Float32Array(this.length);
        for (let i = 0; i < this.length; i++)
          corrected[i] = (gradient[i] as number) + (feedback[i] as number);
        payload = up.encode(corrected, seed);
        subtract(feedback, corrected, up.decode(payload, this.length));
        break;
      }
      case 'liec': {
        const feedback = this.feedback;
        if (feedback === null) {
          payload = up.encode(gradient, seed);
          this.residual = subtract(new Float32Array(this.length), gradient, up.decode(payload, this.length));
          break;
        }
        // r = g + d - C(g + d): alpha r now (immediate compensation), the rest sent later.
        const corrected = new Float32Array(this.length);
        for (let i = 0; i < this.length; i++)
          corrected[i] = (gradient[i] as number) + (feedback[i] as number);
        payload = up.encode(corrected, seed);
        const residual = subtract(corrected, corrected, up.decode(payload, this.length));
        const alpha = this.compensation;
        for (let i = 0; i < this.length; i++) {
          const r = residual[i] as number;
          const applied = Math.fround(alpha * r);
          feedback[i] = r - applied;
          residual[i] = applied;
        }
        this.residual = residual;
        break;
      }
      case 'fedavg':
      case 'diloco':
      case 'sparseloco':
        throw new Error(`${this.algorithm} runs in local-steps.ts`);
      default: {
        const unreachable: never = this.algorithm;
        throw new Error(`unknown algorithm ${String(unreachable)}`);
      }
    }
    this.pending = true;
    return payload;
  }

  applyBroadcast(payload: Uint8Array): void {
    const broadcast = decodeChecked(this.down, payload, this.length);
    this.deviation = null;
    if (this.common !== null && this.commonOptimizer !== null) {
      // Immediate compensation: own compression error enters the model this very round;
      // x_common takes the broadcast alone. One pass, which also measures the drift.
      const own = { model: this.model, optimizer: this.optimizer };
      const common = { model: this.common, optimizer: this.commonOptimizer };
      const residual = this.residual ?? new Float32Array(this.length);
      this.deviation = stepLiecPair(own, common, broadcast, residual);
      this.residual = null;
    } else {
      this.optimizer.step(this.model, broadcast);
    }
    this.pending = false;
  }

  deviationSq(): number {
    if (this.common === null) return 0;
    // Mid-exchange the live model is x_local: the deviation is x_i's.
    this.deviation ??= distanceSq(this.inner?.ownModel(this.model) ?? this.model, this.common);
    return this.deviation;
  }

  commonModel(): Float32Array {
    return Float32Array.from(this.common ?? this.model);
  }

  /**
   * What a sync sends on [start, end): x_i - x_common, and with an error-feedback memory also
   * the model step it still owes (-step d_i): all of this worker's gradient mass that x_common
   * lacks. Sending the memory too makes what the aggregator measures (compensation.ts) the
   * same whatever alpha is, and a sync then delivers the memories as well.
   */
  private unsynced(start: number, end: number): Float32Array {
    const common = this.common as Float32Array;
    const out = new Float32Array(end - start);
    const feedback = this.feedback;
    const step = this.flushStep;
    for (let i = start; i < end; i++) {
      const deviation = (this.model[i] as number) - (common[i] as number);
      out[i - start] = feedback === null ? deviation : deviation - step * (feedback[i] as number);
    }
    return out;
  }

  prepareSync(seed: number, block?: SyncBlock): Uint8Array {
    const { syncCodec } = this.requireLiec('prepareSync');
    const { start, end } = checkSyncBlock(block, this.length);
    const payload = syncCodec.encode(this.unsynced(start, end), seed);
    if (block === undefined) this.sentSyncDeltas.clear();
    this.sentSyncDeltas.set(start, syncCodec.decode(payload, end - start));
    return payload;
  }

  applySync(payload: Uint8Array, counted: boolean, block?: SyncBlock): void {
    this.deviation = null;
    const { common } = this.requireLiec('applySync');
    const { start, end } = checkSyncBlock(block, this.length);
    const delta = this.decodeSyncDelta(payload, end - start);
    const pending = this.sentSyncDeltas.get(start);
    const sent = counted && pending?.length === end - start ? pending : null;
    // What stays local: the part of what it owes the aggregator did not receive (the
    // quantization error if counted, all of it if not), split as every residual is: alpha of
    // it in the model, the rest in the memory. Nothing is dropped.
    const unsynced = this.unsynced(start, end);
    const feedback = this.feedback;
    const alpha = this.compensation;
    const step = this.flushStep;
    for (let i = start; i < end; i++) {
      // In float32 steps, as the codec saw it: an exact (identity) sync keeps exactly 0.
      const owed = Math.fround(unsynced[i - start] as number);
      const kept = Math.fround(owed - (sent === null ? 0 : (sent[i - start] as number)));
      const synced = (common[i] as number) + (delta[i - start] as number);
      common[i] = synced;
      if (feedback === null) {
        this.model[i] = synced + kept;
        continue;
      }
      const local = Math.fround(alpha * kept);
      this.model[i] = synced + local;
      feedback[i] = -(kept - local) / step;
    }
    if (block === undefined) this.sentSyncDeltas.clear();
    else this.sentSyncDeltas.delete(start);
  }

  applyFinalSync(payload: Uint8Array): void {
    this.deviation = null;
    const { common } = this.requireLiec('applyFinalSync');
    const delta = this.decodeSyncDelta(payload, this.length);
    for (let i = 0; i < this.length; i++) common[i] = (common[i] as number) + (delta[i] as number);
    // What each worker kept differs from peer to peer: dropped, so all end on one model.
    this.model.set(common);
    this.feedback?.fill(0);
    this.sentSyncDeltas.clear();
  }

  /** A sync broadcast's delta (length values), after adopting its measured share ('auto'). */
  private decodeSyncDelta(payload: Uint8Array, length: number): Float32Array {
    const { syncCodec } = this.requireLiec('a sync');
    const { shared, body } = decodeSyncPayload(payload);
    const delta = decodeChecked(syncCodec, body, length);
    if (this.autoCompensation) this.compensation = nextCompensation(shared, this.compensation);
    return delta;
  }

  adoptModel(model: Float32Array): void {
    this.deviation = null;
    if (model.length !== this.length)
      throw new RangeError(`model has ${model.length} values, expected ${this.length}`);
    this.model = Float32Array.from(model);
    if (this.common !== null) this.common = Float32Array.from(model);
    this.optimizer = createOptimizer(this.stepOptions, this.length);
    if (this.commonOptimizer !== null) this.commonOptimizer = createOptimizer(this.stepOptions, this.length);
    this.inner?.reset();
    if (this.feedback !== null) this.feedback = new Float32Array(this.length);
    this.residual = null;
    this.pending = false;
    this.sentSyncDeltas.clear();
  }

  private requireLiec(what: string): { common: Float32Array; syncCodec: Compressor } {
    if (this.common === null || this.syncCodec === null) {
      throw new Error(`${what} is only defined for liec with sync options (algorithm: ${this.algorithm})`);
    }
    return { common: this.common, syncCodec: this.syncCodec };
  }
}

export function createWorker(options: AlgorithmOptions, initialModel: Float32Array): WorkerAlgorithm {
  if (isLocalStepAlgorithm(options.algorithm)) return createLocalStepWorker(options, initialModel);
  return new Worker(options, initialModel);
}
