/**
 * Follows the signaling client's events into the store: the join reply's config, members and
 * aggregator, then peer:joined / peer:left / peer:updated / aggregator as they happen, and
 * the socket closing. Membership shows up at once this way; /status polling adds the stats.
 *
 * A drop of the socket puts the tab in `reconnecting` (the membership behind the client joins
 * again every `retryDelayMs`, see ../reconnect.ts); following the next client (the rejoin)
 * puts it back in `joined`. The first join reply is a snapshot (no join events); a rejoin's
 * reply is news: members that came meanwhile joined, members missing from it dropped.
 *
 * @example
 * const joined = await client.join({ sessionId, token, kind: 'browser' });
 * followSignaling(client, joined, store, abort.signal, { first: true, retryDelayMs: 1000 });
 */
import type { JoinedSession, SignalingClient } from '../../signaling/index.ts';
import { reconnectingSince } from '../reconnect.ts';
import type { SessionStore } from '../state.ts';
import { applyAggregatorRoles, upsertMember } from './peer-rows.ts';

export interface FollowOptions {
  /** True for the first join of this tab (a snapshot), false for a rejoin. */
  first: boolean;
  /** Pause between the membership's attempts to join again (for the countdown). */
  retryDelayMs: number;
}

export function followSignaling(
  client: SignalingClient,
  joined: JoinedSession,
  store: SessionStore,
  signal: AbortSignal,
  options: FollowOptions,
): void {
  const apply = (): void => {
    const wasReconnecting = store.state.local.connection === 'reconnecting';
    store.updateSession({
      id: joined.sessionId,
      config: joined.config,
      totalRounds: joined.config.rounds,
      round: Math.max(store.state.session.round, joined.aggregator.lastRound),
      term: Math.max(store.state.session.term, joined.aggregator.term),
      phase: joined.aggregator.lastRound >= joined.config.rounds ? 'done' : store.state.session.phase,
    });
    if (joined.aggregator.term >= store.state.session.term)
      store.updateSession({ aggregatorPeerId: joined.aggregator.peerId });
    store.setLocal({ peerId: joined.peerId, connection: 'joined', reconnect: null });
    store.clearError('signaling');
    store.clearError('join');
    // A status read that failed while the server was down is stale once it answers again.
    if (wasReconnecting) store.clearError('status');
    if (wasReconnecting) store.logEvent({ kind: 'reconnect' });
    const present = new Set(joined.peers.map((p) => p.peerId));
    for (const peer of joined.peers) upsertMember(store, peer);
    if (!options.first)
      for (const row of store.state.peers) if (!present.has(row.peerId)) store.markDropped(row.peerId);
    applyAggregatorRoles(store, joined.aggregator.peerId);
  };
  if (options.first) store.quietly(apply);
  else store.batch(apply);
  const offs = [
    client.on('peer:joined', (ev) => upsertMember(store, ev.peer)),
    client.on('peer:updated', (ev) => upsertMember(store, ev.peer)),
    client.on('peer:left', (ev) => store.markDropped(ev.peerId)),
    client.on('aggregator', (ev) =>
      store.batch(() => {
        store.updateSession({ term: ev.term });
        store.updateSession({ aggregatorPeerId: ev.peerId });
        applyAggregatorRoles(store, ev.peerId);
      }),
    ),
    client.on('disconnect', (ev) => {
      const reason = ev.error === undefined ? ev.reason : ev.error.message;
      store.startReconnecting(reconnectingSince(store.clock(), options.retryDelayMs, reason));
    }),
  ];
  signal.addEventListener('abort', () => offs.forEach((off) => off()), { once: true });
}
