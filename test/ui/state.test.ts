/**
 * SessionStore (immutable updates, one change per batch, bounded history and dropped rows;
 * errors by source; the reconnect state; the event list of joins, drops and aggregator
 * changes, quiet for snapshots; round times; throughput from byte counters) and
 * StoreController (subscribes on connect, unsubscribes through its AbortController on
 * disconnect, updates the host only when its slice changed, follows a replaced store).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { StoreController, shallowEqual } from '../../client/ui/controller.ts';
import {
  ROUND_TIMES_KEPT,
  SessionStore,
  type DashboardPart,
  type RoundRecord,
} from '../../client/ui/state.ts';

function round(n: number, extra: Partial<RoundRecord> = {}): RoundRecord {
  return {
    round: n,
    loss: 1 / n,
    testAccuracy: 0.5,
    bytesUp: 10,
    bytesDown: 20,
    fp32Bytes: 800,
    drift: null,
    ...extra,
  };
}

function changes(store: SessionStore): Array<Set<DashboardPart>> {
  const seen: Array<Set<DashboardPart>> = [];
  store.on('change', ({ parts }) => seen.push(new Set(parts)));
  return seen;
}

test('each update replaces only the parts it touches and emits one change', () => {
  const store = new SessionStore();
  const seen = changes(store);
  const before = store.state;
  store.updateSession({ id: 'session-1', phase: 'training', round: 3 });
  assert.deepEqual(seen, [new Set(['session'])]);
  assert.notEqual(store.state.session, before.session);
  assert.equal(store.state.peers, before.peers);
  assert.equal(store.state.history, before.history);
  assert.equal(before.session.id, null, 'earlier snapshots stay unchanged');
});

test('batch emits a single change naming every part changed', () => {
  const store = new SessionStore();
  const seen = changes(store);
  store.batch(() => {
    store.upsertPeer({ peerId: 'a', kind: 'browser' });
    store.addRound(round(1));
    store.batch(() => store.setLocal({ peerId: 'a' }));
  });
  assert.deepEqual(seen, [new Set(['peers', 'events', 'history', 'local'])], 'a new peer is a join event');
});

test('a batch that throws still emits what it changed, then rethrows', () => {
  const store = new SessionStore();
  const seen = changes(store);
  assert.throws(() =>
    store.batch(() => {
      store.setLocal({ paused: true });
      throw new Error('boom');
    }),
  );
  assert.deepEqual(seen, [new Set(['local'])]);
});

test('upsertPeer fills defaults for new rows and merges into existing ones', () => {
  const store = new SessionStore();
  store.upsertPeer({ peerId: 'a', kind: 'browser' });
  assert.deepEqual(store.state.peers[0], {
    peerId: 'a',
    role: 'worker',
    kind: 'browser',
    state: 'connecting',
    rttMs: null,
    bytesUp: 0,
    bytesDown: 0,
    lastRoundCounted: null,
    backend: null,
    rateUp: null,
    rateDown: null,
    link: null,
    linkCandidates: null,
  });
  store.upsertPeer({ peerId: 'a', state: 'training', bytesUp: 5 });
  assert.equal(store.state.peers.length, 1);
  assert.equal(store.state.peers[0]?.kind, 'browser');
  assert.equal(store.state.peers[0]?.state, 'training');
  assert.equal(store.state.peers[0]?.bytesUp, 5);
});

test('markDropped keeps the row; only maxDroppedPeers dropped rows are kept, oldest go first', () => {
  const store = new SessionStore({ maxDroppedPeers: 2 });
  for (const id of ['a', 'b', 'c', 'd']) store.upsertPeer({ peerId: id });
  const seen = changes(store);
  store.markDropped('unknown');
  assert.equal(seen.length, 0, 'unknown peers change nothing');
  store.markDropped('a');
  store.markDropped('a');
  assert.equal(seen.length, 1, 'dropping twice changes nothing the second time');
  store.markDropped('b');
  store.markDropped('c');
  assert.deepEqual(
    store.state.peers.map((p) => `${p.peerId}:${p.state}`),
    ['b:dropped', 'c:dropped', 'd:connecting'],
  );
  store.removePeer('d');
  assert.deepEqual(
    store.state.peers.map((p) => p.peerId),
    ['b', 'c'],
  );
});

test('history stays ordered by round, replaces a round reported twice, and is bounded', () => {
  const store = new SessionStore({ maxHistory: 3 });
  store.addRound(round(2));
  store.addRound(round(1));
  store.addRound(round(3));
  store.addRound(round(2, { loss: 9 }));
  assert.deepEqual(
    store.state.history.map((r) => [r.round, r.loss]),
    [
      [1, 1],
      [2, 9],
      [3, 1 / 3],
    ],
  );
  store.addRound(round(4));
  assert.deepEqual(
    store.state.history.map((r) => r.round),
    [2, 3, 4],
  );
  store.recordParticipation({ round: 5, counted: 1, expected: 2 });
  store.recordParticipation({ round: 5, counted: 2, expected: 2 });
  assert.deepEqual(store.state.session.participation, [{ round: 5, counted: 2, expected: 2 }]);
});

test('a record without drift keeps the drift already known for its round', () => {
  const store = new SessionStore();
  store.addRound(round(4, { drift: 0.02 }));
  store.addRound(round(4, { loss: 0.3 }));
  assert.deepEqual(
    store.state.history.map((r) => [r.loss, r.drift]),
    [[0.3, 0.02]],
  );
  store.addRound(round(4, { drift: 0.05 }));
  assert.equal(store.state.history[0]?.drift, 0.05, 'a new drift replaces the old one');
});

test('reset returns to the initial state but keeps the local backend', () => {
  const store = new SessionStore();
  store.setLocal({ backend: 'wasm', peerId: 'p', connection: 'joined' });
  store.updateSession({ id: 'session-1' });
  store.upsertPeer({ peerId: 'p' });
  store.addRound(round(1));
  const seen = changes(store);
  store.reset();
  assert.equal(seen.length, 1);
  assert.equal(store.state.session.id, null);
  assert.equal(store.state.peers.length, 0);
  assert.equal(store.state.history.length, 0);
  assert.equal(store.state.local.connection, 'idle');
  assert.equal(store.state.local.backend, 'wasm');
});

test('shallowEqual compares entries by identity, one level deep', () => {
  const peers: unknown[] = [];
  assert.ok(shallowEqual({ a: 1, peers }, { a: 1, peers }));
  assert.ok(!shallowEqual({ a: 1, peers }, { a: 1, peers: [] }));
  assert.ok(!shallowEqual({ a: 1 }, { a: 1, b: undefined }));
  assert.ok(!shallowEqual([1], { 0: 1 }));
  assert.ok(shallowEqual(Number.NaN, Number.NaN));
});

/** A ReactiveControllerHost without a DOM, counting update requests. */
class FakeHost implements ReactiveControllerHost {
  readonly controllers: ReactiveController[] = [];
  updates = 0;
  addController(controller: ReactiveController): void {
    this.controllers.push(controller);
  }
  removeController(): void {}
  requestUpdate(): void {
    this.updates++;
  }
  get updateComplete(): Promise<boolean> {
    return Promise.resolve(true);
  }
  connect(): void {
    for (const c of this.controllers) c.hostConnected?.();
  }
  disconnect(): void {
    for (const c of this.controllers) c.hostDisconnected?.();
  }
  update(): void {
    for (const c of this.controllers) c.hostUpdate?.();
  }
}

