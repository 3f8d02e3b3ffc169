import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignalingError, type SignalingErrorCode } from '../../shared/protocol/signaling.ts';
import { DEFAULT_SESSION_CONFIG } from '../../shared/protocol/session-config.ts';
import { signSessionToken } from '../../signaling/index.ts';
import { connectedClient, createSession, joinedClient, nextEvent, startServer } from './helpers.ts';

const SECRET = 'a test secret of at least sixteen bytes';

async function assertRejects(promise: Promise<unknown>, code: SignalingErrorCode): Promise<SignalingError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SignalingError, `expected SignalingError, got ${String(err)}`);
    assert.equal(err.code, code);
    return err;
  }
  assert.fail(`expected ${code}`);
}

test('create then join returns peerId, config, members and aggregator', async (t) => {
  const { url } = await startServer(t);
  const creator = await connectedClient(t, url);
  const created = await creator.create({ model: 'cnn', up: 'qsgd:16', quorum: 0.75 });
  assert.equal(created.config.model, 'cnn');
  assert.equal(created.config.up, 'qsgd:16');
  assert.equal(created.config.syncPeriod, DEFAULT_SESSION_CONFIG.syncPeriod);

  const a = await connectedClient(t, url);
  const joinedA = await a.join({
    sessionId: created.sessionId,
    token: created.token,
    kind: 'browser',
    ready: true,
  });
  assert.deepEqual(joinedA.config, created.config);
  assert.deepEqual(
    joinedA.peers.map((p) => [p.peerId, p.role, p.kind]),
    [[joinedA.peerId, 'aggregator', 'browser']],
  );
  assert.deepEqual(joinedA.aggregator, {
    sessionId: created.sessionId,
    peerId: joinedA.peerId,
    term: 1,
    lastRound: 0,
  });

  const b = await connectedClient(t, url);
  const joinedEvent = nextEvent(a, 'peer:joined');
  const joinedB = await b.join({
    sessionId: created.sessionId,
    token: created.token,
    kind: 'headless',
    peerId: 'worker-b',
    capabilities: { backend: 'wasm', cores: 2 },
  });
  assert.equal(joinedB.peerId, 'worker-b');
  assert.deepEqual(new Set(joinedB.peers.map((p) => p.peerId)), new Set([joinedA.peerId, 'worker-b']));
  assert.equal(joinedB.aggregator.peerId, joinedA.peerId);
  const ev = await joinedEvent;
  assert.equal(ev.peer.peerId, 'worker-b');
  assert.equal(ev.peer.role, 'worker');
  assert.deepEqual(ev.peer.capabilities, { backend: 'wasm', cores: 2 });
  assert.equal(a.session?.peers.size, 2);
});

test('a token of another session, a tampered or expired token, is refused and the socket closed', async (t) => {
  let now = Date.now();
  const { url } = await startServer(t, { secret: SECRET, tokenTtlMs: 60_000, now: () => now });
  const one = await createSession(t, url);
  const two = await createSession(t, url);

  const wrongSession = await connectedClient(t, url);
  const closed = nextEvent(wrongSession, 'disconnect');
  const err = await assertRejects(
    wrongSession.join({ sessionId: one.sessionId, token: two.token, kind: 'headless' }),
    'BAD_TOKEN',
  );
  assert.equal(err.fatal, true);
  const { error } = await closed;
  assert.equal(error?.code, 'BAD_TOKEN');

  const tampered = one.token.slice(0, -2) + (one.token.endsWith('AA') ? 'BB' : 'AA');
  const c2 = await connectedClient(t, url);
  await assertRejects(c2.join({ sessionId: one.sessionId, token: tampered, kind: 'headless' }), 'BAD_TOKEN');

  const otherSecret = signSessionToken(
    Buffer.from('another secret, also long enough'),
    one.sessionId,
    now + 1000,
  );
  const c3 = await connectedClient(t, url);
  await assertRejects(
    c3.join({ sessionId: one.sessionId, token: otherSecret, kind: 'headless' }),
    'BAD_TOKEN',
  );

  now += 60_001;
  const c4 = await connectedClient(t, url);
  await assertRejects(
    c4.join({ sessionId: one.sessionId, token: one.token, kind: 'headless' }),
    'TOKEN_EXPIRED',
  );
});

test('a validly signed token for a session that does not exist gives UNKNOWN_SESSION', async (t) => {
  const { url } = await startServer(t, { secret: SECRET });
  const client = await connectedClient(t, url);
  const token = signSessionToken(Buffer.from(SECRET), 'no-such-session', Date.now() + 60_000);
  const closed = nextEvent(client, 'disconnect');
  await assertRejects(
    client.join({ sessionId: 'no-such-session', token, kind: 'headless' }),
    'UNKNOWN_SESSION',
  );
  assert.equal((await closed).error?.code, 'UNKNOWN_SESSION');
});

test('second join on a socket, taken peerId and full session are refused without closing', async (t) => {
  const { url } = await startServer(t, { maxPeersPerSession: 2 });
  const session = await createSession(t, url);
  const a = await joinedClient(t, url, session, { peerId: 'alice' });
  await assertRejects(a.join({ ...session, kind: 'headless' }), 'ALREADY_JOINED');
  const b = await connectedClient(t, url);
  await assertRejects(b.join({ ...session, kind: 'headless', peerId: 'alice' }), 'PEER_ID_TAKEN');
  assert.equal(b.connected, true);
  await b.join({ ...session, kind: 'headless', peerId: 'bob' });
  const c = await connectedClient(t, url);
  await assertRejects(c.join({ ...session, kind: 'headless' }), 'SESSION_FULL');
  assert.equal(c.connected, true);
  assert.equal(a.connected, true);
});

test('an invalid config is refused with INVALID_CONFIG and the socket stays usable', async (t) => {
  const { url } = await startServer(t);
  const client = await connectedClient(t, url);
  await assertRejects(client.create({ quorum: 0 }), 'INVALID_CONFIG');
  await assertRejects(client.create({ partition: 'dirichlet:' }), 'INVALID_CONFIG');
  await assertRejects(client.create({ up: 'TOPK 1%' }), 'INVALID_CONFIG');
  const ok = await client.create({ partition: 'dirichlet:0.5', down: 'sign' });
  assert.equal(ok.config.partition, 'dirichlet:0.5');
});

test('requests before connect, and after close, fail with DISCONNECTED', async (t) => {
  const { url } = await startServer(t);
  const client = await connectedClient(t, url);
  client.close();
  await assertRejects(client.create(), 'DISCONNECTED');
});

test('an aborted request rejects with ABORTED', async (t) => {
  const { url } = await startServer(t);
  const client = await connectedClient(t, url);
  await assertRejects(client.create({}, { signal: AbortSignal.abort() }), 'ABORTED');
});
