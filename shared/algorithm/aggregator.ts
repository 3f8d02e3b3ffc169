/**
 * The aggregator side, one implementation for every algorithm:
 *   v = mean(counted uploads) + e,  c = C_down(v),  e <- v - c
 * For doublesqueeze and liec this is the server-side error feedback of the method; for
 * sgd and ef-sgd (full-precision down) e only carries late uploads into the next round.
 * LIEC's sync also runs here: average the workers' deviations, flush e into the result.
 * With options.aggregation 'median' or { trimmed }, "mean" above is that robust statistic.
 * Sums are clamped to the float32 range: accepted uploads are finite, but a worker may send
 * values near 3.4e38, and v or e must never overflow to Inf (the encoder would refuse it).
 * A round allocates no model-sized vector: v lives in one buffer kept for the aggregator's
 * life, the mean goes into it and the broadcast is decoded back into it (decodeInto).
 */
import { FLOAT32_MAX, clampFloat32 } from '../compress/finite.ts';
import type { Compressor } from '../compress/types.ts';
import { sharedShare } from './compensation.ts';
import { decodeChecked, decodeCheckedInto, decodeCheckedSparseInto } from './decode.ts';
import { encodeSyncPayload } from './sync-payload.ts';
import { checkSyncBlock } from './sync-policy.ts';
import { combine, type Aggregation } from './robust.ts';
import type { OptimizerOptions } from './optimizer.ts';
import type {
  AggregatorAlgorithm,
  AlgorithmName,
  AlgorithmOptions,
  LocalStepOptions,
  SyncBlock,
} from './types.ts';
import { meanInto, subtract } from './vector.ts';

/** v += e, each sum clamped into the float32 range (a loop of its own: see vector.ts). */
function addClamped(v: Float32Array, e: Float32Array): Float32Array {
  for (let i = 0; i < v.length; i++) v[i] = clampFloat32((v[i] as number) + (e[i] as number));
  return v;
}

/**
 * out = mean([x]) + e in one pass, each sum clamped into the float32 range: addClamped after
 * meanInto of the one vector (0 + x), which is what the running mean of a round hands over.
 */
function addClampedInto(out: Float32Array, x: Float32Array, e: Float32Array): Float32Array {
  if (x.length !== out.length) throw new RangeError(`mean: length ${x.length} != ${out.length}`);
  // Clamping every sum costs as much as the sum: it is noted instead, and only a vector with a
  // sum out of range is summed again, clamped (within range the stored sums are the same).
  let outOfRange = false;
  for (let i = 0; i < out.length; i++) {
    const sum = 0 + (x[i] as number) + (e[i] as number);
    out[i] = sum;
    if (Math.abs(sum) > FLOAT32_MAX) outOfRange = true;
  }
  if (outOfRange)
    for (let i = 0; i < out.length; i++) out[i] = clampFloat32(0 + (x[i] as number) + (e[i] as number));
  return out;
}

/** Clamps every entry of x into the float32 range, in place. */
function clampAll(x: Float32Array): void {
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    if (v === Infinity || v === -Infinity) x[i] = clampFloat32(v);
  }
}

/**
 * e[i] -= c[i] at the positions of `support` (the only ones where c may be nonzero), each
 * difference clamped into the float32 range: subtract and clampAll over the whole vector,
 * where e - 0 leaves every other entry as it is.
 */
function subtractAt(e: Float32Array, c: Float32Array, support: Uint32Array): void {
  for (let j = 0; j < support.length; j++) {
    const i = support[j] as number;
    e[i] = (e[i] as number) - (c[i] as number);
    const d = e[i] as number;
    if (d === Infinity || d === -Infinity) e[i] = clampFloat32(d);
  }
}

/**
 * How far one unit of the aggregator's error e moves a model once it has gone through the
 * peers' optimizer: eta / (1 - momentum), heavy ball's total response to one step (eta without
 * momentum). A LIEC sync flushes e into the model by this much, as the broadcasts would have
 * delivered it; eta alone would drop 90% of e at momentum 0.9.
 */
export function syncFlushStep(options: OptimizerOptions & { local?: LocalStepOptions }): number {
  // With local steps, broadcasts go through the outer step (liec-local.ts): e moves by that.
  if (options.local !== undefined) return options.local.outerLearningRate / (1 - options.local.outerMomentum);
  return options.learningRate / (1 - (options.momentum ?? 0));
}

class Aggregator implements AggregatorAlgorithm {
  readonly algorithm: AlgorithmName;
  error: Float32Array;
  private readonly length: number;
  private readonly up: Compressor;
  private readonly down: Compressor;
  private readonly syncCodec: Compressor | null;
  /** How far a sync moves the model per unit of e (syncFlushStep). */
  private readonly flushStep: number;
  /** sgd keeps no compression error (it is the no-feedback baseline); the others do. */
  private readonly keepsCompressionError: boolean;
  private readonly aggregation: Aggregation;
  /**
   * v of a round (or a sync's block) and then what the peers decode of it: written and read
   * only within one aggregate() or aggregateSync() call, never handed out (the uploads, the
   * payload and `error` are separate arrays), so reusing it from round to round is safe.
   */
  private readonly v: Float32Array;

