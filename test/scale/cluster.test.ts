import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignalingClient } from '../../client/signaling/index.ts';
import { SignalingError } from '../../shared/protocol/signaling.ts';
import { signalingStatusSchema } from '../../shared/protocol/signaling-status.ts';
import { createSignalingServer } from '../../signaling/index.ts';
import { main } from '../../signaling/main.ts';
import { ScaleOutError } from '../../signaling/scale-out-error.ts';
import { connectedClient, createSession, joinedClient, nextEvent } from '../signaling/helpers.ts';
import {
  deferCleanup,
  REDIS_SKIP,
  SHARED_SECRET,
  startInstance,
  startInstances,
  startRedis,
  WAIT_MS,
} from './support.ts';

test(
  'peers on two instances share a session: membership, signals and aggregator cross instances',
  { skip: REDIS_SKIP, timeout: 60_000 },
  async (t) => {
    const redis = await startRedis(t);
    const [a, b] = await startInstances(t, redis.url, 2);
    assert.ok(a !== undefined && b !== undefined);
    // Created on A, joined on B: the token (shared secret) and the session (Redis) are valid everywhere.
    const session = await createSession(t, a.url);
    const onA = await joinedClient(t, a.url, session, { peerId: 'pa', ready: true });
    const joinedOnA = nextEvent(onA, 'peer:joined');
    const onB = await joinedClient(t, b.url, session, { peerId: 'pb' });
    assert.deepEqual(
      onB.session?.peers && [...onB.session.peers.keys()],
      ['pa', 'pb'],
      'the join reply lists the member held by the other instance',
    );
    assert.equal(onB.session?.aggregator.peerId, 'pa');
    assert.equal(onB.session?.term, 1);
    assert.equal((await joinedOnA).peer.peerId, 'pb', 'peer:joined crossed from B to A');

    // Signals relay both ways across instances, in order.
    const toB = nextEvent(onB, 'signal');
    await onA.sendSignal('pb', { type: 'offer', sdp: 'v=0' });
    assert.deepEqual(await toB, { from: 'pa', data: { type: 'offer', sdp: 'v=0' } });
    const received: unknown[] = [];
    const allThree = new Promise<void>((resolve) => {
      const off = onA.onSignal((_from, data) => {
        received.push(data);
        if (received.length === 3) {
          off();
          resolve();
        }
      });
    });
    await Promise.all([1, 2, 3].map((n) => onB.sendSignal('pa', { n })));
    await allThree;
    assert.deepEqual(received, [{ n: 1 }, { n: 2 }, { n: 3 }]);
    await assert.rejects(
      onA.sendSignal('nobody', {}),
      (err) => err instanceof SignalingError && err.code === 'UNKNOWN_PEER',
    );

    // The aggregator (on A) steps down: B's peer is elected, both instances announce term 2.
    const updatedOnB = nextEvent(onB, 'aggregator');
    const updatedOnA = nextEvent(onA, 'aggregator');
    await onB.setReady(true);
    await onA.setReady(false);
    assert.deepEqual([(await updatedOnB).peerId, (await updatedOnB).term], ['pb', 2]);
    assert.deepEqual([(await updatedOnA).peerId, (await updatedOnA).term], ['pb', 2]);

    // Round reports from the new aggregator are checked against the shared term and round.
    await onB.reportRound({ term: 2, round: 3, participants: ['pa', 'pb'], bytes: { up: 10, down: 20 } });
    await assert.rejects(
      onB.reportRound({ term: 2, round: 2, participants: [], bytes: { up: 0, down: 0 } }),
      (err) => err instanceof SignalingError && err.code === 'STALE_ROUND',
    );
    await assert.rejects(
      onA.reportRound({ term: 2, round: 4, participants: [], bytes: { up: 0, down: 0 } }),
      (err) => err instanceof SignalingError && err.code === 'NOT_AGGREGATOR',
    );

    // Either instance's /status shows the whole session.
    for (const instance of [a, b]) {
      const status = signalingStatusSchema.parse(await (await fetch(`${instance.url}/status`)).json());
      const shown = status.sessions.find((s) => s.sessionId === session.sessionId);
      assert.deepEqual(
        shown?.peers.map((p) => [p.peerId, p.role, p.ready]),
        [
          ['pa', 'worker', false],
          ['pb', 'aggregator', true],
        ],
      );
      assert.deepEqual(shown?.aggregator, {
        sessionId: session.sessionId,
        peerId: 'pb',
        term: 2,
        lastRound: 3,
      });
      assert.deepEqual(shown?.traffic, { up: 10, down: 20, reportedRounds: 1 });
    }

    // Leaving through B is announced on A, with the re-election it causes.
    const left = nextEvent(onA, 'peer:left');
    const reelected = nextEvent(onA, 'aggregator');
    onB.close();
    assert.deepEqual((await left).peerId, 'pb');
    assert.deepEqual([(await reelected).peerId, (await reelected).term], [null, 3]);
  },
);

