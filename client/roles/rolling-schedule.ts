/**
 * When a rolling sync's messages go, at the aggregator (rolling-sync.ts keeps the slices and
 * does the arithmetic; this file says when). The round loop (aggregator-role.ts) calls it at
 * each of its steps:
 *  - round t closes: the workers counted in it are told ('roundClosed', ahead of broadcast t)
 *    and send their slice of block t at once, while the links are idle;
 *  - broadcast t is out: block t's delta closes once the slices of every worker counted in t
 *    are in, and goes to broadcast t's recipients;
 *  - at the latest it closes right ahead of broadcast t + 1 (every peer applies a delta after
 *    its round's broadcast and before the next), or before the model goes to a joiner (the
 *    delta goes only to round t's recipients, so the model must already hold it);
 *  - with settings.sliceWaitMs this peer's own upload of round t + 1 waits for it.
 *
 * @example
 * const schedule = RollingSchedule.forSession(ctx, aggregator, workers, term); // null without a rolling sync
 * schedule.open(round);                        // a round opens
 * schedule.afterDelta((computeOwn) => ...);    // this peer's own upload, now or after the delta
 * schedule.closing(round, counted);            // before aggregating: tell the workers
 * schedule.broadcast(round, recipients, sync); // its broadcast is applied here
 * schedule.onSlice('w1', frame.round, payload); // a worker's slice (throws if malformed)
 * schedule.closeNow();                         // before a model goes out, and on stop
 */
import { sliceDue, type AggregatorAlgorithm } from '../../shared/algorithm/index.ts';
import { mixSeed } from '../../shared/random.ts';
import type { RoleContext } from './context.ts';
import { RollingSlices } from './rolling-sync.ts';
import type { WorkerRoster } from './worker-roster.ts';

/** This peer's own upload of the open round; `computeOwn` false: the round goes without it. */
export type OwnUpload = (computeOwn: boolean) => void;

export class RollingSchedule {
  /** The slices and block deltas themselves (also what a reconnecting worker gets again). */
  readonly slices: RollingSlices;
  private readonly ctx: RoleContext;
  private readonly workers: WorkerRoster;
  private readonly term: number;
  /** The round whose broadcast is out and whose block delta has not closed yet. */
  private pending: { round: number; recipients: readonly string[] } | null = null;
  /** With settings.sliceWaitMs: this peer's own upload of the open round, waiting for the delta. */
  private ownUploadWaiting: OwnUpload | null = null;
  private waitTimer: ReturnType<typeof setTimeout> | null = null;

  /** The session's schedule, or null when it runs full syncs (or is not LIEC). */
  static forSession(
    ctx: RoleContext,
    aggregator: AggregatorAlgorithm,
    workers: WorkerRoster,
    term: number,
  ): RollingSchedule | null {
    const slices = RollingSlices.forSession(aggregator, ctx.state.options, ctx.state.learner.numParams);
    return slices === null ? null : new RollingSchedule(ctx, slices, workers, term);
  }

  constructor(ctx: RoleContext, slices: RollingSlices, workers: WorkerRoster, term: number) {
    this.ctx = ctx;
    this.slices = slices;
    this.workers = workers;
    this.term = term;
  }

  /** Round `round` opens: its slices are collected from now on. */
  open(round: number): void {
    this.slices.open(round); // before the previous round's close adds this peer's own slice
  }

  /**
   * Runs `ownUpload(true)` now, or with settings.sliceWaitMs once the previous round's delta
   * closed (at most that long): its gradient then has the delta (a gradient taken before it
   * costs LIEC rounds), at the price of computing alongside the workers instead of before them.
   */
  afterDelta(ownUpload: OwnUpload): void {
    const waitMs = this.ctx.settings.sliceWaitMs;
    if (this.pending !== null && waitMs > 0) {
      this.ownUploadWaiting = ownUpload;
      this.waitTimer = setTimeout(() => this.flush(true), waitMs);
    } else ownUpload(true);
    this.flush(false);
  }

  /**
   * Round `round` is about to be aggregated. The previous round's delta closes now (an own
   * upload still waiting for it goes without: this round's deadline came first). The workers
   * `counted` (this peer excluded) are told to send their slice now, so it crosses this peer's
   * downlink before the next round's uploads do instead of queueing among them; they are the
   * ones waited for (idle now; a straggler still computing would answer late).
   */
  closing(round: number, counted: readonly string[]): void {
    const waiting = this.ownUploadWaiting;
    this.ownUploadWaiting = null;
    this.flush(true);
    waiting?.(false);
    if (!sliceDue(round, this.ctx.config.rounds)) return;
    this.slices.expect(
      round,
      counted.filter((id) => id !== this.ctx.selfId),
    );
    this.workers.sendControlToInStep({ kind: 'roundClosed', round }, round);
  }

  /**
   * Broadcast `round` went to `recipients` and is applied here. Before a sync phase (`sync`)
   * the block's delta closes at once; otherwise once its slices are in (they come in while
   * this peer computes its next upload, or soon after), or at the latest at the next close.
   */
  broadcast(round: number, recipients: readonly string[], sync: boolean): void {
    if (sync) this.close(round, recipients);
    else this.pending = { round, recipients };
  }

  /**
   * A worker's slice of `round`: counted if its round still takes slices (one that missed it
   * is not). Throws CodecError on a malformed payload (the caller rejects the sender).
   */
  onSlice(from: string, round: number, payload: Uint8Array): void {
    if (this.slices.add(from, round, payload)) this.flush(false);
  }

  /** A worker that left is no longer waited for. */
  forget(peerId: string): void {
    if (this.slices.forget(peerId)) this.flush(false);
  }

  /** The pending delta closes now (before the model goes to a joiner, and on stop). */
  closeNow(): void {
    this.flush(true);
  }

  /**
   * Averages the slices of `round`, applies the block's synced delta here and sends it to the
   * broadcast's recipients. The delta leaves while the workers compute their next upload
   * (links idle); this peer's model takes it after its own next upload and the round's report,
   * or before both with settings.sliceWaitMs.
   */
  private close(round: number, recipients: readonly string[]): void {
    const slice = this.slices.close(round, this.term, mixSeed(this.ctx.config.seed, round, 0x51));
    if (slice !== null) {
      this.slices.applyClosed(round, slice, this.ctx);
      for (const id of recipients) this.workers.send(id, slice.frame);
      const { counted, expected } = slice;
      this.ctx.events.publish('sliceSynced', { round, term: this.term, counted: counted.length, expected });
    }
    this.slices.addOwn(round + 1, this.ctx);
  }

  /**
   * Closes the pending delta once all its slices are in, or now with `force`; then computes
   * this peer's own upload of the open round if it waited for it.
   */
  private flush(force: boolean): void {
    const pending = this.pending;
    if (pending !== null) {
      if (!force && !this.slices.complete(pending.round)) return;
      this.pending = null;
      this.close(pending.round, pending.recipients);
    }
    if (this.waitTimer !== null) clearTimeout(this.waitTimer);
    this.waitTimer = null;
    const ownUpload = this.ownUploadWaiting;
    this.ownUploadWaiting = null;
    ownUpload?.(true);
  }
}
