/**
 * Test helpers for the signaling server: a real server on port 0, raw socket.io-client
 * sockets (to send what a well-behaved client never would) and SignalingClients, and
 * event waits with a timeout instead of sleeps. Everything opened is closed by `t.after`.
 *
 * @example
 * const { url } = await startServer(t, { heartbeatTimeoutMs: 300 });
 * const a = await joinedClient(t, url, session, { ready: true });
 */
import type { TestContext } from 'node:test';
import { io, type Socket } from 'socket.io-client';
import { SignalingClient, type SignalingClientEvents } from '../../client/signaling/index.ts';
import type { JoinRequest } from '../../shared/protocol/signaling.ts';
import {
  createSignalingServer,
  type SignalingServer,
  type SignalingServerInit,
} from '../../signaling/index.ts';

/** Upper bound for any single expected event; generous for a loaded 2-core machine. */
export const EVENT_TIMEOUT_MS = 5000;

export async function startServer(
  t: TestContext,
  init: SignalingServerInit = {},
): Promise<{ server: SignalingServer; url: string }> {
  const server = createSignalingServer({ logLevel: 'silent', ...init });
  const url = await server.start({ port: 0 });
  t.after(() => server.stop());
  return { server, url };
}

/** A socket.io socket with no typing: payloads are whatever the test wants to send. */
export type RawSocket = Socket;

export async function rawSocket(t: TestContext, url: string): Promise<RawSocket> {
  const socket = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  t.after(() => {
    socket.disconnect();
  });
  await onceSocket(socket, 'connect');
  return socket;
}

/** Resolves with the first argument of the next `event` on a raw socket. */
export function onceSocket(socket: RawSocket, event: string, timeoutMs = EVENT_TIMEOUT_MS): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(event, listener);
      reject(new Error(`timed out waiting for ${event}`));
    }, timeoutMs);
    const listener = (arg: unknown): void => {
      clearTimeout(timer);
      socket.off(event, listener);
      resolve(arg);
    };
    socket.on(event, listener);
  });
}

export async function connectedClient(t: TestContext, url: string): Promise<SignalingClient> {
  const client = new SignalingClient({ requestTimeoutMs: EVENT_TIMEOUT_MS });
  t.after(() => client.close());
  await client.connect(url);
  return client;
}

export interface TestSession {
  sessionId: string;
  token: string;
}

export async function createSession(t: TestContext, url: string): Promise<TestSession> {
  const client = await connectedClient(t, url);
  const { sessionId, token } = await client.create({ rounds: 10 });
  client.close();
  return { sessionId, token };
}

export async function joinedClient(
  t: TestContext,
  url: string,
  session: TestSession,
  extra: Partial<JoinRequest> = {},
): Promise<SignalingClient> {
  const client = await connectedClient(t, url);
  await client.join({ ...session, kind: 'headless', ...extra });
  return client;
}

/** What an event of the signaling client carries (each has one argument). */
type EventPayload<K extends keyof SignalingClientEvents> = Parameters<SignalingClientEvents[K]>[0];

/** Resolves with the next `name` event of a SignalingClient that passes `filter`. */
export function nextEvent<K extends keyof SignalingClientEvents>(
  client: SignalingClient,
  name: K,
  filter: (ev: EventPayload<K>) => boolean = () => true,
  timeoutMs = EVENT_TIMEOUT_MS,
): Promise<EventPayload<K>> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out waiting for ${String(name)}`));
    }, timeoutMs);
    const listener = (ev: EventPayload<K>): void => {
      if (!filter(ev)) return;
      clearTimeout(timer);
      off();
      resolve(ev);
    };
    // For a generic K the compiler cannot see that this is SignalingClientEvents[K].
    const off = client.on(name, listener as unknown as SignalingClientEvents[K]);
  });
}
