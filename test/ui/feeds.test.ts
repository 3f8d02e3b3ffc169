/**
 * What fills the dashboard's store: /status snapshots (applyStatus), a training runtime
 * (attachRuntimeToStore), and, against a real signaling server on port 0, two
 * SessionConnections (create, then join by link) following membership and /status polls.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyStatus } from '../../client/ui/feeds/status-feed.ts';
import { parseJoinLink } from '../../client/ui/join-link.ts';
import { attachRuntimeToStore, type DashboardRuntimeEvents } from '../../client/ui/runtime/attach.ts';
import { SessionConnection } from '../../client/ui/session-connection.ts';
import { SessionStore } from '../../client/ui/state.ts';
import { SignalingClient, TypedEmitter } from '../../client/signaling/index.ts';
import { SignalingError } from '../../shared/protocol/signaling.ts';
import { startServer } from '../signaling/helpers.ts';
import { statusFixture, storeReaches } from './helpers.ts';

test('applyStatus fills session, peers, history and participation from one snapshot', () => {
  const store = new SessionStore();
  store.upsertPeer({ peerId: 'gone', state: 'training' });
  applyStatus(store, statusFixture());
  const { session, peers, history } = store.state;
  assert.deepEqual(
    {
      id: session.id,
      round: session.round,
      total: session.totalRounds,
      agg: session.aggregatorPeerId,
      term: session.term,
    },
    { id: 'session-abc', round: 7, total: 100, agg: 'agg', term: 3 },
  );
  assert.equal(session.phase, 'training');
  assert.deepEqual(session.participation, [{ round: 7, counted: 2, expected: 3 }]);
  const byId = new Map(peers.map((p) => [p.peerId, p]));
  assert.equal(byId.get('gone')?.state, 'dropped', 'a peer missing from status is dropped');
  assert.deepEqual(
    { ...byId.get('agg') },
    {
      peerId: 'agg',
      role: 'aggregator',
      kind: 'headless',
      state: 'training', // counted in the last round
      rttMs: 4,
      bytesUp: 100,
      bytesDown: 200,
      lastRoundCounted: 7,
      backend: 'tensorflow',
      rateUp: null, // one sample: no rate yet
      rateDown: null,
      link: null, // this tab has no WebRTC link to it
      linkCandidates: null,
    },
  );
  assert.equal(byId.get('w1')?.role, 'worker');
  assert.deepEqual(history, [
    { round: 7, loss: 0.5, testAccuracy: 0.9, bytesUp: 1000, bytesDown: 500, fp32Bytes: 80_000, drift: 0.01 },
  ]);
});

test('applyStatus never overrides what is newer or richer', () => {
  const store = new SessionStore();
  store.updateSession({ term: 5, aggregatorPeerId: 'newer', round: 9 });
  store.addRound({
    round: 7,
    loss: 0.1,
    testAccuracy: null,
    bytesUp: 1,
    bytesDown: 1,
    fp32Bytes: 1,
    drift: null,
  });
  store.setLocal({ runtimeAttached: true, peerId: 'agg' });
  store.updateSession({ phase: 'syncing' });
  store.upsertPeer({ peerId: 'agg', backend: 'wasm', state: 'sending' });
  applyStatus(store, statusFixture());
  const { session, history, peers } = store.state;
  assert.equal(session.aggregatorPeerId, 'newer', 'an older term does not replace the aggregator');
  assert.equal(session.term, 5);
  assert.equal(session.round, 9, 'rounds never go back');
  assert.equal(session.phase, 'syncing', 'the runtime owns the phase');
  assert.equal(history[0]?.loss, 0.1, "the runtime's record of the round is kept");
  assert.equal(history[0]?.drift, 0.01, "the report's drift fills the runtime's record (a worker has none)");
  const agg = peers.find((p) => p.peerId === 'agg');
  assert.equal(agg?.backend, 'wasm', 'the backend the runtime reported is kept');
  assert.equal(agg?.state, 'sending', "the runtime owns its own peer's state");
  assert.equal(agg?.role, 'worker', "an older snapshot's aggregator is not the aggregator any more");
  assert.equal(
    agg?.bytesUp,
    0,
    "a training tab's own counters come from its runtime, not its last heartbeat",
  );
  assert.equal(peers.find((p) => p.peerId === 'w1')?.state, 'training', 'others: counted in the last report');
});

test('a /status snapshot does not bring back a peer that left, in a tab that follows signaling', () => {
  // The snapshot was requested before w1 left; the peer:left event came first.
  const joined = new SessionStore();
  joined.setLocal({ connection: 'joined', peerId: 'me' });
  joined.upsertPeer({ peerId: 'w1', state: 'training' });
  joined.markDropped('w1');
  applyStatus(joined, statusFixture());
  assert.equal(joined.state.peers.find((p) => p.peerId === 'w1')?.state, 'dropped');
  // A watch-only tab hears of peers only from /status: a peer listed again is back.
  const watching = new SessionStore();
  watching.upsertPeer({ peerId: 'w1', state: 'training' });
  watching.markDropped('w1');
  applyStatus(watching, statusFixture());
  assert.notEqual(watching.state.peers.find((p) => p.peerId === 'w1')?.state, 'dropped');
});

test('applyStatus marks the session done after its last round', () => {
  const store = new SessionStore();
  const status = statusFixture();
  applyStatus(store, { ...status, aggregator: { ...status.aggregator, lastRound: 98 } });
  assert.equal(store.state.session.phase, 'training', 'round 98 of 0..99');
  applyStatus(store, { ...status, aggregator: { ...status.aggregator, lastRound: 99 } });
  assert.equal(store.state.session.phase, 'done');
});

test("applyStatus draws a repeated evaluation at its own round, not the report's", () => {
  const store = new SessionStore();
  const status = statusFixture();
  const report = status.lastReport;
  assert.ok(report !== undefined);
  const metrics = { loss: 0.4, testAccuracy: 0.8, testLoss: 0.6, evaluatedRound: 4 };
  applyStatus(store, { ...status, lastReport: { ...report, metrics } });
  assert.deepEqual(
    store.state.history.map((r) => ({ round: r.round, loss: r.loss, testAccuracy: r.testAccuracy })),
    [
      { round: 4, loss: null, testAccuracy: 0.8 },
      { round: 7, loss: 0.4, testAccuracy: null },
    ],
  );
  assert.equal(store.state.history[0]?.bytesUp, 0, "round 4's bytes were in its own report");
  // Round 4 seen by an earlier poll, without its accuracy: the repeat fills it in.
  const seen = new SessionStore();
  seen.addRound({
    round: 4,
    loss: 0.5,
    testAccuracy: null,
    bytesUp: 9,
    bytesDown: 9,
    fp32Bytes: 9,
    drift: null,
  });
  applyStatus(seen, { ...status, lastReport: { ...report, metrics } });
  assert.deepEqual(
    { ...seen.state.history.find((r) => r.round === 4) },
    { round: 4, loss: 0.5, testAccuracy: 0.8, bytesUp: 9, bytesDown: 9, fp32Bytes: 9, drift: null },
  );
});

test('attachRuntimeToStore copies rounds, peers, phases and backend until detached', () => {
  class FakeRuntime extends TypedEmitter<DashboardRuntimeEvents> {
    send<K extends keyof DashboardRuntimeEvents>(
      name: K,
      ...args: Parameters<DashboardRuntimeEvents[K]>
    ): void {
      this.emit(name, ...args);
    }
    leave(): void {}
  }
  const runtime = new FakeRuntime();
  const store = new SessionStore();
  store.setLocal({ peerId: 'me' });
  const detach = attachRuntimeToStore(store, runtime);
  assert.equal(store.state.local.runtimeAttached, true);
  runtime.send('backend', { backend: 'wasm' });
  runtime.send('peer', { peerId: 'w2', kind: 'browser', state: 'late', rttMs: 12 });
  runtime.send('round', {
    round: 1,
    loss: 2,
    testAccuracy: 0.3,
    bytesUp: 10,
    bytesDown: 20,
    fp32Bytes: 100,
    drift: 0,
    participants: ['me'],
    expected: 2,
  });
  runtime.send('phase', { phase: 'syncing', round: 2 });
  runtime.send('peer:removed', { peerId: 'w2' });
  const { local, peers, history, session } = store.state;
  assert.equal(local.backend, 'wasm');
  assert.deepEqual(
    peers.map((p) => [p.peerId, p.state, p.backend, p.lastRoundCounted]),
    [
      ['me', 'connecting', 'wasm', 1],
      ['w2', 'dropped', null, null],
    ],
  );
  assert.equal(history.length, 1);
  assert.deepEqual(session.participation, [{ round: 1, counted: 1, expected: 2 }]);
  assert.equal(session.phase, 'syncing');
  assert.equal(session.round, 2);
  detach();
  assert.equal(store.state.local.runtimeAttached, false);
  assert.equal(runtime.listenerCount('round'), 0);
  runtime.send('phase', { phase: 'done', round: 3 });
  assert.equal(store.state.session.phase, 'syncing', 'nothing arrives after detach');
});

test('two SessionConnections: create, join by link, live membership and /status stats', async (t) => {
  const { url } = await startServer(t, { heartbeatIntervalMs: 100, heartbeatTimeoutMs: 2000 });
  const creatorStore = new SessionStore();
  const creator = new SessionConnection({
    baseUrl: url,
    store: creatorStore,
    capabilities: { backend: 'webgl' },
  });
  t.after(() => creator.close());
  const created = await creator.create({ rounds: 20, up: 'sign' });
  assert.equal(created.config.up, 'sign');
  assert.equal(creatorStore.state.local.connection, 'joined');
  assert.equal(creatorStore.state.session.totalRounds, 20);
  const params = parseJoinLink(created.link);
  assert.ok(params !== null && created.link.startsWith(url));

  const joinerStore = new SessionStore();
  const joiner = new SessionConnection({ baseUrl: url, store: joinerStore });
  t.after(() => joiner.close());
  const joined = await joiner.join(params);
  const joinedId = joined.peerId;
  assert.ok(joinedId !== null);
  const bothPeers = (s: { peers: readonly { state: string }[] }) =>
    s.peers.filter((p) => p.state !== 'dropped').length === 2;
  await storeReaches(creatorStore, bothPeers);
  await storeReaches(joinerStore, bothPeers);
  assert.equal(
    creatorStore.state.peers.find((p) => p.peerId === created.peerId)?.backend,
    'webgl',
    'capabilities reach the table',
  );

  // A headless aggregator with heartbeat stats and a round report: /status polls bring both.
  const withStats = new SignalingClient({
    heartbeatState: () => ({ round: 1, stats: { bytesUp: 4321, bytesDown: 1234, rttMs: 3 } }),
  });
  t.after(() => withStats.close());
  await withStats.connect(url);
  const agg = await withStats.join({ ...params, kind: 'headless', ready: true });
  await storeReaches(creatorStore, (s) => s.session.aggregatorPeerId === agg.peerId);
  await withStats.reportRound({
    term: withStats.session?.term ?? 0,
    round: 1,
    participants: [agg.peerId, joinedId],
    bytes: { up: 900, down: 300 },
    metrics: { loss: 1.5, testAccuracy: 0.6, fp32Bytes: 3_000_000, expected: 2 },
  });
  const state = await storeReaches(
    joinerStore,
    (s) => s.history.length === 1 && s.peers.some((p) => p.peerId === agg.peerId && p.bytesUp === 4321),
  );
  assert.equal(state.history[0]?.loss, 1.5);
  assert.equal(state.peers.find((p) => p.peerId === joinedId)?.lastRoundCounted, 1);
  assert.equal(state.peers.find((p) => p.peerId === agg.peerId)?.role, 'aggregator');

  // Leaving: the other store marks the peer dropped at once (peer:left), no poll needed.
  joiner.close();
  await storeReaches(creatorStore, (s) =>
    s.peers.some((p) => p.peerId === joinedId && p.state === 'dropped'),
  );
});

test('a join with a bad token fails with its code and leaves the error in the store', async (t) => {
  const { url } = await startServer(t);
  const store = new SessionStore();
  const connection = new SessionConnection({ baseUrl: url, store });
  t.after(() => connection.close());
  await assert.rejects(connection.join({ sessionId: 'abcdefgh', token: 'nope' }), (error: unknown) => {
    assert.ok(error instanceof SignalingError);
    assert.equal(error.code, 'BAD_TOKEN');
    return true;
  });
  assert.equal(store.state.local.connection, 'idle');
  assert.match(store.errorOf('join') ?? '', /BAD_TOKEN/);
});
