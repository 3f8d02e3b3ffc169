/**
 * The tab runtime's pieces that run without a browser: PeerEventMapper turning a Peer's
 * events into dashboard events (worker and aggregator views, per-round bytes, late state,
 * metrics merged into their round), attached to a real SessionStore; and the model file.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerEventEmitter, type RoundEvent } from '../../client/roles/events.ts';
import { attachRuntimeToStore, type DashboardRuntimeEvents } from '../../client/ui/runtime/attach.ts';
import {
  ModelFileError,
  decodeModelFile,
  encodeModelFile,
  type ModelFileErrorCode,
} from '../../client/ui/runtime/model-file.ts';
import { PeerEventMapper } from '../../client/ui/runtime/peer-events.ts';
import { SessionStore } from '../../client/ui/state.ts';

function fakePeer(peerId = 'me') {
  const traffic = { sent: 0, received: 0 };
  return { events: new PeerEventEmitter(), peerId, traffic: () => ({ ...traffic }), counters: traffic };
}

function collect(mapper: PeerEventMapper) {
  const seen: { [K in keyof DashboardRuntimeEvents]: Parameters<DashboardRuntimeEvents[K]>[0][] } = {
    round: [],
    peer: [],
    'peer:removed': [],
    phase: [],
    backend: [],
  };
  mapper.on('round', (e) => seen.round.push(e));
  mapper.on('peer', (e) => seen.peer.push(e));
  mapper.on('phase', (e) => seen.phase.push(e));
  return seen;
}

function roundEvent(overrides: Partial<RoundEvent>): RoundEvent {
  return {
    round: 0,
    term: 1,
    counted: 2,
    expected: 3,
    participants: ['me', 'w1'],
    standIns: [],
    late: 0,
    lateUploads: [],
    loss: 1.5,
    testAccuracy: null,
    testLoss: null,
    bytesUp: 0,
    bytesDown: 0,
    fp32BytesUp: 0,
    fp32BytesDown: 0,
    durationMs: 10,
    computeMs: 4,
    evalMs: 0,
    closedAt: 0,
    sync: false,
    drift: null,
    ...overrides,
  };
}

test('a worker: its own rounds with its bytes and loss, late when not counted, metrics merged later', () => {
  const peer = fakePeer();
  const mapper = new PeerEventMapper({ peer, lastLoss: () => 0.7, numParams: () => 100 });
  const seen = collect(mapper);
  peer.events.publish('role', { role: 'worker', term: 1, aggregatorId: 'agg' });
  peer.events.publish('model', { round: 0, source: 'seed' });
  peer.events.publish('uploaded', { round: 0, term: 1, kind: 'upload', resent: false, computeMs: 12 });
  assert.equal(seen.peer.at(-1)?.state, 'sending');
  peer.counters.sent = 300;
  peer.counters.received = 500;
  peer.events.publish('applied', { round: 0, term: 1, counted: true });
  assert.deepEqual(seen.round.at(-1), {
    round: 0,
    loss: 0.7,
    testAccuracy: null,
    bytesUp: 300,
    bytesDown: 500,
    fp32Bytes: 2 * (24 + 4 + 1 + 4 + 400),
    drift: null,
  });
  assert.ok(seen.peer.some((p) => p.lastRoundCounted === 0));
  assert.deepEqual(seen.phase.at(-1), { phase: 'training', round: 1 });
  assert.equal(mapper.firstCountedAt !== null && mapper.firstUploadAt !== null, true);
  assert.deepEqual(mapper.computeMs, [12]);

  // Its next upload misses the round: late until it is counted again.
  peer.counters.sent = 600;
  peer.events.publish('applied', { round: 1, term: 1, counted: false });
  assert.equal(seen.peer.at(-1)?.state, 'late');
  assert.equal(seen.round.at(-1)?.bytesUp, 300, 'bytes of that round only');
  peer.events.publish('metrics', { round: 1, testAccuracy: 0.8, testLoss: 0.5 });
  assert.equal(seen.round.at(-1)?.round, 1);
  assert.equal(seen.round.at(-1)?.testAccuracy, 0.8, 'the round again, with its accuracy');
  peer.events.publish('applied', { round: 2, term: 1, counted: true });
  assert.equal(seen.peer.at(-1)?.state, 'training');

  // sending -> waiting once two traffic samples saw it.
  peer.events.publish('uploaded', { round: 3, term: 1, kind: 'upload', resent: false, computeMs: 9 });
  mapper.sample();
  assert.equal(seen.peer.at(-1)?.state, undefined, 'the first sample only reports bytes');
  mapper.sample();
  assert.equal(seen.peer.at(-1)?.state, 'waiting');
  peer.events.publish('done', { round: 9, testAccuracy: 0.9 });
  assert.deepEqual(seen.phase.at(-1), { phase: 'done', round: 9 });
  mapper.dispose();
  peer.events.publish('applied', { round: 3, term: 1, counted: true });
  assert.equal(seen.round.at(-1)?.round, 2, 'nothing after dispose');
});

test('an aggregator: per-round bytes from cumulative ones (reset by a new term), participants, syncs', () => {
  const peer = fakePeer();
  const mapper = new PeerEventMapper({ peer, lastLoss: () => null, numParams: () => 100 });
  const seen = collect(mapper);
  peer.events.publish('metrics', { round: 0, testAccuracy: 0.5, testLoss: 1 });
  assert.equal(seen.round.length, 0, 'metrics before the round wait for it');
  peer.events.publish(
    'round',
    roundEvent({ round: 0, bytesUp: 100, bytesDown: 50, fp32BytesUp: 1000, fp32BytesDown: 900 }),
  );
  peer.events.publish(
    'round',
    roundEvent({ round: 1, bytesUp: 250, bytesDown: 90, fp32BytesUp: 2000, fp32BytesDown: 1800, sync: true }),
  );
  peer.events.publish(
    'round',
    roundEvent({ round: 2, term: 2, bytesUp: 40, bytesDown: 20, fp32BytesUp: 1000, fp32BytesDown: 900 }),
  );
  assert.deepEqual(
    seen.round.map((r) => [
      r.round,
      r.bytesUp,
      r.bytesDown,
      r.fp32Bytes,
      r.testAccuracy,
      r.participants,
      r.expected,
    ]),
    [
      [0, 100, 50, 1900, 0.5, ['me', 'w1'], 3],
      [1, 150, 40, 1900, null, ['me', 'w1'], 3],
      [2, 40, 20, 1900, null, ['me', 'w1'], 3],
    ],
  );
  assert.deepEqual(seen.phase[1], { phase: 'syncing', round: 2 });
  assert.deepEqual(mapper.computeMs, [4, 4, 4]);
});

test('attached to a store: the round fills history and participation; other peers counted or late', () => {
  const peer = fakePeer();
  const mapper = new PeerEventMapper({ peer, lastLoss: () => null, numParams: () => 100 });
  const store = new SessionStore();
  store.setLocal({ peerId: 'me' });
  for (const peerId of ['me', 'w1', 'w2'])
    store.upsertPeer({ peerId, state: 'waiting', lastRoundCounted: 0 });
  attachRuntimeToStore(store, {
    on: (n, l) => mapper.on(n, l),
    off: (n, l) => mapper.off(n, l),
    leave: () => {},
  });
  peer.events.publish('round', roundEvent({ round: 1 }));
  const rows = new Map(store.state.peers.map((p) => [p.peerId, p]));
  assert.deepEqual(store.state.session.participation, [{ round: 1, counted: 2, expected: 3 }]);
  assert.equal(rows.get('w1')?.state, 'training');
  assert.equal(rows.get('w1')?.lastRoundCounted, 1);
  assert.equal(rows.get('w2')?.state, 'late', 'counted before, not in this round');
  assert.equal(rows.get('me')?.state, 'training', "the tab's own row follows its own events");
  assert.equal(store.state.history.length, 1);
});

function failure(run: () => unknown): ModelFileErrorCode | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof ModelFileError) return error.code;
    throw error;
  }
  return undefined;
}

test('model file: round trip, and every malformed file refused with its code', () => {
  const weights = Float32Array.from({ length: 11 }, (_, i) => i / 3 - 1);
  const header = {
    sessionId: 's1234567',
    peerId: 'p1',
    round: 7,
    arch: 'mlp',
    layout: [{ name: 'dense/kernel', shape: [11], offset: 0, size: 11 }],
    createdAt: '2025-01-01T00:00:00.000Z',
  };
  const bytes = encodeModelFile(header, weights);
  const decoded = decodeModelFile(bytes);
  assert.deepEqual(decoded.weights, weights);
  assert.deepEqual(decoded.header, { format: 'liec-model', version: 1, numParams: 11, ...header });
  assert.equal((bytes.length - 8) % 4, 0);
  assert.equal(
    failure(() => decodeModelFile(bytes.subarray(0, 5))),
    'BAD_LENGTH',
  );
  assert.equal(
    failure(() => decodeModelFile(bytes.subarray(0, bytes.length - 4))),
    'BAD_LENGTH',
  );
  const wrongMagic = Uint8Array.from(bytes);
  wrongMagic[0] = 0;
  assert.equal(
    failure(() => decodeModelFile(wrongMagic)),
    'BAD_MAGIC',
  );
  const badJson = Uint8Array.from(bytes);
  badJson[8] = 0x7b + 1;
  assert.equal(
    failure(() => decodeModelFile(badJson)),
    'BAD_HEADER',
  );
});
