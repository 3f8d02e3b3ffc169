import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_SESSION_CONFIG, SignalingError } from '../../shared/protocol/signaling.ts';
import { chooseAggregator } from '../../signaling/election.ts';
import { SessionRegistry } from '../../signaling/sessions.ts';

const member = (peerId: string, joinSeq: number, ready = true) => ({ peerId, joinSeq, ready });

test('chooseAggregator keeps a live ready aggregator, else the earliest ready joiner, else null', () => {
  const members = [member('late', 3), member('early', 1), member('idle', 0, false)];
  assert.equal(chooseAggregator('late', members), 'late');
  assert.equal(chooseAggregator('gone', members), 'early');
  assert.equal(chooseAggregator(null, members), 'early');
  assert.equal(chooseAggregator('idle', members), 'early');
  assert.equal(chooseAggregator('x', [member('a', 1, false)]), null);
});

test('the registry bumps the term on every change of aggregator and only then', () => {
  let now = 0;
  const registry = new SessionRegistry({ maxSessions: 4, maxPeersPerSession: 4, now: () => now });
  const session = registry.create(DEFAULT_SESSION_CONFIG);
  const add = (peerId: string, ready: boolean) =>
    registry.addPeer(session, { peerId, kind: 'headless', capabilities: {}, ready, socketId: `s-${peerId}` });
  assert.equal(add('w', false).aggregatorChanged, false);
  assert.equal(session.term, 0);
  now = 10;
  assert.equal(add('a', true).aggregatorChanged, true);
  assert.deepEqual([session.aggregatorId, session.term], ['a', 1]);
  assert.equal(add('b', true).aggregatorChanged, false);
  // A stale socket (same peerId, other socket) cannot remove the member.
  assert.deepEqual(registry.removePeer(session, 'a', 'someone-else'), {
    removed: false,
    aggregatorChanged: false,
  });
  assert.deepEqual(registry.removePeer(session, 'a', 's-a'), { removed: true, aggregatorChanged: true });
  assert.deepEqual([session.aggregatorId, session.term], ['b', 2]);
  const w = session.peers.get('w');
  assert.ok(w !== undefined);
  assert.equal(registry.setReady(session, w, true), false, 'b stays while alive and ready');
  registry.removePeer(session, 'b', 's-b');
  assert.deepEqual([session.aggregatorId, session.term], ['w', 3]);
  registry.removePeer(session, 'w', 's-w');
  assert.deepEqual([session.aggregatorId, session.term], [null, 4]);
  assert.equal(session.emptySince, now);
});

test('the registry enforces its limits with stable codes', () => {
  const registry = new SessionRegistry({ maxSessions: 1, maxPeersPerSession: 1, now: () => 0 });
  const session = registry.create(DEFAULT_SESSION_CONFIG);
  const code = (expected: string) => (err: unknown) => err instanceof SignalingError && err.code === expected;
  assert.throws(() => registry.create(DEFAULT_SESSION_CONFIG), code('TOO_MANY_SESSIONS'));
  registry.addPeer(session, { peerId: 'p', kind: 'browser', capabilities: {}, ready: false, socketId: 's' });
  assert.throws(
    () => registry.addPeer(session, { kind: 'browser', capabilities: {}, ready: false, socketId: 't' }),
    code('SESSION_FULL'),
  );
});
