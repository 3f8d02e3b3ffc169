import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordPeer } from '../support/recorder.ts';
import { modelSha256 } from '../../shared/model-hash.ts';
import { startTestSession, withTimeout } from '../support/session.ts';

// With a rolling sync the model goes out while a block's delta may still be pending close.
for (const syncMode of ['full', 'rolling'] as const) {
  test(
    `a late joiner receives the model once and is counted in a later round (${syncMode} syncs)`,
    { timeout: 90_000 },
    async () => {
      const rounds = 30;
      const session = await startTestSession({
        rounds,
        minPeers: 2,
        roundDeadlineMs: 5000,
        evalEvery: 1000,
        algorithm: 'liec',
        syncMode,
        syncPeriod: syncMode === 'full' ? 10 : 4,
        // The default (lossy) sync codec and compensation: every peer still ends on one model.
      });
      try {
        const aggregator = await session.addPeer({ peerId: 'agg' });
        const log = recordPeer(aggregator);
        await session.addPeer({ peerId: 'early' });
        await log.next('round', (e) => e.round >= 5, 60_000, 'round 5');
        const joiner = await session.addPeer({ peerId: 'late' });
        const joined = recordPeer(joiner);
        const model = await joined.next('model', (e) => e.source === 'aggregator', 20_000, 'the model');
        assert.ok(model.round >= 5, `model of round ${model.round}`);
        // It did not start from the seed weights: the server had reported rounds already.
        assert.equal(joined.events.model.filter((e) => e.source === 'seed').length, 0);
        const counted = await log.next(
          'round',
          (e) => e.participants.includes('late'),
          20_000,
          'the joiner counted',
        );
        assert.ok(counted.round >= model.round, `counted in round ${counted.round}`);
        // From then on it is expected in every round.
        for (const e of log.events.round.filter((r) => r.round > counted.round))
          assert.equal(e.expected, 3, `round ${e.round}`);
        await withTimeout(Promise.all(session.peers.map((p) => p.finished)), 60_000, 'training to finish');
        // It received the model exactly once, and ends on the same synced model as everyone.
        assert.equal(joined.events.model.length, 1);
        const hashes = await Promise.all(
          session.peers.map((p) => modelSha256(p.model() ?? new Float32Array(0))),
        );
        assert.equal(new Set(hashes).size, 1, `model hashes ${hashes.join(', ')}`);
        const last = log.events.round.at(-1);
        assert.equal(last?.round, rounds - 1);
        assert.deepEqual(last.participants.sort(), ['agg', 'early', 'late']);
        log.stop();
        joined.stop();
      } finally {
        await session.close();
      }
    },
  );
}
