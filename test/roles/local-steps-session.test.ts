/**
 * The local-step baselines in real sessions: peers over WebRTC on loopback, a real signaling
 * server, MNIST. diloco: every upload counts (in its round or late), uploads are fp32 pseudo-gradients,
 * accuracy rises, all peers end on one model. sparseloco: the aggregator leaves mid-session,
 * the next peer takes over and the rest train on to the same model.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RoundEvent } from '../../client/roles/events.ts';
import { modelSha256 } from '../../shared/model-hash.ts';
import { startTestSession, withTimeout } from '../support/session.ts';

test(
  'diloco, H = 4, 3 peers: every upload counts, fp32 pseudo-gradients, one model at the end',
  {
    timeout: 120_000,
  },
  async () => {
    const rounds = 10;
    const session = await startTestSession({
      rounds,
      minPeers: 3,
      algorithm: 'diloco',
      localSteps: 4,
      up: 'identity',
      down: 'identity',
      roundDeadlineMs: 10_000,
      evalEvery: 5,
    });
    try {
      const peers = await Promise.all([0, 1, 2].map(() => session.addPeer()));
      const aggregator = peers.find((p) => p.currentRole === 'aggregator');
      assert.ok(aggregator !== undefined, 'one peer is the aggregator');
      const events: RoundEvent[] = [];
      aggregator.events.on('round', (e) => events.push(e));
      const done = await withTimeout(
        Promise.all(peers.map((p) => p.finished)).then(() => aggregator.finished),
        110_000,
        'training to finish on every peer',
      );
      assert.deepEqual(
        events.map((e) => e.round),
        Array.from({ length: rounds }, (_, i) => i),
      );
      // Every upload counts: in its own round, or folded in late in the next one. A worker the
      // aggregator stopped expecting (round 0 opening before the last joiner holds the model, or
      // a worker whose event loop stood still past the silence limit on a loaded machine: the
      // three peers share one process) misses its round, not its upload.
      const counted = events.map((e) => e.counted);
      const summary = `counted per round: ${counted.join(', ')}; late ${events.map((e) => JSON.stringify(e.lateUploads)).join(' ')}`;
      const short = events.filter((e) => e.counted < 3);
      assert.ok(short.length <= 2, summary);
      for (const e of short.filter((x) => x.round < rounds - 1)) {
        const folded = events.flatMap((x) => x.lateUploads).filter((u) => u.round === e.round).length;
        assert.equal(e.counted + folded, 3, `round ${e.round}: ${summary}`);
      }
      // 10 rounds of 4 local steps: the simulator (same code) is past 80% there; chance is 10%.
      assert.ok((done.testAccuracy ?? 0) > 0.75, `final accuracy ${done.testAccuracy}`);
      // Full precision both ways: the wire carries what fp32 would (frame headers aside).
      const last = events.at(-1);
      assert.ok(last !== undefined && last.bytesUp >= last.fp32BytesUp * 0.99, 'fp32 uploads');
      assert.equal(
        events.reduce((n, e) => n + (e.drift ?? 0), 0),
        0,
        'no drift',
      );
      const hashes = await Promise.all(peers.map((p) => modelSha256(p.model() ?? new Float32Array(0))));
      assert.equal(new Set(hashes).size, 1, `model hashes ${hashes.join(', ')}`);
    } finally {
      await session.close();
    }
  },
);

test(
  'sparseloco: the aggregator leaves at round 5, the next one takes over, the rest end on one model',
  {
    timeout: 120_000,
  },
  async () => {
    const session = await startTestSession({
      rounds: 14,
      minPeers: 3,
      algorithm: 'sparseloco',
      localSteps: 4,
      up: 'topk:0.02:sign',
      down: 'topk:0.02:sign',
      roundDeadlineMs: 3000,
      evalEvery: 5,
    });
    try {
      const first = await session.addPeer({ peerId: 'a1' });
      await Promise.all([session.addPeer({ peerId: 'b2' }), session.addPeer({ peerId: 'c3' })]);
      await session.waitForStatus((s) => s.aggregator.lastRound >= 5, 60_000, 'round 5');
      assert.equal(first.currentRole, 'aggregator');
      await first.leave();
      const rest = session.peers.filter((p) => p !== first);
      const results = await withTimeout(Promise.all(rest.map((p) => p.finished)), 90_000, 'training done');
      assert.ok(
        rest.some((p) => p.currentRole === 'aggregator'),
        'a successor aggregates',
      );
      const accuracy = results.map((r) => r.testAccuracy).find((a) => a !== null && a !== undefined);
      // 14 rounds of 4 steps with top-2% uploads: well above chance (10%) if the handover kept
      // the model; the simulator reaches 80%+ there.
      assert.ok((accuracy ?? 0) > 0.6, `final accuracy ${accuracy}`);
      const status = session.status();
      assert.ok(status !== undefined && status.traffic.reportedRounds >= 12);
      const hashes = await Promise.all(rest.map((p) => modelSha256(p.model() ?? new Float32Array(0))));
      assert.equal(new Set(hashes).size, 1, `model hashes ${hashes.join(', ')}`);
    } finally {
      await session.close();
    }
  },
);
