/**
 * SessionStore (immutable updates, one change per batch, bounded history and dropped rows)
 * and StoreController (subscribes on connect, unsubscribes through its AbortController on
 * disconnect, updates the host only when its slice changed, follows a replaced store).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ReactiveController, ReactiveControllerHost } from 'lit';
import { StoreController, shallowEqual } from '../../client/ui/controller.ts';
import { SessionStore, type DashboardPart, type RoundRecord } from '../../client/ui/state.ts';

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
