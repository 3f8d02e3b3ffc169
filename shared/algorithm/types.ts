/**
 * The algorithm contract shared by the simulator and the real peers. Both run the very
 * same objects: a WorkerAlgorithm per worker, one AggregatorAlgorithm at the aggregator.
 * Everything is pure computation over Float32Array and compressor payloads; rounds,
 * deadlines and networks live in the callers.
 *
 * One round, as the callers drive it:
 *   worker:     repeat w.localSteps - 1 times: w.localStep(gradientAt(w.model))
 *               upload = w.prepareUpload(gradientAt(w.model), seed)
 *   aggregator: vectors = uploads.map(a.decodeUpload); broadcast = a.aggregate(vectors, seed)
 *               late ones: a.foldLate(a.decodeUpload(late), countedInThatRound)
 *   worker:     w.applyBroadcast(broadcast)
 * A LIEC sync (every H rounds or when drift calls for it):
 *   worker: s = w.prepareSync(seed); aggregator: b = a.aggregateSync(ss.map(a.decodeSync), seed);
 *   worker: w.applySync(b, counted)
 */
import type { Compressor } from '../compress/types.ts';
import type { AdaptiveRatioSettings } from './adaptive-ratio.ts';
import type { OptimizerOptions } from './optimizer.ts';
import type { Aggregation } from './robust.ts';

export type { Aggregation } from './robust.ts';

export const ALGORITHM_NAMES = [
  'sgd',
  'ef-sgd',
  'doublesqueeze',
  'liec',
  'fedavg',
  'diloco',
  'sparseloco',
] as const;
export type AlgorithmName = (typeof ALGORITHM_NAMES)[number];

/** The baselines that take H local steps per round and upload a pseudo-gradient (local-steps.ts). */
export const LOCAL_STEP_ALGORITHMS = ['fedavg', 'diloco', 'sparseloco'] as const;
export type LocalStepAlgorithm = (typeof LOCAL_STEP_ALGORITHMS)[number];

/**
 * The local-step baselines' settings. Each worker takes `steps` inner optimizer steps
 * (learningRate, momentum, weightDecay) from the round's common model, uploads the
 * pseudo-gradient (common - local), and every peer applies the round's broadcast with the
 * outer optimizer.
 */
export interface LocalStepOptions {
  /** H: inner steps per round (a gradient each). @default 1 */
  steps: number;
  /** Outer step size. @default 1 (fedavg, sparseloco: plain averaging), 0.7 (diloco) */
  outerLearningRate: number;
  /**
   * Outer momentum in [0, 1): Nesterov for the baselines, heavy ball for liec (its optimizer.ts
   * steps). @default 0 (fedavg, sparseloco, liec), 0.9 (diloco)
   */
  outerMomentum: number;
  /**
   * sparseloco: decay beta of each worker's error-feedback memory, e <- beta e + delta; it
   * plays the part of outer momentum there. @default 0.95 (0 for the others: no memory)
   */
  feedbackDecay: number;
}

/** A contiguous range [start, end) of model coordinates (a rolling sync's slice). */
export interface SyncBlock {
  start: number;
  end: number;
}

/**
 * 'full': every H rounds, a sync phase between two rounds moves the whole model (the
 * rounds wait for it). 'rolling': every round syncs one H-th of the coordinates
 * (syncBlock), its slices sent alongside the round's upload and broadcast, so no round
 * waits for a sync; each coordinate is still synced every H rounds.
 */
export type SyncMode = 'full' | 'rolling';

export interface SyncOptions {
  /**
   * Full syncs every `period` rounds, or a rolling sync of one block per round.
   * @default 'full'
   */
  mode?: SyncMode;
  /**
   * H: a full sync at least every H rounds (LIEC only); 0 turns periodic syncs off.
   * @default DEFAULT_SYNC_PERIOD (20)
   */
  period: number;
  /**
   * Codec for the sync deltas, both ways. `identity` is exact; any other codec (`sign:256`,
   * `q4`, `q8`) keeps its compression error compensated (the worker keeps what was not
   * sent, the aggregator's down error goes into e), so the mean-model invariant still holds.
   * @default DEFAULT_SYNC_CODEC ('sign:256')
   */
  codec: Compressor;
  /**
   * Relative drift that triggers an early sync: when the mean over workers of
   * ||x_i - x_common||^2 / ||x_common||^2 exceeds it. Undefined: clock only.
   * @default undefined
   */
  driftThreshold?: number;
}

/**
 * LIEC's compensation strength alpha: the share of its own compression residual r_i that a
 * worker applies to its model in the same round (c + alpha r_i); the rest, (1 - alpha) r_i,
 * it keeps as error feedback and adds to its next upload, so nothing is dropped. 1 is the
 * paper's LIEC; 0 leaves every worker on x_common (DoubleSqueeze). 'auto' starts at 0 and,
 * at every sync, takes the share of what the workers owe that they have in common, as the
 * aggregator measured it (compensation.ts): high when the peers' data look alike, near 0
 * when each peer's residual points its own way (label-skewed data), where applying it moves
 * a peer's model away from everyone else's.
 */
export type Compensation = number | 'auto';

