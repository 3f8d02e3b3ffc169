/**
 * The tab's signaling connection dropping and coming back, in the store: followSignaling
 * (a drop starts `reconnecting` with the retry delay; the rejoin's reply is news: joins,
 * drops, the aggregator) on a stand-in client; then a non-training SessionConnection against
 * a real server that stops and starts again on the same port: with the sessions in Redis the
 * tab rejoins with its peer id and the reconnect state clears; with the sessions in memory
 * the restarted server forgot the session, so the tab gives up with a `signaling` error and
 * keeps the session on screen.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { followSignaling } from '../../client/ui/feeds/signaling-feed.ts';
import { SessionConnection } from '../../client/ui/session-connection.ts';
import { SessionStore } from '../../client/ui/state.ts';
import {
  SignalingClient,
  type JoinedSession,
  type SignalingClientEvents,
} from '../../client/signaling/index.ts';
import { DEFAULT_SESSION_CONFIG } from '../../shared/protocol/session-config.ts';
import {
  createSignalingServer,
  type SignalingServer,
  type SignalingServerInit,
} from '../../signaling/index.ts';
import { REDIS_SKIP, SHARED_SECRET, startRedis } from '../scale/support.ts';
import { storeReaches } from './helpers.ts';

/** The kinds of the store's events (read through a function: assertions narrow property reads). */
function eventKinds(store: SessionStore): string[] {
  return store.state.events.map((e) => e.kind);
}

/** A signaling client whose events the test fires. */
class StandInClient extends SignalingClient {
  fire<K extends keyof SignalingClientEvents>(name: K, ...args: Parameters<SignalingClientEvents[K]>): void {
    this.emit(name, ...args);
  }
}

function joinReply(peers: string[], aggregator: string, term: number): JoinedSession {
  return {
    sessionId: 'session-1',
    peerId: 'me',
    config: { ...DEFAULT_SESSION_CONFIG, rounds: 50 },
    peers: peers.map((peerId, i) => ({
      peerId,
      kind: 'browser' as const,
      role: peerId === aggregator ? ('aggregator' as const) : ('worker' as const),
      ready: true,
      capabilities: {},
      connectedAt: i,
    })),
    aggregator: { sessionId: 'session-1', peerId: aggregator, term, lastRound: 3 },
    heartbeatIntervalMs: 1000,
    heartbeatTimeoutMs: 5000,
    serverTime: 0,
  };
}

test('followSignaling: a drop starts reconnecting; the rejoin clears it and brings the news', () => {
  let now = 10_000;
  const store = new SessionStore({ now: () => now });
  const first = new StandInClient();
  const firstFollow = new AbortController();
  followSignaling(first, joinReply(['me', 'a', 'b'], 'a', 1), store, firstFollow.signal, {
    first: true,
    retryDelayMs: 750,
  });
  assert.equal(store.state.local.connection, 'joined');
  assert.equal(store.state.session.config?.rounds, 50, 'the running config is kept');
  assert.deepEqual(store.state.events, [], 'the first reply is a snapshot');

  now = 11_000;
  first.fire('disconnect', { reason: 'transport close' });
  assert.equal(store.state.local.connection, 'reconnecting');
  assert.deepEqual(store.state.local.reconnect, {
    since: 11_000,
    retryDelayMs: 750,
    reason: 'transport close',
  });
  assert.equal(store.state.session.id, 'session-1', 'the session stays');
  store.setError('status', 'cannot read the status');

  // The membership joined again with a new client: b left meanwhile, c came, c aggregates.
  firstFollow.abort();
  now = 14_000;
  const second = new StandInClient();
  followSignaling(second, joinReply(['me', 'a', 'c'], 'c', 2), store, new AbortController().signal, {
    first: false,
    retryDelayMs: 750,
  });
  const { local, events, peers, session } = store.state;
  assert.equal(local.connection, 'joined');
  assert.equal(local.reconnect, null);
  assert.equal(session.aggregatorPeerId, 'c');
  assert.equal(session.term, 2);
  assert.equal(peers.find((p) => p.peerId === 'b')?.state, 'dropped');
  assert.deepEqual(eventKinds(store), ['disconnect', 'aggregator', 'reconnect', 'join', 'drop']);
  assert.equal(events.length, 5);
  first.fire('peer:left', { sessionId: 'session-1', peerId: 'a', reason: 'disconnect', term: 2 });
  assert.notEqual(
    store.state.peers.find((p) => p.peerId === 'a')?.state,
    'dropped',
    'the old client is not followed',
  );
});

