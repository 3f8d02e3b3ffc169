/**
 * The aggregator's round loop. It also trains: its own upload enters every round directly. A round: open
 * (send the model to joiners, compute the own upload, start the deadline) -> collect uploads from the
 * expected workers -> close when all are in, or at the deadline with quorum, or after the quorum grace
 * with whatever arrived -> aggregate, broadcast with the list of who was counted -> (LIEC) a sync phase
 * when due (model-sync-phase.ts), or with a rolling sync the round's block delta once its slices are in
 * (rolling-schedule.ts) -> next round. Late uploads are folded into e exactly once, weighted as members of
 * their round (UploadLedger). Who is in step and what each worker is sent: worker-roster.ts. A worker that
 * leaves (peer:left, or its data channel closes) stops being expected at once; one silent on its data
 * channel for settings.aggregatorSilenceMs (ctx.isSilent, link-liveness.ts) stops being expected in the
 * round collecting (it stays in step, and its upload still counts if it comes in time). An aggregator left
 * with no worker to wait for while the session has other ready members (they went silent, or their links
 * dropped) closes its rounds at the deadline instead of racing ahead alone: it may be the one cut off, and
 * about to be replaced.
 *
 * Taking over (a new term): the round counter continues from this peer's own round; every ready member is
 * expected in it, and the workers resend their cached upload of the round in flight on reconnecting, so it
 * is counted in that round, or folded late if it arrives after the deadline. The ledger of late folds
 * starts from the last broadcast this peer applied, so an upload the old aggregator already counted is not
 * counted again. What the workers relay from the old aggregator (a broadcast this peer missed):
 * failover-relays.ts. A worker behind (its link dropped, or a broadcast was lost on the way) gets what it
 * missed again: missed-frames.ts. What a failover loses, exactly: docs/failover.md. The `done` after the last
 * round names the final model; a worker holding another one asks for it (one model at the end).
 *
 * @example
 * const role = new AggregatorRole(ctx, term);
 * role.start();                     // opens the round this peer is in
 * role.onFrame('w1', uploadFrame);  // and onControl, onWorkerLeft, from the runtime
 * role.stop();
 */
import { createAggregator, type AggregatorAlgorithm } from '../../shared/algorithm/index.ts';
import type { ControlMessage } from '../../shared/protocol/control.ts';
import { senderTag, type Frame } from '../../shared/protocol/frames.ts';
import { StandIns } from '../../shared/algorithm/stand-ins.ts';
import { mixSeed } from '../../shared/random.ts';
import { roundSlack } from './adaptive-upload.ts';
import { AggregatorRollback } from './aggregator-rollback.ts';
import type { RoleContext } from './context.ts';
import { epochNow } from './events.ts';
import { FailoverRelays } from './failover-relays.ts';
import { FinalModel } from './final-model.ts';
import type { AppliedBroadcast } from './local-state.ts';
import { MissedFrames } from './missed-frames.ts';
import { ModelSyncPhase } from './model-sync-phase.ts';
import { RollingSchedule } from './rolling-schedule.ts';
import { RoundCollection } from './round-collection.ts';
import { RoundReport } from './round-report.ts';
import { UploadLedger } from './upload-ledger.ts';
import { VectorPool } from './vector-pool.ts';
import { WorkerRoster } from './worker-roster.ts';

