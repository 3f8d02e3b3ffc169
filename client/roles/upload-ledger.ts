/**
 * Where the aggregator puts an upload that is not for the round it is collecting: kept for
 * the round about to open (it came before training started), folded into e exactly once if
 * its round closed without it (CountedHistory), dropped if that round counted it. The folds
 * are listed for the next round event.
 *
 * @example
 * const ledger = new UploadLedger(1000, (vector, size) => aggregator.foldLate(vector, size));
 * ledger.remember(4, countedTags);
 * ledger.late('w2', 4, vector); // 'fold' (once), then 'duplicate'
 * ledger.takeFolds();           // [{ peerId: 'w2', round: 4 }]
 */
import { senderTag } from '../../shared/protocol/frames.ts';
import { CountedHistory } from './counted-history.ts';

export interface EarlyUpload {
  from: string;
  vector: Float32Array;
  aux: number;
}

export class UploadLedger {
  private readonly history: CountedHistory;
  private readonly fold: (vector: Float32Array, countedInRound: number) => void;
  private readonly early = new Map<string, EarlyUpload & { round: number }>();
  private folds: { peerId: string; round: number }[] = [];

  constructor(windowRounds: number, fold: (vector: Float32Array, countedInRound: number) => void) {
    this.history = new CountedHistory(windowRounds);
    this.fold = fold;
  }

  /** Records whom round `round`'s broadcast counted (sender tags). */
  remember(round: number, counted: readonly number[]): void {
    this.history.remember(round, counted);
  }

  knows(round: number): boolean {
    return this.history.knows(round);
  }

  /** An upload of a round that closed (or that this aggregator never closed: 'unknown'). */
  late(from: string, round: number, vector: Float32Array): 'fold' | 'duplicate' | 'unknown' {
    const claim = this.history.claim(round, senderTag(from));
    if (claim.verdict !== 'fold') return claim.verdict;
    this.fold(vector, claim.size);
    this.folds.push({ peerId: from, round });
    return 'fold';
  }

  /**
   * An upload of `round`, not the round collecting: kept for the round about to open (`next`,
   * null if none is) when it is that one and not yet closed ('early': the ledger holds `vector`
   * now), else late(). Except for 'early', the caller still owns `vector`.
   */
  place(
    from: string,
    upload: { round: number; vector: Float32Array; aux: number },
    next: number | null,
  ): 'early' | 'fold' | 'duplicate' | 'unknown' {
    if (upload.round !== next || this.knows(upload.round))
      return this.late(from, upload.round, upload.vector);
    this.keepEarly(from, upload.round, upload.vector, upload.aux);
    return 'early';
  }

  /** The folds since the last call. */
  takeFolds(): { peerId: string; round: number }[] {
    const folds = this.folds;
    this.folds = [];
    return folds;
  }

  /** Keeps an upload of a round that has not opened yet (one per sender). */
  keepEarly(from: string, round: number, vector: Float32Array, aux: number): void {
    this.early.set(from, { from, round, vector, aux });
  }

  /** The kept uploads of `round` whose senders `accept`s; forgets all the others. */
  takeEarly(round: number, accept: (from: string) => boolean): EarlyUpload[] {
    const taken = [...this.early.values()].filter((e) => e.round === round && accept(e.from));
    this.early.clear();
    return taken;
  }

  forget(from: string): void {
    this.early.delete(from);
  }
}
