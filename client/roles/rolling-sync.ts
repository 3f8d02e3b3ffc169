/**
 * LIEC's rolling sync at the aggregator (SyncOptions.mode 'rolling'). Instead of a sync
 * phase every H rounds that the rounds wait for, every round t syncs one block of the model
 * (syncBlock(t, H, d)): when round t closes the aggregator tells the workers so
 * ('roundClosed', ahead of its broadcast) and each sends its slice of x_i - x_common on that
 * block at once, across the aggregator's link while it is idle; the aggregator averages them
 * once the slices of every worker counted in round t are in (or when round t + 1 closes) and
 * sends the synced delta behind broadcast t, while the workers compute their next gradient.
 * Each coordinate is still synced every H rounds, and no round waits.
 * A slice that misses its round is not counted: its worker keeps that deviation, as after a
 * full sync it missed. This file keeps the slices and does the arithmetic; when each message
 * goes is rolling-schedule.ts.
 *
 * @example
 * const slices = new RollingSlices(aggregator, { period: 20, numParams });
 * slices.open(round);                                     // at round open
 * slices.expect(round, ['w1', 'w2']);                      // at its close: told to send now
 * slices.add('w1', frame.round, payload);                  // from a sliceUpload frame
 * if (slices.complete(round)) slices.close(round, term, seed); // { block, payload, counted, frame } | null
 * slices.addOwn(round, ctx);                               // once round - 1's delta is applied
 */
import {
  rollingPeriod,
  sliceDue,
  syncBlock,
  type AggregatorAlgorithm,
  type AlgorithmOptions,
  type SyncBlock,
} from '../../shared/algorithm/index.ts';
import { decodeTags, encodeTags, senderTag, type Frame } from '../../shared/protocol/frames.ts';
import { mixSeed } from '../../shared/random.ts';
import type { OutgoingFrame, RoleContext } from './context.ts';
import type { AppliedSlice, LocalState } from './local-state.ts';

export interface ClosedSlice {
  block: SyncBlock;
  /** The synced delta of the block, in the sync codec (what every peer adds to x_common). */
  payload: Uint8Array;
  /** Whose slices it averages (peer ids). */
  counted: string[];
  /** How many were waited for: the workers counted in the round, and this peer. */
  expected: number;
  /** The sliceBroadcast frame to send every worker in step. */
  frame: OutgoingFrame;
}

export class RollingSlices {
  private readonly aggregator: AggregatorAlgorithm;
  private readonly period: number;
  private readonly numParams: number;
  /**
   * The slices of the rounds still open to them, by round: the one collecting, and the one
   * before until it closes (its last slices come in after the next round opened).
   */
  private readonly rounds = new Map<number, Map<string, Float32Array>>();
  /** Whose slice of a round is waited for (expect()): the round is complete once all came in. */
  private readonly expected = new Map<number, Set<string>>();

  /** The session's rolling sync, or null when it runs full syncs (or is not LIEC). */
  static forSession(
    aggregator: AggregatorAlgorithm,
    options: AlgorithmOptions,
    numParams: number,
  ): RollingSlices | null {
    const period = rollingPeriod(options);
    return period === null ? null : new RollingSlices(aggregator, { period, numParams });
  }

  constructor(aggregator: AggregatorAlgorithm, options: { period: number; numParams: number }) {
    this.aggregator = aggregator;
    this.period = options.period;
    this.numParams = options.numParams;
  }

  /** The block round `round` syncs. */
  blockOf(round: number): SyncBlock {
    return syncBlock(round, this.period, this.numParams);
  }

  /**
   * Starts collecting the slices of `round`. Those of round - 1 may still come in until
   * close(round - 1); any older are dropped (not counted).
   */
  open(round: number): void {
    for (const open of this.rounds.keys()) if (open < round - 1) this.rounds.delete(open);
    for (const open of this.expected.keys()) if (open < round - 1) this.expected.delete(open);
    if (!this.rounds.has(round)) this.rounds.set(round, new Map());
  }

  /** The peers whose slice of `round` is waited for (told to send it now: 'roundClosed'). */
  expect(round: number, peerIds: Iterable<string>): void {
    this.expected.set(round, new Set(peerIds));
  }

