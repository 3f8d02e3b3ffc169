/**
 * The aggregator's round loop. It also trains: its own upload enters every round without
 * crossing the network.
 *
 * A round: open (send the model to joiners, compute the own upload, start the deadline) ->
 * collect uploads from the expected workers -> close when all are in, or at the deadline
 * with quorum, or after the quorum grace with whatever arrived -> aggregate, broadcast with
 * the list of who was counted -> (LIEC) sync when due -> next round. Uploads that arrive
 * after their round closed are folded into the error e, weighted as members of their round.
 */
import {
  createAggregator,
  syncDue,
  type AggregatorAlgorithm,
  type WorkerAlgorithm,
} from '../../shared/algorithm/index.ts';
import { normSq } from '../../shared/algorithm/vector.ts';
import { parseCompressor } from '../../shared/compress/index.ts';
import { encodeControl, type ControlMessage } from '../../shared/protocol/control.ts';
import { encodeTags, frameBytes, senderTag, type Frame } from '../../shared/protocol/frames.ts';
import { mixSeed } from '../../shared/random.ts';
import { fp32PayloadBytes } from '../sim/traffic.ts';
import type { OutgoingFrame, RoleContext } from './context.ts';

type Phase = 'waiting' | 'collect' | 'sync' | 'done' | 'stopped';

interface Collecting {
  round: number;
  expected: Set<string>;
  received: Map<string, Float32Array>;
  openedAt: number;
  computeMs: number;
  deadlinePassed: boolean;
  lateFolded: number;
}

const EMPTY = new Uint8Array(0);

export class AggregatorRole {
  readonly term: number;
  private readonly ctx: RoleContext;
  private readonly aggregator: AggregatorAlgorithm;
  private phase: Phase = 'collect';
  private current: Collecting | null = null;
  /** Workers known to be in step: expected from the next round on. */
  private readonly inStep = new Set<string>();
  /** Workers waiting for the model (joiners, or out of step), served at the next round start. */
  private readonly awaitingModel = new Set<string>();
  /** Who was counted in recent rounds, to fold late uploads exactly once. */
  private readonly countedHistory = new Map<number, { counted: Set<string>; size: number }>();
  private timer: ReturnType<typeof setTimeout> | null = null;
  private roundsSinceSync = 0;
  private deviationSum = 0;
  private deviationCount = 0;
  private bytesUp = 0;
  private bytesDown = 0;
  private fp32Up = 0;
  private fp32Down = 0;
  private readonly identity = parseCompressor('identity');

  constructor(ctx: RoleContext, term: number) {
    this.ctx = ctx;
    this.term = term;
    this.aggregator = createAggregator(ctx.state.options, ctx.state.learner.numParams);
  }

  /** Takes over at the round this peer is in; every current member is expected once. */
  start(): void {
    for (const id of this.ctx.members()) this.inStep.add(id);
    const cached = this.ctx.state.cached;
    if (cached?.type === 'syncUpload' && cached.round === this.ctx.state.round) this.openSync(cached.round);
    else this.openRound(this.ctx.state.round);
  }

  stop(): void {
    this.phase = 'stopped';
    this.clearTimer();
  }

  get round(): number {
    return this.current?.round ?? this.ctx.state.round;
  }

  onWorkerLeft(peerId: string): void {
    this.inStep.delete(peerId);
    this.awaitingModel.delete(peerId);
    if (this.current?.expected.delete(peerId) === true) this.maybeClose();
  }

