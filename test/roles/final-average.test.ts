/**
 * A session ends on the mean of its last rounds' models (shared/algorithm/tail-average.ts),
 * and every peer that applied those rounds holds the same one without asking the aggregator
 * for it. Three in-process peers over real WebRTC.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TailAverage, tailAverageFrom } from '../../shared/algorithm/tail-average.ts';
import { modelSha256 } from '../../shared/model-hash.ts';
import type { Peer } from '../../client/roles/peer.ts';
import { startTestSession, withTimeout } from '../support/session.ts';

const ROUNDS = 12;
const SHARE = 0.5;

/** Each peer's shared model after each round's broadcast (x_common for LIEC). */
function recordModels(peer: Peer): Map<number, Float32Array> {
  const models = new Map<number, Float32Array>();
  const take = (round: number): void => {
    const state = peer.checkpointState();
    const model = state?.common ?? peer.model();
    if (model !== null && model !== undefined) models.set(round, Float32Array.from(model));
  };
  peer.events.on('applied', (e) => take(e.round));
  peer.events.on('round', (e) => take(e.round));
  return models;
}

async function runSession(algorithm: 'liec' | 'doublesqueeze') {
  const session = await startTestSession({
    algorithm,
    rounds: ROUNDS,
    finalAverageShare: SHARE,
    minPeers: 3,
    evalEvery: 1000,
    roundDeadlineMs: 10_000,
    up: 'topk:0.1',
    down: 'topk:0.1',
  });
  try {
    const peers: Peer[] = [];
    for (const peerId of ['a-agg', 'b-one', 'c-two']) peers.push(await session.addPeer({ peerId }));
    const recorded = peers.map(recordModels);
    const fetched: string[] = [];
    for (const peer of peers)
      peer.events.on('model', (e) => {
        if (e.source === 'aggregator') fetched.push(`${peer.peerId} at round ${e.round}`);
      });
    await withTimeout(Promise.all(peers.map((p) => p.finished)), 60_000, 'every peer to finish');
    const finals = peers.map((p) => p.model() ?? new Float32Array(0));
    return { finals, recorded, fetched };
  } finally {
    await session.close();
  }
}

test(
  'LIEC: every peer ends on the same mean of the last rounds, none fetches it',
  { timeout: 90_000 },
  async () => {
    const { finals, recorded, fetched } = await runSession('liec');
    assert.deepEqual(fetched, [], "no peer needed the aggregator's final model");
    const hashes = await Promise.all(finals.map((m) => modelSha256(m)));
    assert.equal(new Set(hashes).size, 1, `model hashes ${hashes.join(', ')}`);
    // The mean, not the last model: x_common of the last rounds differ from it.
    const final = finals[0] as Float32Array;
    const beforeLast = recorded[0]?.get(ROUNDS - 2);
    assert.ok(beforeLast !== undefined);
    assert.notDeepEqual(final, beforeLast);
  },
);

test(
  'doublesqueeze: the final model is bit for bit the mean of the recorded rounds',
  { timeout: 90_000 },
  async () => {
    const { finals, recorded, fetched } = await runSession('doublesqueeze');
    assert.deepEqual(fetched, []);
    const from = tailAverageFrom(ROUNDS, SHARE);
    for (const [index, models] of recorded.entries()) {
      const expected = new TailAverage();
      for (let round = from; round < ROUNDS - 1; round++) {
        const model = models.get(round);
        assert.ok(model !== undefined, `peer ${index} recorded round ${round}`);
        expected.add(round, model);
      }
      const last = models.get(ROUNDS - 1);
      assert.ok(last !== undefined);
      const mean = expected.finish(last);
      assert.deepEqual(finals[index], mean, `peer ${index}'s final model`);
    }
  },
);
