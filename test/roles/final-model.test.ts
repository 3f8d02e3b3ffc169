/**
 * One model at the end: a worker cut off during the last round misses the final broadcast and
 * sync, and links again once the aggregator is done. The aggregator's `done` names its final
 * model (modelDigest); the worker, holding another one, asks for it and ends on it, instead of
 * finishing on a model nobody else holds. Three in-process peers over real WebRTC.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelSha256 } from '../../shared/model-hash.ts';
import { startTestSession, withTimeout } from '../support/session.ts';

const ROUNDS = 8;

test(
  'a worker that missed the final sync fetches the final model and ends on it',
  { timeout: 90_000 },
  async () => {
    const session = await startTestSession({
      rounds: ROUNDS,
      minPeers: 3,
      evalEvery: 1000,
      roundDeadlineMs: 4000,
    });
    try {
      const peers = [];
      for (const peerId of ['a-agg', 'b-one', 'c-cut']) peers.push(await session.addPeer({ peerId }));
      const [aggregator, , cut] = peers;
      assert.ok(aggregator !== undefined && cut !== undefined);
      assert.equal(aggregator.currentRole, 'aggregator');
      const fetched: number[] = [];
      cut.events.on('model', (e) => {
        if (e.source === 'aggregator') fetched.push(e.round);
      });
      let cutAtRound = -1;
      aggregator.events.on('round', (e) => {
        // The last round is closing: its broadcast and the final sync go on without c.
        if (e.round === ROUNDS - 2 && cutAtRound < 0) {
          cutAtRound = e.round;
          cut.partitionLinks(3000);
        }
      });
      const aggregatorDone = await withTimeout(aggregator.finished, 60_000, 'the aggregator to finish');
      const cutDone = await withTimeout(cut.finished, 60_000, 'the cut worker to finish');
      await withTimeout(Promise.all(peers.map((p) => p.finished)), 30_000, 'every peer to finish');
      assert.equal(cutAtRound, ROUNDS - 2);
      assert.equal(aggregatorDone.round, cutDone.round);
      const hashes = await Promise.all(peers.map((p) => modelSha256(p.model() ?? new Float32Array(0))));
      assert.equal(new Set(hashes).size, 1, `model hashes ${hashes.join(', ')}`);
      assert.ok(fetched.length > 0, 'the cut worker was sent the final model');
    } finally {
      await session.close();
    }
  },
);
