import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createClient } from 'redis';
import { DEFAULT_SESSION_CONFIG, SignalingError } from '../../shared/protocol/signaling.ts';
import { MemorySessionStore } from '../../signaling/memory-store.ts';
import { RedisSessionStore } from '../../signaling/redis-store.ts';
import type { SessionStore } from '../../signaling/store.ts';
import { deferCleanup, REDIS_SKIP, startRedis, type RedisProcess } from './support.ts';

const LIMITS = { maxSessions: 3, maxPeersPerSession: 40 };
const code = (expected: string) => (err: unknown) => err instanceof SignalingError && err.code === expected;
const peer = (peerId: string, ready: boolean, socketId = `s-${peerId}`) => ({
  peerId,
  kind: 'headless' as const,
  capabilities: {},
  ready,
  socketId,
});

const newClient = (url: string) => createClient({ url });

/** A Redis store on its own connection; `prefix` separates test cases in one Redis. */
async function redisStore(
  t: TestContext,
  redis: RedisProcess,
  prefix: string,
  instanceId: string,
  now: () => number = Date.now,
  limits = LIMITS,
): Promise<{ store: RedisSessionStore; client: ReturnType<typeof newClient> }> {
  const client = newClient(redis.url);
  await client.connect();
  deferCleanup(t, async () => {
    await client.close();
  });
  const store = new RedisSessionStore({ client, prefix, instanceId, leaseMs: 60_000, ...limits, now });
  await store.start();
  await store.renewLease();
  return { store, client };
}

type Op =
  | { kind: 'join'; id: number; ready: boolean }
  | { kind: 'leave'; id: number }
  | { kind: 'ready'; id: number; ready: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  // Joins weigh most: elections among several ready members are where policies differ.
  {
    arbitrary: fc.record({ kind: fc.constant('join' as const), id: fc.nat(4), ready: fc.boolean() }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant('leave' as const), id: fc.nat(4) }), weight: 2 },
  {
    arbitrary: fc.record({ kind: fc.constant('ready' as const), id: fc.nat(4), ready: fc.boolean() }),
    weight: 2,
  },
);

/** Applies one op; returns what a client would see (aggregator, term, members) or the error code. */
async function apply(store: SessionStore, sessionId: string, op: Op): Promise<unknown> {
  const peerId = `p${op.id}`;
  const key = { sessionId, peerId, socketId: `s-${peerId}` };
  try {
    switch (op.kind) {
      case 'join': {
        const joined = await store.join(sessionId, peer(peerId, op.ready));
        return { ...joined.aggregator, changed: joined.aggregatorChanged, peers: joined.peers };
      }
      case 'leave':
        return await store.leave(key);
      case 'ready':
        return await store.setReady(key, op.ready);
    }
  } catch (err) {
    return err instanceof SignalingError ? err.code : err;
  }
}

/** The value with the session id replaced, so two stores' answers compare equal. */
const renamed = (value: unknown, sessionId: string): unknown =>
  JSON.parse(JSON.stringify(value ?? null).replaceAll(sessionId, 'S'));

test(
  'the Redis store behaves like the memory store: same election, terms, members and errors for any op sequence',
  { skip: REDIS_SKIP, timeout: 120_000 },
  async (t) => {
    const redis = await startRedis(t);
    let run = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 4, maxLength: 30, size: 'max' }), async (ops) => {
        const now = (): number => 1000;
        const memory = new MemorySessionStore({ ...LIMITS, now });
        const { store } = await redisStore(t, redis, `prop${run++}:`, 'i', now);
        const memoryId = await memory.create(DEFAULT_SESSION_CONFIG);
        const redisId = await store.create(DEFAULT_SESSION_CONFIG);
        for (const op of ops) {
          const fromMemory = renamed(await apply(memory, memoryId, op), memoryId);
          const fromRedis = renamed(await apply(store, redisId, op), redisId);
          assert.deepEqual(fromRedis, fromMemory, `after ${JSON.stringify(op)}`);
        }
        const [m] = memory.cachedStatus();
        const [r] = await store.readStatus();
        assert.deepEqual(renamed(r, redisId), renamed(m, memoryId));
      }),
      {
        numRuns: 100,
        // The aggregator leaves with two ready members left: the earliest joiner must win.
        examples: [
          [
            [
              { kind: 'join', id: 0, ready: true },
              { kind: 'join', id: 1, ready: true },
              { kind: 'join', id: 2, ready: true },
              { kind: 'leave', id: 0 },
            ],
          ],
        ],
      },
    );
  },
);

