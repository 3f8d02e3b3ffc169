/**
 * `aggregator:unreachable` on a real server (port 0) and real sockets: the server counts,
 * per term, the ready members but the aggregator that cannot hear it, and at a majority
 * (all of them under 3) starts a new term with the next aggregator by join order, the one
 * reported excluded from that election but still a member. Duplicates count once, stale
 * terms, another peer than the aggregator and non-members are refused, the aggregator's own
 * and a not-ready member's reports do not count, a report lapses after its time-to-live,
 * the message is rate-limited like every other. The Redis store counts the same way. Once the
 * last round is reported no round report is taken, from any aggregator.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { DEFAULT_SESSION_CONFIG, SignalingError } from '../../shared/protocol/signaling.ts';
import { MemorySessionStore } from '../../signaling/memory-store.ts';
import { RedisSessionStore } from '../../signaling/redis-store.ts';
import type { SessionStore } from '../../signaling/store.ts';
import { deferCleanup, REDIS_SKIP, startRedis } from '../scale/support.ts';
import { createSession, joinedClient, nextEvent, rawSocket, startServer } from './helpers.ts';

const refusal = (code: string) => (err: unknown) => err instanceof SignalingError && err.code === code;

test('a majority of the ready workers replaces the aggregator; stale, foreign and duplicate reports do not count', async (t) => {
  const { server, url } = await startServer(t);
  const session = await createSession(t, url);
  const a = await joinedClient(t, url, session, { peerId: 'a', ready: true });
  const idle = await joinedClient(t, url, session, { peerId: 'idle' }); // never ready: a dashboard
  const b = await joinedClient(t, url, session, { peerId: 'b', ready: true });
  const c = await joinedClient(t, url, session, { peerId: 'c', ready: true });
  const d = await joinedClient(t, url, session, { peerId: 'd', ready: true });
  assert.deepEqual([d.session?.aggregator.peerId, d.session?.aggregator.term], ['a', 1]);

  // Electorate: b, c, d (ready, not the aggregator): 2 reports needed.
  assert.deepEqual(await b.reportUnreachable(1, 'a'), { reports: 1, needed: 2, replaced: false });
  assert.deepEqual(
    await b.reportUnreachable(1, 'a'),
    { reports: 1, needed: 2, replaced: false },
    'duplicate',
  );
  assert.deepEqual(
    await idle.reportUnreachable(1, 'a'),
    { reports: 1, needed: 2, replaced: false },
    'not ready',
  );
  assert.deepEqual(await a.reportUnreachable(1, 'a'), { reports: 1, needed: 2, replaced: false }, 'itself');
  await assert.rejects(c.reportUnreachable(0, 'a'), refusal('STALE_TERM'));
  await assert.rejects(c.reportUnreachable(2, 'a'), refusal('STALE_TERM'));
  await assert.rejects(c.reportUnreachable(1, 'b'), refusal('NOT_AGGREGATOR'));
  const stranger = await rawSocket(t, url);
  const notJoined: unknown = await stranger.emitWithAck('aggregator:unreachable', { term: 1, peerId: 'a' });
  assert.equal((notJoined as { error?: { code?: string } }).error?.code, 'NOT_JOINED');
  // None of these was fatal, and none moved the aggregator.
  assert.equal(c.connected, true);
  assert.equal(server.status().sessions[0]?.aggregator.term, 1);

  const announced = [a, idle, b, c, d].map((client) => nextEvent(client, 'aggregator'));
  const updated = [a, idle, b, c, d].map((client) => nextEvent(client, 'peer:updated'));
  assert.deepEqual(await c.reportUnreachable(1, 'a'), { reports: 2, needed: 2, replaced: true });
  for (const ev of await Promise.all(announced)) {
    assert.deepEqual([ev.peerId, ev.term], ['b', 2], 'the ready member connected longest but a');
  }
  // Everyone's view of a changes with it: a worker now, not ready.
  for (const ev of await Promise.all(updated)) {
    assert.deepEqual([ev.peer.peerId, ev.peer.role, ev.peer.ready, ev.term], ['a', 'worker', false, 2]);
  }
  // The one reported stays a member, not ready until it says so (once caught up, readiness.ts).
  const status = server.status().sessions[0];
  assert.deepEqual(
    status?.peers.map((p) => [p.peerId, p.role, p.ready]),
    [
      ['a', 'worker', false],
      ['idle', 'worker', false],
      ['b', 'aggregator', true],
      ['c', 'worker', true],
      ['d', 'worker', true],
    ],
  );
  // Late reports of the old term change nothing; the new term counts from zero.
  await assert.rejects(d.reportUnreachable(1, 'a'), refusal('STALE_TERM'));
  assert.deepEqual(await d.reportUnreachable(2, 'b'), { reports: 1, needed: 2, replaced: false });
  // The aggregator keeps its place on every other change (a ready again, joined first).
  await idle.setReady(true);
  await a.setReady(true);
  assert.equal(server.status().sessions[0]?.aggregator.peerId, 'b');
});

test('under three workers every one of them must report; a report lapses after its time-to-live', async (t) => {
  let clock = 1_000_000;
  const { server, url } = await startServer(t, { now: () => clock, unreachableReportTtlMs: 5000 });
  const session = await createSession(t, url);
  const a = await joinedClient(t, url, session, { peerId: 'a', ready: true });
  const b = await joinedClient(t, url, session, { peerId: 'b', ready: true });
  const c = await joinedClient(t, url, session, { peerId: 'c', ready: true });
  assert.deepEqual(await b.reportUnreachable(1, 'a'), { reports: 1, needed: 2, replaced: false });
  clock += 5001; // b's report lapses: b heard a again (or left it to the heartbeat timeout)
  assert.deepEqual(await c.reportUnreachable(1, 'a'), { reports: 1, needed: 2, replaced: false });
  clock += 4000;
  const announced = nextEvent(a, 'aggregator');
  assert.deepEqual(await b.reportUnreachable(1, 'a'), { reports: 2, needed: 2, replaced: true });
  assert.deepEqual([(await announced).peerId, (await announced).term], ['b', 2]);

  // Two members: the only worker decides alone (once it caught up under b: ready again).
  c.close();
  await nextEvent(b, 'peer:left');
  await a.setReady(true);
  const again = nextEvent(a, 'aggregator');
  assert.deepEqual(await a.reportUnreachable(2, 'b'), { reports: 1, needed: 1, replaced: true });
  assert.deepEqual([(await again).peerId, (await again).term], ['a', 3]);
  assert.equal(server.status().sessions[0]?.peers.length, 2);
});

test('unreachable reports are rate-limited like every message', async (t) => {
  const { url } = await startServer(t, {
    messageRateLimit: { perSecond: 0.001, burst: 8 },
    violationLimit: { perSecond: 0.001, burst: 100 },
  });
  const session = await createSession(t, url);
  await joinedClient(t, url, session, { peerId: 'a', ready: true });
  const b = await joinedClient(t, url, session, { peerId: 'b', ready: true });
  await joinedClient(t, url, session, { peerId: 'c', ready: true });
  // The join used one token of b's bucket (connect is not a message).
  const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => b.reportUnreachable(1, 'a')));
  const limited = outcomes.filter((o) => o.status === 'rejected' && refusal('RATE_LIMITED')(o.reason));
  assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 7);
  assert.equal(limited.length, 3);
});

test('the Redis store counts unreachable reports like the memory store', { skip: REDIS_SKIP }, async (t) => {
  const redis = await startRedis(t);
  const client = createClient({ url: redis.url });
  await client.connect();
  deferCleanup(t, async () => {
    await client.close();
  });
  let clock = 5000;
  const now = (): number => clock;
  const limits = { maxSessions: 10, maxPeersPerSession: 10, now };
  const memory = new MemorySessionStore(limits);
  const shared = new RedisSessionStore({
    client,
    prefix: 'unreach:',
    instanceId: 'i',
    leaseMs: 60_000,
    ...limits,
  });
  await shared.start();
  await shared.renewLease();
  const script: [string, string, number, string][] = [
    // reporter, kind ('ready' | 'idle' | 'report' | 'fault' | 'leave' | 'tick' | 'caught-up'), term, accused
    ['a', 'ready', 0, ''],
    ['i', 'idle', 0, ''],
    ['b', 'ready', 0, ''],
    ['c', 'ready', 0, ''],
    ['d', 'ready', 0, ''],
    ['b', 'report', 1, 'a'],
    ['b', 'report', 1, 'a'],
    ['i', 'report', 1, 'a'],
    ['a', 'report', 1, 'a'],
    ['c', 'report', 0, 'a'],
    ['c', 'report', 1, 'b'],
    ['', 'tick', 0, ''],
    ['c', 'report', 1, 'a'], // b's report lapsed
    ['d', 'report', 1, 'a'], // majority: b elected, term 2
    ['d', 'report', 1, 'a'],
    ['c', 'report', 2, 'b'],
    ['c', 'leave', 0, ''],
    ['d', 'leave', 0, ''],
    ['a', 'report', 2, 'b'], // a, replaced, is not ready: no electorate, no count
    ['a', 'caught-up', 0, ''], // it applied b's broadcast: ready again
    ['a', 'report', 2, 'b'], // electorate a, i (not ready): a alone decides
    ['x', 'report', 3, 'a'], // not a member
    ['e', 'ready', 0, ''], // 22
    ['b', 'caught-up', 0, ''], // b, replaced at term 3, applied a's broadcast
    ['b', 'fault', 3, 'a'],
    ['e', 'report', 3, 'a'], // majority with a fault among it: a barred, b elected, term 4
    ['a', 'leave', 0, ''],
    ['a', 'ready', 0, ''], // back as a member: still barred
    ['b', 'leave', 0, ''], // 28: e elected (a connected longer, but barred)
    ['e', 'leave', 0, ''], // nobody: a is the only ready member
  ];
  const run = async (store: SessionStore): Promise<unknown[]> => {
    clock = 5000;
    const sessionId = await store.create(DEFAULT_SESSION_CONFIG);
    const key = (peerId: string) => ({ sessionId, peerId, socketId: `s-${peerId}` });
    const seen: unknown[] = [];
    for (const [peerId, kind, term, accused] of script) {
      try {
        if (kind === 'ready' || kind === 'idle') {
          const ready = kind === 'ready';
          const joined = await store.join(sessionId, {
            peerId,
            kind: 'headless',
            capabilities: {},
            ready,
            socketId: `s-${peerId}`,
          });
          seen.push([joined.aggregator.peerId, joined.aggregator.term]);
        } else if (kind === 'caught-up') {
          const outcome = await store.setReady(key(peerId), true);
          seen.push([outcome.changed, outcome.aggregator.peerId]);
        } else if (kind === 'tick') {
          clock += 20_000;
          seen.push('tick');
        } else if (kind === 'leave') {
          const left = await store.leave(key(peerId));
          seen.push(left.removed ? [left.aggregator.peerId, left.aggregator.term] : 'not removed');
        } else {
          const reason = kind === 'fault' ? 'faulty' : 'silent';
          const outcome = await store.reportUnreachable(
            key(peerId),
            { term, peerId: accused, reason },
            10_000,
            2,
          );
          seen.push({ ...outcome, aggregator: { ...outcome.aggregator, sessionId: 'S' } });
        }
      } catch (err) {
        seen.push(err instanceof SignalingError ? [err.code, err.detail] : String(err));
      }
    }
    return seen;
  };
  /** A replaced aggregator as the outcome returns it: a worker now, not ready. */
  const deposedWorker = (peerId: string) => ({
    peerId,
    kind: 'headless',
    role: 'worker',
    ready: false,
    capabilities: {},
    connectedAt: 5000,
  });
  const fromMemory = await run(memory);
  const fromRedis = await run(shared);
  assert.deepEqual(fromRedis, fromMemory);
  // The script does what its comments say (so the comparison compares something).
  assert.deepEqual(fromMemory[13], {
    reports: 2,
    needed: 2,
    aggregator: { sessionId: 'S', peerId: 'b', term: 2, lastRound: 0 },
    aggregatorChanged: true,
    barred: false,
    deposed: deposedWorker('a'),
  });
  assert.deepEqual(fromMemory[18], {
    reports: 0,
    needed: 1,
    aggregator: { sessionId: 'S', peerId: 'b', term: 2, lastRound: 0 },
    aggregatorChanged: false,
    barred: false,
  });
  assert.deepEqual(fromMemory[19], [true, 'b']);
  assert.deepEqual(fromMemory[20], {
    reports: 1,
    needed: 1,
    aggregator: { sessionId: 'S', peerId: 'a', term: 3, lastRound: 0 },
    aggregatorChanged: true,
    barred: false,
    deposed: deposedWorker('b'),
  });
  assert.deepEqual(fromMemory[21], ['NOT_JOINED', 'join a session first']);
  assert.deepEqual(fromMemory[25], {
    reports: 2,
    needed: 2,
    aggregator: { sessionId: 'S', peerId: 'b', term: 4, lastRound: 0 },
    aggregatorChanged: true,
    barred: true,
    deposed: deposedWorker('a'),
  });
  assert.deepEqual(fromMemory.slice(27), [
    ['b', 4],
    ['e', 5],
    [null, 6],
  ]);
});

