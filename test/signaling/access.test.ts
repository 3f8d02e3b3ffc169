/**
 * Access: every way into a session without a valid token, each refused with its code, the
 * socket closed, and the session's members never told of the attempt; the join rate limit
 * throttling token guessing before any token is checked; and session isolation beyond
 * signals (membership and aggregator announcements stay within their session).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorReplySchema, type SignalingErrorCode } from '../../shared/protocol/signaling.ts';
import { signSessionToken } from '../../signaling/index.ts';
import {
  connectedClient,
  createSession,
  joinedClient,
  nextEvent,
  onceSocket,
  rawSocket,
  startServer,
  type RawSocket,
  type TestSession,
} from './helpers.ts';

const SECRET = 'the access test secret, long enough';

/** Sends a join with arbitrary fields and returns the refusal, after the server closed the socket. */
async function refusedJoin(
  socket: RawSocket,
  payload: unknown,
): Promise<{ code: SignalingErrorCode; fatal: boolean; closedBy: unknown }> {
  const closed = onceSocket(socket, 'disconnect');
  const reply: unknown = await socket.timeout(5000).emitWithAck('session:join', payload);
  const { error } = errorReplySchema.parse(reply);
  return { code: error.code, fatal: error.fatal, closedBy: error.fatal ? await closed : 'still open' };
}

/** A token for `sessionId` with its expiry digits changed and the signature kept. */
function extendedExpiry(token: string): string {
  const [expiry = '', mac = ''] = token.split('.');
  return `${Number(expiry) + 86_400_000}.${mac}`;
}

test('every way in without a valid token is refused with its code; members never hear of it', async (t) => {
  let now = 1_700_000_000_000;
  const { server, url } = await startServer(t, { secret: SECRET, tokenTtlMs: 60_000, now: () => now });
  const a = await createSession(t, url);
  const b = await createSession(t, url);
  const member = await joinedClient(t, url, a, { peerId: 'member', ready: true });
  const joinedEvents: string[] = [];
  member.on('peer:joined', (ev) => joinedEvents.push(ev.peer.peerId));
  const signals: unknown[] = [];
  member.onSignal((_from, data) => signals.push(data));

  const base = { sessionId: a.sessionId, kind: 'headless', peerId: 'intruder' };
  const withoutToken: Record<string, unknown> = { ...base };
  const attempts: [string, unknown, SignalingErrorCode][] = [
    ['no token', withoutToken, 'BAD_REQUEST'],
    ['an empty token', { ...base, token: '' }, 'BAD_REQUEST'],
    ['a number', { ...base, token: 1234567890 }, 'BAD_REQUEST'],
    ['a boolean', { ...base, token: true }, 'BAD_REQUEST'],
    ['null', { ...base, token: null }, 'BAD_REQUEST'],
    ['an array', { ...base, token: [a.token] }, 'BAD_REQUEST'],
    ['an object', { ...base, token: { token: a.token } }, 'BAD_REQUEST'],
    ['binary', { ...base, token: Buffer.from(a.token) }, 'BAD_REQUEST'],
    ['a huge token', { ...base, token: a.token + 'A'.repeat(100_000) }, 'BAD_REQUEST'],
    ['just over the length limit', { ...base, token: 'A'.repeat(513) }, 'BAD_REQUEST'],
    ['not a token at all', { ...base, token: 'let me in' }, 'BAD_TOKEN'],
    [
      'a bad signature',
      { ...base, token: a.token.slice(0, -1) + (a.token.endsWith('A') ? 'B' : 'A') },
      'BAD_TOKEN',
    ],
    [
      'another secret',
      {
        ...base,
        token: signSessionToken(Buffer.from('a secret the server does not have'), a.sessionId, now + 1000),
      },
      'BAD_TOKEN',
    ],
    ['the token of another session', { ...base, token: b.token }, 'BAD_TOKEN'],
    [
      'a replay with the session id changed',
      { ...base, sessionId: b.sessionId, token: a.token },
      'BAD_TOKEN',
    ],
    ['an extended expiry', { ...base, token: extendedExpiry(a.token) }, 'BAD_TOKEN'],
    ['trailing bytes', { ...base, token: `${a.token}=` }, 'BAD_TOKEN'],
    ['a leading zero in the expiry', { ...base, token: `0${a.token}` }, 'BAD_TOKEN'],
  ];
  for (const [label, payload, code] of attempts) {
    const socket = await rawSocket(t, url);
    const refusal = await refusedJoin(socket, payload);
    assert.equal(refusal.code, code, label);
    assert.equal(refusal.fatal, true, label);
    assert.equal(refusal.closedBy, 'io server disconnect', label);
  }

  // Without joining, nothing reaches the session: each message is NOT_JOINED.
  const loner = await rawSocket(t, url);
  for (const [event, payload] of [
    ['signal', { to: 'member', data: 'let me in' }],
    ['heartbeat', { round: 1 }],
    ['peer:ready', { ready: true }],
    ['round:report', { term: 1, round: 1, participants: [], bytes: { up: 0, down: 0 } }],
  ] as const) {
    const { error } = errorReplySchema.parse(await loner.timeout(5000).emitWithAck(event, payload));
    assert.equal(error.code, 'NOT_JOINED', event);
  }

  // A genuine token past its expiry is TOKEN_EXPIRED.
  now += 60_000;
  const late = await rawSocket(t, url);
  assert.equal((await refusedJoin(late, { ...base, token: a.token })).code, 'TOKEN_EXPIRED');

  // The first peer:joined the member sees is a legitimate one (marker), and no signal arrived.
  const fresh = await createSession(t, url);
  assert.notEqual(fresh.sessionId, a.sessionId);
  const markerToken = signSessionToken(Buffer.from(SECRET), a.sessionId, now + 1000);
  const marker = nextEvent(member, 'peer:joined');
  await joinedClient(t, url, { sessionId: a.sessionId, token: markerToken }, { peerId: 'marker' });
  assert.equal((await marker).peer.peerId, 'marker');
  assert.deepEqual(joinedEvents, ['marker']);
  assert.deepEqual(signals, []);
  const status = server.status().sessions.find((s) => s.sessionId === a.sessionId);
  assert.deepEqual(status?.peers.map((p) => p.peerId).sort(), ['marker', 'member']);
});