  /** A peer that left is no longer waited for; returns whether it was. */
  forget(peerId: string): boolean {
    let waited = false;
    for (const expected of this.expected.values()) if (expected.delete(peerId)) waited = true;
    return waited;
  }

  /** Whether every peer whose slice of `round` is waited for sent it (true when none is). */
  complete(round: number): boolean {
    const slices = this.rounds.get(round);
    const expected = this.expected.get(round);
    if (expected === undefined) return true;
    for (const id of expected) if (slices?.has(id) !== true) return false;
    return true;
  }

  /**
   * Adds this peer's own slice of `round`, once round - 1's block delta is applied here (with
   * a period of 1 both blocks are the whole model: cut before, it would overlap that delta).
   */
  addOwn(round: number, ctx: RoleContext): void {
    const { state, config, selfId } = ctx;
    if (!this.rounds.has(round) || !sliceDue(round, config.rounds)) return;
    if (state.lastBroadcast?.round !== round - 1) return;
    const seed = mixSeed(config.seed, round, senderTag(selfId), 7);
    this.add(selfId, round, state.requireWorker().prepareSync(seed, this.blockOf(round)));
  }

  /**
   * Counts `from`'s slice if its round is still open to slices; returns whether it did.
   * Throws CodecError on a malformed payload (the caller rejects the sender).
   */
  add(from: string, round: number, payload: Uint8Array): boolean {
    const vector = this.aggregator.decodeSync(payload, this.blockOf(round));
    const slices = this.rounds.get(round);
    if (slices === undefined || slices.has(from)) return false;
    slices.set(from, vector);
    return true;
  }

  /**
   * Averages the slices of `round` (flushing e on its block) into the frame that follows the
   * broadcast; null when none came in.
   */
  close(round: number, term: number, seed: number): ClosedSlice | null {
    const slices = this.rounds.get(round);
    const expected = (this.expected.get(round)?.size ?? 0) + 1;
    this.rounds.delete(round);
    this.expected.delete(round);
    if (slices === undefined || slices.size === 0) return null;
    const block = this.blockOf(round);
    const payload = this.aggregator.aggregateSync([...slices.values()], seed, block);
    const counted = [...slices.keys()];
    const meta = encodeTags(counted.map(senderTag));
    const frame: OutgoingFrame = { type: 'sliceBroadcast', term, round, aux: 0, meta, payload };
    return { block, payload, counted, expected, frame };
  }

  /** Applies a closed block's delta to this peer's own model (after broadcast `round`). */
  applyClosed(round: number, slice: ClosedSlice, ctx: RoleContext): void {
    const counted = slice.counted.map(senderTag);
    ctx.state.applySlice({ round, counted, payload: slice.payload }, senderTag(ctx.selfId), slice.block);
  }

  /**
   * For a worker that reconnects at `helloRound`: the last block delta this peer applied (as
   * aggregator, or as a worker under the old term) if the worker may have missed it: it
   * follows broadcast helloRound - 1 (it goes ahead of broadcast helloRound if that one is
   * resent too), or broadcast helloRound when that one is resent (it goes after it).
   * A peer applies a block once (LocalState.applySlice), so a second copy is harmless.
   */
  resendFor(helloRound: number, state: LocalState, term: number): OutgoingFrame | null {
    const slice = state.lastSlice;
    if (slice === null || (slice.round !== helloRound - 1 && slice.round !== helloRound)) return null;
    return sliceFrame(slice, term);
  }

  /**
   * A block delta a worker relayed to this new aggregator (the old one may have died while
   * sending it): applied if this peer missed it; returns the frame to send on to the
   * workers, or null when there is nothing to pass on. Throws on a malformed relay.
   */
  adoptRelay(frame: Frame, ctx: RoleContext, term: number): OutgoingFrame | null {
    const relayed = { round: frame.round, counted: decodeTags(frame.meta), payload: frame.payload };
    const applied = ctx.state.applySlice(relayed, senderTag(ctx.selfId), this.blockOf(frame.round));
    const slice = ctx.state.lastSlice;
    return applied && slice !== null ? sliceFrame(slice, term) : null;
  }
}

function sliceFrame(slice: AppliedSlice, term: number): OutgoingFrame {
  const meta = encodeTags(slice.counted);
  return { type: 'sliceBroadcast', term, round: slice.round, aux: 0, meta, payload: slice.payload };
}
