/**
 * The worker's side of the protocol, one aggregator and one term at a time.
 *
 * On every (re)connection it says hello (its round, whether it has a model and a pending
 * upload) and resends its cached upload, so a new aggregator loses nothing of the round in
 * flight; to a new aggregator it first passes on the last broadcast it applied (in case the
 * old aggregator died while sending it), and the rolling sync's block delta that followed it.
 * Then: model -> adopt and upload; broadcast -> apply c (+ own residual for LIEC),
 * then upload the next round or, when the broadcast asks for it, the sync delta (one of a
 * later round: the one of this round was lost, ask for it again, broadcast-catch-up.ts);
 * syncBroadcast -> adopt the synced model and upload the next round.
 */
import { modelDigest } from '../../shared/model-digest.ts';
import { parseCompressor } from '../../shared/compress/index.ts';
import { decodeControl, encodeControl, type ControlMessage } from '../../shared/protocol/control.ts';
import { decodeBroadcastMeta, type BroadcastMeta } from '../../shared/protocol/broadcast-meta.ts';
import {
  decodeTags,
  encodeTags,
  MODEL_START_OVER,
  senderTag,
  type Frame,
} from '../../shared/protocol/frames.ts';
import { decodeModelMeta } from '../../shared/protocol/model-meta.ts';
import { mixSeed } from '../../shared/random.ts';
import { rollingPeriod, sliceDue, syncBlock, type SyncBlock } from '../../shared/algorithm/index.ts';
import { noteUploadFeedback, roundUploadCompressor } from './adaptive-upload.ts';
import { AheadBroadcasts } from './broadcast-catch-up.ts';
import type { OutgoingFrame, RoleContext } from './context.ts';

const EMPTY = new Uint8Array(0);

export class WorkerRole {
  readonly term: number;
  readonly aggregatorId: string;
  private readonly ctx: RoleContext;
  private stopped = false;
  private connected = false;
  /** Cancels the scheduled computation of the next upload, if any. */
  private cancelCompute: (() => void) | null = null;
  private readonly identity = parseCompressor('identity');
  private readonly selfTag: number;
  /** The last full counted list this term's aggregator sent (see SAME_COUNTED_META). */
  private lastCounted: number[] | null = null;
  /** Rolling sync: the last round whose slice this worker sent. */
  private slicedRound = -1;
  /** When this term's aggregator last moved this worker on (a model, a broadcast, a sync). */
  private progressAt: number | null = null;
  /** Asked for the aggregator's final model: its `done` named another model than this one's. */
  private fetchingFinalModel = false;
  /** Broadcasts that came ahead of a lost one (broadcast-catch-up.ts). */
  private readonly ahead = new AheadBroadcasts();

  constructor(ctx: RoleContext, aggregatorId: string, term: number) {
    this.ctx = ctx;
    this.aggregatorId = aggregatorId;
    this.term = term;
    this.selfTag = senderTag(ctx.selfId);
  }

  /** False once stopped (a new term, or training done). */
  get active(): boolean {
    return !this.stopped;
  }

  stop(): void {
    this.stopped = true;
    this.cancelCompute?.();
    this.cancelCompute = null;
  }

  /**
   * The link to the aggregator opened: say where we stand and resend what is pending. With
   * `helloSent`, this link carried this peer's hello already (learner-wait.ts: said while its
   * learner loaded): a second one would have the aggregator send its model twice.
   */
  onConnected(helloSent = false): void {
    if (this.stopped) return;
    this.connected = true;
    const state = this.ctx.state;
    const cached = state.cached;
    const last = state.lastBroadcast;
    if (last !== null && last.term !== this.term) {
      // First, the last broadcast we applied: if the old aggregator died while sending it,
      // the new one may not have it (it adopts it, so the round is not closed twice). With a
      // rolling sync, the last block delta too, in the order applied (a delta follows its
      // round's broadcast, and the one of the round before comes right ahead of the next
      // broadcast): the old aggregator may have died before every worker had them.
      const slice = state.lastSlice;
      const relaySlice = (): void => {
        if (slice === null) return;
        this.ctx.send(
          this.aggregatorId,
          this.relayFrame('sliceBroadcast', slice.round, 0, slice.counted, slice.payload),
        );
      };
      if (slice?.round === last.round - 1) relaySlice();
      this.ctx.send(
        this.aggregatorId,
        this.relayFrame('broadcast', last.round, last.sync ? 1 : 0, last.counted, last.payload),
      );
      if (slice?.round === last.round) relaySlice();
    }
    if (!helloSent)
      this.sendControl({
        kind: 'hello',
        round: state.round,
        hasModel: state.hasModel,
        pendingUpload: cached !== null,
      });
    if (cached !== null) {
      this.sendCached();
    } else if (state.hasModel && state.round < this.ctx.config.rounds) {
      this.scheduleUpload();
    }
  }