test('token guessing is throttled by the join rate limit before any token is checked', async (t) => {
  let now = 1_700_000_000_000;
  const { url } = await startServer(t, {
    secret: SECRET,
    joinRateLimit: { perSecond: 0.5, burst: 4 },
    now: () => now,
  });
  const session: TestSession = await createSession(t, url); // takes one of the 4
  for (let guess = 0; guess < 3; guess++) {
    const socket = await rawSocket(t, url);
    const refusal = await refusedJoin(socket, {
      sessionId: session.sessionId,
      token: `${now + 1000}.${'A'.repeat(42)}${guess}`,
      kind: 'headless',
    });
    assert.equal(refusal.code, 'BAD_TOKEN');
  }
  // The bucket is empty: even the right token is refused, and the socket stays open for a retry.
  const client = await connectedClient(t, url);
  await assert.rejects(client.join({ ...session, kind: 'headless' }), { code: 'RATE_LIMITED' });
  assert.equal(client.connected, true);
  now += 2000; // one token refilled at 0.5 per second
  const joined = await client.join({ ...session, kind: 'headless' });
  assert.equal(joined.sessionId, session.sessionId);
});

test('membership and aggregator announcements stay within their session', async (t) => {
  const { url } = await startServer(t);
  const a = await createSession(t, url);
  const b = await createSession(t, url);
  const watcherB = await joinedClient(t, url, b, { peerId: 'watcher' });
  const strays: string[] = [];
  for (const name of ['peer:joined', 'peer:left', 'peer:updated', 'aggregator', 'signal'] as const) {
    watcherB.on(name, (ev: unknown) => strays.push(`${name} ${JSON.stringify(ev)}`));
  }
  // Session A lives a whole life: joins, an aggregator is elected, signals, leaves.
  const first = await joinedClient(t, url, a, { peerId: 'first', ready: true });
  const second = await joinedClient(t, url, a, { peerId: 'second' });
  const elected = nextEvent(second, 'aggregator', (ev) => ev.peerId === 'second');
  await second.setReady(true);
  first.close();
  assert.equal((await elected).sessionId, a.sessionId);
  // A marker in B after all of it: anything leaked from A would have arrived before.
  const marker = nextEvent(watcherB, 'peer:joined');
  await joinedClient(t, url, b, { peerId: 'marker' });
  assert.equal((await marker).peer.peerId, 'marker');
  assert.deepEqual(
    strays.filter((s) => !s.startsWith('peer:joined') || !s.includes('"marker"')),
    [],
  );
});
