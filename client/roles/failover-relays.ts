/**
 * What a new aggregator (a new term) does with what the workers relay from the old one.
 * On reconnecting, a worker passes on the last broadcast it applied, and with a rolling sync
 * its last block delta. If the old aggregator died while sending the broadcast of round t
 * and this peer never got it, this peer adopts it: it applies it, folds late what it had
 * collected for t that the broadcast did not count, and sends it on to the workers that
 * missed it. Round t is then not closed twice. A block delta is applied if this peer missed
 * it and sent on the same way (RollingSlices.adoptRelay).
 *
 * A relay matters only until this aggregator closes a round of its own; after that the
 * workers follow its broadcasts. A relayed broadcast of a round it closed itself means the
 * worker holds another model (it is given the model again); an older one is one this peer
 * applied too. This lives apart from the round loop (aggregator-role.ts) because it only
 * runs right after a takeover. What a failover loses, exactly: docs/failover.md.
 *
 * @example
 * const relays = new FailoverRelays(ctx, ledger, workers);
 * relays.roundClosed(round);               // each round this aggregator closes itself
 * const outcome = relays.onBroadcast('w1', frame, collecting);
 * // an AppliedBroadcast: adopted and sent on, the round it closed is over; 'outOfStep': admit w1
 * relays.onSlice('w1', frame, slices);     // a block delta: applied and sent on if missed
 */
import { decodeBroadcastMeta } from '../../shared/protocol/broadcast-meta.ts';
import type { Frame } from '../../shared/protocol/frames.ts';
import type { RoleContext } from './context.ts';
import type { AppliedBroadcast } from './local-state.ts';
import type { RollingSlices } from './rolling-sync.ts';
import type { RoundCollection } from './round-collection.ts';
import type { UploadLedger } from './upload-ledger.ts';
import type { WorkerRoster } from './worker-roster.ts';

/** The relayed broadcast, adopted; 'outOfStep' if the worker holds another model; else null. */
export type RelayOutcome = AppliedBroadcast | 'outOfStep' | null;

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export class FailoverRelays {
  private readonly ctx: RoleContext;
  private readonly ledger: UploadLedger;
  private readonly workers: WorkerRoster;
  /** The first round this aggregator closed itself (null before it closes one). */
  private firstClosed: number | null = null;

  constructor(ctx: RoleContext, ledger: UploadLedger, workers: WorkerRoster) {
    this.ctx = ctx;
    this.ledger = ledger;
    this.workers = workers;
  }

  /** This aggregator closed `round` itself: relays stop mattering. */
  roundClosed(round: number): void {
    this.firstClosed ??= round;
  }

  /**
   * A broadcast `from` relayed. `collecting` is the round collection if a round is
   * collecting. A malformed relay is rejected (BAD_RELAY) and yields null.
   */
  onBroadcast(from: string, frame: Frame, collecting: RoundCollection | null): RelayOutcome {
    let counted: number[];
    try {
      const { tags } = decodeBroadcastMeta(frame.meta);
      if (tags === 'same') throw new Error('a relay must carry its counted list');
      // Only LIEC syncs models: a sync broadcast in another session is not one this peer could apply.
      if (frame.aux === 1 && this.ctx.state.options.algorithm !== 'liec')
        throw new Error(`a sync broadcast relayed in a ${this.ctx.state.options.algorithm} session`);
      counted = tags;
    } catch (error) {
      this.reject(from, error);
      return null;
    }
    if (this.firstClosed === null && collecting !== null && frame.round === collecting.round) {
      const relayed: AppliedBroadcast = {
        round: frame.round,
        term: this.workers.term,
        counted,
        payload: Uint8Array.from(frame.payload),
        sync: frame.aux === 1,
      };
      return this.adopt(from, collecting, relayed) ? relayed : null;
    }
    // It applied another broadcast of a round we closed ourselves: its model is not ours.
    if (this.firstClosed !== null && frame.round >= this.firstClosed) return 'outOfStep';
    return null; // one this peer applied too: nothing to do
  }

  /**
   * A rolling sync's block delta `from` relayed: applied if this peer missed it, and sent
   * on. Throws on a malformed relay (the caller rejects the sender).
   */
  onSlice(from: string, frame: Frame, slices: RollingSlices): void {
    // A relay matters until this aggregator closes a round: later ones follow its own broadcasts.
    if (this.firstClosed !== null) return;
    const forward = slices.adoptRelay(frame, this.ctx, this.workers.term);
    if (forward !== null) this.workers.sendToInStep(forward, from);
  }

  /** Applies `relayed` as the broadcast closing `collecting`'s round; false if it does not apply. */
  private adopt(from: string, collecting: RoundCollection, relayed: AppliedBroadcast): boolean {
    const state = this.ctx.state;
    try {
      state.requireWorker().applyBroadcast(relayed.payload);
    } catch (error) {
      this.reject(from, error);
      return false;
    }
    const { round } = relayed;
    this.ctx.log('info', `round ${round}: adopting the broadcast ${from} relayed from the last aggregator`);
    this.ledger.remember(round, relayed.counted);
    for (const [id, vector] of collecting.vectors) this.ledger.late(id, round, vector);
    state.cached = null;
    state.noteBroadcast(relayed);
    this.workers.sendBroadcast(relayed, from);
    return true;
  }

  private reject(from: string, error: unknown): void {
    this.ctx.reject(from, 'BAD_RELAY', message(error), true);
  }
}
