import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { SignalingClient } from '../../client/signaling/index.ts';
import { signalingStatusSchema } from '../../shared/protocol/signaling-status.ts';
import { createSession, joinedClient, startServer } from './helpers.ts';

test('GET /status shows sessions, peers with roles, aggregator, term, round and traffic, never tokens', async (t) => {
  const { url } = await startServer(t);
  const session = await createSession(t, url);
  const agg = await joinedClient(t, url, session, { peerId: 'agg', ready: true });
  const worker = await joinedClient(t, url, session, { peerId: 'w1', capabilities: { backend: 'wasm' } });
  await agg.reportRound({
    term: 1,
    round: 12,
    participants: ['agg', 'w1'],
    bytes: { up: 4096, down: 2048 },
    metrics: { loss: 0.5 },
  });
  // Heartbeats carry the peer's round and counters; the ack-less emit is ordered before the request below.
  worker.sendHeartbeat();
  await worker.setReady(false);

  const res = await fetch(`${url}/status`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/);
  const text = await res.text();
  assert.ok(!text.includes(session.token.split('.')[1] ?? 'unreachable'), 'token leaked into /status');
  const status = signalingStatusSchema.parse(JSON.parse(text));
  assert.equal(status.sessions.length, 1);
  const s = status.sessions[0];
  assert.ok(s !== undefined);
  assert.equal(s.sessionId, session.sessionId);
  assert.deepEqual(s.aggregator, { sessionId: session.sessionId, peerId: 'agg', term: 1, lastRound: 12 });
  assert.deepEqual(s.traffic, { up: 4096, down: 2048, reportedRounds: 1 });
  assert.equal(s.lastReport?.round, 12);
  assert.deepEqual(s.lastReport?.metrics, { loss: 0.5 });
  const byId = new Map(s.peers.map((p) => [p.peerId, p]));
  assert.equal(byId.get('agg')?.role, 'aggregator');
  assert.equal(byId.get('w1')?.role, 'worker');
  assert.equal(byId.get('w1')?.kind, 'headless');
  assert.deepEqual(byId.get('w1')?.capabilities, { backend: 'wasm' });
  for (const p of s.peers) {
    assert.ok(p.connectedAt <= p.lastHeartbeat && p.lastHeartbeat <= status.serverTime);
  }
});

test('heartbeat round and stats appear in /status', async (t) => {
  const { server, url } = await startServer(t);
  const session = await createSession(t, url);
  const client = new SignalingClient({ heartbeatState: () => ({ round: 5, stats: { bytesSent: 123 } }) });
  t.after(() => client.close());
  await client.connect(url);
  await client.join({ ...session, kind: 'browser' });
  client.sendHeartbeat();
  await client.setReady(false); // acked after the heartbeat, on the same connection
  const peer = server.status().sessions[0]?.peers[0];
  assert.equal(peer?.round, 5);
  assert.deepEqual(peer?.stats, { bytesSent: 123 });
});

test('GET /healthz answers; other paths 404, other methods 405', async (t) => {
  const { url } = await startServer(t);
  const health = await fetch(`${url}/healthz`);
  assert.equal(health.status, 200);
  z.object({ ok: z.literal(true), uptimeMs: z.number().nonnegative() }).parse(await health.json());
  const missing = await fetch(`${url}/nope`);
  assert.equal(missing.status, 404);
  await missing.body?.cancel();
  const post = await fetch(`${url}/status`, { method: 'POST', body: '{}' });
  assert.equal(post.status, 405);
  await post.body?.cancel();
});
