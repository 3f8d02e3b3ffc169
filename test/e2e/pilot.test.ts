/**
 * Running a pilot, for real: three peers over WebRTC on loopback training on MNIST against a
 * real signaling server. The server's Prometheus metrics agree with what the session did;
 * an operator lists the aggregator's snapshots and rolls the session back, and every peer
 * continues from the snapshot's exact bits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RoundEvent } from '../../client/roles/events.ts';
import type { Peer } from '../../client/roles/peer.ts';
import { SignalingClient } from '../../client/signaling/index.ts';
import { modelSha256 } from '../../shared/model-hash.ts';
import { SignalingError } from '../../shared/protocol/signaling.ts';
import { startTestSession, waitFor, withTimeout } from '../support/session.ts';

/** The value of one sample line of a Prometheus text exposition, or NaN when absent. */
function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? Number.NaN : Number(line.slice(series.length + 1));
}

test(
  'GET /metrics after a real session with a failover agrees with the session',
  { timeout: 120_000 },
  async () => {
    const session = await startTestSession({ rounds: 30, minPeers: 3, evalEvery: 10, roundDeadlineMs: 3000 });
    try {
      const first = await session.addPeer({ peerId: 'a1' });
      await Promise.all([session.addPeer({ peerId: 'b2' }), session.addPeer({ peerId: 'c3' })]);
      await session.waitForStatus((s) => s.aggregator.lastRound >= 10, 60_000, 'round 10');
      assert.equal(first.currentRole, 'aggregator');
      await first.leave(); // a failover: the next one takes over
      const rest = session.peers.filter((p) => p !== first);
      await withTimeout(Promise.all(rest.map((p) => p.finished)), 60_000, 'training done');
      // The last round's report leaves as training ends: wait until the server has it.
      const status = await session.waitForStatus(
        (s) => s.aggregator.lastRound >= 29,
        10_000,
        'the last report',
      );
      const text = await (await fetch(`${session.url}/metrics`)).text();

      const rounds = sample(text, 'liec_rounds_total');
      assert.equal(rounds, status.traffic.reportedRounds, 'every accepted round:report counted');
      assert.ok(rounds >= 25, `${rounds} rounds reported`);
      assert.equal(sample(text, 'liec_round_bytes_total{direction="up"}'), status.traffic.up);
      assert.equal(sample(text, 'liec_round_bytes_total{direction="down"}'), status.traffic.down);
      assert.ok(status.traffic.up > 0 && status.traffic.down > 0);
      assert.equal(sample(text, 'liec_round_duration_seconds_count'), rounds, 'one duration per round');
      assert.ok(sample(text, 'liec_round_duration_seconds_sum') > 0);
      assert.equal(sample(text, 'liec_failovers_total{cause="disconnect"}'), 1);
      assert.equal(sample(text, 'liec_failovers_total{cause="unreachable"}'), 0);
      assert.equal(sample(text, 'liec_sessions'), 1);
      assert.equal(sample(text, 'liec_peers{kind="headless",role="aggregator"}'), 1);
      assert.equal(sample(text, 'liec_peers{kind="headless",role="worker"}'), 1);
      assert.equal(sample(text, 'liec_peers{kind="browser",role="worker"}'), 0);
      assert.equal(sample(text, 'liec_peer_rejected_frames'), 0);
      assert.ok(sample(text, 'liec_signaling_process_resident_memory_bytes') > 0, 'process metrics');
    } finally {
      await session.close();
    }
  },
);

test(
  'an operator rolls the session back to a snapshot: every peer continues from its exact model',
  { timeout: 180_000 },
  async () => {
    const session = await startTestSession({
      rounds: 5000,
      minPeers: 3,
      evalEvery: 5,
      roundDeadlineMs: 3000,
    });
    const operator = new SignalingClient();
    try {
      const snapshots = { everyRounds: 10, keep: 10 };
      // Slowed down a little, so that the session is still far from the snapshots it rolls back to.
      const settings = { computeDelayMs: 20 };
      await session.addPeer({ peerId: 'a1', snapshots });
      await Promise.all([
        session.addPeer({ peerId: 'b2', snapshots, settings }),
        session.addPeer({ peerId: 'c3', snapshots, settings }),
      ]);
      await session.waitForStatus((s) => s.aggregator.lastRound >= 42, 90_000, 'round 42');
      await operator.connect(session.url);

      const listed = await operator.listSnapshots(session.sessionId);
      assert.equal(listed.aggregatorId, 'a1');
      const rounds = listed.snapshots.map((s) => s.round);
      assert.ok(rounds.length >= 4 && rounds.every((r) => (r + 1) % 10 === 0), `kept ${rounds.join(', ')}`);
      // Not the newest: the round loop goes on meanwhile, and evicts only the oldest.
      const target = listed.snapshots[listed.snapshots.length - 2];
      assert.ok(target !== undefined && target.testAccuracy !== null && target.testAccuracy > 0.3);
      await assert.rejects(
        operator.rollback(session.sessionId, 10),
        (err: unknown) => err instanceof SignalingError && err.code === 'UNKNOWN_SNAPSHOT',
      );

      // Each peer's model as it adopts the snapshot (copied at the event, hashed after).
      const adopted = (peer: Peer) =>
        waitFor<{ round: number; model: Float32Array | null }>(
          (listener) => peer.events.on('model', (e) => listener({ round: e.round, model: peer.model() })),
          (e) => e.round > target.round + 1,
          60_000,
          `${peer.peerId} adopts the snapshot`,
        );
      const adoptions = session.peers.map(adopted);
      const aggregator = session.peers[0];
      assert.ok(aggregator !== undefined && aggregator.currentRole === 'aggregator');
      // Registered before the rollback: that round may close before the hashes below are done.
      const closed: RoundEvent[] = [];
      const offRounds = aggregator.events.on('round', (e) => closed.push(e));
      const rolled = await operator.rollback(session.sessionId, target.round);
      const continuesAt = rolled.continuesAt;
      assert.ok(continuesAt !== undefined && continuesAt > target.round);
      const models = await Promise.all(adoptions);
      for (const [i, m] of models.entries()) {
        assert.equal(m.round, continuesAt, `peer ${i} continues at the announced round`);
        assert.ok(m.model !== null);
        assert.equal(await modelSha256(m.model), target.modelSha256, `peer ${i} holds the snapshot`);
      }
      // Training goes on from it with every peer counted.
      const next =
        closed.find((e) => e.round >= continuesAt) ??
        (await waitFor<RoundEvent>(
          (listener) => aggregator.events.on('round', listener),
          (e) => e.round >= continuesAt,
          30_000,
          'a round after the rollback',
        ));
      offRounds();
      assert.equal(next.round, continuesAt, 'the first round after it is the announced one');
      assert.equal(next.counted, 3, 'every peer counted in it');
    } finally {
      operator.close();
      await session.close();
    }
  },
);
