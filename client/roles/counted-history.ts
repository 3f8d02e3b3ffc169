/**
 * Who was counted in each recent round, by sender tag: the aggregator's ledger for folding
 * late uploads into its error e exactly once. An upload of a closed round is folded if its
 * sender was not counted in that round and has not been folded for it yet; the fold is
 * recorded, so a resend of the same upload (after a reconnection) is a duplicate.
 *
 * A new aggregator seeds the ledger with the last broadcasts it applied as a worker (each
 * broadcast's tag list says whom the old aggregator counted; LocalState.recentCountedLists),
 * so a worker that missed one of them and resends its upload of that round is neither lost
 * nor counted twice.
 *
 * @example
 * const history = new CountedHistory(1000);
 * history.remember(7, [tagA, tagB]);
 * history.claim(7, tagC); // { verdict: 'fold', size: 2 }
 * history.claim(7, tagC); // { verdict: 'duplicate' }
 * history.claim(3, tagC); // { verdict: 'unknown' } (outside what this aggregator knows)
 */

export type LateClaim = { verdict: 'fold'; size: number } | { verdict: 'duplicate' } | { verdict: 'unknown' };

interface RoundRecord {
  /** Tags counted in the broadcast, then tags folded late. */
  readonly seen: Set<number>;
  /** How many uploads the broadcast counted: the weight 1/size of a late fold. */
  readonly size: number;
}

export class CountedHistory {
  private readonly rounds = new Map<number, RoundRecord>();
  private readonly windowRounds: number;

  /** `windowRounds`: how many past rounds are kept (see PeerSettings.lateUploadWindowRounds). */
  constructor(windowRounds: number) {
    this.windowRounds = windowRounds;
  }

  /** Records whom round `round`'s broadcast counted; forgets rounds outside the window. */
  remember(round: number, counted: readonly number[]): void {
    this.rounds.set(round, { seen: new Set(counted), size: counted.length });
    const oldest = round - this.windowRounds;
    for (const key of this.rounds.keys()) if (key <= oldest) this.rounds.delete(key);
  }

  knows(round: number): boolean {
    return this.rounds.has(round);
  }

  /** Decides what happens to `tag`'s upload of the closed round `round`; a fold is recorded. */
  claim(round: number, tag: number): LateClaim {
    const record = this.rounds.get(round);
    if (record === undefined) return { verdict: 'unknown' };
    if (record.seen.has(tag)) return { verdict: 'duplicate' };
    record.seen.add(tag);
    return { verdict: 'fold', size: record.size };
  }
}
