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
 * `excluded` (peers that take no part: one a majority reported unreachable, for that one
 * election; one replaced as faulty, for the rest of the session, see sessions.ts): the
 * current aggregator when it is excluded is replaced by rule 2. Excluded peers stay members.
 *
 * The caller bumps the term whenever the result differs from the current aggregator.
 *
 * @example
 * chooseAggregator('p1', peers); // 'p1' while p1 is live and ready
 * chooseAggregator('p1', peers, new Set(['p1'])); // the ready member connected longest but p1
 */

export interface ElectionCandidate {
  readonly peerId: string;
  readonly ready: boolean;
  /** Server join order, strictly increasing; smaller = connected longer. */
  readonly joinSeq: number;
}

const NONE: ReadonlySet<string> = new Set();

export function chooseAggregator(
  current: string | null,
  members: Iterable<ElectionCandidate>,
  excluded: ReadonlySet<string> = NONE,
): string | null {
  let best: ElectionCandidate | undefined;
  for (const member of members) {
    if (!member.ready || excluded.has(member.peerId)) continue;
    if (member.peerId === current) return current;
    if (best === undefined || member.joinSeq < best.joinSeq) best = member;
  }
  return best?.peerId ?? null;
}
