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
 *
 * Memory: x_common and its optimizer live in a CommonModel (common-model.ts), a real peer's
 * own, or one for all the workers of a WorkerGroup (the simulator's virtual workers). The
 * model of sgd, ef-sgd and doublesqueeze IS x_common: such a worker holds at most d. A LIEC
 * worker of a group holds x_i only once its residuals moved it off x_common (a > 0), and with
 * statePrecision 'f16' holds d and x_i - x_common in float16 (state-vector.ts, own-step.ts).
 */
import type { Compressor } from '../compress/types.ts';
import { syncFlushStep } from './aggregator.ts';
import { CommonModel, Scratch } from './common-model.ts';
import { AUTO_COMPENSATION_INITIAL, nextCompensation } from './compensation.ts';
import { decodeChecked, decodeCheckedSparseInto } from './decode.ts';
import { decodeSyncPayload } from './sync-payload.ts';
import { checkSyncBlock } from './sync-policy.ts';
import { InnerSteps, liecOuterOptions } from './liec-local.ts';
import { createLocalStepWorker, isLocalStepAlgorithm } from './local-steps.ts';
import {
  createOptimizer,
  validateOptimizerOptions,
  type OptimizerOptions,
  type Stepped,
} from './optimizer.ts';
import { OwnOffset, stepOwn } from './own-step.ts';
import { createStateVector, type StatePrecision, type StateVector } from './state-vector.ts';
import type { AdoptOptions, AlgorithmName, AlgorithmOptions, SyncBlock, WorkerAlgorithm } from './types.ts';
import { add, copyOf, distanceSq, subtract } from './vector.ts';

/**
 * Workers that share one CommonModel: the simulator's virtual workers, which all apply every
 * broadcast and sync in the same order (anything else throws). Their `model` is then a view
 * that stays valid only until another worker of the group applies something or, with 'f16',
 * is asked for its model; and they cannot adoptModel.
 */
export interface WorkerGroup {
  readonly common: CommonModel;
  readonly statePrecision: StatePrecision;
}

export interface WorkerGroupSettings {
  /**
   * How each worker stores its error-feedback memory and LIEC's x_i - x_common: 'f32' gives a
   * real peer's bits; 'f16' half the bytes, rounded (not for liec with local steps).
   * @default 'f32'
   */
  statePrecision?: StatePrecision;
}

/**
 * LIEC's residual split, in one pass: r = corrected - sent, alpha r into `corrected` (applied
 * at once, returned) and r - alpha r into `feedback` (sent later). A loop of its own: see
 * vector.ts.
 */
function splitResidual(
  corrected: Float32Array,
  sent: Float32Array,
  alpha: number,
  feedback: Float32Array,
): Float32Array {
  for (let i = 0; i < corrected.length; i++) {
    const r = Math.fround((corrected[i] as number) - (sent[i] as number));
    const applied = Math.fround(alpha * r);
    feedback[i] = r - applied;
    corrected[i] = applied;
  }
  return corrected;
}

/** A group for createWorker; every worker of it starts from `initialModel`. */
export function createWorkerGroup(
  options: AlgorithmOptions,
  initialModel: Float32Array,
  settings: WorkerGroupSettings = {},
): WorkerGroup {
  const statePrecision = settings.statePrecision ?? 'f32';
  if (statePrecision === 'f16' && options.algorithm === 'liec' && options.local !== undefined)
    throw new RangeError('state precision f16 is for one step per round: liec with local steps keeps f32');
  const stepOptions = options.local === undefined ? options : liecOuterOptions(options.local);
  return { common: new CommonModel(initialModel, stepOptions, { shared: true }), statePrecision };
}

class Worker implements WorkerAlgorithm {
  readonly algorithm: AlgorithmName;
  readonly localSteps: number;
  private readonly length: number;
  private readonly up: Compressor;
  private readonly down: Compressor;
  private readonly syncCodec: Compressor | null;
  /** What applies broadcasts: the session's optimizer, or the outer step with local steps. */
  private readonly stepOptions: OptimizerOptions;
  /** liec with H > 1: the exchange's inner steps (null otherwise). */
  private readonly inner: InnerSteps | null;
  /** x_common and its optimizer (this worker's, or its group's). */
  private readonly common: CommonModel;
  /** Operations (broadcasts, syncs) this worker applied: its place in the common model's sequence. */
  private position = 0;
  /** A real peer, or a worker with local steps (which moves its live model in place): x_i always held. */
  private readonly eager: boolean;
  /**
   * LIEC, f32: x_i and its optimizer; null while both are x_common's bit for bit (in a group
   * only: then `model` is x_common).
   */
  private own: Stepped | null;
  /** LIEC, f16: x_i as its offset from x_common. */
  private readonly offset: OwnOffset | null;
  /**
   * Error-feedback memory d_i (ef-sgd, doublesqueeze; liec with alpha < 1: the residual not
   * applied at once); persists across rounds.
   */
  private readonly feedback: StateVector | null;
  /** LIEC: alpha, the share of its residual applied at once (fixed, or 'auto' from each sync). */
  compensation: number;
  private readonly autoCompensation: boolean;
  /** How far one unit of the memory moves a model through the optimizer (syncFlushStep). */
  private readonly flushStep: number;
  /** LIEC, f32: this round's residual alpha r_i, consumed by the next broadcast. */
  private residual: Float32Array | null = null;
  /**
   * A real peer's vector for each round's corrected gradient (workVector), kept across rounds:
   * no model-sized allocation per round. Null until first used, and in a group.
   */
  private ownWork: Float32Array | null = null;
  /** A real peer's zero residual, for a broadcast of a round it sat out (allocated when first needed). */
  private zeros: Float32Array | null = null;
  private pending = false;
  /**
   * LIEC: each pending sync upload's payload, by block start (0 for a full sync), so a counted
   * sync keeps only its quantization error. A rolling sync has one block in flight at a time;
   * one whose answer never comes is replaced H rounds later: as if not counted.
   */
  private readonly sentSyncs = new Map<number, { payload: Uint8Array; length: number }>();
  /**
   * LIEC: ||x_i - x_common||^2 as the last step measured it; null once anything else moved
   * either model (a sync, adoptModel), and then measured again when asked.
   */
  private deviation: number | null = null;

  constructor(options: AlgorithmOptions, initialModel: Float32Array, group: WorkerGroup | null) {
    this.algorithm = options.algorithm;
    this.length = initialModel.length;
    this.up = options.up;
    this.down = options.down;
    const isLiec = this.algorithm === 'liec';
    const local = isLiec ? options.local : undefined;
    this.localSteps = local?.steps ?? 1;
    // A real peer keeps its per-round vectors; a group's virtual workers allocate them per use.
    this.inner =
      local === undefined ? null : new InnerSteps(options, this.length, { keepBuffers: group === null });
    this.stepOptions = local === undefined ? options : liecOuterOptions(local);
    this.common = group?.common ?? new CommonModel(initialModel, this.stepOptions, { shared: false });
    if (this.common.length !== this.length)
      throw new RangeError(`model has ${this.length} values, the group's ${this.common.length}`);
    const precision = group?.statePrecision ?? 'f32';
    this.eager = group === null || this.inner !== null;
    this.own =
      isLiec && precision === 'f32' && this.eager
        ? {
            model: Float32Array.from(initialModel),
            optimizer: createOptimizer(this.stepOptions, this.length),
          }
        : null;
    const scratch = (slot: number) => () => this.common.scratch(slot);
    this.offset =
      isLiec && precision === 'f16'
        ? new OwnOffset(this.length, validateOptimizerOptions(this.stepOptions), (slot) =>
            this.common.scratch(slot === 0 ? Scratch.offset : Scratch.offsetVelocity),
          )
        : null;
    const setting = options.compensation ?? 'auto';
    this.autoCompensation = isLiec && setting === 'auto';
    this.flushStep = syncFlushStep(options);
    this.compensation = !isLiec ? 0 : setting === 'auto' ? AUTO_COMPENSATION_INITIAL : setting;
    const usesFeedback = this.algorithm === 'ef-sgd' || this.algorithm === 'doublesqueeze';
    // An 'auto' LIEC worker may lower alpha at any sync, so it keeps the memory from the start.
    const liecFeedback = isLiec && (this.autoCompensation || this.compensation < 1);
    this.feedback =
      usesFeedback || liecFeedback
        ? createStateVector(precision, this.length, scratch(Scratch.feedback))
        : null;
    this.syncCodec = isLiec ? (options.sync?.codec ?? null) : null;
  }

  /** Live view of x_i (see WorkerGroup for a group's). */
  get model(): Float32Array {
    // During an exchange's inner steps: x_local, where the next gradient is computed.
    if (this.own !== null) return this.inner === null ? this.own.model : this.inner.liveModel(this.own.model);
    this.requireCurrent('model');
    if (this.offset === null || this.offset.isZero) return this.common.model;
    return this.offset.modelInto(this.common.model, this.common.scratch(Scratch.model));
  }

  get hasPendingUpload(): boolean {
    return this.pending;
  }

  localStep(gradient: Float32Array): void {
    if (this.inner === null || this.own === null)
      throw new Error(`${this.algorithm} takes one gradient per round: no local steps`);
    if (this.pending) throw new Error('localStep called between prepareUpload and applyBroadcast');
    this.inner.step(this.own.model, gradient);
  }

  prepareUpload(gradient: Float32Array, seed: number, roundUp?: Compressor): Uint8Array {
    const up = roundUp ?? this.up;
    if (gradient.length !== this.length) {
      throw new RangeError(`gradient has ${gradient.length} values, model has ${this.length}`);
    }
    if (this.pending) throw new Error('prepareUpload called twice without applyBroadcast in between');
    this.requireCurrent('prepareUpload');
    let payload: Uint8Array;
    switch (this.algorithm) {
      case 'sgd':
        payload = up.encode(gradient, seed);
        break;
      case 'ef-sgd':
      case 'doublesqueeze': {
        const memory = this.feedback as StateVector;
        const feedback = memory.view();
        const corrected = add(this.workVector(false), gradient, feedback);
        payload = up.encode(corrected, seed);
        memory.commit(subtract(feedback, corrected, this.decodeOwn(up, payload)));
        break;
      }
      case 'liec': {
        const memory = this.feedback;
        const feedback = memory?.view() ?? null;
        // f32: x_i takes alpha r with the broadcast; f16: the offset takes it now.
        const kept = this.offset === null && (this.own !== null || this.compensation > 0);
        // u = g + d. With local steps g is the pseudo-gradient x_i - x_local, computed in the
        // same pass as the last inner step (liec-local.ts) into a vector of the worker's own
        // that r may overwrite.
        const corrected =
          this.inner !== null && this.own !== null
            ? this.inner.finish(this.own.model, gradient, feedback)
            : feedback === null
              ? gradient
              : add(this.workVector(kept), gradient, feedback);
        payload = up.encode(corrected, seed);
        const sent = this.decodeOwn(up, payload);
        if (memory === null || feedback === null) {
          // r = u - C(u), all of it applied (the caller's gradient is not written over).
          const into = corrected === gradient ? this.workVector(kept) : corrected;
          this.keepResidual(subtract(into, corrected, sent));
          break;
        }
        // alpha r now (immediate compensation), the rest of r sent later.
        const residual = splitResidual(corrected, sent, this.compensation, feedback);
        memory.commit(feedback);
        this.keepResidual(residual);
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

  /**
   * A vector for this round's corrected gradient. A real peer's own, reused every round: at
   * most one is alive (kept as the residual until the broadcast consumes it, and no upload is
   * prepared before that). In a group a fresh one when it is kept until the broadcast, else the
   * group's scratch (1,000 virtual workers' worth of garbage less per round).
   */
  private workVector(kept: boolean): Float32Array {
    if (!this.common.shared) return (this.ownWork ??= new Float32Array(this.length));
    if (kept) return new Float32Array(this.length);
    return this.common.scratch(Scratch.work);
  }

  /** What this worker's own upload decodes to (its compression error is measured against it), in a scratch. */
  private decodeOwn(up: Compressor, payload: Uint8Array): Float32Array {
    return up.decodeInto(payload, this.common.scratch(Scratch.decoded));
  }

  /** LIEC: where this round's applied residual alpha r goes until the broadcast. */
  private keepResidual(residual: Float32Array): void {
    if (this.offset !== null) {
      // f16: into the offset now (own-step.ts), so no worker keeps a residual vector.
      if (this.compensation > 0 || !this.offset.isZero) this.deviation = this.offset.applyResidual(residual);
      return;
    }
    // alpha = 0: the residual is all zeros (of either sign), and x_i stays x_common.
    if (this.own === null && this.compensation === 0) return;
    this.own ??= this.ownFromCommon();
    this.residual = residual;
  }

  /** x_i leaves x_common: a copy of it and of its optimizer's momentum. */
  private ownFromCommon(): Stepped {
    const optimizer = createOptimizer(this.stepOptions, this.length);
    const velocity = this.common.optimizer.velocity;
    if (velocity !== null) optimizer.velocity?.set(velocity);
    return { model: Float32Array.from(this.common.model), optimizer };
  }

  applyBroadcast(payload: Uint8Array): void {
    // Only a sparse broadcast's k values can be non-finite: checked in O(k) (decode.ts).
    const decode = (): Float32Array => {
      const out = this.common.shared ? new Float32Array(this.length) : this.common.scratch(Scratch.decoded);
      decodeCheckedSparseInto(this.down, payload, out);
      return out;
    };
    const own = this.own;
    if (own !== null && !this.common.shared) {
      // A real peer: x_common takes c and x_i takes c + alpha r, its own compression error
      // this very round (immediate compensation), in one pass that also measures the drift.
      this.deviation = this.common.broadcastWithOwn(
        this.position,
        payload,
        decode,
        own,
        this.residual ?? (this.zeros ??= new Float32Array(this.length)),
      );
      this.residual = null;
    } else {
      // A group keeps the decoded broadcast for its other workers.
      const broadcast = this.common.broadcast(this.position, payload, decode);
      if (own !== null) {
        this.deviation = stepOwn(own, this.common.model, broadcast, this.residual);
        this.residual = null;
      } else if (this.offset !== null) {
        // f16: the residual went in at the upload; one that sat the round out still moves by its
        // offset's momentum and decay.
        if (!this.pending) this.deviation = this.offset.applyResidual(null);
      } else this.deviation = null;
    }
    this.position++;
    this.pending = false;
  }

  deviationSq(): number {
    if (this.algorithm !== 'liec') return 0;
    if (this.deviation !== null) return this.deviation;
    if (this.offset !== null) this.deviation = this.offset.normSq();
    else if (this.own === null) this.deviation = 0;
    else {
      this.requireCurrent('deviationSq');
      this.deviation = distanceSq(this.own.model, this.common.model);
    }
    return this.deviation;
  }

  commonModel(into?: Float32Array): Float32Array {
    return copyOf(this.common.model, into);
  }

  /**
   * What a sync sends on [start, end): x_i - x_common, and with an error-feedback memory also
   * the model step it still owes (-step d_i): all of this worker's gradient mass that x_common
   * lacks. Sending the memory too makes what the aggregator measures (compensation.ts) the
   * same whatever alpha is, and a sync then delivers the memories as well. `base`: x_common
   * on the block (before a sync that is being applied).
   */
  private unsynced(start: number, end: number, base: Float32Array): Float32Array {
    const out = new Float32Array(end - start);
    const feedback = this.feedback?.view() ?? null;
    const offset = this.offset?.view() ?? null;
    const own = this.own?.model ?? null;
    const step = this.flushStep;
    for (let i = start; i < end; i++) {
      // x_i that is x_common: exactly +0, as x - x is.
      const deviation =
        own !== null
          ? (own[i] as number) - (base[i - start] as number)
          : offset === null
            ? 0
            : (offset[i] as number);
      out[i - start] = feedback === null ? deviation : deviation - step * (feedback[i] as number);
    }
    return out;
  }

  prepareSync(seed: number, block?: SyncBlock): Uint8Array {
    const { syncCodec } = this.requireLiec('prepareSync');
    this.requireCurrent('prepareSync');
    const { start, end } = checkSyncBlock(block, this.length);
    const payload = syncCodec.encode(this.unsynced(start, end, this.common.model.subarray(start, end)), seed);
    if (block === undefined) this.sentSyncs.clear();
    // The payload, not its decode: N virtual workers' decoded deltas would be N vectors.
    this.sentSyncs.set(start, { payload, length: end - start });
    return payload;
  }

  applySync(payload: Uint8Array, counted: boolean, block?: SyncBlock): void {
    this.deviation = null;
    const { syncCodec } = this.requireLiec('applySync');
    const { start, end } = checkSyncBlock(block, this.length);
    const { delta, before } = this.applySyncToCommon(payload, start, end);
    const pending = this.sentSyncs.get(start);
    const sent =
      counted && pending?.length === end - start ? syncCodec.decode(pending.payload, end - start) : null;
    // What stays local: the part of what it owes the aggregator did not receive (the
    // quantization error if counted, all of it if not), split as every residual is: alpha of
    // it in the model, the rest in the memory. Nothing is dropped.
    const unsynced = this.unsynced(start, end, before);
    const memory = this.feedback;
    const feedback = memory?.view() ?? null;
    const alpha = this.compensation;
    const step = this.flushStep;
    // x_i keeps an own part on the block unless alpha = 0 (a memory takes it all).
    if (this.own === null && this.offset === null && (feedback === null || alpha > 0))
      this.own = this.ownFromCommon();
    const model = this.own?.model ?? this.offset?.view() ?? null;
    // The offset's block starts at 0 (x_common's part is not in it).
    const base = this.offset !== null ? null : before;
    for (let i = start; i < end; i++) {
      // In float32 steps, as the codec saw it: an exact (identity) sync keeps exactly 0.
      const owed = Math.fround(unsynced[i - start] as number);
      const kept = Math.fround(owed - (sent === null ? 0 : (sent[i - start] as number)));
      const synced = base === null ? 0 : (base[i - start] as number) + (delta[i - start] as number);
      if (feedback === null) {
        if (model !== null) model[i] = synced + kept;
        continue;
      }
      const local = Math.fround(alpha * kept);
      if (model !== null) model[i] = synced + local;
      feedback[i] = -(kept - local) / step;
    }
    if (memory !== null && feedback !== null) memory.commit(feedback);
    if (this.offset !== null && model !== null) this.offset.commit(model);
    this.dropOwnIfCommon();
    if (block === undefined) this.sentSyncs.clear();
    else this.sentSyncs.delete(start);
  }

  applyFinalSync(payload: Uint8Array): void {
    this.deviation = null;
    this.requireLiec('applyFinalSync');
    this.applySyncToCommon(payload, 0, this.length);
    // What each worker kept differs from peer to peer: dropped, so all end on one model.
    this.own?.model.set(this.common.model);
    this.offset?.clearOffset();
    this.feedback?.clear();
    this.dropOwnIfCommon();
    this.sentSyncs.clear();
  }

  /** A group's x_i that is x_common again (and its momentum too) is not kept twice. */
  private dropOwnIfCommon(): void {
    const own = this.own;
    if (this.eager || own === null || own.optimizer.velocity !== null) return;
    const x = own.model;
    const y = this.common.model;
    for (let i = 0; i < x.length; i++) if (!Object.is(x[i], y[i])) return;
    this.own = null;
  }

  /**
   * A sync broadcast's delta on [start, end), added to x_common once for a group, after
   * adopting its measured share ('auto'). Returns the delta and x_common's block before it.
   */
  private applySyncToCommon(
    payload: Uint8Array,
    start: number,
    end: number,
  ): { delta: Float32Array; before: Float32Array } {
    const { syncCodec } = this.requireLiec('a sync');
    const { shared, body } = decodeSyncPayload(payload);
    const applied = this.common.sync(this.position, payload, start, end, () =>
      decodeChecked(syncCodec, body, end - start),
    );
    this.position++;
    if (this.autoCompensation) this.compensation = nextCompensation(shared, this.compensation);
    return applied;
  }

  adoptModel(model: Float32Array, options: AdoptOptions = {}): void {
    this.deviation = null;
    if (model.length !== this.length)
      throw new RangeError(`model has ${model.length} values, expected ${this.length}`);
    const owed =
      options.keepOwn === true && this.algorithm === 'liec' && this.own !== null ? this.owed() : null;
    this.common.reset(model);
    this.position = 0;
    if (this.own !== null)
      this.own = {
        model: Float32Array.from(model),
        optimizer: createOptimizer(this.stepOptions, this.length),
      };
    this.inner?.reset();
    this.feedback?.clear();
    this.residual = null;
    this.pending = false;
    this.sentSyncs.clear();
    if (owed !== null) this.keepOwed(owed);
  }

  /**
   * LIEC: all this worker's own gradient mass that x_common lacks, in model units: what a
   * sync would send (unsynced) and a residual still waiting for its broadcast.
   */
  private owed(): Float32Array {
    const owed = this.unsynced(0, this.length, this.common.model);
    const residual = this.residual;
    const step = this.flushStep;
    if (residual !== null)
      for (let i = 0; i < owed.length; i++) owed[i] = (owed[i] as number) - step * (residual[i] as number);
    return owed;
  }

  /** After adoptModel: `owed` split as a sync not counted splits it (applySync), alpha into x_i, the rest into d. */
  private keepOwed(owed: Float32Array): void {
    const own = this.own;
    if (own === null) throw new Error('adoptModel keepOwn: a worker that holds no x_i of its own');
    const memory = this.feedback;
    const feedback = memory?.view() ?? null;
    const alpha = feedback === null ? 1 : this.compensation;
    const step = this.flushStep;
    for (let i = 0; i < this.length; i++) {
      const kept = owed[i] as number;
      const local = Math.fround(alpha * kept);
      own.model[i] = (own.model[i] as number) + local;
      if (feedback !== null) feedback[i] = -(kept - local) / step;
    }
    if (memory !== null && feedback !== null) memory.commit(feedback);
  }

  private requireCurrent(what: string): void {
    if (!this.common.isAt(this.position))
      throw new Error(`${what}: the group's other workers applied operations this one has not`);
  }

  private requireLiec(what: string): { syncCodec: Compressor } {
    if (this.algorithm !== 'liec' || this.syncCodec === null) {
      throw new Error(`${what} is only defined for liec with sync options (algorithm: ${this.algorithm})`);
    }
    return { syncCodec: this.syncCodec };
  }
}

/** A worker with its own x_common (a real peer), or one of `group` (the simulator's). */
export function createWorker(
  options: AlgorithmOptions,
  initialModel: Float32Array,
  group?: WorkerGroup,
): WorkerAlgorithm {
  if (isLocalStepAlgorithm(options.algorithm)) return createLocalStepWorker(options, initialModel);
  return new Worker(options, initialModel, group ?? null);
}