test('StoreController subscribes on connect, updates only on its slice, unsubscribes on disconnect', () => {
  const store = new SessionStore();
  const host = new FakeHost();
  const controller = new StoreController(
    host,
    () => store,
    (s) => s.peers,
  );
  assert.equal(host.controllers.length, 1);
  assert.equal(store.listenerCount('change'), 0, 'nothing before connect');
  host.connect();
  assert.equal(store.listenerCount('change'), 1);
  assert.equal(controller.value, store.state.peers);
  const afterConnect = host.updates;
  store.updateSession({ round: 4 });
  assert.equal(host.updates, afterConnect, 'a change of another part does not update the host');
  store.upsertPeer({ peerId: 'a' });
  assert.equal(host.updates, afterConnect + 1);
  assert.equal(controller.value?.length, 1);
  host.disconnect();
  assert.equal(store.listenerCount('change'), 0, 'unsubscribed through the AbortController');
  store.upsertPeer({ peerId: 'b' });
  assert.equal(host.updates, afterConnect + 1);
  host.connect();
  assert.equal(controller.value?.length, 2, 'reconnecting picks up what changed meanwhile');
});

test('StoreController compares selections shallowly and follows a replaced store', () => {
  const first = new SessionStore();
  const second = new SessionStore();
  let current: SessionStore | undefined = undefined;
  const host = new FakeHost();
  const controller = new StoreController(
    host,
    () => current,
    (s) => ({ peers: s.peers, self: s.local.peerId }),
  );
  host.connect();
  // Read through a function: an assertion on `controller.value` would narrow it for good.
  const selected = () => controller.value;
  assert.equal(selected(), undefined, 'no store yet');
  current = first;
  host.update();
  assert.equal(first.listenerCount('change'), 1);
  const updates = host.updates;
  first.updateSession({ round: 1 });
  assert.equal(host.updates, updates, 'fresh selection object with the same parts: no update');
  second.upsertPeer({ peerId: 'x' });
  current = second;
  host.update();
  assert.equal(first.listenerCount('change'), 0);
  assert.equal(second.listenerCount('change'), 1);
  assert.equal(selected()?.peers.length, 1);
});

/** The kinds of the store's events (read through a function: assertions narrow property reads). */
function kindsOf(store: SessionStore): string[] {
  return store.state.events.map((e) => e.kind);
}

/** A clock the test moves by hand. */
function manualClock(start = 1000): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

