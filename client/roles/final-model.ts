/**
 * The end of training at the aggregator: after the last round it evaluates its model and
 * sends `done`, naming that model by its digest, to the workers in step; a worker that says
 * hello afterwards is told the same, and one holding another model (it asks with
 * modelRequest or catchUp) is sent the model itself. So every peer ends on one model.
 * An aggregator about to leave first waits for those workers to leave (`served`, bounded by
 * settings.finalModelLingerMs), so that a late request still finds it.
 *
 * @example
 * const final = new FinalModel(ctx, workers);
 * final.announce(299, round);   // evaluates, sends done to the workers in step
 * final.tell('w3', round);      // a late hello
 * final.sendModel('w2');        // a worker holding another model
 */
import { modelDigest } from '../../shared/model-digest.ts';
import type { ControlMessage } from '../../shared/protocol/control.ts';
import type { RoleContext } from './context.ts';
import type { WorkerRoster } from './worker-roster.ts';

type Done = Extract<ControlMessage, { kind: 'done' }>;

export class FinalModel {
  private readonly ctx: RoleContext;
  private readonly workers: WorkerRoster;
  private done: Done | null = null;
  /** Workers that may still ask for the final model: members at the end, or heard from since. */
  private readonly awaiting = new Set<string>();
  private onServed: (() => void) | null = null;

  constructor(ctx: RoleContext, workers: WorkerRoster) {
    this.ctx = ctx;
    this.workers = workers;
  }

  /** Training ended with `round` (`currentRound`: the round the frames are stamped with). */
  announce(round: number, currentRound: number): void {
    const { model } = this.ctx.state.requireWorker();
    const evaluation = this.ctx.state.learner.evaluate(model);
    this.done = { kind: 'done', round, testAccuracy: evaluation.accuracy, modelDigest: modelDigest(model) };
    // Members whose link is down now (cut off as the last round closed) too: they may ask later.
    for (const id of [...this.workers.inStep, ...this.ctx.members()]) this.awaiting.add(id);
    this.workers.sendControlToInStep(this.done, currentRound);
    this.ctx.events.publish('done', { round, testAccuracy: evaluation.accuracy });
  }

  /** A worker said hello after the end: it is told training is done (and which model). */
  tell(to: string, currentRound: number): void {
    if (this.done === null) return;
    this.awaiting.add(to);
    this.workers.sendControl(to, this.done, currentRound);
  }

  /** A worker holds another model than the one `done` named: it gets that model. */
  sendModel(to: string): void {
    if (this.done === null) return;
    this.awaiting.add(to);
    this.workers.sendFinalModel(to, this.ctx.state.requireWorker().model, this.done);
  }

  /** A worker left the session: whatever model it holds, it asks for no other. */
  left(peerId: string): void {
    this.awaiting.delete(peerId);
    if (this.awaiting.size === 0) this.onServed?.();
  }

  /**
   * Resolves once every worker that may still ask for the final model has left, or after
   * `timeoutMs`; at once before `done` (nothing final to serve) and when none is left.
   */
  served(timeoutMs: number): Promise<void> {
    if (this.done === null || this.awaiting.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.onServed;
      const finish = (): void => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(finish, timeoutMs);
      this.onServed = () => {
        previous?.();
        finish();
      };
    });
  }
}

/** A peer elected after the session's end from a round before it: its round then and the session's last. */
export interface MissedEnd {
  round: number;
  lastRound: number;
}

/**
 * Whether a peer elected aggregator with the session's `lastRound` reported, while it is at
 * `round`, missed the end: cut off or frozen through the last rounds, and whoever could have
 * sent it the final model has left. Nothing is left to aggregate, and training on alone would
 * pass a model of its own off as the session's (the server takes no more round reports
 * either), so it ends on the model it holds and says so. At the last round itself it closes
 * that round while other members are left (`othersPresent`: its aggregator died after
 * reporting it, before every worker had its broadcast or sync); alone, the others left with
 * the final model, and it missed the end too. Null when it is to aggregate.
 */
export function missedEnd(
  lastRound: number,
  round: number,
  rounds: number,
  othersPresent: boolean,
): MissedEnd | null {
  if (lastRound < rounds - 1) return null;
  // lastRound 0 is also "none reported yet": a one-round session's first aggregator is alone.
  const behind = round < lastRound || (round === lastRound && lastRound > 0 && !othersPresent);
  return behind ? { round, lastRound } : null;
}

export function describeMissedEnd({ round, lastRound }: MissedEnd): string {
  return `the session ended with round ${lastRound}, which this peer had not finished (it was at round ${round}): its model is its own, not the session's`;
}
