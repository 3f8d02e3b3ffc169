/**
 * Test support: a real signaling server on port 0, a session created through a real
 * socket.io client, and peers started against it.
 */
import { createSignalingServer, type SignalingServer } from '../../signaling/index.ts';
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
  close(): Promise<void>;
}

export async function startTestSession(config: SessionConfigInput): Promise<TestSession> {
  const server = createSignalingServer({ logLevel: 'silent' });
  const url = await server.start({ port: 0 });
  const creator = new SignalingClient();
  await creator.connect(url);
  const { sessionId, token } = await creator.create(config);
  creator.close();
  const peers: Peer[] = [];
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
    async close() {
      await Promise.all(peers.map((p) => p.leave()));
      await server.stop();
    },
  };
}

/** Resolves with the first event value that satisfies `predicate`, or rejects after timeoutMs. */
export function waitFor<T>(
  subscribe: (listener: (value: T) => void) => () => void,
  predicate: (value: T) => boolean,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      unsubscribe();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
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
