/**
 * LIEC's full-precision model sync at the aggregator. When a sync is due after round t
 * (every H rounds, or early on drift, and always after the last round), a sync phase
 * follows the broadcast. Every peer sends its deviation x_i - x_common in the sync codec;
 * the aggregator averages the deltas that came in (flushing its error e) and sends the
 * synced delta to all. Every peer adds it to x_common, and the counted ones drop their
 * deviation. A rolling sync (rolling-sync.ts) replaces the periodic syncs but not the last.
 *
 * It is apart from the round loop (aggregator-role.ts) because it is its own small protocol
 * with its own state: the rounds since the last sync, and that sync's frame, resent to a
 * worker whose link dropped before it arrived. The loop still owns the phase, the deadline
 * timer and the collection in flight; this class says when a sync is due and fills one.
 *
 * @example
 * const sync = new ModelSyncPhase(ctx, aggregator, workers, { rolling: slices !== null });
 * sync.roundClosed();
 * if (sync.due(round, drift)) {
 *   const collection = sync.open(round, false); // this peer's own delta counted (null if stopped)
 *   sync.add(collection, 'w1', frame.payload);   // each syncUpload of the round, once
 *   // (one that came in before open(): sync.keepEarly('w2', round, frame.payload))
 *   sync.close(collection);                      // syncBroadcast to the workers in step, applied here
 * }
 */
import { syncDue, type AggregatorAlgorithm } from '../../shared/algorithm/index.ts';
import { normSq } from '../../shared/algorithm/vector.ts';
import { encodeTags, senderTag } from '../../shared/protocol/frames.ts';
import { mixSeed } from '../../shared/random.ts';
import type { OutgoingFrame, RoleContext } from './context.ts';
import { RoundCollection } from './round-collection.ts';
import type { WorkerRoster } from './worker-roster.ts';

export class ModelSyncPhase {
  private readonly ctx: RoleContext;
  private readonly aggregator: AggregatorAlgorithm;
  private readonly workers: WorkerRoster;
  /** The session syncs a block every round instead (rolling-sync.ts): only the final sync is full. */
  private readonly rolling: boolean;
  private roundsSinceSync = 0;
  /** The last sync this aggregator closed, for a worker whose link dropped before it arrived. */
  private lastSync: { round: number; frame: OutgoingFrame } | null = null;
  /** Sync deltas that came in before their phase opened (keepEarly), by sender. */
  private readonly early = new Map<string, { round: number; vector: Float32Array }>();

  constructor(
    ctx: RoleContext,
    aggregator: AggregatorAlgorithm,
    workers: WorkerRoster,
    options: { rolling: boolean },
  ) {
    this.ctx = ctx;
    this.aggregator = aggregator;
    this.workers = workers;
    this.rolling = options.rolling;
  }

  /** A round closed (here, or by a broadcast a worker relayed): one more since the last sync. */
  roundClosed(): void {
    this.roundsSinceSync++;
  }

  /** Whether a sync follows round `round`, whose counted uploads deviated by `meanDeviationSq`. */
  due(round: number, meanDeviationSq: number): boolean {
    const options = this.ctx.state.options;
    if (options.algorithm !== 'liec' || options.sync === undefined) return false;
    if (round + 1 >= this.ctx.config.rounds) return true; // end on one shared model
    if (this.rolling) return false; // a rolling sync syncs a block every round instead
    return (
      syncDue(options.sync, {
        roundsSinceSync: this.roundsSinceSync,
        meanDeviationSq,
        commonNormSq: normSq(this.ctx.state.requireWorker().commonModel()),
      }) !== null
    );
  }

  /**
   * Computes this peer's own sync delta of `round` and returns the collection that awaits
   * the workers' (the own one counted), or null if the role `stopped` meanwhile.
   */
  open(round: number, stopped: boolean): RoundCollection | null {
    const { state, config, selfId } = this.ctx;
    state.round = round;
    const own = state.prepareSync(mixSeed(config.seed, round, senderTag(selfId), 5));
    if (stopped) return null; // its sync delta stays cached: as a worker it sends it to the next aggregator
    this.roundsSinceSync = 0;
    const collection = new RoundCollection('sync', round, this.workers.inStep, state.learner.numParams);
    collection.add(selfId, this.aggregator.decodeSync(own.payload));
    for (const [from, early] of this.early)
      if (early.round === round && collection.expected.has(from)) collection.add(from, early.vector);
    this.early.clear();
    return collection;
  }

  /**
   * `from`'s sync delta of `round`, come in after the round's broadcast announced the sync but
   * before this aggregator opened the phase (the broadcast leaves a setImmediate before the
   * opening, and a fast worker answers in between): counted when the phase opens. Dropped, it
   * was never sent again and the sync waited for its deadline. Anything else is ignored (a
   * late delta: its sender keeps its deviation). Throws on a malformed payload.
   */
  keepEarly(from: string, round: number, payload: Uint8Array): void {
    const last = this.ctx.state.lastBroadcast;
    if (last?.sync !== true || last.round !== round || last.term !== this.workers.term) return;
    this.early.set(from, { round, vector: this.aggregator.decodeSync(payload) });
  }

  /** Counts `from`'s sync delta; throws on a malformed payload (the caller rejects the sender). */
  add(collection: RoundCollection, from: string, payload: Uint8Array): void {
    collection.add(from, this.aggregator.decodeSync(payload));
  }

  /**
   * Averages the counted deltas, sends the synced delta to every worker in step and applies
   * it here: the state then names the round after the sync.
   */
  close(collection: RoundCollection): void {
    const { round } = collection;
    const payload = this.aggregator.aggregateSync(
      [...collection.vectors.values()],
      mixSeed(this.ctx.config.seed, round, 0x5c),
    );
    const counted = collection.counted();
    const meta = encodeTags(counted.map(senderTag));
    const frame: OutgoingFrame = {
      type: 'syncBroadcast',
      term: this.workers.term,
      round,
      aux: 0,
      meta,
      payload,
    };
    this.workers.sendToInStep(frame);
    this.lastSync = { round, frame };
    const expected = collection.expected.size + 1;
    this.ctx.events.publish('synced', { round, term: this.workers.term, counted, expected });
    const state = this.ctx.state;
    // The last one leaves every peer on one model, the same bits everywhere.
    if (round + 1 >= this.ctx.config.rounds) state.requireWorker().applyFinalSync(payload);
    else state.requireWorker().applySync(payload, true);
    state.cached = null;
    state.round = round + 1;
  }

  /** The last sync's frame if it closed `round` (for a worker one round behind), else null. */
  resendFor(round: number): OutgoingFrame | null {
    return this.lastSync?.round === round ? this.lastSync.frame : null;
  }
}
