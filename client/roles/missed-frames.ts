/**
 * What an aggregator sends again to a worker that missed something, so that it keeps its own
 * state instead of being sent the whole model (which resets its LIEC deviation and momentum):
 *
 * - one round behind (its link dropped before the last broadcast or sync reached it): that
 *   broadcast or sync, with a rolling sync's block delta in the order this peer applied them;
 * - a few rounds behind, or a broadcast lost on the way (control `catchUp`): the broadcasts
 *   since, from this term's last CATCH_UP_ROUNDS (RecentBroadcasts, broadcast-catch-up.ts).
 *
 * The round loop (aggregator-role.ts) decides when a worker is behind; this file, what it
 * gets. Null or false: nothing fits, the worker needs the model.
 *
 * @example
 * const missed = new MissedFrames(ctx, workers, sync, rolling);
 * missed.closed(broadcast);                        // every broadcast this aggregator closes
 * missed.lastOf(4, 5, 'w1');                       // round 4's broadcast or sync, or null
 * missed.broadcastsSince('w2', 2, current);        // rounds 2 to current.round - 1 again: true
 */
import type { OutgoingFrame, RoleContext } from './context.ts';
import type { AppliedBroadcast } from './local-state.ts';
import { RecentBroadcasts } from './broadcast-catch-up.ts';
import type { ModelSyncPhase } from './model-sync-phase.ts';
import type { RollingSchedule } from './rolling-schedule.ts';
import type { RoundCollection } from './round-collection.ts';
import type { WorkerRoster } from './worker-roster.ts';

export class MissedFrames {
  private readonly ctx: RoleContext;
  private readonly workers: WorkerRoster;
  private readonly sync: ModelSyncPhase;
  private readonly rolling: RollingSchedule | null;
  /** This term's last broadcasts. */
  private readonly recent = new RecentBroadcasts();

  constructor(
    ctx: RoleContext,
    workers: WorkerRoster,
    sync: ModelSyncPhase,
    rolling: RollingSchedule | null,
  ) {
    this.ctx = ctx;
    this.workers = workers;
    this.sync = sync;
    this.rolling = rolling;
  }

  /** This aggregator closed `broadcast`. */
  closed(broadcast: AppliedBroadcast): void {
    this.recent.add(broadcast);
  }

  /** A rollback: the rounds before it are of another model. */
  clear(): void {
    this.recent.clear();
  }

  /** The last broadcast or sync for `to`, if it closed `round` and `collecting` is the round after it. */
  lastOf(round: number, collecting: number, to: string): OutgoingFrame | null {
    if (collecting !== round + 1) return null;
    const sync = this.sync.resendFor(round);
    if (sync !== null) return sync;
    const last = this.ctx.state.lastBroadcast;
    return last?.round === round && !last.sync ? this.workers.broadcastFrame(last, to) : null;
  }

  /**
   * To a worker that reconnects at `helloRound`: the last block delta it may have missed, and
   * `missed` (a broadcast or sync it missed) if any, in the order this peer applied them: a
   * block delta follows its round's broadcast, so one of the round before goes first.
   */
  resendAround(to: string, helloRound: number, term: number, missed: OutgoingFrame | null = null): void {
    const slice = this.rolling?.slices.resendFor(helloRound, this.ctx.state, term) ?? null;
    const inOrder =
      slice !== null && missed !== null && slice.round >= missed.round ? [missed, slice] : [slice, missed];
    for (const frame of inOrder) if (frame !== null) this.workers.send(to, frame);
  }

  /**
   * The broadcasts of `round` up to the round `current` collects, again and in order, to a
   * worker that holds the model up to `round`, which is then in step and expected in it; false
   * when no round collects, they are not all kept or a rolling sync runs (its block deltas
   * are not kept).
   */
  broadcastsSince(to: string, round: number, current: RoundCollection | null): boolean {
    if (current === null || this.rolling !== null) return false;
    const missed = this.recent.range(round, current.round);
    if (missed === null) return false;
    this.workers.resendBroadcasts(to, missed);
    this.workers.markInStep(to);
    if (!current.has(to)) current.expected.add(to);
    return true;
  }
}
