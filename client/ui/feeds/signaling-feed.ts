/**
 * Follows the signaling client's events into the store: the join reply's members and
 * aggregator, then peer:joined / peer:left / peer:updated / aggregator as they happen, and
 * the socket closing. Membership shows up at once this way; /status polling adds the stats.
 *
 * @example
 * const joined = await client.join({ sessionId, token, kind: 'browser' });
 * followSignaling(client, joined, store, abort.signal);
 */
import type { JoinedSession, SignalingClient } from '../../signaling/index.ts';
import type { SessionStore } from '../state.ts';
import { applyAggregatorRoles, upsertMember } from './peer-rows.ts';

export function followSignaling(
  client: SignalingClient,
  joined: JoinedSession,
  store: SessionStore,
  signal: AbortSignal,
): void {
  store.batch(() => {
    store.updateSession({
      id: joined.sessionId,
      totalRounds: joined.config.rounds,
      round: joined.aggregator.lastRound,
      aggregatorPeerId: joined.aggregator.peerId,
      term: joined.aggregator.term,
      phase: joined.aggregator.lastRound >= joined.config.rounds ? 'done' : 'waiting',
    });
    store.setLocal({ peerId: joined.peerId, connection: 'joined', error: null });
    for (const peer of joined.peers) upsertMember(store, peer);
    applyAggregatorRoles(store, joined.aggregator.peerId);
  });
  const offs = [
    client.on('peer:joined', (ev) => upsertMember(store, ev.peer)),
    client.on('peer:updated', (ev) => upsertMember(store, ev.peer)),
    client.on('peer:left', (ev) => store.markDropped(ev.peerId)),
    client.on('aggregator', (ev) =>
      store.batch(() => {
        store.updateSession({ aggregatorPeerId: ev.peerId, term: ev.term });
        applyAggregatorRoles(store, ev.peerId);
      }),
    ),
    client.on('disconnect', (ev) =>
      store.setLocal({
        connection: 'closed',
        error:
          ev.error === undefined ? `disconnected from the signaling server (${ev.reason})` : ev.error.message,
      }),
    ),
  ];
  signal.addEventListener('abort', () => offs.forEach((off) => off()), { once: true });
}