  onFrame(from: string, frame: Frame): void {
    if (this.phase === 'stopped') return;
    if (frame.term !== this.term) {
      // Not malice: the sender has not heard of this term yet.
      this.ctx.reject(from, 'STALE_TERM', `frame of term ${frame.term}, current ${this.term}`, false);
      return;
    }
    this.countUp(frame);
    switch (frame.type) {
      case 'upload':
        this.onUpload(from, frame);
        return;
      case 'syncUpload':
        this.onSyncUpload(from, frame);
        return;
      case 'control':
        return; // decoded by the runtime and passed to onControl
      case 'broadcast':
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

  onControl(from: string, message: ControlMessage): void {
    switch (message.kind) {
      case 'hello':
        this.onHello(from, message);
        return;
      case 'modelRequest':
        this.admit(from);
        return;
      case 'metrics':
      case 'done':
        this.reject(from, 'UNEXPECTED_CONTROL', `a worker sent ${message.kind}`);
        return;
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled control ${JSON.stringify(unreachable)}`);
      }
    }
  }

  private onHello(from: string, hello: Extract<ControlMessage, { kind: 'hello' }>): void {
    if (this.phase === 'waiting') {
      if (hello.hasModel && hello.round === 0) this.inStep.add(from);
      else this.awaitingModel.add(from);
      this.openRound(0);
      return;
    }
    const current = this.current;
    if (hello.hasModel && current !== null && hello.round === current.round && this.phase !== 'done') {
      // In step: its pending upload (resent right after the hello) counts in this round.
      this.inStep.add(from);
      if (this.phase === 'collect' && hello.pendingUpload && !current.received.has(from))
        current.expected.add(from);
      if (this.phase === 'sync' && hello.pendingUpload && !current.received.has(from))
        current.expected.add(from);
      return;
    }
    // A joiner, or out of step (an upload of an older round it resends is folded late).
    this.admit(from);
  }

  /** Schedules the model for `peerId`: now if a round is collecting, else at the next round. */
  private admit(peerId: string): void {
    this.inStep.delete(peerId);
    this.current?.expected.delete(peerId);
    this.awaitingModel.add(peerId);
    if (this.phase === 'collect' && this.current !== null) this.sendModels(this.current.round);
    this.maybeClose();
  }

  private sendModels(round: number): void {
    if (this.awaitingModel.size === 0) return;
    const model = this.identity.encode(this.ctx.state.requireWorker().commonModel());
    for (const peerId of this.awaitingModel) {
      this.send(peerId, { type: 'model', term: this.term, round, aux: 0, meta: EMPTY, payload: model });
      // From now on it follows the broadcasts; it is expected from the next round.
      this.inStep.add(peerId);
    }
    this.awaitingModel.clear();
  }

  private openRound(round: number): void {
    if (this.phase === 'stopped') return;
    if (round >= this.ctx.config.rounds) {
      this.finish(round);
      return;
    }
    this.phase = 'collect';
    if (round === 0 && this.inStep.size + this.awaitingModel.size + 1 < this.ctx.config.minPeers) {
      // Training starts once enough peers are here; onHello re-opens.
      this.phase = 'waiting';
      this.current = null;
      return;
    }
    const openedAt = performance.now();
    this.current = {
      round,
      expected: new Set(this.inStep),
      received: new Map(),
      openedAt,
      computeMs: 0,
      deadlinePassed: false,
      lateFolded: 0,
    };
    this.deviationSum = 0;
    this.deviationCount = 0;
    this.sendModels(round);
    this.armTimer(this.ctx.settings.roundDeadlineMs, () => this.onDeadline());
    const state = this.ctx.state;
    let own = state.cached;
    if (own?.type !== 'upload' || own.round !== round) {
      const started = performance.now();
      own = state.prepareUpload(mixSeed(this.ctx.config.seed, round, senderTag(this.ctx.selfId)));
      this.current.computeMs = performance.now() - started;
    }
    this.current.received.set(this.ctx.selfId, this.aggregator.decodeUpload(own.payload));
    this.noteDeviation(own.aux);
    this.maybeClose();
  }

  private onUpload(from: string, frame: Frame): void {
    const current = this.current;
    let vector: Float32Array;
    try {
      vector = this.aggregator.decodeUpload(frame.payload);
    } catch (error) {
      this.reject(from, 'BAD_UPLOAD', error instanceof Error ? error.message : String(error));
      return;
    }
    if (current !== null && this.phase === 'collect' && frame.round === current.round) {
      if (current.received.has(from)) return; // a resend of what was already counted
      current.received.set(from, vector);
      this.noteDeviation(frame.aux);
      this.maybeClose();
      return;
    }
    const history = this.countedHistory.get(frame.round);
    if (history !== undefined && !history.counted.has(from)) {
      this.aggregator.foldLate(vector, history.size);
      history.counted.add(from);
      if (current !== null) current.lateFolded++;
      return;
    }
    if (history === undefined) {
      this.ctx.reject(from, 'STALE_ROUND', `upload of round ${frame.round} outside the late window`, false);
    }
  }

  private onSyncUpload(from: string, frame: Frame): void {
    const current = this.current;
    if (current === null || this.phase !== 'sync' || frame.round !== current.round) return; // late: it keeps its deviation
    try {
      current.received.set(from, this.aggregator.decodeSync(frame.payload));
    } catch (error) {
      this.reject(from, 'BAD_SYNC', error instanceof Error ? error.message : String(error));
      return;
    }
    this.maybeClose();
  }

  private onDeadline(): void {
    const current = this.current;
    if (current === null) return;
    current.deadlinePassed = true;
    if (this.phase === 'collect' && !this.hasQuorum(current)) {
      // Never wait forever: after the grace, aggregate whatever arrived.
      this.armTimer(this.ctx.settings.quorumGraceMs, () => this.close());
      return;
    }
    this.close();
  }

  private hasQuorum(current: Collecting): boolean {
    const needed = Math.ceil(this.ctx.settings.quorum * (current.expected.size + 1));
    return current.received.size >= needed;
  }

  private maybeClose(): void {
    const current = this.current;
    if (current === null || (this.phase !== 'collect' && this.phase !== 'sync')) return;
    const allIn = [...current.expected].every((id) => current.received.has(id));
    if (allIn || (current.deadlinePassed && this.phase === 'collect' && this.hasQuorum(current)))
      this.close();
  }

  private close(): void {
    if (this.phase === 'sync') this.closeSync();
    else if (this.phase === 'collect') this.closeRound();
  }

  private closeRound(): void {
    const current = this.current;
    if (current === null) return;
    this.clearTimer();
    const { round } = current;
    const counted = [...current.received.keys()];
    const payload = this.aggregator.aggregate(
      [...current.received.values()],
      mixSeed(this.ctx.config.seed, round, 0xa66),
    );
    this.rememberCounted(round, counted);
    this.roundsSinceSync++;
    const options = this.ctx.state.options;
    const worker = this.ctx.state.requireWorker();
    const isLast = round + 1 >= this.ctx.config.rounds;
    const syncNow =
      options.algorithm === 'liec' &&
      options.sync !== undefined &&
      (isLast ||
        syncDue(options.sync, {
          roundsSinceSync: this.roundsSinceSync,
          meanDeviationSq: this.deviationCount > 0 ? this.deviationSum / this.deviationCount : 0,
          commonNormSq: normSq(worker.commonModel()),
        }) !== null);
    const frame: OutgoingFrame = {
      type: 'broadcast',
      term: this.term,
      round,
      aux: syncNow ? 1 : 0,
      meta: encodeTags(counted.map(senderTag)),
      payload,
    };
    const recipients = [...this.inStep].filter((id) => id !== this.ctx.selfId);
    for (const id of recipients) this.send(id, frame);
    worker.applyBroadcast(payload);
    this.ctx.state.cached = null;
    const d = this.ctx.state.learner.numParams;
    this.fp32Up += (counted.length - 1) * frameBytes(0, fp32PayloadBytes(d));
    this.fp32Down += recipients.length * frameBytes(4 * counted.length, fp32PayloadBytes(d));
    const evaluation = this.evaluateIfDue(round);
    this.ctx.events.publish('round', {
      round,
      term: this.term,
      counted: counted.length,
      expected: current.expected.size + 1,
      participants: counted,
      late: current.lateFolded,
      loss: this.ctx.state.lastLoss,
      testAccuracy: evaluation?.accuracy ?? null,
      testLoss: evaluation?.loss ?? null,
      bytesUp: this.bytesUp,
      bytesDown: this.bytesDown,
      fp32BytesUp: this.fp32Up,
      fp32BytesDown: this.fp32Down,
      durationMs: performance.now() - current.openedAt,
      computeMs: current.computeMs,
      sync: syncNow,
    });
    this.ctx.reportRound({
      term: this.term,
      round,
      participants: counted,
      bytes: { up: this.bytesUp, down: this.bytesDown },
    });
    if (syncNow) {
      this.openSync(round);
      return;
    }
    this.ctx.state.round = round + 1;
    this.current = null;
    // Let queued messages (late uploads, hellos) in before the next round's compute.
    setImmediate(() => this.openRound(round + 1));
  }

  private openSync(round: number): void {
    this.phase = 'sync';
    this.roundsSinceSync = 0;
    this.current = {
      round,
      expected: new Set([...this.inStep].filter((id) => id !== this.ctx.selfId)),
      received: new Map(),
      openedAt: performance.now(),
      computeMs: 0,
      deadlinePassed: false,
      lateFolded: 0,
    };
    this.ctx.state.round = round;
    const own = this.ctx.state.prepareSync(
      mixSeed(this.ctx.config.seed, round, senderTag(this.ctx.selfId), 5),
    );
    this.current.received.set(this.ctx.selfId, this.aggregator.decodeSync(own.payload));
    this.armTimer(this.ctx.settings.syncDeadlineMs, () => this.onDeadline());
    this.maybeClose();
  }

  private closeSync(): void {
    const current = this.current;
    if (current === null) return;
    this.clearTimer();
    const { round } = current;
    const counted = [...current.received.keys()];
    const payload = this.aggregator.aggregateSync(
      [...current.received.values()],
      mixSeed(this.ctx.config.seed, round, 0x5c),
    );
    const frame: OutgoingFrame = {
      type: 'syncBroadcast',
      term: this.term,
      round,
      aux: 0,
      meta: encodeTags(counted.map(senderTag)),
      payload,
    };
    for (const id of this.inStep) if (id !== this.ctx.selfId) this.send(id, frame);
    this.ctx.state.requireWorker().applySync(payload, true);
    this.ctx.state.cached = null;
    this.ctx.state.round = round + 1;
    this.current = null;
    this.phase = 'collect';
    setImmediate(() => this.openRound(round + 1));
  }

  private finish(round: number): void {
    this.phase = 'done';
    this.clearTimer();
    const learner = this.ctx.state.learner;
    const evaluation = learner.evaluate(this.ctx.state.requireWorker().model);
    const done: ControlMessage = { kind: 'done', round, testAccuracy: evaluation.accuracy };
    for (const id of this.inStep) this.sendControl(id, done);
    this.ctx.events.publish('done', { round, testAccuracy: evaluation.accuracy });
  }

  private evaluateIfDue(round: number): { accuracy: number; loss: number } | null {
    const every = this.ctx.config.evalEvery;
    if ((round + 1) % every !== 0 && round + 1 < this.ctx.config.rounds) return null;
    const evaluation = this.ctx.state.learner.evaluate(this.ctx.state.requireWorker().model);
    const metrics: ControlMessage = {
      kind: 'metrics',
      round,
      testAccuracy: evaluation.accuracy,
      testLoss: evaluation.loss,
    };
    for (const id of this.inStep) this.sendControl(id, metrics);
    this.ctx.events.publish('metrics', {
      round,
      testAccuracy: evaluation.accuracy,
      testLoss: evaluation.loss,
    });
    return evaluation;
  }

  private rememberCounted(round: number, counted: string[]): void {
    this.countedHistory.set(round, { counted: new Set(counted), size: counted.length });
    this.countedHistory.delete(round - this.ctx.settings.lateUploadWindowRounds);
  }

  private noteDeviation(aux: number): void {
    this.deviationSum += aux;
    this.deviationCount++;
  }

  private countUp(frame: Frame): void {
    this.bytesUp += frameBytes(frame.meta.length, frame.payload.length);
  }

  private sendControl(to: string, message: ControlMessage): void {
    this.send(to, {
      type: 'control',
      term: this.term,
      round: this.round,
      aux: 0,
      meta: encodeControl(message),
      payload: EMPTY,
    });
  }

  private send(to: string, frame: OutgoingFrame): void {
    this.bytesDown += frameBytes(frame.meta.length, frame.payload.length);
    this.ctx.send(to, frame);
  }

  private reject(from: string, code: string, message: string): void {
    this.ctx.reject(from, code, message, true);
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

export type { WorkerAlgorithm };
