/**
 * The aggregator's workers and the frames it sends them. It keeps who is in step (gets
 * every broadcast and is expected from the next round on) and who waits for the model (a
 * joiner, or a worker out of step, served at the next round start). Every frame leaves
 * through send(): stamped with the term and counted for the round report. A broadcast's
 * counted list goes out in full only when it changed for that worker (SentCountedLists).
 * It is apart from the round loop (aggregator-role.ts) so that the loop reads as rounds,
 * not as set and byte bookkeeping. What a hello means is the loop's call, not this file's.
 *
 * @example
 * const workers = new WorkerRoster(ctx, term, (frame) => report.countDown(frame));
 * workers.admit('w3');                            // sent the model at the next round start
 * workers.sendModels(round);                      // w3 gets it and is in step from now on
 * const recipients = workers.sendBroadcast(broadcast); // each worker in step, its own meta
 */
import { parseCompressor } from '../../shared/compress/index.ts';
import { encodeControl, type ControlMessage } from '../../shared/protocol/control.ts';
import { SentCountedLists } from '../../shared/protocol/counted-lists.ts';
import { MODEL_START_OVER, senderTag } from '../../shared/protocol/frames.ts';
import { encodeModelMeta } from '../../shared/protocol/model-meta.ts';
import { slackFor } from './adaptive-upload.ts';
import type { OutgoingFrame, RoleContext } from './context.ts';
import type { AppliedBroadcast } from './local-state.ts';

const EMPTY = new Uint8Array(0);

export class WorkerRoster {
  private readonly ctx: RoleContext;
  /** The term every frame is stamped with. */
  readonly term: number;
  /** Called with every frame sent (the round report counts the bytes down). */
  private readonly onSend: (frame: OutgoingFrame) => void;
  /** Workers known to be in step: expected from the next round on. */
  private readonly inStepIds = new Set<string>();
  /** Workers waiting for the model (joiners, or out of step), served at the next round start. */
  private readonly awaitingIds = new Set<string>();
  /** The counted list each worker last got in full (a same list then costs one byte). */
  private readonly sentCounted = new SentCountedLists();
  private readonly identity = parseCompressor('identity');

  constructor(ctx: RoleContext, term: number, onSend: (frame: OutgoingFrame) => void) {
    this.ctx = ctx;
    this.term = term;
    this.onSend = onSend;
  }

  /** The workers in step, in the order they became so (a round expects them). */
  get inStep(): ReadonlySet<string> {
    return this.inStepIds;
  }

  /** Workers in step plus those waiting for the model. */
  get size(): number {
    return this.inStepIds.size + this.awaitingIds.size;
  }

  /** How many workers wait for the model (sendModels serves them). */
  get awaitingModel(): number {
    return this.awaitingIds.size;
  }

  /** After a rollback in this term: the workers sent a model since (null: no rollback). */
  private startedOver: Set<string> | null = null;
  /** Workers whose next model starts them over (admit). */
  private readonly startingOver = new Set<string>();

  /** `peerId` holds the model of the round in flight: it follows the broadcasts from now on. */
  markInStep(peerId: string): void {
    this.inStepIds.add(peerId);
  }

  /** `peerId` gets the model at the next round start (nothing it was sent is forgotten). */
  awaitModel(peerId: string): void {
    this.awaitingIds.add(peerId);
  }

  /**
   * `peerId` starts over: what it was sent is unknown, it gets the model at the next round
   * start. `startOver`: it drops what it holds of its own (it trained on a model a rollback abandoned).
   */
  admit(peerId: string, startOver = false): void {
    if (startOver) this.startingOver.add(peerId);
    this.sentCounted.forget(peerId);
    this.inStepIds.delete(peerId);
    this.awaitingIds.add(peerId);
  }

  /**
   * A link to `peerId` opened: what it was sent before may never have reached it (in step from
   * the start of this term while its link was still down), so its next broadcast lists whom
   * it counted in full.
   */
  linked(peerId: string): void {
    this.sentCounted.forget(peerId);
  }

