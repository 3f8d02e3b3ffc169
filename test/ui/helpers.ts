/**
 * Test helpers for the UI's state: wait (with a timeout, no sleeps) until a store reaches a
 * condition, and a SessionStatus fixture.
 *
 * @example
 * await storeReaches(store, (s) => s.peers.length === 2);
 */
import { DEFAULT_SESSION_CONFIG } from '../../shared/protocol/signaling.ts';
import type { SessionStatus } from '../../shared/protocol/signaling-status.ts';
import type { DashboardState, SessionStore } from '../../client/ui/state.ts';

export const STORE_TIMEOUT_MS = 5000;

export function storeReaches(
  store: SessionStore,
  condition: (state: DashboardState) => boolean,
  timeoutMs = STORE_TIMEOUT_MS,
): Promise<DashboardState> {
  if (condition(store.state)) return Promise.resolve(store.state);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(
        new Error(`store did not reach the condition in ${timeoutMs} ms: ${JSON.stringify(store.state)}`),
      );
    }, timeoutMs);
    const off = store.on('change', ({ state }) => {
      if (!condition(state)) return;
      clearTimeout(timer);
      off();
      resolve(state);
    });
  });
}

export function statusFixture(overrides: Partial<SessionStatus> = {}): SessionStatus {
  const peer = (peerId: string, extra: Partial<SessionStatus['peers'][number]> = {}) => ({
    peerId,
    kind: 'headless' as const,
    role: 'worker' as const,
    ready: true,
    capabilities: { backend: 'tensorflow' },
    connectedAt: 1,
    lastHeartbeat: 2,
    ...extra,
  });
  return {
    sessionId: 'session-abc',
    createdAt: 0,
    config: { ...DEFAULT_SESSION_CONFIG, rounds: 100 },
    aggregator: { sessionId: 'session-abc', peerId: 'agg', term: 3, lastRound: 7 },
    peers: [
      peer('agg', { role: 'aggregator', stats: { bytesUp: 100, bytesDown: 200, rttMs: 4 } }),
      peer('w1'),
    ],
    lastReport: {
      term: 3,
      round: 7,
      participants: ['agg', 'w1'],
      bytes: { up: 1000, down: 500 },
      metrics: { loss: 0.5, testAccuracy: 0.9, fp32Bytes: 80_000, expected: 3, drift: 0.01 },
      receivedAt: 5,
    },
    traffic: { up: 7000, down: 3500, reportedRounds: 7 },
    ...overrides,
  };
}