test(
  'restarting an instance loses no session: members, term and rounds live in Redis',
  { skip: REDIS_SKIP, timeout: 60_000 },
  async (t) => {
    const redis = await startRedis(t);
    const a = await startInstance(t, redis.url, { instanceId: 'a' });
    const b = await startInstance(t, redis.url, { instanceId: 'b' });
    const session = await createSession(t, a.url);
    const agg = await joinedClient(t, b.url, session, { peerId: 'agg', ready: true });
    await agg.reportRound({ term: 1, round: 5, participants: ['agg'], bytes: { up: 1, down: 1 } });
    const worker = await joinedClient(t, a.url, session, { peerId: 'w' });
    const workerLeft = nextEvent(agg, 'peer:left');

    await a.server.stop(); // the worker's socket closes with it
    assert.equal((await workerLeft).peerId, 'w');
    assert.equal(worker.connected, false);

    // A new process takes A's place; the worker rejoins through it with the same token and id.
    const a2 = await startInstance(t, redis.url, { instanceId: 'a' });
    const rejoined = nextEvent(agg, 'peer:joined');
    const back = await joinedClient(t, a2.url, session, { peerId: 'w' });
    assert.equal((await rejoined).peer.peerId, 'w');
    assert.deepEqual(back.session?.aggregator, {
      sessionId: session.sessionId,
      peerId: 'agg',
      term: 1,
      lastRound: 5,
    });

    // Even with every instance gone, a fresh one serves the session (Redis holds it).
    back.close();
    agg.close();
    await Promise.all([a2.server.stop(), b.server.stop()]);
    const c = await startInstance(t, redis.url, { instanceId: 'c' });
    const later = await joinedClient(t, c.url, session, { peerId: 'late', ready: true });
    assert.deepEqual(later.session?.aggregator, {
      sessionId: session.sessionId,
      peerId: 'late',
      term: 3, // 1 (agg), 2 (nobody after agg left), 3 (late)
      lastRound: 5,
    });
  },
);

test(
  'redisUrl needs a shared secret; an unreachable Redis fails start() with a code',
  { skip: REDIS_SKIP },
  async () => {
    assert.throws(
      () => createSignalingServer({ redisUrl: 'redis://127.0.0.1:1', logLevel: 'silent' }),
      (err) => err instanceof ScaleOutError && err.code === 'ERR_SECRET_REQUIRED',
    );
    const server = createSignalingServer({
      redisUrl: 'redis://127.0.0.1:1',
      secret: SHARED_SECRET,
      redisConnectTimeoutMs: 500,
      logLevel: 'silent',
    });
    await assert.rejects(
      server.start(),
      (err) => err instanceof ScaleOutError && err.code === 'ERR_REDIS_UNAVAILABLE',
    );
    await server.stop();
  },
);

test(
  'a client of one instance cannot act for a member held by another: NOT_JOINED without a join',
  { skip: REDIS_SKIP, timeout: 30_000 },
  async (t) => {
    const redis = await startRedis(t);
    const [a, b] = await startInstances(t, redis.url, 2);
    assert.ok(a !== undefined && b !== undefined);
    const session = await createSession(t, a.url);
    await joinedClient(t, a.url, session, { peerId: 'p1' });
    const stranger = await connectedClient(t, b.url);
    await assert.rejects(
      stranger.setReady(true),
      (err) => err instanceof SignalingError && err.code === 'NOT_JOINED',
    );
    const taken = new SignalingClient({ requestTimeoutMs: WAIT_MS });
    t.after(() => taken.close());
    await taken.connect(b.url);
    await assert.rejects(
      taken.join({ ...session, kind: 'headless', peerId: 'p1' }),
      (err) => err instanceof SignalingError && err.code === 'PEER_ID_TAKEN',
    );
  },
);

test(
  'the signaling CLI takes Redis, secret and instance id from the environment',
  { skip: REDIS_SKIP },
  async (t) => {
    const redis = await startRedis(t);
    const env = { LIEC_REDIS_URL: redis.url, LIEC_SIGNALING_SECRET: SHARED_SECRET, LIEC_INSTANCE_ID: 'cli' };
    const server = await main(
      ['--port', '0', '--host', '127.0.0.1', '--log-level', 'silent', '--signaling-only'],
      env,
    );
    deferCleanup(t, () => server.stop());
    assert.equal(server.store.kind, 'redis');
    assert.equal(server.options.instanceId, 'cli');
    await assert.rejects(
      main(['--port', '0', '--log-level', 'silent'], { LIEC_REDIS_URL: redis.url }),
      (err) => err instanceof ScaleOutError && err.code === 'ERR_SECRET_REQUIRED',
    );
  },
);