  constructor(options: AlgorithmOptions, length: number) {
    this.algorithm = options.algorithm;
    this.length = length;
    this.up = options.up;
    this.down = options.down;
    this.flushStep = syncFlushStep(options);
    this.syncCodec = options.algorithm === 'liec' ? (options.sync?.codec ?? null) : null;
    this.keepsCompressionError = options.algorithm !== 'sgd';
    this.aggregation = options.aggregation ?? 'mean';
    this.error = new Float32Array(length);
    this.v = new Float32Array(length);
  }

  /** The combined uploads (or deltas) into this.v's first `length` entries. */
  private combineIntoV(vectors: readonly Float32Array[], length: number): Float32Array {
    const v = this.v.subarray(0, length);
    // A robust statistic sorts every coordinate's values: its own buffers, a rare mode.
    if (this.aggregation === 'mean') return meanInto(vectors, v);
    v.set(combine(vectors, length, this.aggregation));
    return v;
  }

  decodeUpload(payload: Uint8Array, into?: Float32Array): Float32Array {
    if (into === undefined) return decodeChecked(this.up, payload, this.length);
    if (into.length !== this.length)
      throw new RangeError(`upload vector has ${into.length} values, the model ${this.length}`);
    return decodeCheckedInto(this.up, payload, into);
  }

  decodeUploadSparse(payload: Uint8Array, into: Float32Array): Uint32Array | null {
    if (into.length !== this.length)
      throw new RangeError(`upload vector has ${into.length} values, the model ${this.length}`);
    return decodeCheckedSparseInto(this.up, payload, into);
  }

  aggregate(uploads: readonly Float32Array[], seed: number): Uint8Array {
    const error = this.error;
    const only = uploads.length === 1 && this.aggregation === 'mean' ? (uploads[0] as Float32Array) : null;
    // A real aggregator hands over one running mean (client/roles/running-mean.ts).
    const v =
      only !== null
        ? addClampedInto(this.v, only, error)
        : addClamped(this.combineIntoV(uploads, this.length), error);
    const payload = this.down.encode(v, seed);
    if (!this.keepsCompressionError) {
      error.fill(0);
      return payload;
    }
    // e <- v - C(v) with one buffer: e takes v (exact: both float32), then v takes what the
    // peers decode, then e - that: the same float32 operations as subtract(e, v, sent), only
    // where a sparse codec put values (e - 0 is e).
    error.set(v);
    const support = this.down.decodeSparseInto?.(payload, v) ?? null;
    if (support !== null) subtractAt(error, v, support);
    else clampAll(subtract(error, error, this.down.decodeInto(payload, v)));
    return payload;
  }

  foldLate(upload: Float32Array, countedInRound: number): void {
    if (upload.length !== this.length) throw new RangeError(`late upload has ${upload.length} values`);
    // Folded linearly, a late upload would bypass a robust statistic: robust modes drop it.
    if (this.aggregation !== 'mean') return;
    // As if it had been one more member of its round: weight 1/|S_t|, never lost.
    const weight = 1 / Math.max(1, countedInRound);
    for (let i = 0; i < this.length; i++)
      this.error[i] = clampFloat32((this.error[i] as number) + weight * (upload[i] as number));
  }

  decodeSync(payload: Uint8Array, block?: SyncBlock): Float32Array {
    const { start, end } = checkSyncBlock(block, this.length);
    return decodeChecked(this.requireSyncCodec(), payload, end - start);
  }

  aggregateSync(deltas: readonly Float32Array[], seed: number, block?: SyncBlock): Uint8Array {
    const codec = this.requireSyncCodec();
    const { start, end } = checkSyncBlock(block, this.length);
    const step = this.flushStep;
    const error = this.error.subarray(start, end);
    // Synced model = x_common + mean(x_i - x_common) - step * e: e is flushed into the model
    // (a rolling sync's slice flushes e on its block only); step = eta / (1 - momentum).
    const v = this.combineIntoV(deltas, end - start);
    for (let i = 0; i < v.length; i++) v[i] = clampFloat32((v[i] as number) - step * (error[i] as number));
    const body = codec.encode(v, seed);
    // e's block is flushed into v above and rewritten below: it holds what the peers decode
    // in between (exact float32 values), so no vector is allocated for it.
    const sent = codec.decodeInto(body, error);
    // What quantization kept back stays in e (model units / -step), so nothing is lost.
    for (let i = 0; i < v.length; i++)
      error[i] = clampFloat32(-((v[i] as number) - (sent[i] as number)) / step);
    // How much of their deviations the workers share: 'auto' workers set alpha from it.
    return encodeSyncPayload(sharedShare(deltas), body);
  }

  private requireSyncCodec(): Compressor {
    if (this.syncCodec === null)
      throw new Error(`model sync is only defined for liec (algorithm: ${this.algorithm})`);
    return this.syncCodec;
  }
}

export function createAggregator(options: AlgorithmOptions, length: number): AggregatorAlgorithm {
  return new Aggregator(options, length);
}