/** A signaling server that can stop and start again on the same port. */
async function restartable(init: SignalingServerInit): Promise<{
  url: string;
  stop: () => Promise<void>;
  restart: () => Promise<void>;
  close: () => Promise<void>;
}> {
  let server: SignalingServer = createSignalingServer({
    logLevel: 'silent',
    ...init,
  });
  const url = await server.start({ port: 0, host: '127.0.0.1' });
  const port = Number(new URL(url).port);
  return {
    url,
    stop: () => server.stop(),
    restart: async () => {
      server = createSignalingServer({
        logLevel: 'silent',
        ...init,
      });
      await server.start({ port, host: '127.0.0.1' });
    },
    close: () => server.stop(),
  };
}

test(
  'a non-training tab rejoins after the server restarts (sessions in Redis)',
  { skip: REDIS_SKIP, timeout: 60_000 },
  async (t) => {
    const redis = await startRedis(undefined);
    const server = await restartable({
      redisUrl: redis.url,
      secret: SHARED_SECRET,
      heartbeatIntervalMs: 200,
    });
    const store = new SessionStore();
    const connection = new SessionConnection({
      baseUrl: server.url,
      store,
      retryDelayMs: 200,
      statusPollMs: 200,
    });
    // In this order: the tab, the server, then the Redis it uses.
    t.after(async () => {
      connection.close();
      await server.close();
      await redis.stop();
    });
    const created = await connection.create({ rounds: 30 });
    assert.equal(store.state.local.connection, 'joined');

    await server.stop();
    const down = await storeReaches(store, (s) => s.local.connection === 'reconnecting');
    assert.equal(down.local.reconnect?.retryDelayMs, 200);
    assert.equal(down.session.id, created.sessionId);

    await server.restart();
    const back = await storeReaches(store, (s) => s.local.connection === 'joined', 15_000);
    assert.equal(back.local.reconnect, null);
    assert.equal(back.local.peerId, created.peerId, 'the same peer id');
    assert.deepEqual(back.local.errors, []);
    assert.deepEqual(
      back.events.map((e) => e.kind).filter((k) => k === 'disconnect' || k === 'reconnect'),
      ['disconnect', 'reconnect'],
    );
  },
);

test(
  'a restarted server that forgot the session: the tab gives up with an error, the session stays',
  { timeout: 60_000 },
  async (t) => {
    // The same secret after the restart: the token still verifies, the session is gone.
    const server = await restartable({ secret: SHARED_SECRET, heartbeatIntervalMs: 200 });
    t.after(() => server.close());
    const store = new SessionStore();
    const connection = new SessionConnection({
      baseUrl: server.url,
      store,
      retryDelayMs: 100,
      retryAttempts: 50,
    });
    t.after(() => connection.close());
    const created = await connection.create({ rounds: 30 });
    await server.stop();
    await storeReaches(store, (s) => s.local.connection === 'reconnecting');
    await server.restart();
    const gone = await storeReaches(store, (s) => s.local.connection === 'closed', 15_000);
    assert.match(gone.local.errors.find((e) => e.source === 'signaling')?.message ?? '', /UNKNOWN_SESSION/);
    assert.equal(gone.local.reconnect, null);
    assert.equal(gone.session.id, created.sessionId, 'the dashboard keeps the session until the user leaves');
  },
);
