/**
 * An operator's rollback, as the aggregator applies it (snapshots.ts keeps and lists the snapshots).
 * The request waits for the next round to open (PendingRollback); then this peer adopts the snapshot,
 * clears e and the stand-ins' averages (of the abandoned trajectory), forgets what it knew of each
 * worker's uploads, and every worker in step is sent the snapshot as that round's model and is
 * expected in it, as a joiner would be. One round number is skipped, so uploads made on the old model
 * are stale.
 *
 * @example
 * const rollbacks = new AggregatorRollback(parts);
 * const applied = rollbacks.request(snapshot, 0, true); // the operator's request waits on this
 * const round = rollbacks.applyAt(opening);             // as the next round opens: the round to open
 */
import type { StandIns } from '../../shared/algorithm/stand-ins.ts';
import type { RoleContext } from './context.ts';
import type { MissedFrames } from './missed-frames.ts';
import type { RollingSchedule } from './rolling-schedule.ts';
import type { UploadLedger } from './upload-ledger.ts';
import type { WorkerRoster } from './worker-roster.ts';

/** What a rollback resets: the aggregator's parts that hold state of the abandoned trajectory. */
export interface RollbackParts {
  ctx: RoleContext;
  workers: WorkerRoster;
  ledger: UploadLedger;
  missed: MissedFrames;
  standIns: StandIns;
  /** The aggregator's compression error e. */
  error: Float32Array;
  rolling: RollingSchedule | null;
}

export class AggregatorRollback {
  private readonly pending = new PendingRollback();
  private readonly parts: RollbackParts;

  constructor(parts: RollbackParts) {
    this.parts = parts;
  }

  /**
   * Resolves, once applied, to the round every peer trains from the snapshot (never below
   * `continuesAtLeast`: rounds from it on are the snapshot's, RollbackMark). `open`: whether a
   * next round may still open here; if not, the request is dropped at once.
   */
  request(model: Float32Array, continuesAtLeast: number, open: boolean): Promise<{ continuesAt: number }> {
    const applied = this.pending.request(model, continuesAtLeast);
    if (!open) this.pending.drop();
    return applied;
  }

  /** The role stopped: a request still waiting is refused. */
  drop(): void {
    this.pending.drop();
  }

  /** As round `round` opens: applies the pending rollback, if any; returns the round to open. */
  applyAt(round: number): number {
    const pending = this.pending.take();
    if (pending === null) return round;
    const { ctx, workers, ledger, missed, standIns, error, rolling } = this.parts;
    const next = Math.max(round + 1, pending.continuesAtLeast);
    rolling?.closeNow();
    ctx.state.adopt(pending.model, next);
    missed.clear();
    error.fill(0);
    standIns.clear();
    for (const id of [...workers.inStep]) {
      ledger.forget(id);
      workers.admit(id);
    }
    // Before the round's collection is made, so that every worker is expected in it.
    workers.sendModels(next, true);
    ctx.log('warn', `rollback: every peer continues from a snapshot at round ${next}`);
    ctx.events.publish('model', { round: next, source: 'aggregator' });
    pending.applied(next);
    return next;
  }
}

/**
 * The aggregator's rollback waiting for its next round (AggregatorRole.rollback): the model,
 * and the promise the operator's request waits on. A newer request or the role's end drops it.
 */
export class PendingRollback {
  private pending: {
    model: Float32Array;
    continuesAtLeast: number;
    applied: (at: number) => void;
    dropped: () => void;
  } | null = null;

  /** `continuesAtLeast`: the first round on the snapshot is at least this one (RollbackMark). */
  request(model: Float32Array, continuesAtLeast = 0): Promise<{ continuesAt: number }> {
    this.drop();
    return new Promise((resolve, reject) => {
      this.pending = {
        model: Float32Array.from(model),
        continuesAtLeast,
        applied: (at) => resolve({ continuesAt: at }),
        dropped: () =>
          reject(
            new Error(
              'no next round here: this peer stopped aggregating, training ended, or a newer rollback came',
            ),
          ),
      };
    });
  }

  /** The rollback to apply now (its `applied` called with the round it starts), or null. */
  take(): { model: Float32Array; continuesAtLeast: number; applied: (at: number) => void } | null {
    const pending = this.pending;
    this.pending = null;
    return pending;
  }

  drop(): void {
    this.pending?.dropped();
    this.pending = null;
  }
}