  /** A broadcast or block delta this peer applied, passed on to a new aggregator. */
  private relayFrame(
    type: 'broadcast' | 'sliceBroadcast',
    round: number,
    aux: number,
    counted: readonly number[],
    payload: Uint8Array,
  ): OutgoingFrame {
    return { type, term: this.term, round, aux, meta: encodeTags(counted), payload };
  }

  /**
   * Whether the session has begun training as far as this worker knows: it applied a
   * broadcast or holds a model past round 0 (a late joiner's, a resumed one's).
   */
  get trainingStarted(): boolean {
    const state = this.ctx.state;
    return state.lastBroadcast !== null || state.round > 0;
  }

  get isConnected(): boolean {
    return this.connected;
  }

  onDisconnected(): void {
    this.connected = false;
  }

  /**
   * How long this worker's upload has waited since its aggregator last moved it on, as
   * `elapsed` measures (which leaves out this peer's own stalls); null when no upload waits
   * or the aggregator has not moved it on in this term yet (it may wait for minPeers).
   */
  uploadWaitMs(elapsed: (since: number) => number): number | null {
    if (this.stopped || this.progressAt === null || this.ctx.state.cached === null) return null;
    return elapsed(this.progressAt);
  }

  onFrame(from: string, frame: Frame): void {
    if (this.stopped) return;
    if (from !== this.aggregatorId || frame.term !== this.term) {
      this.ctx.reject(
        from,
        'STALE_TERM',
        `frame from ${from} term ${frame.term}; aggregator ${this.aggregatorId} term ${this.term}`,
        false,
      );
      return;
    }
    try {
      this.handle(frame);
    } catch (error) {
      // A malformed payload leaves the model untouched; ask for a fresh model.
      this.ctx.reject(from, 'BAD_FRAME', error instanceof Error ? error.message : String(error), true);
      this.requestModel();
    }
  }

  private handle(frame: Frame): void {
    const state = this.ctx.state;
    switch (frame.type) {
      case 'model': {
        const model = this.identity.decode(frame.payload, state.learner.numParams);
        const countedLists = decodeModelMeta(frame.meta); // before anything changes: it may throw
        // An upload of this round already sent stays as it is (the aggregator counts or
        // folds it, or a new one gets it resent): one computed again would be a second
        // upload of the round, dropped as a duplicate.
        const sent =
          state.cached?.type === 'upload' && state.cached.round === frame.round && state.cached.sends > 0;
        const cached = sent ? state.cached : null;
        // Its own unsynced gradients stay, unless everyone starts over (a rollback, the end).
        const keepOwn = frame.aux !== MODEL_START_OVER && !this.fetchingFinalModel;
        state.adopt(model, frame.round, keepOwn);
        state.learnCountedLists(countedLists);
        if (cached !== null) state.cached = cached;
        this.ahead.clear();
        this.progressAt = performance.now();
        this.ctx.events.publish('model', { round: frame.round, source: 'aggregator' });
        // The final model, sent with a second `done`: nothing more to upload.
        if (!this.fetchingFinalModel) this.scheduleUpload();
        return;
      }
      case 'broadcast': {
        // Read before anything else: a full list is the reference of the next "same" metas.
        const meta = this.readBroadcastMeta(frame.meta);
        if (meta === null) {
          // "Same list as last" before any list of this term: an honest aggregator sends that
          // when it sent the list while our link was not up yet (it took over from us while we
          // were frozen), so it is no fault of the aggregator's. Catch up like a joiner.
          this.ctx.reject(
            this.aggregatorId,
            'COUNTED_LIST_UNKNOWN',
            'a "same counted list" broadcast before any list',
            false,
          );
          this.requestModel();
          return;
        }
        if (!state.hasModel) return;
        const last = state.lastBroadcast;
        // The one we applied, sent again (a new aggregator passing it on to those who missed it).
        if (last?.round === frame.round && sameBytes(last.payload, frame.payload)) return;
        if (frame.round < state.round) return; // a duplicate of a round already applied
        if (frame.round > state.round && this.holdAhead(frame, meta)) return;
        if (frame.round !== state.round || state.cached?.type === 'syncUpload') {
          // We missed a round we cannot catch up on, or applied another broadcast of this
          // one (its aggregator died mid-broadcast and the next one closed the round again):
          // catch up like a joiner.
          this.requestModel();
          return;
        }
        if (!this.applyBroadcast(frame.round, frame.aux === 1, meta, frame.payload)) return;
        // Caught up on a lost broadcast: those that came ahead of it follow.
        for (let next = this.ahead.take(state.round); next !== undefined; next = this.ahead.take(state.round))
          this.applyBroadcast(next.round, false, next.meta, next.payload);
        this.scheduleUpload();
        return;
      }
      case 'sliceBroadcast': {
        const block = this.sliceBlock(frame.round);
        if (block === null) throw new Error('a slice broadcast in a session without rolling sync');
        // Synced on top of broadcast `round`: applied once, by a peer that applied that one.
        state.applySlice(
          { round: frame.round, counted: decodeTags(frame.meta), payload: frame.payload },
          this.selfTag,
          block,
        );
        return;
      }
      case 'syncBroadcast': {
        if (!state.hasModel || frame.round !== state.round) return;
        if (state.cached?.type !== 'syncUpload' || state.cached.round !== frame.round) {
          // This round's broadcast never reached us, so the sync does not apply to our model.
          this.requestModel();
          return;
        }
        // Counted or not, applySync keeps what the aggregator did not receive; the session's
        // last sync leaves every peer on one model instead.
        const counted = decodeTags(frame.meta).includes(this.selfTag);
        if (frame.round + 1 >= this.ctx.config.rounds) state.requireWorker().applyFinalSync(frame.payload);
        else state.requireWorker().applySync(frame.payload, counted);
        this.progressAt = performance.now();
        state.cached = null;
        state.round = frame.round + 1;
        this.scheduleUpload();
        return;
      }
      case 'control':
        this.onControl(decodeControl(frame.meta));
        return;
      case 'upload':
      case 'syncUpload':
      case 'sliceUpload':
        throw new Error(`the aggregator sent a ${frame.type} frame`);
      default: {
        const unreachable: never = frame.type;
        throw new Error(`unhandled frame type ${String(unreachable)}`);
      }
    }
  }

