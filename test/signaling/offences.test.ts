/**
 * Offences and expulsion on a real server (port 0) and real sockets: being replaced as a
 * faulty aggregator (barred) is one offence, the current aggregator's `peer:report` of a
 * worker it dropped for invalid frames another; at maxOffences (2) the server removes the
 * peer (the others get peer:left 'expelled'), tells it why (`expelled`), closes its socket
 * and refuses its peer id from then on (EXPELLED). Reports of another term, from another
 * peer than the aggregator, or about a non-member are refused; one aggregator's reports
 * about a worker count once, so it cannot expel an honest worker alone. The Redis store
 * counts and expels the same way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createClient } from 'redis';
import { DEFAULT_SESSION_CONFIG, SignalingError } from '../../shared/protocol/signaling.ts';
import { MemorySessionStore } from '../../signaling/memory-store.ts';
import { RedisSessionStore } from '../../signaling/redis-store.ts';
import type { SessionStore } from '../../signaling/store.ts';
import { deferCleanup, REDIS_SKIP, startRedis } from '../scale/support.ts';
import { connectedClient, createSession, joinedClient, nextEvent, startServer } from './helpers.ts';

const refusal = (code: string) => (err: unknown) => err instanceof SignalingError && err.code === code;

test('barred, then dropped by the new aggregator: expelled, told why, and its rejoin refused', async (t) => {
  const { server, url } = await startServer(t);
  const session = await createSession(t, url);
  const a = await joinedClient(t, url, session, { peerId: 'a', ready: true });
  const b = await joinedClient(t, url, session, { peerId: 'b', ready: true });
  const c = await joinedClient(t, url, session, { peerId: 'c', ready: true });
  const d = await joinedClient(t, url, session, { peerId: 'd', ready: true });
  await b.reportUnreachable(1, 'a', 'faulty');
  const announced = nextEvent(a, 'aggregator');
  assert.deepEqual(await c.reportUnreachable(1, 'a', 'faulty'), { reports: 2, needed: 2, replaced: true });
  assert.deepEqual([(await announced).peerId, (await announced).term], ['b', 2]);
  assert.equal(a.connected, true, 'barred (one offence), still a member');

  await assert.rejects(c.reportPeer(2, 'a', 21), refusal('NOT_AGGREGATOR'));
  await assert.rejects(b.reportPeer(1, 'a', 21), refusal('STALE_TERM'));
  await assert.rejects(b.reportPeer(2, 'nobody', 21), refusal('UNKNOWN_PEER'));
  await assert.rejects(b.reportPeer(2, 'b', 21), refusal('UNKNOWN_PEER'));
  // An honest worker the aggregator reports again and again: one offence, it stays.
  assert.deepEqual(await b.reportPeer(2, 'd', 21), { offences: 1, limit: 2, expelled: false });
  assert.deepEqual(await b.reportPeer(2, 'd', 40), { offences: 1, limit: 2, expelled: false });
  assert.equal(d.connected, true);

  const told = nextEvent(a, 'expelled');
  const closed = nextEvent(a, 'disconnect');
  const left = nextEvent(c, 'peer:left');
  assert.deepEqual(await b.reportPeer(2, 'a', 21), { offences: 2, limit: 2, expelled: true });
  const event = await told;
  assert.deepEqual([event.peerId, event.reason, event.offences], ['a', 'invalid-frames', 2]);
  assert.match(
    event.message,
    /replaced as aggregator for a fault; dropped by aggregator b for invalid frames/,
  );
  assert.equal((await closed).error?.code, 'EXPELLED');
  assert.deepEqual([(await left).peerId, (await left).reason, (await left).term], ['a', 'expelled', 2]);
  const status = server.status().sessions[0];
  assert.deepEqual(
    status?.peers.map((p) => p.peerId),
    ['b', 'c', 'd'],
  );
  assert.deepEqual([status?.aggregator.peerId, status?.aggregator.term], ['b', 2]);

  const again = await connectedClient(t, url);
  await assert.rejects(again.join({ ...session, kind: 'headless', peerId: 'a' }), refusal('EXPELLED'));
  // The others carry on; the id stays refused for the session.
  assert.equal(d.connected, true);
});

test('an aggregator barred at its last offence is expelled, after the election', async (t) => {
  const { server, url } = await startServer(t);
  const session = await createSession(t, url);
  const a = await joinedClient(t, url, session, { peerId: 'a', ready: true });
  const b = await joinedClient(t, url, session, { peerId: 'b', ready: true });
  const c = await joinedClient(t, url, session, { peerId: 'c', ready: true });
  const d = await joinedClient(t, url, session, { peerId: 'd', ready: true });
  assert.deepEqual(await a.reportPeer(1, 'b', 21), { offences: 1, limit: 2, expelled: false });
  const takeover = nextEvent(c, 'aggregator', (ev) => ev.peerId === 'b');
  a.close();
  assert.equal((await takeover).term, 2);
  // b aggregates now; c and d (the whole electorate) find it faulty.
  const told = nextEvent(b, 'expelled');
  const announced = nextEvent(d, 'aggregator', (ev) => ev.term === 3);
  const left = nextEvent(d, 'peer:left', (ev) => ev.peerId === 'b');
  await c.reportUnreachable(2, 'b', 'faulty');
  assert.deepEqual(await d.reportUnreachable(2, 'b', 'stalled'), { reports: 2, needed: 2, replaced: true });
  assert.deepEqual([(await announced).peerId, (await announced).term], ['c', 3]);
  const event = await told;
  assert.deepEqual([event.reason, event.offences], ['faulty-aggregator', 2]);
  assert.match(
    event.message,
    /dropped by aggregator a for invalid frames; replaced as aggregator for a fault/,
  );
  assert.deepEqual([(await left).reason, (await left).term], ['expelled', 3]);
  assert.deepEqual(
    server.status().sessions[0]?.peers.map((p) => p.peerId),
    ['c', 'd'],
  );
});

test('the Redis store counts offences and expels like the memory store', { skip: REDIS_SKIP }, async (t) => {
  const redis = await startRedis(t);
  const client = createClient({ url: redis.url });
  await client.connect();
  deferCleanup(t, async () => {
    await client.close();
  });
  const limits = { maxSessions: 10, maxPeersPerSession: 10, now: () => 5000 };
  const memory = new MemorySessionStore(limits);
  const shared = new RedisSessionStore({
    client,
    prefix: 'offence:',
    instanceId: 'i',
    leaseMs: 60_000,
    ...limits,
  });
  await shared.start();
  await shared.renewLease();
  type Step = [peerId: string, kind: 'join' | 'leave' | 'fault' | 'drop', term: number, subject: string];
  const script: Step[] = [
    ['a', 'join', 0, ''],
    ['b', 'join', 0, ''],
    ['c', 'join', 0, ''],
    ['d', 'join', 0, ''],
    ['a', 'drop', 1, 'b'], // 4: b's first offence (report:a)
    ['a', 'drop', 1, 'b'], // the same aggregator again: still one
    ['b', 'drop', 1, 'c'], // not the aggregator
    ['a', 'drop', 0, 'c'], // stale term
    ['a', 'drop', 1, 'x'], // not a member
    ['a', 'drop', 1, 'a'], // itself
    ['a', 'leave', 0, ''], // 10: b aggregates, term 2
    ['c', 'fault', 2, 'b'],
    ['d', 'fault', 2, 'b'], // 12: b barred, its second offence: expelled; c aggregates, term 3
    ['b', 'join', 0, ''], // refused
    ['c', 'drop', 3, 'd'], // 14: d's first offence
    ['c', 'leave', 0, ''], // d aggregates, term 4
    ['e', 'join', 0, ''],
    ['d', 'drop', 4, 'e'], // 17: e's first offence (report:d)
    ['a', 'join', 0, ''], // a left before any offence: welcome back
  ];
  const run = async (store: SessionStore): Promise<unknown[]> => {
    const sessionId = await store.create(DEFAULT_SESSION_CONFIG);
    const key = (peerId: string) => ({ sessionId, peerId, socketId: `s-${peerId}` });
    const seen: unknown[] = [];
    for (const [peerId, kind, term, subject] of script) {
      try {
        if (kind === 'join') {
          const joined = await store.join(sessionId, {
            peerId,
            kind: 'headless',
            capabilities: {},
            ready: true,
            socketId: `s-${peerId}`,
          });
          seen.push([joined.aggregator.peerId, joined.aggregator.term, joined.peers.length]);
        } else if (kind === 'leave') {
          const left = await store.leave(key(peerId));
          seen.push(left.removed ? [left.aggregator.peerId, left.aggregator.term] : 'not removed');
        } else if (kind === 'fault') {
          const outcome = await store.reportUnreachable(
            key(peerId),
            { term, peerId: subject, reason: 'faulty' },
            10_000,
            2,
          );
          seen.push({ ...outcome, aggregator: { ...outcome.aggregator, sessionId: 'S' } });
        } else {
          seen.push(await store.reportPeer(key(peerId), { term, peerId: subject }, 2));
        }
      } catch (err) {
        seen.push(err instanceof SignalingError ? [err.code, err.detail, err.fatal] : String(err));
      }
    }
    return seen;
  };
  const fromMemory = await run(memory);
  const fromRedis = await run(shared);
  assert.deepEqual(fromRedis, fromMemory);
  // The script does what its comments say (so the comparison compares something).
  assert.deepEqual(fromMemory.slice(4, 10), [
    { offences: 1 },
    { offences: 1 },
    ['NOT_AGGREGATOR', 'b is not the aggregator of term 1', false],
    ['STALE_TERM', 'report for term 0, current term is 1', false],
    ['UNKNOWN_PEER', 'no peer x in this session', false],
    ['UNKNOWN_PEER', 'no peer a in this session', false],
  ]);
  assert.deepEqual(fromMemory[12], {
    reports: 2,
    needed: 2,
    aggregator: { sessionId: 'S', peerId: 'c', term: 3, lastRound: 0 },
    aggregatorChanged: true,
    barred: true,
    expelled: { peerId: 'b', socketId: 's-b', offences: ['report:a', 'barred'] },
  });
  assert.deepEqual(fromMemory[13], ['EXPELLED', 'peer b was expelled from this session', true]);
  assert.deepEqual(fromMemory[14], { offences: 1 });
  assert.deepEqual(fromMemory[17], { offences: 1 });
  assert.deepEqual(fromMemory[18], ['d', 4, 3]);
});
