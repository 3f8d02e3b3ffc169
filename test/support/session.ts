/**
 * Test support: a real signaling server on port 0, a session created through a real
 * socket.io client, and peers started against it.
 *
 * @example
 * const session = await startTestSession({ rounds: 20, minPeers: 2 });
 * const [a, b] = await Promise.all([session.addPeer(), session.addPeer()]);
 * await session.waitForStatus((s) => s.aggregator.lastRound >= 5, 30_000, 'round 5');
 * await session.close();
 */
import type { SessionStatus } from '../../shared/protocol/signaling-status.ts';
import {
  createSignalingServer,
  type SignalingServer,
  type SignalingServerInit,
} from '../../signaling/index.ts';
import { SignalingClient } from '../../client/signaling/index.ts';
import type { SessionConfigInput } from '../../shared/protocol/session-config.ts';
import { Peer, type PeerInit } from '../../client/roles/peer.ts';

export interface TestSession {
  server: SignalingServer;
  url: string;
  sessionId: string;
  token: string;
  peers: Peer[];
  addPeer(init?: Partial<PeerInit>): Promise<Peer>;
  /** This session as the server's /status reports it (undefined once it is gone). */
  status(): SessionStatus | undefined;
  /** Resolves with the first status that satisfies `predicate` (checked every 25 ms). */
  waitForStatus(
    predicate: (status: SessionStatus) => boolean,
    timeoutMs: number,
    what: string,
  ): Promise<SessionStatus>;
  close(): Promise<void>;
}

export async function startTestSession(
  config: SessionConfigInput,
  serverInit: SignalingServerInit = {},
): Promise<TestSession> {
  const server = createSignalingServer({ logLevel: 'silent', ...serverInit });
  const url = await server.start({ port: 0 });
  // A server with an operator token (signaling/options.ts) creates sessions only for it.
  const { operatorToken } = serverInit;
  const creator = new SignalingClient(operatorToken === undefined ? {} : { operatorToken });
  await creator.connect(url);
  const { sessionId, token } = await creator.create(config);
  creator.close();
  const peers: Peer[] = [];
  const status = (): SessionStatus | undefined =>
    server.status().sessions.find((s) => s.sessionId === sessionId);
  return {
    server,
    url,
    sessionId,
    token,
    peers,
    async addPeer(init = {}) {
      const peer = new Peer({ serverUrl: url, sessionId, token, kind: 'headless', ...init });
      peers.push(peer);
      await peer.start();
      return peer;
    },
    status,
    waitForStatus(predicate, timeoutMs, what) {
      return pollUntil(
        () => {
          const current = status();
          return current !== undefined && predicate(current) ? current : undefined;
        },
        timeoutMs,
        what,
      );
    },
    async close() {
      await Promise.all(peers.map((p) => p.leave()));
      await server.stop();
    },
  };
}

/**
 * Resolves with the first defined value `probe` returns, checking every `intervalMs`, or
 * rejects after timeoutMs: for state that has no event (another process's progress).
 */
export function pollUntil<T>(
  probe: () => T | undefined,
  timeoutMs: number,
  what: string,
  intervalMs = 25,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const check = (): void => {
      const value = probe();
      if (value !== undefined) {
        resolve(value);
        return;
      }
      if (performance.now() - started > timeoutMs) {
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
        return;
      }
      setTimeout(check, intervalMs);
    };
    check();
  });
}

/**
 * Resolves with the first event value that satisfies `predicate`, or rejects after timeoutMs;
 * `what` names it in that error (a function: read then, for a trace gathered meanwhile).
 */
export function waitFor<T>(
  subscribe: (listener: (value: T) => void) => () => void,
  predicate: (value: T) => boolean,
  timeoutMs: number,
  what: string | (() => string),
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(
        new Error(`timed out after ${timeoutMs} ms waiting for ${typeof what === 'string' ? what : what()}`),
      );
    }, timeoutMs);
    const unsubscribe = subscribe((value) => {
      if (!predicate(value)) return;
      clearTimeout(timer);
      unsubscribe();
      resolve(value);
    });
  });
}

/** Resolves like `promise`, or rejects after timeoutMs; the timer never outlives it. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)),
          timeoutMs,
        );
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
