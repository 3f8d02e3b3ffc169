/**
 * Invalid frames counted per peer (strikes), and the peers disconnected for them. Past its
 * limit a peer is banned: its frames are dropped and its links not accepted again. An
 * aggregator its workers banned is accepted again as a worker in a new term, where its frames
 * are checked like anyone's (a repeat offender is the server's to expel).
 *
 * @example
 * const strikes = new FrameStrikes();
 * strikes.strike('p2', 2, true); // null: 1 of 2
 * strikes.strike('p2', 2, true); // null: 2 of 2
 * strikes.strike('p2', 2, true); // 3: banned now
 * strikes.newTerm();             // p2 may link again, as a worker
 */
export class FrameStrikes {
  private readonly strikes = new Map<string, number>();
  private readonly banned = new Set<string>();
  /** Of those, the ones banned as this worker's aggregator. */
  private readonly bannedAggregators = new Set<string>();

  /**
   * One more invalid frame from `peerId` (`asAggregator`: it is this worker's aggregator).
   * Returns its strikes when this one bans it (more than `limit`), else null.
   */
  strike(peerId: string, limit: number, asAggregator: boolean): number | null {
    const strikes = (this.strikes.get(peerId) ?? 0) + 1;
    this.strikes.set(peerId, strikes);
    if (strikes <= limit || this.banned.has(peerId)) return null;
    this.banned.add(peerId);
    if (asAggregator) this.bannedAggregators.add(peerId);
    return strikes;
  }

  isBanned(peerId: string): boolean {
    return this.banned.has(peerId);
  }

  /** Banned as this worker's aggregator in the current term: faulty. */
  isBannedAggregator(peerId: string): boolean {
    return this.bannedAggregators.has(peerId);
  }

  /** A new term: the aggregators banned in the last one start again with no strikes. */
  newTerm(): void {
    for (const id of this.bannedAggregators) {
      this.banned.delete(id);
      this.strikes.delete(id);
    }
    this.bannedAggregators.clear();
  }
}
