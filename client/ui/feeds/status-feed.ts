/**
 * Fills the store from the signaling server's `GET /status` (schema in
 * shared/protocol/signaling-status.ts): members with their heartbeat stats, aggregator and
 * term, and the aggregator's last round report (loss, accuracy, bytes, participation). Until
 * a training runtime is attached this is what keeps the dashboard live; afterwards it still
 * fills in peers the runtime has no link to.
 *
 * Round report metrics the dashboard reads: `loss`, `testAccuracy` (of round `evaluatedRound`,
 * the report's own round when absent: the aggregator repeats its last evaluation until the
 * next one), `drift`, `fp32Bytes`, `expected` (workers expected that round), `sync` (1 when
 * the round was a sync).
 *
 * @example
 * const stop = new AbortController();
 * void pollStatus({ baseUrl: location.origin, sessionId, store, intervalMs: 5000, signal: stop.signal });
 */
import { signalingStatusSchema, type SessionStatus } from '../../../shared/protocol/signaling-status.ts';
import type { SessionStore } from '../state.ts';
import { applyAggregatorRoles, applyRoundParticipation, upsertMember } from './peer-rows.ts';

export interface ApplyStatusOptions {
  /** The server's clock when it answered (`serverTime` of /status): dates the session's creation. */
  serverTime?: number;
  /** A snapshot, not news: joins, drops and aggregator changes are not events (a watching tab's first). */
  quiet?: boolean;
}

/** Applies one session's status to the store (in one batch). */
export function applyStatus(
  store: SessionStore,
  status: SessionStatus,
  options: ApplyStatusOptions = {},
): void {
  const apply = (): void => {
    const { session, local } = store.state;
    const { aggregator, lastReport, config } = status;
    const newer = aggregator.term >= session.term;
    // Rounds count from 0: the report of round rounds - 1 is the last one.
    const done = aggregator.lastRound + 1 >= config.rounds;
    const createdAt =
      options.serverTime === undefined
        ? {}
        : { createdAt: store.clock() - (options.serverTime - status.createdAt) };
    store.updateSession({
      id: status.sessionId,
      config,
      ...createdAt,
      totalRounds: config.rounds,
      round: Math.max(session.round, aggregator.lastRound),
      ...(newer ? { term: aggregator.term } : {}),
      ...(done ? { phase: 'done' as const } : {}),
      ...(!done && !local.runtimeAttached
        ? { phase: lastReport === undefined ? 'waiting' : 'training' }
        : {}),
    });
    if (newer) store.updateSession({ aggregatorPeerId: aggregator.peerId });
    // Kept when absent: once the members have left, /status has no figure and the last one stands.
    if (status.accuracy !== undefined) store.updateSession({ accuracy: status.accuracy });
    const present = new Set(status.peers.map((p) => p.peerId));
    // A tab that follows the signaling server hears joins and leaves from it, in order; a
    // snapshot requested before a peer left could otherwise bring it back. A watch-only tab
    // has no other source, so there a snapshot revives a peer that returned.
    const reviveDropped = local.connection !== 'joined';
    // A training tab's own counters come from its runtime, fresher than its last heartbeat.
    const ownCounters = local.runtimeAttached ? local.peerId : null;
    for (const peer of status.peers) upsertMember(store, peer, { reviveDropped, ownCounters });
    for (const row of store.state.peers) if (!present.has(row.peerId)) store.markDropped(row.peerId);
    // Roles follow the newest aggregator this tab knows of: a snapshot older than an
    // announcement heard meanwhile must not turn the aggregator back into a worker.
    applyAggregatorRoles(store, store.state.session.aggregatorPeerId);
    if (lastReport !== undefined) applyReport(store, lastReport);
  };
  if (options.quiet === true) store.quietly(apply);
  else store.batch(apply);
}

function applyReport(store: SessionStore, report: NonNullable<SessionStatus['lastReport']>): void {
  const metric = (name: string): number | null => report.metrics?.[name] ?? null;
  // A runtime's own record of the round is richer; the report only fills gaps (a worker's
  // own record has no drift: only the aggregator hears every model's deviation).
  const own = store.state.history.find((r) => r.round === report.round);
  const drift = metric('drift');
  const testAccuracy = metric('testAccuracy');
  const evaluatedRound = metric('evaluatedRound') ?? report.round;
  if (own !== undefined && own.drift === null && drift !== null) store.addRound({ ...own, drift });
  if (own === undefined) {
    store.addRound({
      round: report.round,
      loss: metric('loss'),
      testAccuracy: evaluatedRound === report.round ? testAccuracy : null,
      bytesUp: report.bytes.up,
      bytesDown: report.bytes.down,
      fp32Bytes: metric('fp32Bytes') ?? 0,
      drift: metric('drift'),
    });
  }
  if (testAccuracy !== null && evaluatedRound !== report.round) {
    // An earlier round's evaluation, repeated: a point of the accuracy curve this dashboard may
    // have missed between two polls (no bytes: those were in that round's own report).
    const evaluated = store.state.history.find((r) => r.round === evaluatedRound);
    if (evaluated === undefined) {
      store.addRound({
        round: evaluatedRound,
        loss: null,
        testAccuracy,
        bytesUp: 0,
        bytesDown: 0,
        fp32Bytes: 0,
        drift: null,
      });
    } else if (evaluated.testAccuracy === null) store.addRound({ ...evaluated, testAccuracy });
  }
  if (!store.state.session.participation.some((p) => p.round === report.round)) {
    const counted = report.participants.length;
    store.recordParticipation({ round: report.round, counted, expected: metric('expected') ?? counted });
  }
  const { local } = store.state;
  applyRoundParticipation(
    store,
    report.round,
    report.participants,
    local.runtimeAttached ? local.peerId : null,
  );
}

export interface PollStatusInit {
  /** The signaling server's base URL (the page's origin when it serves the page). */
  baseUrl: string;
  sessionId: string;
  store: SessionStore;
  /** Time between polls; the heartbeat interval is a good choice. @default 5000 */
  intervalMs?: number;
  /** Time one request may take. @default 4000 */
  requestTimeoutMs?: number;
  signal: AbortSignal;
  /** Called with each failure (network, validation); polling goes on. */
  onError?: (error: unknown) => void;
  /** Called after each answer that was applied (or had no such session). */
  onSuccess?: () => void;
}

/** Polls until `signal` aborts; resolves then. Each answer is validated before use. */
export async function pollStatus(init: PollStatusInit): Promise<void> {
  const intervalMs = init.intervalMs ?? 5000;
  const requestTimeoutMs = init.requestTimeoutMs ?? 4000;
  const url = new URL('/status', init.baseUrl);
  while (!init.signal.aborted) {
    try {
      const response = await fetch(url, {
        signal: AbortSignal.any([init.signal, AbortSignal.timeout(requestTimeoutMs)]),
      });
      if (!response.ok) throw new Error(`GET /status: HTTP ${response.status}`);
      const status = signalingStatusSchema.parse(await response.json());
      const session = status.sessions.find((s) => s.sessionId === init.sessionId);
      if (session !== undefined && !init.signal.aborted)
        applyStatus(init.store, session, { serverTime: status.serverTime });
      if (!init.signal.aborted) init.onSuccess?.();
    } catch (error) {
      if (!init.signal.aborted) init.onError?.(error);
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, intervalMs);
      function done(): void {
        clearTimeout(timer);
        init.signal.removeEventListener('abort', done);
        resolve();
      }
      init.signal.addEventListener('abort', done, { once: true });
    });
  }
}
