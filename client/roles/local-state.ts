/**
 * What one peer knows about its own training, whatever its role: its model (inside the
 * WorkerAlgorithm), the round it is in, and the upload it sent but has not seen answered.
 * The upload is cached so that, if the aggregator dies, it can be resent to the next one.
 */
import { NO_FEEDBACK, type UploadFeedback } from '../../shared/algorithm/adaptive-ratio.ts';
import type { AlgorithmOptions, SyncBlock, WorkerAlgorithm } from '../../shared/algorithm/index.ts';
import { createWorker, resolveAlgorithmOptions, takeLocalSteps } from '../../shared/algorithm/index.ts';
import { copyOf } from '../../shared/algorithm/vector.ts';
import { algorithmSpecOf } from '../../shared/protocol/session-config.ts';
import type { CountedList } from '../../shared/protocol/model-meta.ts';
import type { Compressor } from '../../shared/compress/index.ts';
import type { Learner } from '../training/learner.ts';
import type { JoinedSession } from '../signaling/index.ts';
import { assertResumable, type Checkpoint, type CheckpointState } from './checkpoint-file.ts';

export interface CachedUpload {
  type: 'upload' | 'syncUpload';
  round: number;
  payload: Uint8Array;
  /** Deviation ||x_i - x_common||^2 sent along (uploads only). */
  aux: number;
  /** How many times it was handed to an aggregator (more than once = resent after a reconnection). */
  sends: number;
}

/**
 * The last broadcast this peer applied (as worker, or sent as aggregator). Seeds a new
 * aggregator's CountedHistory, and a worker passes it on to a new aggregator that may have
 * missed it (the old one died mid-broadcast), see AggregatorRole.
 */
export interface AppliedBroadcast {
  round: number;
  /** The term it was applied under (the aggregator that sent it). */
  term: number;
  /** Whom it counted (sender tags). */
  counted: readonly number[];
  /** Its payload (a copy: frame sections are views into transport buffers). */
  payload: Uint8Array;
  /** topk:auto: each counted upload's slack in seconds (same order as `counted`), if sent. */
  slackSeconds?: readonly number[];
  /** It asked for a LIEC sync of this round. */
  sync: boolean;
}

/**
 * Rolling sync: the last block delta this peer applied, synced on top of broadcast `round`.
 * A worker passes it on to a new aggregator, and an aggregator sends it again to a worker
 * that reconnects one round behind, so that every peer applies each block's delta once.
 */
export interface AppliedSlice {
  round: number;
  /** Whose slices it averages (sender tags). */
  counted: readonly number[];
  /** Its payload in the sync codec (a copy). */
  payload: Uint8Array;
}

/**
 * How many applied broadcasts' counted lists a peer keeps for a new aggregator (see
 * countedLists). A peer frozen or cut off for a few seconds comes back that many rounds
 * behind (loopback sessions run 30 rounds a second) with an upload of its old round; the
 * old aggregator would have folded it (settings.lateUploadWindowRounds), so its successor
 * must know that round too. A few bytes per round.
 */
export const RECENT_BROADCASTS_KEPT = 256;

export class LocalState {
  worker: WorkerAlgorithm | null = null;
  /** The round this peer's next or pending upload belongs to. */
  round = 0;
  cached: CachedUpload | null = null;
  /** The last broadcast this peer applied (set through noteBroadcast). */
  lastBroadcast: AppliedBroadcast | null = null;
  /** See AppliedSlice. */
  lastSlice: AppliedSlice | null = null;
  /** How long the last prepareUpload took (gradient + compression), in ms. */
  lastComputeMs = 0;
  lastLoss: number | null = null;
  /** topk:auto: the ratio of the last upload, and what the last broadcast said about it. */
  upRatio: number | undefined = undefined;
  upFeedback: UploadFeedback = NO_FEEDBACK;
  readonly options: AlgorithmOptions;
  readonly learner: Learner;
  /** Which data shard this peer trains on (index for learner.gradient). */
  readonly shard: number;
  /**
   * LIEC: x_i - x_common restored from a checkpoint while this peer waits for a model
   * (restore with awaitModel): applied on top of the model the aggregator sends. (Restored
   * with a model, the worker holds it and adoptModel keeps it.)
   */
  private restoredDeviation: Float32Array | null = null;

