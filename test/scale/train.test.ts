import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoundEvent } from '../../client/roles/events.ts';
import { Peer } from '../../client/roles/peer.ts';
import { withTimeout } from '../support/session.ts';
import { SignalingClient } from '../../client/signaling/index.ts';
import { deferCleanup, REDIS_SKIP, startInstances, startRedis, waitForSession } from './support.ts';

test(
  'peers connected to different signaling instances train MNIST together over WebRTC',
  { skip: REDIS_SKIP, timeout: 120_000 },
  async (t) => {
    const redis = await startRedis(t);
    const instances = await startInstances(t, redis.url, 2);
    const urls = instances.map((i) => i.url);
    const rounds = 6;
    const creator = new SignalingClient();
    await creator.connect(urls[1] ?? '');
    const { sessionId, token } = await creator.create({
      rounds,
      minPeers: 3,
      roundDeadlineMs: 15_000,
      evalEvery: rounds,
      syncPeriod: 3,
    });
    creator.close();

    // Peer i signals through instance i % 2: the aggregator and its workers are split.
    const peers = [0, 1, 2].map(
      (i) => new Peer({ serverUrl: urls[i % 2] ?? '', sessionId, token, kind: 'headless', peerId: `p${i}` }),
    );
    deferCleanup(t, async () => {
      await Promise.all(peers.map((p) => p.leave()));
    });
    // One at a time: client/signaling drops events that arrive in the same read as a join
    // ack, so a join racing the first peer's readiness can miss the aggregator.
    for (const peer of peers) await peer.start();
    const aggregator = peers.find((p) => p.currentRole === 'aggregator');
    assert.ok(aggregator !== undefined, 'one peer aggregates');
    const events: RoundEvent[] = [];
    aggregator.events.on('round', (e) => events.push(e));
    await withTimeout(Promise.all(peers.map((p) => p.finished)), 100_000, 'training to finish');
    assert.deepEqual(
      events.map((e) => e.round),
      Array.from({ length: rounds }, (_, i) => i),
    );
    for (const e of events) assert.equal(e.counted, 3, `round ${e.round} counted ${e.counted} of 3`);

    // Both instances report the rounds the aggregator recorded in Redis.
    for (const instance of instances) {
      const shown = await waitForSession(
        instance.server,
        sessionId,
        (s) => s.traffic.reportedRounds === rounds,
      );
      assert.equal(shown.aggregator.lastRound, rounds - 1);
      assert.equal(shown.aggregator.peerId, aggregator.peerId);
      // Each report carries its round's bytes: their sum is the aggregator's total.
      const last = events.at(-1);
      assert.deepEqual(
        { up: shown.traffic.up, down: shown.traffic.down },
        { up: last?.bytesUp, down: last?.bytesDown },
      );
      assert.equal(shown.lastReport?.metrics?.testAccuracy, last?.testAccuracy);
    }
  },
);
