/**
 * The end of training at the aggregator: after the last round it evaluates its model and
 * sends `done`, naming that model by its digest, to the workers in step; a worker that says
 * hello afterwards is told the same, and one holding another model (it asks with
 * modelRequest or catchUp) is sent the model itself. So every peer ends on one model.
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

  constructor(ctx: RoleContext, workers: WorkerRoster) {
    this.ctx = ctx;
    this.workers = workers;
  }

  /** Training ended with `round` (`currentRound`: the round the frames are stamped with). */
  announce(round: number, currentRound: number): void {
    const { model } = this.ctx.state.requireWorker();
    const evaluation = this.ctx.state.learner.evaluate(model);
    this.done = { kind: 'done', round, testAccuracy: evaluation.accuracy, modelDigest: modelDigest(model) };
    this.workers.sendControlToInStep(this.done, currentRound);
    this.ctx.events.publish('done', { round, testAccuracy: evaluation.accuracy });
  }

  /** A worker said hello after the end: it is told training is done (and which model). */
  tell(to: string, currentRound: number): void {
    if (this.done !== null) this.workers.sendControl(to, this.done, currentRound);
  }

  /** A worker holds another model than the one `done` named: it gets that model. */
  sendModel(to: string): void {
    if (this.done !== null) this.workers.sendFinalModel(to, this.ctx.state.requireWorker().model, this.done);
  }
}
