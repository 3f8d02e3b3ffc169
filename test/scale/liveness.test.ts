import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignalingClient } from '../../client/signaling/index.ts';
import { SignalingError } from '../../shared/protocol/signaling.ts';
import { createSession, joinedClient, nextEvent } from '../signaling/helpers.ts';
import { REDIS_SKIP, spawnInstance, startInstance, startRedis, WAIT_MS } from './support.ts';

/**
 * A short heartbeat timeout, with room for the heartbeating peer on a loaded machine: at
 * 800 ms (4 intervals) a CI run under load 20 timed out waiting for the silent peer's removal.
 */
const FAST_SWEEP = { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 2000, sweepIntervalMs: 100 };

test(
  'a silent peer is swept by the instance it is connected to, and peers on other instances hear it',
  { skip: REDIS_SKIP, timeout: 30_000 },
  async (t) => {
    const redis = await startRedis(t);
    const a = await startInstance(t, redis.url, { instanceId: 'a', ...FAST_SWEEP });
    const b = await startInstance(t, redis.url, { instanceId: 'b', ...FAST_SWEEP });
    const session = await createSession(t, a.url);
    const alive = await joinedClient(t, a.url, session, { peerId: 'alive' });
    // Joined through B and then silent: its heartbeat timer is far longer than the timeout.
    const silent = new SignalingClient({ heartbeatIntervalMs: 60_000, requestTimeoutMs: WAIT_MS });
    t.after(() => silent.close());
    await silent.connect(b.url);
    const left = nextEvent(alive, 'peer:left', undefined, WAIT_MS);
    const dropped = nextEvent(silent, 'disconnect', undefined, WAIT_MS);
    await silent.join({ ...session, kind: 'headless', peerId: 'silent', ready: true });
    assert.deepEqual(await left, {
      sessionId: session.sessionId,
      peerId: 'silent',
      reason: 'heartbeat-timeout',
      term: 2,
    });
    assert.equal((await dropped).error?.code, 'HEARTBEAT_TIMEOUT');
    // A never swept B's member, nor B A's: the heartbeating peer is still in, on both views.
    const status = await b.server.readStatus();
    assert.deepEqual(
      status.sessions.find((s) => s.sessionId === session.sessionId)?.peers.map((p) => p.peerId),
      ['alive'],
    );
    assert.equal(alive.connected, true);
  },
);

test(
  'when an instance crashes, a survivor removes its members once its lease expires; they rejoin elsewhere',
  { skip: REDIS_SKIP, timeout: 60_000 },
  async (t) => {
    const redis = await startRedis(t);
    const leaseMs = 1500;
    const doomed = await spawnInstance(t, redis.url, 'doomed', leaseMs);
    const survivor = await startInstance(t, redis.url, { instanceId: 'survivor', sweepIntervalMs: 100 });
    const session = await createSession(t, survivor.url);
    const onDoomed = await joinedClient(t, doomed.url, session, { peerId: 'x', ready: true });
    const onSurvivor = await joinedClient(t, survivor.url, session, { peerId: 'y', ready: true });
    assert.equal(onSurvivor.session?.aggregator.peerId, 'x');

    const left = nextEvent(onSurvivor, 'peer:left');
    const elected = nextEvent(onSurvivor, 'aggregator');
    const lost = nextEvent(onDoomed, 'disconnect');
    await doomed.kill(); // SIGKILL: no disconnect handler runs, the members stay in Redis
    await lost;
    assert.deepEqual(await left, {
      sessionId: session.sessionId,
      peerId: 'x',
      reason: 'heartbeat-timeout',
      term: 2,
    });
    assert.deepEqual([(await elected).peerId, (await elected).term], ['y', 2]);

    const back = await joinedClient(t, survivor.url, session, { peerId: 'x', ready: true });
    assert.deepEqual(back.session?.aggregator, {
      sessionId: session.sessionId,
      peerId: 'y',
      term: 2,
      lastRound: 0,
    });
  },
);

test(
  'a stalled Redis fails requests in time (no hang); once it answers, the sweep announces what the lost reply hid',
  { skip: REDIS_SKIP, timeout: 30_000 },
  async (t) => {
    const redis = await startRedis(t);
    const server = await startInstance(t, redis.url, { redisCommandTimeoutMs: 300, sweepIntervalMs: 100 });
    const session = await createSession(t, server.url);
    const a = await joinedClient(t, server.url, session, { peerId: 'a', ready: true });
    const b = await joinedClient(t, server.url, session, { peerId: 'b', ready: true });
    const handover = nextEvent(b, 'aggregator');

    redis.child.kill('SIGSTOP'); // alive but silent: commands wait in its socket buffer
    try {
      await assert.rejects(
        a.setReady(false),
        (err) => err instanceof SignalingError && err.code === 'INTERNAL',
      );
    } finally {
      redis.child.kill('SIGCONT');
    }
    // Redis now runs the step-down it had buffered; its reply came too late to announce it.
    assert.deepEqual(await handover, { sessionId: session.sessionId, peerId: 'b', term: 2, lastRound: 0 });
    await a.setReady(true); // the store answers again
    assert.equal(a.connected && b.connected, true);
  },
);