type Phase = 'waiting' | 'collect' | 'sync' | 'done' | 'stopped';
type Hello = Extract<ControlMessage, { kind: 'hello' }>;

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export class AggregatorRole {
  readonly term: number;
  private readonly ctx: RoleContext;
  private readonly aggregator: AggregatorAlgorithm;
  private phase: Phase = 'collect';
  private current: RoundCollection | null = null;
  private readonly workers: WorkerRoster;
  private readonly ledger: UploadLedger;
  private readonly sync: ModelSyncPhase;
  /** Rolling sync: when slices are asked for and block deltas close (null with full syncs). */
  private readonly rolling: RollingSchedule | null;
  private readonly relays: FailoverRelays;
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The model the session ends on, after the last round (final-model.ts). */
  private readonly final: FinalModel;
  private readonly report: RoundReport;
  /** An operator's rollback (rollback()), applied when the next round opens (aggregator-rollback.ts). */
  private readonly rollbacks: AggregatorRollback;
  /** What a worker that missed a broadcast or sync is sent again (missed-frames.ts). */
  private readonly missed: MissedFrames;
  /** Absent workers' recent average uploads, counted in their seats (stand-ins.ts). */
  private readonly standIns: StandIns;
  /** What uploads are decoded into, given back once their round is done with them. */
  private readonly uploadVectors: VectorPool;

  constructor(ctx: RoleContext, term: number) {
    this.ctx = ctx;
    this.term = term;
    this.aggregator = createAggregator(ctx.state.options, ctx.state.learner.numParams);
    this.ledger = new UploadLedger(ctx.settings.lateUploadWindowRounds, (vector, size) =>
      this.aggregator.foldLate(vector, size),
    );
    for (const { round, counted } of ctx.state.recentCountedLists()) this.ledger.remember(round, counted);
    this.workers = new WorkerRoster(ctx, term, (frame) => this.report.countDown(frame));
    this.report = new RoundReport(ctx, (control) => this.workers.sendControlToInStep(control, this.round));
    this.rolling = RollingSchedule.forSession(ctx, this.aggregator, this.workers, term);
    this.sync = new ModelSyncPhase(ctx, this.aggregator, this.workers, { rolling: this.rolling !== null });
    this.relays = new FailoverRelays(ctx, this.ledger, this.workers);
    this.missed = new MissedFrames(ctx, this.workers, this.sync, this.rolling);
    this.final = new FinalModel(ctx, this.workers);
    this.standIns = new StandIns(ctx.state.learner.numParams, { maxAgeRounds: ctx.config.standInRounds });
    this.uploadVectors = new VectorPool(ctx.state.learner.numParams);
    const { workers, ledger, missed, standIns, rolling } = this;
    this.rollbacks = new AggregatorRollback({
      ctx,
      workers,
      ledger,
      missed,
      standIns,
      rolling,
      error: this.aggregator.error,
    });
  }

  /** Takes over at the round this peer is in; every ready member is expected once. */
  start(): void {
    for (const id of this.ctx.members()) this.workers.markInStep(id);
    const { cached, round } = this.ctx.state;
    if (cached?.type === 'syncUpload' && cached.round === round) this.openSync(round);
    else this.openRound(round);
  }

  stop(): void {
    this.phase = 'stopped';
    this.clearTimer();
    this.rollbacks.drop();
    // A block delta still pending closes now, and a round's bookkeeping waiting for it still runs.
    this.rolling?.closeNow();
  }

  get round(): number {
    return this.current?.round ?? this.ctx.state.round;
  }

  /**
   * Operator rollback (snapshots.ts, aggregator-rollback.ts): every peer continues from `model` at
   * the next round. Resolves, once applied, to the round every peer trains from it.
   */
  rollback(model: Float32Array, continuesAtLeast = 0): Promise<{ continuesAt: number }> {
    // No next round to apply it at once stopped or done.
    const open = this.phase !== 'stopped' && this.phase !== 'done';
    return this.rollbacks.request(model, continuesAtLeast, open);
  }

  /** A link to worker `peerId` opened (again): WorkerRoster.linked. */
  onWorkerLinked(peerId: string): void {
    this.workers.linked(peerId);
  }

  /** `peerId` left the session (not only its link, which may open again): onWorkerLeft, and it needs no final model. */
  onMemberLeft(peerId: string): void {
    this.final.left(peerId);
    this.onWorkerLeft(peerId);
  }

  onWorkerLeft(peerId: string): void {
    this.ledger.forget(peerId);
    this.workers.remove(peerId);
    this.rolling?.forget(peerId);
    this.current?.expected.delete(peerId);
    // Also when it was not expected: leaving the session may end a wait for the deadline (alone).
    this.maybeClose();
  }

  /** After the last round: resolves once no worker may still ask for the final model (FinalModel.served). */
  finalModelServed(timeoutMs: number): Promise<void> {
    return this.final.served(timeoutMs);
  }

  /** Stops expecting, in the round or sync collecting, the workers silent past aggregatorSilenceMs (isSilent). */
  dropSilentWorkers(): void {
    const current = this.current;
    if (current === null || (this.phase !== 'collect' && this.phase !== 'sync')) return;
    if (this.dropSilent(current)) this.maybeClose();
  }

  /** Removes the silent workers from `current`'s expected set; true if there were any. */
  private dropSilent(current: RoundCollection): boolean {
    const silent = this.ctx.isSilent === undefined ? [] : current.dropExpected(this.ctx.isSilent);
    if (silent.length > 0)
      this.ctx.log('info', `${current.kind} ${current.round}: not waiting for silent ${silent.join(', ')}`);
    return silent.length > 0;
  }

  onFrame(from: string, frame: Frame): void {
    if (this.phase === 'stopped') return;
    if (frame.term !== this.term) {
      // Not malice: the sender has not heard of this term yet.
      this.ctx.reject(from, 'STALE_TERM', `frame of term ${frame.term}, current ${this.term}`, false);
      return;
    }
    this.report.countUp(frame);
    switch (frame.type) {
      case 'upload':
        this.onUpload(from, frame);
        return;
      case 'syncUpload':
        this.onSyncUpload(from, frame);
        return;
      case 'sliceUpload':
      case 'sliceBroadcast':
        this.onSliceFrame(from, frame);
        return;
      case 'broadcast':
        this.onRelay(from, frame);
        return;
      case 'control':
        return; // decoded by the runtime and passed to onControl
      case 'syncBroadcast':
      case 'model':
        this.reject(from, 'UNEXPECTED_FRAME', `a worker sent a ${frame.type} frame`);
        return;
      default: {
        const unreachable: never = frame.type;
        throw new Error(`unhandled frame type ${String(unreachable)}`);
      }
    }
  }

  onControl(from: string, control: ControlMessage): void {
    if (this.phase === 'stopped') return;
    switch (control.kind) {
      case 'hello':
        this.onHello(from, control);
        return;
      case 'modelRequest':
      case 'catchUp': {
        if (this.phase === 'done') {
          this.final.sendModel(from);
          return;
        }
        // catchUp: it lost a broadcast (broadcast-catch-up.ts), the ones since if kept.
        const resent =
          control.kind === 'catchUp' && this.missed.broadcastsSince(from, control.round, this.collecting);
        if (!resent) this.admit(from);
        return;
      }
      case 'ping':
        return; // liveness only (the runtime noted it heard from the worker)
      case 'metrics':
      case 'done':
      case 'roundClosed':
        this.reject(from, 'UNEXPECTED_CONTROL', `a worker sent ${control.kind}`);
        return;
      default: {
        const unreachable: never = control;
        throw new Error(`unhandled control ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private onHello(from: string, hello: Hello): void {
    if (this.phase === 'waiting') {
      if (hello.hasModel && hello.round === 0) this.workers.markInStep(from);
      else this.workers.awaitModel(from);
      this.openRound(0);
      return;
    }
    if (this.phase === 'done') {
      this.final.tell(from, this.round);
      return;
    }
    // On a model an operator's rollback abandoned (before its round): the model, starting over.
    const abandoned = hello.round < (this.ctx.lastRollback?.()?.continuesAt ?? 0);
    if (hello.hasModel && abandoned) return this.admit(from, true);
    const current = this.current;
    if (hello.hasModel && current !== null && hello.round === current.round) {
      // In step: its upload of this round (resent right after the hello, or about to be
      // computed) counts in it. During a sync, only a pending sync delta is awaited.
      this.workers.markInStep(from);
      this.missed.resendAround(from, hello.round, this.term);
      const awaited = this.phase === 'collect' || hello.pendingUpload;
      if (awaited && !current.has(from)) current.expected.add(from);
      return;
    }
    const missed =
      hello.hasModel && current !== null && this.phase === 'collect'
        ? this.missed.lastOf(hello.round, current.round, from)
        : null;
    if (missed !== null && current !== null) {
      // One round behind (its link dropped before the last broadcast or sync reached it):
      // that message again, not the whole model (which would reset its own residual).
      this.missed.resendAround(from, hello.round, this.term, missed);
      this.workers.markInStep(from);
      current.expected.add(from);
      return;
    }
    // Further behind (its link was down for a few rounds): the broadcasts since, if kept.
    if (hello.hasModel && this.missed.broadcastsSince(from, hello.round, this.collecting)) return;
    // A joiner, or out of step (an upload of an older round it resends is folded late).
    this.admit(from);
  }

  /** The round collecting, if one is (not a sync). */
  private get collecting(): RoundCollection | null {
    return this.phase === 'collect' ? this.current : null;
  }

  private get meanAggregation(): boolean {
    return (this.ctx.state.options.aggregation ?? 'mean') === 'mean';
  }

  /** Schedules the model for `peerId`: now if a round is collecting, else at the next round. */
  private admit(peerId: string, startOver = false): void {
    this.ledger.forget(peerId);
    this.workers.admit(peerId, startOver);
    this.current?.expected.delete(peerId);
    if (this.phase === 'collect' && this.current !== null) this.sendModels(this.current.round);
    this.maybeClose();
  }

  /** The common model to the workers waiting for it; a pending block delta closes first (the model holds it). */
  private sendModels(round: number): void {
    if (this.workers.awaitingModel === 0) return;
    this.rolling?.closeNow();
    this.workers.sendModels(round);
  }

  /**
   * `afterPrevious` is the bookkeeping of the round just closed (evaluation, round event);
   * it runs once this round's own upload is computed, while the workers compute theirs, so
   * it stays off the round's critical path. With a rolling sync and settings.sliceWaitMs the
   * own upload first waits for the previous round's block delta (RollingSchedule.afterDelta).
   */
  private openRound(opening: number, afterPrevious: () => void = () => {}): void {
    const round = this.phase === 'stopped' ? opening : this.rollbacks.applyAt(opening);
    if (this.phase === 'stopped' || round >= this.ctx.config.rounds) {
      afterPrevious();
      if (this.phase !== 'stopped') this.finish(round);
      return;
    }
    this.phase = 'collect';
    if (round === 0 && this.workers.size + 1 < this.ctx.config.minPeers) {
      // Training starts once enough peers are here; onHello re-opens.
      this.phase = 'waiting';
      this.current = null;
      return;
    }
    const { numParams } = this.ctx.state.learner;
    const current = (this.current = new RoundCollection('round', round, this.workers.inStep, numParams));
    this.dropSilent(current);
    this.rolling?.open(round);
    this.sendModels(round);
    this.armTimer(this.ctx.settings.roundDeadlineMs, () => this.onDeadline());
    // Without its own upload (the round closed or the role stopped first): afterPrevious only.
    const ownUpload = (computeOwn: boolean): void => {
      if (!computeOwn || this.phase === 'stopped' || this.current !== current) {
        afterPrevious();
        return;
      }
      const state = this.ctx.state;
      let own = state.cached;
      if (own?.type !== 'upload' || own.round !== round) {
        own = state.prepareUpload(mixSeed(this.ctx.config.seed, round, senderTag(this.ctx.selfId)));
        current.computeMs = state.lastComputeMs;
      }
      afterPrevious();
      const ownVector = this.uploadVectors.take();
      const ownSupport = this.aggregator.decodeUploadSparse(own.payload, ownVector);
      if (!current.add(this.ctx.selfId, ownVector, own.aux, ownSupport)) this.uploadVectors.give(ownVector);
      for (const early of this.ledger.takeEarly(round, (from) => this.workers.inStep.has(from)))
        current.add(early.from, early.vector, early.aux);
      this.maybeClose();
    };
    if (this.rolling === null) ownUpload(true);
    else this.rolling.afterDelta(ownUpload);
  }

  private onUpload(from: string, frame: Frame): void {
    const current = this.current;
    const vector = this.uploadVectors.take();
    let support: Uint32Array | null;
    try {
      support = this.aggregator.decodeUploadSparse(frame.payload, vector);
    } catch (error) {
      this.uploadVectors.give(vector);
      this.reject(from, 'BAD_UPLOAD', message(error));
      return;
    }
    if (current !== null && this.phase === 'collect' && frame.round === current.round) {
      // A resend of what was already counted changes nothing.
      if (current.add(from, vector, frame.aux, support)) this.maybeClose();
      else this.uploadVectors.give(vector);
      return;
    }
    const { round: ownRound, lastBroadcast } = this.ctx.state;
    // Between closing t and opening t + 1 (a setImmediate) the state names t: an upload of t + 1 can come.
    const opening = lastBroadcast?.round === ownRound && !lastBroadcast.sync ? ownRound + 1 : ownRound;
    // The round it belongs to is not open yet: waiting for minPeers, about to open, or opening
    // after the sync being collected (a worker that skipped the sync, such as a deposed
    // aggregator, is sent the model then; its upload counts in that round).
    const next = current === null ? opening : this.phase === 'sync' ? current.round + 1 : null;
    const placed = this.ledger.place(from, { round: frame.round, vector, aux: frame.aux }, next);
    if (placed !== 'early') this.uploadVectors.give(vector); // folded at once, if at all
    if (placed === 'unknown')
      this.ctx.reject(from, 'STALE_ROUND', `upload of round ${frame.round}, not closed here`, false);
  }

  /** Rolling sync: a worker's slice, or the last block delta it applied, relayed to a new aggregator. */
  private onSliceFrame(from: string, frame: Frame): void {
    const upload = frame.type === 'sliceUpload';
    try {
      if (this.rolling === null) throw new Error(`a ${frame.type} frame in a session without rolling sync`);
      if (upload) this.rolling.onSlice(from, frame.round, frame.payload);
      else this.relays.onSlice(from, frame, this.rolling.slices);
    } catch (error) {
      const code = upload ? 'BAD_SYNC' : this.rolling === null ? 'UNEXPECTED_FRAME' : 'BAD_RELAY';
      this.reject(from, code, message(error));
    }
  }

  private onSyncUpload(from: string, frame: Frame): void {
    const current = this.current;
    if (current === null) {
      // Between a broadcast that announced a sync and the sync's opening: kept for it.
      try {
        if (this.phase === 'collect') this.sync.keepEarly(from, frame.round, frame.payload);
      } catch (error) {
        this.reject(from, 'BAD_SYNC', message(error));
      }
      return;
    }
    if (this.phase === 'collect' && frame.round === current.round) {
      // It applied a broadcast of this round we never made (the old aggregator's): out of step.
      this.admit(from);
      return;
    }
    if (this.phase !== 'sync' || frame.round !== current.round || current.has(from)) return; // late: it keeps its deviation
    try {
      this.sync.add(current, from, frame.payload);
    } catch (error) {
      this.reject(from, 'BAD_SYNC', message(error));
      return;
    }
    this.maybeClose();
  }

  /** A worker passes on the last broadcast it applied, from an older term (failover-relays.ts). */
  private onRelay(from: string, frame: Frame): void {
    const outcome = this.relays.onBroadcast(from, frame, this.phase === 'collect' ? this.current : null);
    if (outcome === null) return;
    if (outcome === 'outOfStep') {
      this.admit(from);
      return;
    }
    // Adopted and sent on: it closed the round collecting, as if this peer had closed it.
    this.clearTimer();
    const { round } = outcome;
    this.sync.roundClosed();
    if (outcome.sync) {
      this.openSync(round);
      return;
    }
    this.ctx.state.round = round + 1;
    this.current = null;
    setImmediate(() => this.openRound(round + 1));
  }

  private onDeadline(): void {
    const current = this.current;
    if (current === null) return;
    current.deadlinePassed = true;
    if (this.phase === 'collect' && !current.hasQuorum(this.ctx.settings.quorum)) {
      // Never wait forever: after the grace, aggregate whatever arrived.
      this.armTimer(this.ctx.settings.quorumGraceMs, () => this.close());
      return;
    }
    this.close();
  }

  private maybeClose(): void {
    const current = this.current;
    if (current === null || (this.phase !== 'collect' && this.phase !== 'sync')) return;
    const quorate =
      current.deadlinePassed && this.phase === 'collect' && current.hasQuorum(this.ctx.settings.quorum);
    if ((current.allIn() && !this.alone(current)) || quorate) this.close();
  }

  /**
   * A round alone (RoundCollection.isAlone) waits for its deadline (or a worker coming back),
   * not closing at once round after round with this peer's own upload alone.
   */
  private alone(current: RoundCollection): boolean {
    return this.phase === 'collect' && current.isAlone(this.ctx.members().length);
  }

  private close(): void {
    if (this.phase === 'sync') this.closeSync();
    else if (this.phase === 'collect') this.closeRound();
  }

  private closeRound(): void {
    const current = this.current;
    if (current === null) return;
    this.current = null; // at once: a link closing inside a send re-enters via onWorkerLeft
    this.clearTimer();
    const { round } = current;
    const counted = current.counted();
    // Rolling sync: the previous block's delta closes, the workers send this round's slices.
    this.rolling?.closing(round, counted);
    const countedTags = counted.map(senderTag);
    // The running mean when the statistic is the mean, absent workers' stand-ins in it; a
    // robust one needs every upload, and takes no stand-ins.
    const standIns = this.meanAggregation ? current.addStandIns(this.standIns) : [];
    const uploads = this.meanAggregation ? [current.mean()] : [...current.vectors.values()];
    const payload = this.aggregator.aggregate(uploads, mixSeed(this.ctx.config.seed, round, 0xa66));
    this.relays.roundClosed(round);
    this.ledger.remember(round, countedTags);
    this.sync.roundClosed();
    const liec = this.ctx.state.options.algorithm === 'liec';
    const drift = liec ? current.meanDeviationSq() : null;
    const sync = this.sync.due(round, drift ?? 0);
    const broadcast: AppliedBroadcast = { round, term: this.term, counted: countedTags, payload, sync };
    if (this.ctx.state.options.adaptiveUp !== undefined)
      broadcast.slackSeconds = roundSlack(current, this.ctx.selfId);
    const recipients = this.workers.sendBroadcast(broadcast);
    const closedAt = epochNow();
    const state = this.ctx.state;
    state.noteBroadcast(broadcast);
    this.missed.closed(broadcast);
    const folds = this.ledger.takeFolds();
    // A robust statistic (median, trimmed mean) drops late uploads instead: none to report.
    const lateUploads = this.meanAggregation ? folds : [];
    const loss = state.lastLoss;
    const expected = current.expected.size + 1;
    // The sends leave on the microtask queue; everything else waits until they are out.
    setImmediate(() => {
      // Applied even if this role stopped meanwhile: the workers apply it too.
      state.requireWorker().applyBroadcast(payload);
      // Off the critical path (the broadcast is out): the counted uploads into their averages.
      if (this.meanAggregation) current.recordInto(this.standIns);
      // Nothing holds the round's uploads now: the mean, e and the averages have their own.
      for (const vector of current.vectors.values()) this.uploadVectors.give(vector);
      state.cached = null;
      const afterRound = this.report.closed({
        round,
        term: this.term,
        counted,
        expected,
        lateUploads,
        standIns,
        loss,
        closedAt,
        durationMs: closedAt - (performance.timeOrigin + current.openedAt),
        computeMs: current.computeMs,
        sync,
        recipients: recipients.length,
        drift,
      });
      this.rolling?.broadcast(round, recipients, sync);
      if (sync) {
        this.openSync(round, afterRound);
        return;
      }
      state.round = round + 1;
      this.openRound(round + 1, afterRound);
    });
  }

  private openSync(round: number, afterRound: () => void = () => {}): void {
    const current = this.sync.open(round, this.phase === 'stopped');
    if (current === null) {
      afterRound();
      return;
    }
    this.phase = 'sync';
    this.current = current;
    this.dropSilent(current);
    this.armTimer(this.ctx.settings.syncDeadlineMs, () => this.onDeadline());
    afterRound();
    this.maybeClose();
  }

  private closeSync(): void {
    const current = this.current;
    if (current === null) return;
    this.current = null; // before anything that sends: see closeRound
    this.clearTimer();
    this.sync.close(current);
    this.phase = 'collect';
    setImmediate(() => this.openRound(current.round + 1));
  }

  private finish(round: number): void {
    this.phase = 'done';
    this.current = null;
    this.clearTimer();
    this.final.announce(round, this.round);
  }

  private reject(from: string, code: string, text: string): void {
    this.ctx.reject(from, code, text, true);
  }

  private armTimer(ms: number, action: () => void): void {
    this.clearTimer();
    this.timer = setTimeout(action, ms);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }
}