test(
  'concurrent joins through two instances elect one aggregator and bump the term once',
  { skip: REDIS_SKIP, timeout: 60_000 },
  async (t) => {
    const redis = await startRedis(t);
    const { store: a } = await redisStore(t, redis, 'race:', 'a');
    const { store: b } = await redisStore(t, redis, 'race:', 'b');
    const sessionId = await a.create(DEFAULT_SESSION_CONFIG);
    const outcomes = await Promise.all(
      Array.from({ length: 40 }, (_, i) => (i % 2 === 0 ? a : b).join(sessionId, peer(`p${i}`, true))),
    );
    const changes = outcomes.filter((o) => o.aggregatorChanged);
    assert.equal(changes.length, 1, 'exactly one join changed the aggregator');
    const [status] = await b.readStatus();
    assert.equal(status?.peers.length, 40);
    assert.equal(status?.aggregator.term, 1);
    assert.equal(
      status?.aggregator.peerId,
      changes[0]?.peer.peerId,
      'the first joiner (smallest joinSeq) aggregates',
    );
    assert.equal(status?.peers[0]?.peerId, changes[0]?.peer.peerId);

    // The aggregator leaves while everyone toggles readiness at once: terms stay consecutive.
    const aggregatorId = changes[0]?.peer.peerId ?? '';
    const results = await Promise.all([
      a.leave({ sessionId, peerId: aggregatorId, socketId: `s-${aggregatorId}` }),
      ...outcomes
        .filter((o) => o.peer.peerId !== aggregatorId)
        .map((o, i) =>
          (i % 2 === 0 ? b : a).setReady(
            { sessionId, peerId: o.peer.peerId, socketId: `s-${o.peer.peerId}` },
            i % 3 !== 0,
          ),
        ),
    ]);
    const terms = results
      .flatMap((r) => ('aggregatorChanged' in r && r.aggregatorChanged ? [r.aggregator.term] : []))
      .sort((x, y) => x - y);
    const [after] = await a.readStatus();
    assert.deepEqual(
      terms,
      Array.from({ length: terms.length }, (_, i) => i + 2),
      'one term per change, no gaps or repeats',
    );
    assert.equal(after?.aggregator.term, 1 + terms.length);
    const elected = after?.peers.find((p) => p.role === 'aggregator');
    assert.equal(elected?.ready, true);
  },
);

for (const kind of ['memory', 'redis'] as const) {
  test(
    `${kind} store: limits and membership checks fail with stable codes`,
    { skip: kind === 'redis' && REDIS_SKIP },
    async (t) => {
      const limits = { ...LIMITS, maxPeersPerSession: 2 };
      const store: SessionStore =
        kind === 'memory'
          ? new MemorySessionStore({ ...limits, now: Date.now })
          : (await redisStore(t, await startRedis(t), 'limits:', 'i', Date.now, limits)).store;
      const sessionId = await store.create(DEFAULT_SESSION_CONFIG);
      await store.create(DEFAULT_SESSION_CONFIG);
      await store.create(DEFAULT_SESSION_CONFIG);
      await assert.rejects(store.create(DEFAULT_SESSION_CONFIG), code('TOO_MANY_SESSIONS'));
      await assert.rejects(
        store.join('nosuchsession', peer('x', true)),
        (err) => code('UNKNOWN_SESSION')(err) && err instanceof SignalingError && err.fatal,
      );
      const a = await store.join(sessionId, peer('a', true));
      assert.deepEqual([a.aggregator.peerId, a.aggregator.term, a.aggregatorChanged], ['a', 1, true]);
      await assert.rejects(store.join(sessionId, peer('a', false, 'other')), code('PEER_ID_TAKEN'));
      const random = await store.join(sessionId, {
        kind: 'browser',
        capabilities: { cores: 2 },
        ready: false,
        socketId: 's-r',
      });
      assert.match(random.peer.peerId, /^[A-Za-z0-9_-]{8}$/);
      assert.deepEqual(random.peer.capabilities, { cores: 2 });
      await assert.rejects(store.join(sessionId, peer('c', false)), code('SESSION_FULL'));
      const wrongSocket = { sessionId, peerId: 'a', socketId: 'not-a' };
      await assert.rejects(store.setReady(wrongSocket, false), code('NOT_JOINED'));
      await assert.rejects(store.heartbeat(wrongSocket, 1, undefined), code('NOT_JOINED'));
      assert.deepEqual(await store.leave(wrongSocket), { removed: false });
      const asA = { sessionId, peerId: 'a', socketId: 's-a' };
      await assert.rejects(store.signalTarget(asA, 'a'), code('UNKNOWN_PEER'));
      assert.equal(await store.signalTarget(asA, random.peer.peerId), 's-r');
      const bytes = { up: 5, down: 7 };
      await assert.rejects(
        store.report(asA, { term: 0, round: 1, participants: [], bytes }),
        code('STALE_TERM'),
      );
      await assert.rejects(
        store.report(
          { sessionId, peerId: random.peer.peerId, socketId: 's-r' },
          { term: 1, round: 1, participants: [], bytes },
        ),
        code('NOT_AGGREGATOR'),
      );
      await store.report(asA, { term: 1, round: 4, participants: ['a'], bytes });
      await assert.rejects(
        store.report(asA, { term: 1, round: 3, participants: [], bytes }),
        code('STALE_ROUND'),
      );
      await store.heartbeat(asA, 4, { loss: 0.25 });
      const status = (await store.readStatus()).find((s) => s.sessionId === sessionId);
      assert.deepEqual(status?.traffic, { up: 5, down: 7, reportedRounds: 1 });
      assert.deepEqual([status?.peers[0]?.round, status?.peers[0]?.stats], [4, { loss: 0.25 }]);
      assert.equal(status?.lastReport?.round, 4);
    },
  );
}