test('errors: one per source, replaced by a newer one, cleared when the source recovers', () => {
  const clock = manualClock();
  const store = new SessionStore({ now: clock.now });
  store.setError('runtime', 'learner failed');
  clock.advance(5);
  store.setError('download', 'no model yet');
  store.setError('runtime', 'could not rejoin');
  assert.deepEqual(store.state.local.errors, [
    { source: 'download', message: 'no model yet', at: 1005 },
    { source: 'runtime', message: 'could not rejoin', at: 1005 },
  ]);
  assert.equal(store.errorOf('runtime'), 'could not rejoin');
  const seen = changes(store);
  store.clearError('status');
  assert.equal(seen.length, 0, 'clearing an absent error changes nothing');
  store.clearError('runtime');
  assert.deepEqual(
    store.state.local.errors.map((e) => e.source),
    ['download'],
  );
});

test('reconnecting: the state, why and since when, and a disconnect event', () => {
  const clock = manualClock();
  const store = new SessionStore({ now: clock.now });
  store.startReconnecting({ since: 1000, retryDelayMs: 1000, reason: 'transport close' });
  assert.equal(store.state.local.connection, 'reconnecting');
  assert.deepEqual(store.state.local.reconnect, {
    since: 1000,
    retryDelayMs: 1000,
    reason: 'transport close',
  });
  assert.deepEqual(store.state.events, [{ kind: 'disconnect', reason: 'transport close', at: 1000 }]);
});

test('events: joins, drops and aggregator changes as they happen; a quiet snapshot is no news', () => {
  const clock = manualClock();
  const store = new SessionStore({ now: clock.now, maxEvents: 4 });
  store.quietly(() => {
    store.updateSession({ id: 's', aggregatorPeerId: 'a', term: 1 });
    store.upsertPeer({ peerId: 'a', kind: 'headless', state: 'waiting' });
    store.upsertPeer({ peerId: 'b', kind: 'browser', state: 'waiting' });
  });
  assert.deepEqual(store.state.events, [], 'who was there when the tab joined is not an event');
  clock.advance(10);
  store.upsertPeer({ peerId: 'c', kind: 'browser', state: 'waiting' });
  store.upsertPeer({ peerId: 'c', state: 'training' });
  store.markDropped('a');
  store.markDropped('a');
  store.batch(() => {
    store.updateSession({ term: 2 });
    store.updateSession({ aggregatorPeerId: 'b' });
  });
  store.updateSession({ aggregatorPeerId: 'b' });
  assert.deepEqual(store.state.events, [
    { kind: 'join', peerId: 'c', peerKind: 'browser', at: 1010 },
    { kind: 'drop', peerId: 'a', at: 1010 },
    { kind: 'aggregator', peerId: 'b', term: 2, at: 1010 },
  ]);
  store.upsertPeer({ peerId: 'a', state: 'waiting' });
  store.logEvent({ kind: 'reconnect' });
  assert.deepEqual(
    kindsOf(store),
    ['drop', 'aggregator', 'join', 'reconnect'],
    'a dropped peer that comes back joins again; the list is bounded',
  );
  store.reset();
  assert.deepEqual(store.state.events, []);
});

test('round times: one per new round, bounded; the finish time once done', () => {
  const clock = manualClock(0);
  const store = new SessionStore({ now: clock.now });
  store.updateSession({ round: 0 });
  for (let round = 1; round <= ROUND_TIMES_KEPT + 5; round++) {
    clock.advance(100);
    store.updateSession({ round });
    store.updateSession({ round, phase: 'training' }); // the same round again: no new time
  }
  const times = store.state.session.roundTimes;
  assert.equal(times.length, ROUND_TIMES_KEPT);
  assert.deepEqual(times.at(-1), { round: ROUND_TIMES_KEPT + 5, at: (ROUND_TIMES_KEPT + 5) * 100 });
  assert.equal(store.state.session.finishedAt, null);
  clock.advance(50);
  store.updateSession({ phase: 'done' });
  clock.advance(50);
  store.updateSession({ phase: 'done' });
  assert.equal(store.state.session.finishedAt, (ROUND_TIMES_KEPT + 5) * 100 + 50);
});

test('throughput: byte counters of a row turn into rates; a dropped row has none', () => {
  const clock = manualClock(0);
  const store = new SessionStore({ now: clock.now });
  store.upsertPeer({ peerId: 'a', bytesUp: 1000, bytesDown: 0 });
  assert.equal(store.state.peers[0]?.rateUp, null);
  clock.advance(2000);
  store.upsertPeer({ peerId: 'a', bytesUp: 5000, bytesDown: 2000 });
  assert.deepEqual([store.state.peers[0]?.rateUp, store.state.peers[0]?.rateDown], [2000, 1000]);
  const seen = changes(store);
  store.upsertPeer({ peerId: 'a', bytesUp: 5000, bytesDown: 2000 });
  store.upsertPeer({ peerId: 'a', state: 'connecting' });
  assert.equal(seen.length, 0, 'a patch that changes nothing emits nothing');
  store.markDropped('a');
  assert.deepEqual([store.state.peers[0]?.rateUp, store.state.peers[0]?.rateDown], [null, null]);
});
