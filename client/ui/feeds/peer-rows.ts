/**
 * Maps what the signaling server knows about a member (role, kind, capabilities, heartbeat
 * stats) onto a peer row. Only what the server can know is set; the row's `state` is set
 * only for new or returning peers, since a training runtime owns it once attached.
 *
 * Heartbeat stats keys the dashboard reads (numbers): `bytesUp`, `bytesDown`, `rttMs`.
 * Capabilities key: `backend` (string).
 *
 * @example
 * upsertMember(store, joined.peers[0]);
 */
import type { NumericStats, PeerInfo } from '../../../shared/protocol/signaling.ts';
import type { PeerPatch, SessionStore } from '../state.ts';

export type MemberInfo = Pick<PeerInfo, 'peerId' | 'kind' | 'role' | 'capabilities'> & {
  stats?: NumericStats;
};

export interface UpsertMemberOptions {
  /**
   * False leaves a row marked dropped as it is (a /status snapshot taken before a peer:left
   * event must not bring the peer back); a new join may revive it. @default true
   */
  reviveDropped?: boolean;
  /** This peer's byte counters are not taken (a training tab's runtime reports its own). */
  ownCounters?: string | null;
}

export function upsertMember(
  store: SessionStore,
  member: MemberInfo,
  options: UpsertMemberOptions = {},
): void {
  const existing = store.state.peers.find((p) => p.peerId === member.peerId);
  if (existing?.state === 'dropped' && options.reviveDropped === false) return;
  const backend = member.capabilities['backend'];
  const patch: PeerPatch = { peerId: member.peerId, role: member.role, kind: member.kind };
  // What a runtime reports (the backend it really uses) beats what the peer announced on joining.
  if (typeof backend === 'string' && (existing?.backend ?? null) === null) patch.backend = backend;
  const stats = member.stats ?? {};
  if (member.peerId !== options.ownCounters) {
    if (stats['bytesUp'] !== undefined) patch.bytesUp = stats['bytesUp'];
    if (stats['bytesDown'] !== undefined) patch.bytesDown = stats['bytesDown'];
  }
  if (stats['rttMs'] !== undefined) patch.rttMs = stats['rttMs'];
  // Present at the signaling server, idle until a runtime says otherwise.
  if (existing === undefined || existing.state === 'dropped') patch.state = 'waiting';
  store.upsertPeer(patch);
}

/** Sets every row's role from the aggregator's id. */
export function applyAggregatorRoles(store: SessionStore, aggregatorPeerId: string | null): void {
  for (const row of store.state.peers) {
    const role = row.peerId === aggregatorPeerId ? 'aggregator' : 'worker';
    if (row.role !== role) store.upsertPeer({ peerId: row.peerId, role });
  }
}

/**
 * After round `round` counted `participants`: counted peers are `training` (the next round)
 * with `round` as their last counted one; live peers that were counted before but not in
 * this round are `late`. Peers never counted keep their state (still joining). The row of
 * `selfId` (this tab, whose runtime knows better) only gets its last counted round. Older
 * reports never undo newer ones.
 */
export function applyRoundParticipation(
  store: SessionStore,
  round: number,
  participants: readonly string[],
  selfId: string | null,
): void {
  const counted = new Set(participants);
  for (const row of store.state.peers) {
    if (row.state === 'dropped' || (row.lastRoundCounted ?? -1) >= round) continue;
    if (counted.has(row.peerId)) {
      store.upsertPeer({
        peerId: row.peerId,
        lastRoundCounted: round,
        ...(row.peerId === selfId ? {} : { state: 'training' as const }),
      });
    } else if (row.lastRoundCounted !== null && row.peerId !== selfId) {
      store.upsertPeer({ peerId: row.peerId, state: 'late' });
    }
  }
}
