import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignalingError, errorEventSchema } from '../../shared/protocol/signaling.ts';
import { createSession, joinedClient, nextEvent, onceSocket, rawSocket, startServer } from './helpers.ts';

const report = (term: number, round: number) => ({
  term,
  round,
  participants: ['a', 'b'],
  bytes: { up: 1000, down: 500 },
});

test('a peer that stops heartbeating is removed; one that heartbeats stays', async (t) => {
  const { server, url } = await startServer(t, {
    heartbeatIntervalMs: 100,
    heartbeatTimeoutMs: 600,
    sweepIntervalMs: 20,
  });
  const session = await createSession(t, url);
  const alive = await joinedClient(t, url, session, { peerId: 'alive' });
  const silent = await rawSocket(t, url);
  const joinedAt = Date.now(); // before the server records the join, so a lower bound
  await silent.emitWithAck('session:join', { ...session, kind: 'headless', peerId: 'silent' });
  const silentError = onceSocket(silent, 'error');
  const silentClosed = onceSocket(silent, 'disconnect');

  const left = await nextEvent(alive, 'peer:left');
  assert.deepEqual([left.peerId, left.reason], ['silent', 'heartbeat-timeout']);
  assert.ok(Date.now() - joinedAt >= 600, 'not removed before the timeout');
  assert.equal(errorEventSchema.parse(await silentError).code, 'HEARTBEAT_TIMEOUT');
  assert.equal(await silentClosed, 'io server disconnect');
  // `alive` has been a member longer than the timeout: its timer's heartbeats kept it.
  const peers = server.status().sessions[0]?.peers.map((p) => p.peerId);
  assert.deepEqual(peers, ['alive']);
  assert.equal(alive.connected, true);
});

test('when the aggregator leaves, the longest-connected ready peer takes over with term + 1', async (t) => {
  const { url } = await startServer(t);
  const session = await createSession(t, url);
  const a = await joinedClient(t, url, session, { peerId: 'a', ready: true });
  const notReady = await joinedClient(t, url, session, { peerId: 'n' });
  const b = await joinedClient(t, url, session, { peerId: 'b', ready: true });
  const c = await joinedClient(t, url, session, { peerId: 'c', ready: true });
  assert.equal(c.session?.aggregator.peerId, 'a');
  assert.equal(c.session?.aggregator.term, 1);
  await a.reportRound(report(1, 7));

  const seen = [notReady, b, c].map((client) => nextEvent(client, 'aggregator'));
  a.close();
  for (const ev of await Promise.all(seen)) {
    assert.deepEqual(ev, { sessionId: session.sessionId, peerId: 'b', term: 2, lastRound: 7 });
  }
  assert.equal(b.session?.isAggregator, true);
  assert.equal(c.session?.peers.get('b')?.role, 'aggregator');
  assert.equal(c.session?.peers.has('a'), false);

  // A newcomer learns the term and the round to continue from.
  const d = await joinedClient(t, url, session);
  assert.deepEqual(d.session?.aggregator, {
    sessionId: session.sessionId,
    peerId: 'b',
    term: 2,
    lastRound: 7,
  });
});

test('no ready peer left: aggregator becomes null with a new term, until someone is ready', async (t) => {
  const { url } = await startServer(t);
  const session = await createSession(t, url);
  const a = await joinedClient(t, url, session, { ready: true });
  const w = await joinedClient(t, url, session);
  const none = nextEvent(w, 'aggregator');
  a.close();
  assert.deepEqual(await none, { sessionId: session.sessionId, peerId: null, term: 2, lastRound: 0 });
  const elected = nextEvent(w, 'aggregator');
  await w.setReady(true);
  assert.equal((await elected).peerId, w.session?.peerId);
  assert.equal(w.session?.term, 3);
});

test('an aggregator steps down by announcing ready: false', async (t) => {
  const { url } = await startServer(t);
  const session = await createSession(t, url);
  const a = await joinedClient(t, url, session, { peerId: 'a', ready: true });
  const b = await joinedClient(t, url, session, { peerId: 'b', ready: true });
  const updated = nextEvent(b, 'peer:updated');
  const changed = nextEvent(b, 'aggregator');
  await a.setReady(false);
  assert.deepEqual([(await updated).peer.peerId, (await updated).peer.ready], ['a', false]);
  assert.deepEqual([(await changed).peerId, (await changed).term], ['b', 2]);
  assert.equal(a.connected, true);
});

test('round reports are accepted only from the aggregator of the current term, rounds never go back', async (t) => {
  const { server, url } = await startServer(t);
  const session = await createSession(t, url);
  const a = await joinedClient(t, url, session, { ready: true });
  const w = await joinedClient(t, url, session);
  const code = (expected: string) => (err: unknown) => err instanceof SignalingError && err.code === expected;
  await assert.rejects(w.reportRound(report(1, 1)), code('NOT_AGGREGATOR'));
  await assert.rejects(a.reportRound(report(0, 1)), code('STALE_TERM'));
  await a.reportRound(report(1, 3));
  await a.reportRound(report(1, 4));
  await assert.rejects(a.reportRound(report(1, 2)), code('STALE_ROUND'));
  const status = server.status().sessions[0];
  assert.equal(status?.aggregator.lastRound, 4);
  assert.deepEqual(status?.traffic, { up: 2000, down: 1000, reportedRounds: 2 });
  assert.equal(a.connected && w.connected, true);
});