  /**
   * Whom the last RECENT_BROADCASTS_KEPT broadcasts this peer applied counted, oldest first:
   * it seeds a new aggregator's CountedHistory (counted-history.ts), so a worker's upload of
   * a recent round that the old aggregator did not count is folded late, not dropped as of
   * a round the new one never closed. Kept across adopt(): who was counted stays true.
   */
  private readonly countedLists: { round: number; counted: readonly number[] }[] = [];

  constructor(options: AlgorithmOptions, learner: Learner, shard: number) {
    this.options = options;
    this.learner = learner;
    this.shard = shard;
  }

  /**
   * The state of a peer that joined `joined` and whose learner is ready: its shard (`shard`,
   * else its join slot mod config.dataShards) and where it starts: from its checkpoint
   * (`resume`; CheckpointError CHECKPOINT_MISMATCH if the session's config or model size
   * differ), from the seed weights while the session has closed no round, or with no model
   * until the aggregator sends one. `source` names the model it holds, if any.
   */
  static forJoin(
    joined: JoinedSession,
    learner: Learner,
    shard: number | undefined,
    resume: Checkpoint | undefined,
  ): { state: LocalState; source: 'checkpoint' | 'seed' | null } {
    const { config } = joined;
    const options = resolveAlgorithmOptions(algorithmSpecOf(config));
    const state = new LocalState(options, learner, joinShard(joined, shard));
    const { lastRound } = joined.aggregator;
    if (resume !== undefined) {
      assertResumable(resume, config, learner.numParams);
      // The session closed that round already: no upload for a round long gone, it waits for
      // the model (keeping its LIEC deviation). Else it may be in step: it says so with its model.
      state.restore(resume.model, resume.common, resume.round, lastRound >= resume.round);
      return { state, source: 'checkpoint' };
    }
    if (lastRound > 0) return { state, source: null };
    // Every peer derives the same initial weights from the session seed. (A peer that joins
    // after round 0 and adopts them anyway is sent the current model on its hello.)
    state.adopt(learner.initialWeights(), 0);
    return { state, source: 'seed' };
  }

  /** This peer applied `broadcast` (closed it as the aggregator, or received or adopted it). */
  noteBroadcast(broadcast: AppliedBroadcast): void {
    this.lastBroadcast = broadcast;
    const lists = this.countedLists;
    const sameRound = lists.findIndex((l) => l.round === broadcast.round);
    if (sameRound >= 0) lists.splice(sameRound, 1);
    lists.push({ round: broadcast.round, counted: broadcast.counted });
    if (lists.length > RECENT_BROADCASTS_KEPT) lists.shift();
  }

  /**
   * This peer's state between two rounds, for a checkpoint (checkpoint.ts). Consistent at the
   * 'applied', 'round' and 'model' events: the broadcast of round r is applied (the model
   * holds it), so the state is that of round r + 1 before its gradient. Null before the peer
   * has a model, and after a broadcast that asks for a LIEC sync until the next broadcast.
   */
  checkpointState(reuse?: CheckpointState): CheckpointState | null {
    const worker = this.worker;
    const last = this.lastBroadcast;
    if (worker === null || last?.sync === true) return null;
    // A state the caller is done with lends its vectors (of this model's length) to this one.
    const fits = (vector: Float32Array | null | undefined) =>
      vector?.length === worker.model.length ? vector : undefined;
    return {
      round: last === null ? this.round : last.round + 1,
      term: last?.term ?? 0,
      shard: this.shard,
      model: copyOf(worker.model, fits(reuse?.model)),
      common: worker.algorithm === 'liec' ? worker.commonModel(fits(reuse?.common)) : null,
    };
  }

  /**
   * Whom the broadcasts behind a model this peer adopts counted (the model frame's meta,
   * shared/protocol/model-meta.ts): they replace what it knew of those rounds, since its model
   * now descends from them; the newest RECENT_BROADCASTS_KEPT stay.
   */
  learnCountedLists(lists: readonly CountedList[]): void {
    if (lists.length === 0) return;
    const rounds = new Set(lists.map((l) => l.round));
    const merged = [...this.countedLists.filter((l) => !rounds.has(l.round)), ...lists];
    merged.sort((a, b) => a.round - b.round);
    this.countedLists.splice(0, this.countedLists.length, ...merged.slice(-RECENT_BROADCASTS_KEPT));
  }