  /** `peerId` left: it is neither in step nor waiting any more. */
  remove(peerId: string): void {
    this.startingOver.delete(peerId);
    this.sentCounted.forget(peerId);
    this.inStepIds.delete(peerId);
    this.awaitingIds.delete(peerId);
  }

  /**
   * The common model to every worker waiting for it, as the model of `round`; they are then in
   * step. `startOver`: they drop what they hold of their own (an operator's rollback).
   */
  sendModels(round: number, startOver = false): void {
    if (startOver) this.startedOver = new Set();
    if (this.awaitingIds.size === 0) return;
    const model = this.identity.encode(this.ctx.state.requireWorker().commonModel());
    // Whom the broadcasts behind it counted, for the day the worker aggregates (model-meta.ts).
    const meta = encodeModelMeta(this.ctx.state.recentCountedLists());
    for (const peerId of this.awaitingIds) {
      // After a rollback of this term, a worker's first model starts it over too: whatever
      // it holds of its own was trained on the model abandoned.
      const first = this.startedOver !== null && !this.startedOver.has(peerId);
      this.startedOver?.add(peerId);
      const aux = startOver || first || this.startingOver.delete(peerId) ? MODEL_START_OVER : 0;
      this.send(peerId, { type: 'model', term: this.term, round, aux, meta, payload: model });
      // From now on it follows the broadcasts; its upload of this round counts if in time.
      this.inStepIds.add(peerId);
    }
    this.awaitingIds.clear();
  }

  /** After the last round, to a worker that ended on another model: the final one, then `done` again. */
  sendFinalModel(peerId: string, model: Float32Array, done: Extract<ControlMessage, { kind: 'done' }>): void {
    const payload = this.identity.encode(model);
    this.send(peerId, { type: 'model', term: this.term, round: done.round, aux: 0, meta: EMPTY, payload });
    this.sendControl(peerId, done, done.round);
  }

  /** `broadcast` to every worker in step but `except`; returns whom it went to. */
  sendBroadcast(broadcast: AppliedBroadcast, except?: string): string[] {
    const recipients = [...this.inStepIds].filter((id) => id !== except);
    for (const id of recipients) this.send(id, this.broadcastFrame(broadcast, id));
    return recipients;
  }

  /** The broadcast as `to` gets it: its meta says who was counted, in full or as "same as last". */
  broadcastFrame(broadcast: AppliedBroadcast, to: string): OutgoingFrame {
    return {
      type: 'broadcast',
      term: this.term,
      round: broadcast.round,
      aux: broadcast.sync ? 1 : 0,
      meta: this.sentCounted.metaFor(to, broadcast.counted, slackFor(broadcast, senderTag(to))),
      payload: broadcast.payload,
    };
  }

  /**
   * Broadcasts `to` lost (or got after one it lost), again and in order: the first with its
   * counted list in full, since the one `to` last got in full may be among those lost.
   */
  resendBroadcasts(to: string, broadcasts: readonly AppliedBroadcast[]): void {
    this.sentCounted.forget(to);
    for (const broadcast of broadcasts) this.send(to, this.broadcastFrame(broadcast, to));
  }

  /** The same frame to every worker in step but `except`. */
  sendToInStep(frame: OutgoingFrame, except?: string): void {
    for (const id of this.inStepIds) if (id !== except) this.send(id, frame);
  }

  /** A control message, in a frame of `round`, to every worker in step. */
  sendControlToInStep(control: ControlMessage, round: number): void {
    for (const id of this.inStepIds) this.sendControl(id, control, round);
  }

  sendControl(to: string, control: ControlMessage, round: number): void {
    const meta = encodeControl(control);
    this.send(to, { type: 'control', term: this.term, round, aux: 0, meta, payload: EMPTY });
  }

  send(to: string, frame: OutgoingFrame): void {
    this.onSend(frame);
    this.ctx.send(to, frame);
  }
}
