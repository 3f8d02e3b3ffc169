/**
 * Catching up on a lost broadcast without starting over. A broadcast can be lost on its way
 * (a faulty aggregator garbles the frame, which the worker then refuses): the worker notices
 * at the next one, of a round it is not in. Asking for the whole model (`modelRequest`) would
 * throw away its LIEC deviation x_i - x_common, the compensation it built up; instead the
 * worker holds the broadcasts that arrived ahead (AheadBroadcasts) and asks for the rounds it
 * missed (control `catchUp`). The aggregator keeps its last broadcasts (RecentBroadcasts) and
 * sends them again, in order; the worker applies the missed ones, then those it held.
 *
 * Within CATCH_UP_ROUNDS rounds, and only across plain rounds: a broadcast that asks for a
 * sync, a rolling sync, or a gap the aggregator no longer holds is answered with the model,
 * as before. So is a worker whose answer got lost too: once it holds CATCH_UP_ROUNDS
 * broadcasts ahead it asks for the model.
 *
 * @example
 * // aggregator
 * recent.add(broadcast);                        // every broadcast it closes
 * recent.range(12, 14);                         // rounds 12 and 13, or null
 * // worker, at round 12, given broadcast 13
 * ahead.hold(12, { round: 13, meta, payload }); // 'ask' (send catchUp 12), then 'held'
 * ahead.take(13);                               // after applying 12 again
 */
import type { BroadcastMeta } from '../../shared/protocol/broadcast-meta.ts';
import type { AppliedBroadcast } from './local-state.ts';

/**
 * How many rounds a worker can fall behind and still catch up from broadcasts: the
 * aggregator keeps that many, a worker holds at most that many ahead of a lost one.
 */
export const CATCH_UP_ROUNDS = 8;

/** The aggregator's last broadcasts, for a worker that lost some. */
export class RecentBroadcasts {
  private readonly kept: AppliedBroadcast[] = [];
  private readonly limit: number;

  constructor(limit = CATCH_UP_ROUNDS) {
    this.limit = limit;
  }

  add(broadcast: AppliedBroadcast): void {
    this.kept.push(broadcast);
    if (this.kept.length > this.limit) this.kept.shift();
  }

  /** Forgets them all (a rollback: the rounds before it are of another model). */
  clear(): void {
    this.kept.length = 0;
  }

  /**
   * The broadcasts of rounds `from` to `to` - 1, in order; null when that is no round, one of
   * them is not kept, or one asked for a sync (a model answers then).
   */
  range(from: number, to: number): AppliedBroadcast[] | null {
    if (to <= from || to - from > this.limit) return null;
    const found: AppliedBroadcast[] = [];
    for (let round = from; round < to; round++) {
      const broadcast = this.kept.find((b) => b.round === round);
      if (broadcast === undefined || broadcast.sync) return null;
      found.push(broadcast);
    }
    return found;
  }
}

/** A broadcast that arrived ahead of the worker's round, its meta already resolved. */
export interface AheadBroadcast {
  round: number;
  meta: BroadcastMeta;
  /** A copy: frame sections are views into transport buffers. */
  payload: Uint8Array;
}

/** A worker's broadcasts that came ahead of a lost one, until that one comes again. */
export class AheadBroadcasts {
  private readonly held = new Map<number, AheadBroadcast>();
  /** The round the worker last asked to catch up from. */
  private askedFrom: number | null = null;
  private readonly limit: number;

  constructor(limit = CATCH_UP_ROUNDS) {
    this.limit = limit;
  }

  get size(): number {
    return this.held.size;
  }

  /**
   * Holds `broadcast`, ahead of `expected` (the round whose broadcast the worker waits for):
   * 'ask' the first time a gap from `expected` shows (send catchUp), 'held' after that, and
   * 'full' (nothing held any more: ask for the model) past CATCH_UP_ROUNDS.
   */
  hold(expected: number, broadcast: AheadBroadcast): 'ask' | 'held' | 'full' {
    if (
      broadcast.round - expected > this.limit ||
      (this.held.size >= this.limit && !this.held.has(broadcast.round))
    ) {
      this.clear();
      return 'full';
    }
    this.held.set(broadcast.round, broadcast);
    if (this.askedFrom === expected) return 'held';
    this.askedFrom = expected;
    return 'ask';
  }

  /** The held broadcast of `round`, if any, taken out; every one before it is dropped. */
  take(round: number): AheadBroadcast | undefined {
    const found = this.held.get(round);
    for (const held of [...this.held.keys()]) if (held <= round) this.held.delete(held);
    return found;
  }

  /** Drops what is held (the worker adopted a model, or starts over with another aggregator). */
  clear(): void {
    this.held.clear();
    this.askedFrom = null;
  }
}
