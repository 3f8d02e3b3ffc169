/**
 * LIEC with H local steps in a real session: 3 peers over WebRTC on loopback, a real
 * signaling server, MNIST. Every round carries top-k pseudo-gradients both ways, the workers'
 * own residuals make them drift until the syncs, accuracy rises well past the untrained
 * model's, and the final sync leaves every peer on one model.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { RoundEvent } from '../../client/roles/events.ts';
import { createMnistLearner } from '../../client/training/mnist-learner.ts';
import { parsePartitionSpec } from '../../shared/data/spec.ts';
import { modelSha256 } from '../../shared/model-hash.ts';
import { parseSessionConfig, type SessionConfigInput } from '../../shared/protocol/session-config.ts';
import { startTestSession, withTimeout } from '../support/session.ts';

test(
  'liec, H = 4, 3 peers: compressed pseudo-gradients, drift between syncs, trains, one model at the end',
  {
    timeout: 120_000,
  },
  async (t) => {
    const rounds = 12;
    const config: SessionConfigInput = {
      rounds,
      minPeers: 3,
      algorithm: 'liec',
      localSteps: 4,
      up: 'topk:0.01',
      down: 'topk:0.01',
      compensation: 1,
      syncPeriod: 5,
      roundDeadlineMs: 10_000,
      evalEvery: 4,
    };
    // The model every peer starts from, evaluated on the same test set.
    const parsed = parseSessionConfig(config);
    const learner = await createMnistLearner({
      workers: parsed.dataShards,
      partition: parsePartitionSpec(parsed.partition),
      batchSize: parsed.batchSize,
      seed: parsed.seed,
      arch: parsed.model,
      log: () => {},
    });
    const untrained = learner.evaluate(learner.initialWeights()).accuracy;
    const session = await startTestSession(config);
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
      const counted = events.map((e) => e.counted);
      assert.ok(
        counted.slice(1).every((n) => n >= 2),
        `counted per round: ${counted.join(', ')}`,
      );
      // 12 exchanges of 4 steps at top-k 1%: the simulator (same code) is near 80%; chance is 10%.
      const accuracy = done.testAccuracy ?? 0;
      assert.ok(accuracy > untrained + 0.4, `final accuracy ${accuracy} vs ${untrained} untrained`);
      t.diagnostic(`accuracy ${accuracy} (untrained ${untrained})`);
      // Top-k 1% both ways: far below fp32 (syncs included).
      const last = events.at(-1);
      assert.ok(last !== undefined && last.bytesUp < last.fp32BytesUp / 5, 'compressed uploads');
      // alpha = 1: each worker's own residual moves it off x_common between syncs.
      assert.ok(
        events.some((e) => (e.drift ?? 0) > 0),
        'LIEC drift between syncs',
      );
      const hashes = await Promise.all(peers.map((p) => modelSha256(p.model() ?? new Float32Array(0))));
      assert.equal(new Set(hashes).size, 1, `model hashes ${hashes.join(', ')}`);
    } finally {
      learner.dispose();
      await session.close();
    }
  },
);