/** A session of `rounds` rounds with a and b joined, ready (a the aggregator); a member's key. */
async function sessionOfAB(
  store: SessionStore,
  rounds: number,
): Promise<(peerId: string) => { sessionId: string; peerId: string; socketId: string }> {
  const sessionId = await store.create({ ...DEFAULT_SESSION_CONFIG, rounds });
  for (const peerId of ['a', 'b'])
    await store.join(sessionId, {
      peerId,
      kind: 'headless',
      capabilities: {},
      ready: true,
      socketId: `s-${peerId}`,
    });
  return (peerId) => ({ sessionId, peerId, socketId: `s-${peerId}` });
}

/** A Redis store on a fresh redis-server, its clock fixed at 5000 ms. */
async function redisStoreAtFixedTime(t: TestContext, prefix: string): Promise<RedisSessionStore> {
  const redis = await startRedis(t);
  const client = createClient({ url: redis.url });
  await client.connect();
  deferCleanup(t, async () => {
    await client.close();
  });
  const store = new RedisSessionStore({
    client,
    prefix,
    instanceId: 'i',
    leaseMs: 60_000,
    maxSessions: 10,
    maxPeersPerSession: 10,
    now: () => 5000,
  });
  await store.start();
  await store.renewLease();
  return store;
}

/**
 * After the aggregator reported the last round it only hands out the final model: a `silent`
 * report no longer replaces it (a worker cut off then, alone once the others left, would be
 * elected and end on its own model), a fault still does. One round earlier silence counts.
 * [aggregatorChanged, reports, needed] of each report, for either store.
 */