test(
  'redis store: empty sessions are pruned after the idle time, not before',
  { skip: REDIS_SKIP },
  async (t) => {
    let now = 10_000;
    const { store } = await redisStore(t, await startRedis(t), 'prune:', 'i', () => now);
    const kept = await store.create(DEFAULT_SESSION_CONFIG);
    const idle = await store.create(DEFAULT_SESSION_CONFIG);
    await store.join(kept, peer('a', true));
    now += 500;
    assert.deepEqual(await store.pruneIdle(1000), []);
    now += 600;
    assert.deepEqual(await store.pruneIdle(1000), [idle]);
    await store.leave({ sessionId: kept, peerId: 'a', socketId: 's-a' });
    now += 999;
    assert.deepEqual(await store.pruneIdle(1000), []);
    now += 1;
    assert.deepEqual(await store.pruneIdle(1000), [kept]);
    assert.deepEqual(await store.readStatus(), []);
  },
);

test(
  'redis store: the members of an instance whose lease expired are claimed once, by one survivor',
  { skip: REDIS_SKIP },
  async (t) => {
    const redis = await startRedis(t);
    const { store: crashed, client } = await redisStore(t, redis, 'lease:', 'crashed');
    const { store: b } = await redisStore(t, redis, 'lease:', 'b');
    const { store: c } = await redisStore(t, redis, 'lease:', 'c');
    const sessionId = await crashed.create(DEFAULT_SESSION_CONFIG);
    await crashed.join(sessionId, peer('x', true));
    await crashed.join(sessionId, peer('y', false));
    await b.join(sessionId, peer('z', false));
    assert.deepEqual(await b.renewLease(), { lapsed: false, orphans: [] }, 'the lease is alive');
    await client.sendCommand(['DEL', 'lease:inst:crashed']); // what PX expiry does after leaseMs
    const [fromB, fromC] = await Promise.all([b.renewLease(), c.renewLease()]);
    const claimed = [...fromB.orphans, ...fromC.orphans].map((m) => m.peerId).sort();
    assert.deepEqual(claimed, ['x', 'y'], 'each orphan claimed exactly once');
    for (const orphan of [...fromB.orphans, ...fromC.orphans]) await b.leave(orphan);
    assert.deepEqual((await b.renewLease()).orphans, []);
    const members = await client.sendCommand(['SMEMBERS', 'lease:inst']);
    assert.deepEqual(
      Array.isArray(members) ? [...members].sort() : members,
      ['b', 'c'],
      'the dead instance is forgotten',
    );
    // The crashed instance comes back (a long pause, not a crash): it learns its lease lapsed.
    assert.equal((await crashed.renewLease()).lapsed, true);
    assert.equal((await crashed.renewLease()).lapsed, false);
  },
);

/** What recordRollback and rollbackOf keep, the same in either store. */
async function checkRollbackMarks(store: SessionStore): Promise<void> {
  const sessionId = await store.create(DEFAULT_SESSION_CONFIG);
  assert.equal(await store.rollbackOf(sessionId), undefined, 'none before a rollback');
  await store.recordRollback(sessionId, { round: 49, continuesAt: 120 });
  await store.recordRollback(sessionId, { round: 99, continuesAt: 180 });
  assert.deepEqual(await store.rollbackOf(sessionId), { round: 99, continuesAt: 180 }, 'the last one');
  await store.recordRollback('gone', { round: 1, continuesAt: 2 });
  assert.equal(await store.rollbackOf('gone'), undefined, 'no record made for a session that is gone');
  assert.equal(await store.aggregatorOf('gone'), undefined);
}

test('memory store: the last rollback of a session is kept', async () => {
  await checkRollbackMarks(new MemorySessionStore({ ...LIMITS, now: Date.now }));
});

test('redis store: the last rollback of a session is kept', { skip: REDIS_SKIP }, async (t) => {
  const { store } = await redisStore(t, await startRedis(t), 'rollback:', 'i');
  await checkRollbackMarks(store);
});
