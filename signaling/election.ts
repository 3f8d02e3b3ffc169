/**
 * Aggregator election policy. The signaling server is the single authority; this is the
 * pure decision it applies whenever membership or readiness changes:
 *
 * 1. Keep the current aggregator while it is a live member and still ready (so a healthy
 *    aggregator is never displaced by a newcomer; stepping down = announcing ready: false).
 * 2. Otherwise pick, among live members that announced `ready`, the one connected longest
 *    (earliest join; ties by join order): it has most likely the freshest, most complete
 *    state and the most stable connection.
 * 3. Otherwise nobody (peerId null) until some member announces it is ready.
 *
 * `excluded` (a peer a majority reported unreachable, see sessions.ts) takes no part in this
 * one election: the current aggregator when it is the one excluded is replaced by rule 2.
 * It stays a member, and a candidate in every later election.
 *
 * The caller bumps the term whenever the result differs from the current aggregator.
 *
 * @example
 * chooseAggregator('p1', peers); // 'p1' while p1 is live and ready
 * chooseAggregator('p1', peers, 'p1'); // the ready member connected longest but p1
 */

export interface ElectionCandidate {
  readonly peerId: string;
  readonly ready: boolean;
  /** Server join order, strictly increasing; smaller = connected longer. */
  readonly joinSeq: number;
}

export function chooseAggregator(
  current: string | null,
  members: Iterable<ElectionCandidate>,
  excluded?: string,
): string | null {
  let best: ElectionCandidate | undefined;
  for (const member of members) {
    if (!member.ready || member.peerId === excluded) continue;
    if (member.peerId === current) return current;
    if (best === undefined || member.joinSeq < best.joinSeq) best = member;
  }
  return best?.peerId ?? null;
}