async function reportsAroundTheLastRound(store: SessionStore): Promise<[boolean, number, number][]> {
  const rounds = 3;
  const seen: [boolean, number, number][] = [];
  for (const [lastReported, reasons] of [
    [rounds - 2, ['silent']],
    [rounds - 1, ['silent', 'faulty']],
  ] as const) {
    const key = await sessionOfAB(store, rounds);
    await store.report(key('a'), {
      term: 1,
      round: lastReported,
      participants: ['a', 'b'],
      bytes: { up: 0, down: 0 },
    });
    for (const reason of reasons) {
      const outcome = await store.reportUnreachable(key('b'), { term: 1, peerId: 'a', reason }, 10_000, 2);
      seen.push([outcome.aggregatorChanged, outcome.reports, outcome.needed]);
    }
  }
  return seen;
}

const AROUND_THE_LAST_ROUND = [
  [true, 1, 1], // round 1 of 3 reported: b alone replaces a
  [false, 0, 1], // round 2 reported: silence does not count
  [true, 1, 1], // a fault does
];

test('after the last round a silent report no longer replaces the aggregator, a faulty one does', async () => {
  const store = new MemorySessionStore({ maxSessions: 10, maxPeersPerSession: 10, now: () => 5000 });
  assert.deepEqual(await reportsAroundTheLastRound(store), AROUND_THE_LAST_ROUND);
});