export interface AlgorithmOptions extends OptimizerOptions {
  algorithm: AlgorithmName;
  /**
   * LIEC compensation strength (Compensation).
   * @default DEFAULT_COMPENSATION ('auto')
   */
  compensation?: Compensation;
  /**
   * Worker-to-aggregator compressor C_up. With `adaptiveUp` (spec "topk:auto") it is a top-k
   * compressor at maxRatio that decodes every round's upload; each worker encodes with the
   * ratio it picks for the round (prepareUpload's `up`).
   */
  up: Compressor;
  /** Set by the "topk:auto" up spec: each worker sizes its upload per round (adaptive-ratio.ts). */
  adaptiveUp?: AdaptiveRatioSettings;
  /** Aggregator-to-worker compressor C_down (must be identity for ef-sgd). */
  down: Compressor;
  /** LIEC's model sync; ignored by the other algorithms, whose models never drift. */
  sync?: SyncOptions;
  /** Set for fedavg, diloco and sparseloco, and for liec with H > 1 (liec-local.ts). */
  local?: LocalStepOptions;
  /**
   * How the aggregator combines a round's uploads (and LIEC's sync deltas): the mean, or a
   * coordinate-wise median or trimmed mean against poisoned workers (see robust.ts; dense
   * up codecs only). The robust ones drop late uploads instead of folding them into e, since
   * folding would let them past the robust statistic.
   * @default 'mean'
   */
  aggregation?: Aggregation;
}

export interface WorkerAlgorithm {
  readonly algorithm: AlgorithmName;
  /**
   * Gradients per round: the caller computes localSteps - 1 of them, each at the current
   * `model`, and hands each to localStep, then the last one to prepareUpload (1 but for
   * the local-step baselines and liec with H > 1).
   */
  readonly localSteps: number;
  /** One inner optimizer step of `model` (local-step algorithms; throws for the others). */
  localStep(gradient: Float32Array): void;
  /**
   * Live view of this worker's model x_i: compute the next gradient at these weights. Written
   * from outside only right after adoptModel (a checkpoint's x_i): the worker caches
   * deviationSq from its own updates.
   */
  readonly model: Float32Array;
  /**
   * Compresses this round's gradient (computed at `model`) into the upload payload, with
   * `up` when given (topk:auto: this round's ratio; it must decode with options.up), else
   * with options.up.
   */
  prepareUpload(gradient: Float32Array, seed: number, up?: Compressor): Uint8Array;
  /** True between prepareUpload and the applyBroadcast that consumes it. */
  readonly hasPendingUpload: boolean;
  /** Applies the round's broadcast; throws CodecError on a malformed payload (model untouched). */
  applyBroadcast(payload: Uint8Array): void;
  /** ||x_i - x_common||^2: how far this worker's own residuals moved it (0 but for LIEC). */
  deviationSq(): number;
  /**
   * A copy of the part of the model all workers share (x_common; the model itself but for
   * LIEC): into `into` (the model's length) when given, else a new vector.
   */
  commonModel(into?: Float32Array): Float32Array;
  /** LIEC: encodes x_i - x_common for a sync (of `block` only, for a rolling sync's slice). */
  prepareSync(seed: number, block?: SyncBlock): Uint8Array;
  /**
   * LIEC: adopts the synced model (on `block` only, for a slice); `counted` says whether this
   * worker's sync upload of it was used.
   */
  applySync(payload: Uint8Array, counted: boolean, block?: SyncBlock): void;
  /**
   * LIEC: the session's last sync. Adopts the synced model and drops what it kept of its own
   * deviation, counted or not, so every peer that applied the same broadcasts ends on the
   * bit-identical model x_common + delta.
   */
  applyFinalSync(payload: Uint8Array): void;
  /** LIEC: the compensation strength alpha in force (1 for the paper's LIEC; 0 for the others). */
  readonly compensation: number;
  /**
   * Starts over from a given model (late joiner, returning worker): no momentum; with
   * `keepOwn` a LIEC worker keeps, on top of it, what it owes x_common (its deviation, memory
   * and pending residual, as a sync would carry them), else it drops them.
   */
  adoptModel(model: Float32Array, options?: AdoptOptions): void;
}

export interface AdoptOptions {
  /**
   * LIEC: keep this worker's own gradient mass that x_common lacks (x_i - x_common - step d and
   * a residual not yet applied), moved onto the adopted model: gradients it computed that no
   * other peer has yet, so a re-adoption after a failover does not lose them. False: an
   * operator's rollback or the final model, where everyone must start from the model alone.
   * Ignored by the other algorithms. @default false
   */
  keepOwn?: boolean;
}

export interface AggregatorAlgorithm {
  readonly algorithm: AlgorithmName;
  /** Persistent error e (units of a gradient); read-only view for status and tests. */
  readonly error: Float32Array;
  /**
   * Decodes and checks one upload (codec, length, finite values); throws CodecError. Into
   * `into` (the model's length, reused by the caller) when given, else into a new vector.
   */
  decodeUpload(payload: Uint8Array, into?: Float32Array): Float32Array;
  /**
   * decodeUpload into `into`, returning where a sparse up codec (top-k) put the upload's values
   * (ascending, each once; every other entry is zero), or null for a dense codec: the caller
   * can then sum and average the upload in O(k) (RunningMean, StandIns).
   */
  decodeUploadSparse(payload: Uint8Array, into: Float32Array): Uint32Array | null;
  /** v = mean(uploads) + e, c = C_down(v), e <- v - c; returns c's payload. */
  aggregate(uploads: readonly Float32Array[], seed: number): Uint8Array;
  /** Folds an upload that missed its round into e, weighted as a member of that round. */
  foldLate(upload: Float32Array, countedInRound: number): void;
  /** Decodes and checks one sync upload (of `block`'s length for a slice); throws CodecError. */
  decodeSync(payload: Uint8Array, block?: SyncBlock): Float32Array;
  /**
   * LIEC sync: the delta every worker adds to x_common (on `block`); flushes e (there) into it.
   * The payload starts with the deltas' measured agreement (sync-payload.ts).
   */
  aggregateSync(deltas: readonly Float32Array[], seed: number, block?: SyncBlock): Uint8Array;
}