  /**
   * A broadcast's meta, with SAME_COUNTED_META resolved to the last full list of this term;
   * null for "same" before any list.
   */
  private readBroadcastMeta(meta: Uint8Array): BroadcastMeta | null {
    const { tags, slackSeconds } = decodeBroadcastMeta(meta);
    if (tags !== 'same') {
      this.lastCounted = tags;
      return { tags, slackSeconds };
    }
    if (this.lastCounted === null) return null;
    return { tags: this.lastCounted, slackSeconds };
  }

  /**
   * Applies the broadcast of this worker's round; false when it asks for a sync (the sync
   * delta is sent, and the next round waits for the sync broadcast), else the round moves on.
   */
  private applyBroadcast(round: number, sync: boolean, meta: BroadcastMeta, payload: Uint8Array): boolean {
    const state = this.ctx.state;
    const counted = meta.tags;
    state.requireWorker().applyBroadcast(payload);
    this.progressAt = performance.now();
    noteUploadFeedback(state, meta, this.selfTag);
    state.cached = null;
    state.noteBroadcast({ round, term: this.term, counted, payload: Uint8Array.from(payload), sync });
    this.ctx.events.publish('applied', { round, term: this.term, counted: counted.includes(this.selfTag) });
    if (sync) {
      state.prepareSync(mixSeed(this.ctx.config.seed, round, this.selfTag, 5));
      this.sendCached();
      return false;
    }
    state.round = round + 1;
    return true;
  }

  /**
   * A broadcast of a later round than this worker's: the one of its round was lost. Held,
   * and the missed ones asked for (broadcast-catch-up.ts), when they can be caught up on:
   * plain rounds, no rolling sync, no sync delta pending. False: ask for the model instead.
   */
  private holdAhead(frame: Frame, meta: BroadcastMeta): boolean {
    const state = this.ctx.state;
    if (frame.aux === 1 || state.cached?.type === 'syncUpload' || this.sliceBlock(frame.round) !== null)
      return false;
    const held = this.ahead.hold(state.round, {
      round: frame.round,
      meta,
      payload: Uint8Array.from(frame.payload),
    });
    if (held === 'full') return false;
    if (held === 'ask') this.sendControl({ kind: 'catchUp', round: state.round });
    return true;
  }

  /** Out of step: the aggregator's model replaces this worker's (and what it held ahead). */
  private requestModel(): void {
    this.ahead.clear();
    this.sendControl({ kind: 'modelRequest' });
  }

  private onControl(message: ControlMessage): void {
    switch (message.kind) {
      case 'metrics':
        this.ctx.events.publish('metrics', {
          round: message.round,
          testAccuracy: message.testAccuracy,
          testLoss: message.testLoss,
        });
        return;
      case 'done': {
        if (this.holdsAnotherFinalModel(message.modelDigest)) return;
        this.stop();
        this.ctx.events.publish('done', { round: message.round, testAccuracy: message.testAccuracy });
        return;
      }
      case 'roundClosed':
        this.sendSlice(message.round);
        return;
      case 'ping':
        return; // liveness only (the runtime noted it heard from the aggregator)
      case 'hello':
      case 'modelRequest':
      case 'catchUp':
        throw new Error(`the aggregator sent ${message.kind}`);
      default: {
        const unreachable: never = message;
        throw new Error(`unhandled control ${JSON.stringify(unreachable)}`);
      }
    }
  }

