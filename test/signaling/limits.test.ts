import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignalingError, errorEventSchema } from '../../shared/protocol/signaling.ts';
import {
  connectedClient,
  createSession,
  joinedClient,
  nextEvent,
  onceSocket,
  rawSocket,
  startServer,
} from './helpers.ts';

test('a flooding socket gets RATE_LIMITED, then is disconnected; its peers are told', async (t) => {
  const { url } = await startServer(t, {
    messageRateLimit: { perSecond: 5, burst: 10 },
    violationLimit: { perSecond: 0.01, burst: 5 },
  });
  const session = await createSession(t, url);
  const calm = await joinedClient(t, url, session, { peerId: 'calm' });
  const flood = await rawSocket(t, url);
  await flood.emitWithAck('session:join', { ...session, kind: 'headless', peerId: 'flood' });
  const errors: unknown[] = [];
  flood.on('error', (ev: unknown) => errors.push(ev));
  const closed = onceSocket(flood, 'disconnect');
  const left = nextEvent(calm, 'peer:left');
  for (let i = 0; i < 200; i++) flood.emit('heartbeat', { round: i });
  assert.equal(await closed, 'io server disconnect');
  assert.deepEqual(await left, {
    sessionId: session.sessionId,
    peerId: 'flood',
    reason: 'disconnect',
    term: 0,
  });
  const codes = errors.map((ev) => errorEventSchema.parse(ev));
  assert.ok(codes.length >= 1 && codes.every((ev) => ev.code === 'RATE_LIMITED'));
  // One warning for the streak, then the fatal one: the flood is not echoed back.
  assert.ok(codes.length <= 2, `got ${codes.length} error events`);
  assert.equal(codes.at(-1)?.fatal, true);
  assert.equal(calm.connected, true);
});

test('joins and creates per address are rate limited, without closing the socket', async (t) => {
  const { url } = await startServer(t, { joinRateLimit: { perSecond: 0.01, burst: 3 } });
  const client = await connectedClient(t, url);
  for (let i = 0; i < 3; i++) await client.create();
  await assert.rejects(
    client.create(),
    (err) => err instanceof SignalingError && err.code === 'RATE_LIMITED',
  );
  assert.equal(client.connected, true);
});

test('sessions beyond maxSessions are refused with TOO_MANY_SESSIONS', async (t) => {
  const { url } = await startServer(t, { maxSessions: 2 });
  const client = await connectedClient(t, url);
  await client.create();
  await client.create();
  await assert.rejects(
    client.create(),
    (err) => err instanceof SignalingError && err.code === 'TOO_MANY_SESSIONS',
  );
});

test('a session that stays empty past sessionIdleTimeoutMs is deleted; one with members is kept', async (t) => {
  let now = 1_000_000;
  const { server, url } = await startServer(t, {
    sessionIdleTimeoutMs: 5000,
    sweepIntervalMs: 10,
    now: () => now,
  });
  const emptied = await createSession(t, url);
  const kept = await createSession(t, url);
  const leaving = await joinedClient(t, url, emptied);
  await joinedClient(t, url, kept);
  leaving.close();
  const peerCount = (id: string) => server.status().sessions.find((s) => s.sessionId === id)?.peers.length;
  await waitUntil(() => peerCount(emptied.sessionId) === 0);
  now += 5000;
  await waitUntil(() => server.status().sessions.length === 1);
  assert.equal(server.status().sessions[0]?.sessionId, kept.sessionId);
});

/** Polls state that has no event of its own (the sweeper's work), with a deadline. */
async function waitUntil(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
