/**
 * Every peer reports the round trip time of its links with its heartbeats (the dashboard's
 * RTT column reads it from /status): a worker its link to the aggregator, the aggregator the
 * mean over its workers' links, measured by WebRTC on real data channels.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startTestSession } from '../support/session.ts';

test("each peer reports its links' round trip time in its heartbeats", { timeout: 60_000 }, async () => {
  const session = await startTestSession(
    { rounds: 1000, minPeers: 3, roundDeadlineMs: 2000, evalEvery: 1000 },
    { heartbeatIntervalMs: 200, heartbeatTimeoutMs: 5000 },
  );
  try {
    await Promise.all([0, 1, 2].map(() => session.addPeer({ rttSampleIntervalMs: 100 })));
    const status = await session.waitForStatus(
      (s) => s.peers.length === 3 && s.peers.every((p) => p.stats?.['rttMs'] !== undefined),
      30_000,
      'an RTT from every peer',
    );
    for (const p of status.peers) {
      const rtt = p.stats?.['rttMs'] ?? Number.NaN;
      assert.ok(Number.isFinite(rtt) && rtt >= 0 && rtt < 1000, `${p.peerId}: ${rtt} ms on loopback`);
    }
  } finally {
    await session.close();
  }
});