test(
  'the Redis store treats reports after the last round like the memory store',
  { skip: REDIS_SKIP },
  async (t) => {
    assert.deepEqual(
      await reportsAroundTheLastRound(await redisStoreAtFixedTime(t, 'unreach-end:')),
      AROUND_THE_LAST_ROUND,
    );
  },
);

/**
 * Round reports around the end, for either store: before the last round a successor reports
 * on; once the last round is reported nobody does (a worker elected after the end would
 * report rounds of a model of its own). 'ok', or the refusal's message (its code first).
 */
async function roundReportsAroundTheEnd(store: SessionStore): Promise<string[]> {
  const rounds = 3;
  const seen: string[] = [];
  const attempt = async (done: Promise<void>): Promise<void> => {
    try {
      await done;
      seen.push('ok');
    } catch (err) {
      seen.push(err instanceof SignalingError ? err.message : String(err));
    }
  };
  for (const lastReported of [rounds - 2, rounds - 1]) {
    const key = await sessionOfAB(store, rounds);
    const report = (round: number, term: number) => ({
      term,
      round,
      participants: ['a', 'b'],
      bytes: { up: 0, down: 0 },
    });
    await attempt(store.report(key('a'), report(lastReported, 1)));
    await attempt(store.report(key('a'), report(lastReported, 1)));
    // A fault replaces a even after the end (see reportsAroundTheLastRound): b is elected.
    const outcome = await store.reportUnreachable(
      key('b'),
      { term: 1, peerId: 'a', reason: 'faulty' },
      10_000,
      2,
    );
    assert.equal(outcome.aggregator.peerId, 'b');
    await attempt(store.report(key('b'), report(rounds - 1, 2)));
  }
  return seen;
}

const ROUND_REPORTS_AROUND_THE_END = [
  'ok', // round 1 of 3
  'ok', // round 1 again: the same round is not stale
  'ok', // b, elected after a fault, reports the last round
  'ok', // the last round
  'STALE_ROUND: round 2: the last round reported is 2, the session is over', // again
  'STALE_ROUND: round 2: the last round reported is 2, the session is over', // b, elected after it
];

test('once the last round is reported, no round report is taken', async () => {
  const store = new MemorySessionStore({ maxSessions: 10, maxPeersPerSession: 10, now: () => 5000 });
  assert.deepEqual(await roundReportsAroundTheEnd(store), ROUND_REPORTS_AROUND_THE_END);
});

test(
  'the Redis store refuses round reports after the last round like the memory store',
  { skip: REDIS_SKIP },
  async (t) => {
    assert.deepEqual(
      await roundReportsAroundTheEnd(await redisStoreAtFixedTime(t, 'report-end:')),
      ROUND_REPORTS_AROUND_THE_END,
    );
  },
);
