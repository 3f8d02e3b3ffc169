/**
 * The worker side of all four algorithms. They differ only in what a worker uploads and
 * what direction it applies when the broadcast c arrives:
 *
 *   sgd            upload C(g)                      apply c
 *   ef-sgd         upload C(g + d), d <- g + d - C  apply c          (error feedback, fp32 down)
 *   doublesqueeze  same as ef-sgd                   apply c          (c itself compressed with EF)
 *   liec           upload C(g), r = g - C(g)        apply c + r      (immediate local compensation)
 *
 * LIEC models drift apart by their residuals, so a LIEC worker also tracks x_common, the
 * model it would have if it applied only the broadcasts; x_i - x_common is what a sync sends.
 */
import type { Compressor } from '../compress/types.ts';
import { decodeChecked } from './decode.ts';
import { checkSyncBlock } from './sync-policy.ts';
import { createOptimizer, stepLiecPair, type Optimizer } from './optimizer.ts';
import type { AlgorithmName, AlgorithmOptions, SyncBlock, WorkerAlgorithm } from './types.ts';
import { distanceSq, subtract } from './vector.ts';

class Worker implements WorkerAlgorithm {
  readonly algorithm: AlgorithmName;
  model: Float32Array;
  private readonly length: number;
  private readonly up: Compressor;
  private readonly down: Compressor;
  private readonly syncCodec: Compressor | null;
  private readonly options: AlgorithmOptions;
  private optimizer: Optimizer;
  /** Error-feedback memory d_i (ef-sgd, doublesqueeze); persists across rounds. */
  private feedback: Float32Array | null;
  /** LIEC: this round's residual r_i, consumed by the next broadcast. */
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
    this.options = options;
    this.algorithm = options.algorithm;
    this.length = initialModel.length;
    this.up = options.up;
    this.down = options.down;
    this.model = Float32Array.from(initialModel);
    this.optimizer = createOptimizer(options, this.length);
    const usesFeedback = this.algorithm === 'ef-sgd' || this.algorithm === 'doublesqueeze';
    this.feedback = usesFeedback ? new Float32Array(this.length) : null;
    const isLiec = this.algorithm === 'liec';
    this.common = isLiec ? Float32Array.from(initialModel) : null;
    this.commonOptimizer = isLiec ? createOptimizer(options, this.length) : null;
    this.syncCodec = isLiec ? (options.sync?.codec ?? null) : null;
  }

  get hasPendingUpload(): boolean {
    return this.pending;
  }

  prepareUpload(gradient: Float32Array, seed: number, roundUp?: Compressor): Uint8Array {
    const up = roundUp ?? this.up;
    if (gradient.length !== this.length) {
      throw new RangeError(`gradient has ${gradient.length} values, model has ${this.length}`);
    }
    if (this.pending) throw new Error('prepareUpload called twice without applyBroadcast in between');
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
        payload = up.encode(gradient, seed);
        this.residual = subtract(new Float32Array(this.length), gradient, up.decode(payload, this.length));
        break;
      }
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
    this.deviation ??= distanceSq(this.model, this.common);
    return this.deviation;
  }

  commonModel(): Float32Array {
    return Float32Array.from(this.common ?? this.model);
  }

  prepareSync(seed: number, block?: SyncBlock): Uint8Array {
    const { common, syncCodec } = this.requireLiec('prepareSync');
    const { start, end } = checkSyncBlock(block, this.length);
    const deviation = new Float32Array(end - start);
    for (let i = start; i < end; i++)
      deviation[i - start] = (this.model[i] as number) - (common[i] as number);
    const payload = syncCodec.encode(deviation, seed);
    if (block === undefined) this.sentSyncDeltas.clear();
    this.sentSyncDeltas.set(start, syncCodec.decode(payload, end - start));
    return payload;
  }

  applySync(payload: Uint8Array, counted: boolean, block?: SyncBlock): void {
    this.deviation = null;
    const { common, syncCodec } = this.requireLiec('applySync');
    const { start, end } = checkSyncBlock(block, this.length);
    const delta = decodeChecked(syncCodec, payload, end - start);
    const pending = this.sentSyncDeltas.get(start);
    const sent = counted && pending?.length === end - start ? pending : null;
    // What stays local: the part of x_i - x_common the aggregator did not receive
    // (the quantization error if counted, all of it if not). Nothing is dropped.
    for (let i = start; i < end; i++) {
      // In float32 steps, as the codec saw x_i - x_common: an exact (identity) sync keeps exactly 0.
      const deviation = Math.fround((this.model[i] as number) - (common[i] as number));
      const kept = Math.fround(deviation - (sent === null ? 0 : (sent[i - start] as number)));
      const synced = (common[i] as number) + (delta[i - start] as number);
      common[i] = synced;
      this.model[i] = synced + kept;
    }
    if (block === undefined) this.sentSyncDeltas.clear();
    else this.sentSyncDeltas.delete(start);
  }

  adoptModel(model: Float32Array): void {
    this.deviation = null;
    if (model.length !== this.length)
      throw new RangeError(`model has ${model.length} values, expected ${this.length}`);
    this.model = Float32Array.from(model);
    if (this.common !== null) this.common = Float32Array.from(model);
    this.optimizer = createOptimizer(this.options, this.length);
    if (this.commonOptimizer !== null) this.commonOptimizer = createOptimizer(this.options, this.length);
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
  return new Worker(options, initialModel);
}
