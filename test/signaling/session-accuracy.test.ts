/**
 * The session's accuracy on /status: members report their own model's accuracy with their
 * heartbeats (evaluation: accuracy, samples, round, set); /status shows each member's report
 * and their sample-weighted mean, a test-set report replacing the validation mean. Reports
 * out of bounds are refused with BAD_REQUEST; heartbeats without one (older peers) still pass;
 * a peer cannot forge a report through its free-form stats.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { signalingStatusSchema } from '../../shared/protocol/signaling-status.ts';
import { heartbeatSchema, SignalingError, type EvaluationReport } from '../../shared/protocol/signaling.ts';
import { REDIS_SKIP, startInstances, startRedis } from '../scale/support.ts';
import { createSession, joinedClient, rawSocket, startServer } from './helpers.ts';

async function statusOf(url: string, sessionId: string) {
  const status = signalingStatusSchema.parse(await (await fetch(`${url}/status`)).json());
  const session = status.sessions.find((s) => s.sessionId === sessionId);
  assert.ok(session !== undefined);
  return session;
}

test('the heartbeat evaluation is optional, bounded and finite', () => {
  assert.ok(heartbeatSchema.safeParse({ round: 3, stats: { bytesUp: 1 } }).success, 'an older peer');
  const ok = { accuracy: 0.5, samples: 10 };
  assert.ok(heartbeatSchema.safeParse({ evaluation: ok }).success);
  for (const evaluation of [
    { ...ok, accuracy: 1.01 },
    { ...ok, accuracy: -0.1 },
    { ...ok, accuracy: Number.NaN },
    { ...ok, samples: 0 },
    { ...ok, samples: 2.5 },
    { ...ok, samples: 1e12 },
    { ...ok, set: 'train' },
  ])
    assert.ok(!heartbeatSchema.safeParse({ evaluation }).success, JSON.stringify(evaluation));
  const stats = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`k${i}`, i]));
  assert.ok(heartbeatSchema.safeParse({ stats }).success, '30 stats keys alone');
  assert.ok(!heartbeatSchema.safeParse({ stats, evaluation: ok }).success, 'no room left for the evaluation');
});

test('/status: per-peer evaluations and their sample-weighted mean; a test set replaces it', async (t) => {
  const { url } = await startServer(t);
  const session = await createSession(t, url);
  const reports: Record<string, EvaluationReport> = {
    a: { accuracy: 0.9, samples: 300, round: 10, set: 'validation' },
    b: { accuracy: 0.6, samples: 100, round: 10, set: 'validation' },
  };
  const clients = await Promise.all(
    ['a', 'b', 'c'].map((peerId) => joinedClient(t, url, session, { peerId, ready: peerId === 'a' })),
  );
  const [a, b, c] = clients;
  assert.ok(a !== undefined && b !== undefined && c !== undefined);
  a.addToHeartbeats(() => ({ evaluation: reports['a'] }));
  b.addToHeartbeats(() => ({ evaluation: reports['b'] }));
  // c is an older peer: stats only, and a forged evaluation key among them is dropped.
  c.addToHeartbeats(() => ({}));
  await Promise.all([a.heartbeatNow(), b.heartbeatNow(), c.heartbeatNow()]);

  let status = await statusOf(url, session.sessionId);
  const byId = new Map(status.peers.map((p) => [p.peerId, p]));
  assert.deepEqual(byId.get('a')?.evaluation, reports['a']);
  assert.deepEqual(byId.get('b')?.evaluation, reports['b']);
  assert.equal(byId.get('c')?.evaluation, undefined);
  assert.deepEqual(status.accuracy, {
    value: (0.9 * 300 + 0.6 * 100) / 400,
    set: 'validation',
    samples: 400,
    peers: 2,
  });
  for (const p of status.peers)
    assert.ok(
      !Object.keys(p.stats ?? {}).some((k) => k.startsWith('evaluation.')),
      'reserved keys stay inside',
    );

  // A member that holds the named test set: its figure is the session's.
  c.addToHeartbeats(() => ({ evaluation: { accuracy: 0.75, samples: 50, set: 'test' } }));
  await c.heartbeatNow();
  status = await statusOf(url, session.sessionId);
  assert.deepEqual(status.accuracy, { value: 0.75, set: 'test', samples: 50, peers: 1 });

  // Out of bounds: refused by code (an invalid payload ends the connection, as for any message).
  a.addToHeartbeats(() => ({ evaluation: { accuracy: 2, samples: 300 } }));
  await assert.rejects(
    a.heartbeatNow(),
    (e: unknown) => e instanceof SignalingError && e.code === 'BAD_REQUEST',
  );
});

test('a peer cannot forge an evaluation through its stats', async (t) => {
  const { url } = await startServer(t);
  const session = await createSession(t, url);
  const socket = await rawSocket(t, url);
  await socket.emitWithAck('session:join', { ...session, peerId: 'f', kind: 'headless' });
  // The raw heartbeat a modified peer could send: reserved keys among its own stats.
  const reply: unknown = await socket.emitWithAck('heartbeat', {
    stats: { 'evaluation.accuracy': 1, 'evaluation.samples': 1e6, bytesUp: 5 },
  });
  assert.deepEqual(reply, { ok: true });
  const status = await statusOf(url, session.sessionId);
  const peer = status.peers.find((p) => p.peerId === 'f');
  assert.deepEqual(peer?.stats, { bytesUp: 5 });
  assert.equal(peer?.evaluation, undefined);
  assert.equal(status.accuracy, undefined);
});

test(
  "two instances sharing Redis: each sees both members' reports and their mean",
  { skip: REDIS_SKIP },
  async (t) => {
    const redis = await startRedis(t);
    const [one, two] = await startInstances(t, redis.url, 2);
    assert.ok(one !== undefined && two !== undefined);
    const session = await createSession(t, one.url);
    const a = await joinedClient(t, one.url, session, { peerId: 'a', ready: true });
    const b = await joinedClient(t, two.url, session, { peerId: 'b' });
    a.addToHeartbeats(() => ({ evaluation: { accuracy: 0.5, samples: 10, round: 3 } }));
    b.addToHeartbeats(() => ({ evaluation: { accuracy: 1, samples: 30, round: 3 } }));
    await Promise.all([a.heartbeatNow(), b.heartbeatNow()]);
    for (const url of [one.url, two.url]) {
      const status = await statusOf(url, session.sessionId);
      assert.deepEqual(status.accuracy, { value: 0.875, set: 'validation', samples: 40, peers: 2 }, url);
      assert.deepEqual(status.peers.find((p) => p.peerId === 'b')?.evaluation, {
        accuracy: 1,
        samples: 30,
        round: 3,
        set: 'validation',
      });
    }
  },
);