  /** See countedLists. */
  recentCountedLists(): readonly CountedList[] {
    return this.countedLists;
  }

  get hasModel(): boolean {
    return this.worker !== null;
  }

  /**
   * Starts from a given model at a given round (initial weights, a joiner's model, a rollback).
   * `keepOwn`: a LIEC peer keeps its own unsynced gradient mass on top of it (adoptModel), or
   * the deviation of the checkpoint it was restored from while it had no model.
   */
  adopt(model: Float32Array, round: number, keepOwn = false): void {
    const restored = this.restoredDeviation;
    this.restoredDeviation = null;
    if (this.worker === null) {
      this.worker = createWorker(this.options, model);
      if (keepOwn && restored !== null) {
        const own = this.worker.model;
        for (let i = 0; i < own.length; i++) own[i] = (own[i] as number) + (restored[i] as number);
      }
    } else this.worker.adoptModel(model, { keepOwn });
    this.round = round;
    this.cached = null;
    this.lastBroadcast = null;
    this.lastSlice = null;
  }

  /**
   * Applies a rolling sync's block delta if it follows this peer's last broadcast and was not
   * applied already (it may come twice: resent on a reconnection, relayed at a new term);
   * returns whether it did. Throws CodecError on a malformed payload.
   */
  applySlice(slice: AppliedSlice, selfTag: number, block: SyncBlock): boolean {
    if (!this.hasModel || this.lastBroadcast?.round !== slice.round) return false;
    if (this.lastSlice?.round === slice.round) return false;
    this.requireWorker().applySync(slice.payload, slice.counted.includes(selfTag), block);
    this.lastSlice = {
      round: slice.round,
      counted: [...slice.counted],
      payload: Uint8Array.from(slice.payload),
    };
    return true;
  }

  /**
   * Continues from a checkpoint (checkpoint.ts): x_i, and for LIEC x_common, at `round`,
   * between rounds (nothing pending; momentum and error-feedback memory start at zero).
   * With `awaitModel` (the session is past that round) it keeps only the LIEC deviation and
   * has no model until the aggregator sends one.
   */
  restore(model: Float32Array, common: Float32Array | null, round: number, awaitModel = false): void {
    let deviation: Float32Array | null = null;
    if (common !== null) {
      deviation = new Float32Array(model.length);
      for (let i = 0; i < model.length; i++) deviation[i] = (model[i] as number) - (common[i] as number);
    }
    if (awaitModel) {
      this.worker = null;
      this.round = round;
      this.cached = null;
      this.lastBroadcast = null;
      this.lastSlice = null;
    } else {
      this.adopt(common ?? model, round);
      if (common !== null) this.requireWorker().model.set(model);
    }
    this.restoredDeviation = deviation;
  }

  /**
   * Computes this round's gradient and its upload payload, and caches it. `up`: this round's
   * compressor (topk:auto), else the session's.
   */
  prepareUpload(seed: number, up?: Compressor): CachedUpload {
    const worker = this.requireWorker();
    const started = performance.now();
    // Local-step baselines take their H - 1 inner steps here, all within this one call.
    const { gradient, loss } = takeLocalSteps(worker, (model) => this.learner.gradient(this.shard, model));
    this.lastLoss = loss;
    const aux = worker.deviationSq();
    const payload = worker.prepareUpload(gradient, seed, up);
    this.lastComputeMs = performance.now() - started;
    this.cached = { type: 'upload', round: this.round, payload, aux, sends: 0 };
    return this.cached;
  }

  prepareSync(seed: number): CachedUpload {
    const payload = this.requireWorker().prepareSync(seed);
    this.cached = { type: 'syncUpload', round: this.round, payload, aux: 0, sends: 0 };
    return this.cached;
  }

  requireWorker(): WorkerAlgorithm {
    if (this.worker === null) throw new Error('this peer has no model yet');
    return this.worker;
  }
}

/** The data shard a peer that joined `joined` trains on: `shard`, else its join slot mod config.dataShards. */
export function joinShard(joined: JoinedSession, shard: number | undefined): number {
  if (shard !== undefined) return shard;
  const self = joined.peers.find((p) => p.peerId === joined.peerId);
  const slot = joined.peers.filter((p) => p.connectedAt < (self?.connectedAt ?? 0)).length;
  return slot % joined.config.dataShards;
}