  /**
   * The session's one-model guarantee: a `done` names the aggregator's final model, and a
   * worker holding another one (it missed or applied differently an update on the way) asks
   * for that model once before it finishes, instead of ending on a model nobody else holds.
   */
  private holdsAnotherFinalModel(aggregatorDigest: string | undefined): boolean {
    const state = this.ctx.state;
    if (aggregatorDigest === undefined || this.fetchingFinalModel || !state.hasModel) return false;
    const own = modelDigest(state.requireWorker().model);
    if (own === aggregatorDigest) return false;
    this.ctx.log(
      'warn',
      `the session ended on model ${aggregatorDigest}, this peer holds ${own}: fetching the final model`,
    );
    this.fetchingFinalModel = true;
    this.cancelCompute?.();
    this.cancelCompute = null;
    this.sendControl({ kind: 'modelRequest' });
    return true;
  }

  /**
   * Computes and sends this round's upload after letting queued messages in: on the next
   * turn of the event loop (setImmediate; a 0 ms timer would add a millisecond or more to
   * every round), or after settings.computeDelayMs when a straggler is simulated.
   */
  private scheduleUpload(): void {
    if (this.cancelCompute !== null || this.stopped) return;
    if (this.ctx.state.round >= this.ctx.config.rounds) return;
    const compute = (): void => {
      this.cancelCompute = null;
      if (this.stopped) return;
      const state = this.ctx.state;
      if (!state.hasModel || state.cached !== null) return;
      state.prepareUpload(
        mixSeed(this.ctx.config.seed, state.round, this.selfTag),
        roundUploadCompressor(this.ctx),
      );
      this.sendCached();
    };
    const delay = this.ctx.settings.computeDelayMs;
    if (delay > 0) {
      const timer = setTimeout(compute, delay);
      this.cancelCompute = () => clearTimeout(timer);
    } else {
      const immediate = setImmediate(compute);
      this.cancelCompute = () => clearImmediate(immediate);
    }
  }

  /** Rolling sync (null with full syncs): the block round `round` syncs. */
  private sliceBlock(round: number): SyncBlock | null {
    const period = rollingPeriod(this.ctx.state.options);
    return period === null ? null : syncBlock(round, period, this.ctx.state.learner.numParams);
  }

  /**
   * Rolling sync: the slice of x_i - x_common on round `round`'s block, sent when the
   * aggregator says the round closed: ahead of its broadcast, so every worker's slice crosses
   * the aggregator's downlink before the next round's uploads do (sent behind the uploads or
   * the broadcasts, the slices queue among them there). The gradient leaves x_i as it is, so
   * the slice is the same before or after this round's upload. Once a round; not cached: one
   * lost with its aggregator is not counted.
   */
  private sendSlice(round: number): void {
    const block = this.sliceBlock(round);
    const state = this.ctx.state;
    if (block === null || !this.connected || !sliceDue(round, this.ctx.config.rounds)) return;
    // Only the round this worker is in (broadcast round - 1 applied), and only once.
    if (!state.hasModel || state.round !== round || this.slicedRound === round) return;
    this.slicedRound = round;
    const seed = mixSeed(this.ctx.config.seed, round, this.selfTag, 7);
    const payload = this.ctx.state.requireWorker().prepareSync(seed, block);
    const frame = { type: 'sliceUpload', term: this.term, round, aux: 0, meta: EMPTY, payload } as const;
    this.ctx.send(this.aggregatorId, frame);
  }

  /** Sends the cached upload (or sync delta), if the link is open; onConnected resends it. */
  private sendCached(): void {
    const cached = this.ctx.state.cached;
    if (cached === null || !this.connected) return;
    const resent = cached.sends > 0;
    cached.sends++;
    this.ctx.send(this.aggregatorId, {
      type: cached.type,
      term: this.term,
      round: cached.round,
      aux: cached.aux,
      meta: EMPTY,
      payload: cached.payload,
    });
    this.ctx.events.publish('uploaded', {
      round: cached.round,
      term: this.term,
      kind: cached.type,
      resent,
      computeMs: resent || cached.type === 'syncUpload' ? 0 : this.ctx.state.lastComputeMs,
    });
  }

  private sendControl(message: ControlMessage): void {
    this.ctx.send(this.aggregatorId, {
      type: 'control',
      term: this.term,
      round: this.ctx.state.round,
      aux: 0,
      meta: encodeControl(message),
      payload: EMPTY,
    });
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
