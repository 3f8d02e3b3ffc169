/**
 * One model at the end: a worker cut off during the last round misses the final broadcast and
 * sync, and links again once the aggregator is done. The aggregator's `done` names its final
 * model (modelDigest); the worker, holding another one, asks for it and ends on it, instead of
 * finishing on a model nobody else holds. One cut off for longer, elected once the others left,
 * does not train on alone: it ends on its own model and says so (missedEnd, final-model.ts).
 * Three in-process peers over real WebRTC.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelSha256 } from '../../shared/model-hash.ts';
import type { Peer } from '../../client/roles/peer.ts';
import { missedEnd } from '../../client/roles/final-model.ts';
import type { PeerSettings } from '../../client/roles/settings.ts';
import { startTestSession, withTimeout } from '../support/session.ts';

const ROUNDS = 8;

/**
 * A session of ROUNDS rounds and three in-process peers: the aggregator, another worker, and
 * the worker the test cuts off; `fetched` lists the rounds of the models the aggregator sent it.
 */
async function threePeers(aggregatorSettings: Partial<PeerSettings> = {}) {
  const session = await startTestSession({
    rounds: ROUNDS,
    minPeers: 3,
    evalEvery: 1000,
    roundDeadlineMs: 4000,
  });
  const peers: Peer[] = [];
  peers.push(await session.addPeer({ peerId: 'a-agg', settings: aggregatorSettings }));
  for (const peerId of ['b-one', 'c-cut']) peers.push(await session.addPeer({ peerId }));
  const [aggregator, other, cut] = peers;
  assert.ok(aggregator !== undefined && other !== undefined && cut !== undefined);
  assert.equal(aggregator.currentRole, 'aggregator');
  const fetched: number[] = [];
  cut.events.on('model', (e) => {
    if (e.source === 'aggregator') fetched.push(e.round);
  });
  return { session, peers, aggregator, other, cut, fetched };
}

test('missedEnd: elected after the last round is reported, from a round before it, or at it with nobody left', () => {
  const rounds = 300;
  assert.deepEqual(missedEnd(299, 11, rounds, true), { round: 11, lastRound: 299 });
  assert.deepEqual(missedEnd(299, 298, rounds, false), { round: 298, lastRound: 299 });
  // At the last round: with others left its aggregator died after reporting it, and it closes
  // the round again with them; alone, the others left with the final model.
  assert.equal(missedEnd(299, 299, rounds, true), null);
  assert.deepEqual(missedEnd(299, 299, rounds, false), { round: 299, lastRound: 299 });
  assert.equal(missedEnd(299, 300, rounds, false), null);
  // Before the end, a peer behind is elected to train on.
  assert.equal(missedEnd(250, 11, rounds, false), null);
  // One round: lastRound is 0 before any report too, and the first aggregator starts alone.
  assert.equal(missedEnd(0, 0, 1, false), null);
});

test(
  'a worker that missed the final sync fetches the final model and ends on it',
  { timeout: 90_000 },
  async () => {
    const { session, peers, aggregator, cut, fetched } = await threePeers();
    try {
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

test(
  'an aggregator that leaves at the end, as `liec join` does, first serves a worker that missed the final sync',
  { timeout: 120_000 },
  async () => {
    // The linger bounds the wait for c (default 5 s). c comes back 3 s after the cut plus a
    // relink, which under load took longer than 5 s once: the aggregator left unserved and the
    // server elected c. The wait ends when c leaves, so a longer bound costs nothing here.
    const { session, aggregator, other, cut, fetched } = await threePeers({ finalModelLingerMs: 30_000 });
    try {
      const roles: string[] = [];
      cut.events.on('role', (e) => roles.push(e.role));
      // Cut once the last round is reported (its event follows the report): the final sync goes
      // on without c, and c's silent report, past aggregatorSilenceMs, comes after the server
      // knows training is over. Cut a round earlier, c's report raced the aggregator's drop of c
      // in the last round, and c could be elected before that round was reported.
      aggregator.events.on('round', (e) => {
        if (e.round === ROUNDS - 1) cut.partitionLinks(3000);
      });
      // What `liec join` does once training is over: wait for the final model to be served, leave.
      const exitLikeTheCli = async (peer: Peer) => {
        await peer.finished;
        const model = peer.model();
        await peer.finalModelServed();
        await peer.leave();
        return model;
      };
      const [aggregatorModel, otherModel, cutModel] = await withTimeout(
        Promise.all([exitLikeTheCli(aggregator), exitLikeTheCli(other), exitLikeTheCli(cut)]),
        75_000,
        'every peer to finish and leave',
      );
      const [want, second, got] = await Promise.all(
        [aggregatorModel, otherModel, cutModel].map((m) => modelSha256(m ?? new Float32Array(0))),
      );
      assert.equal(second, want);
      assert.deepEqual(roles, [], 'the cut worker never took over the finished session');
      assert.equal(got, want, 'the cut worker ends on the final model');
      assert.ok(fetched.length > 0, 'it was sent the final model');
    } finally {
      await session.close();
    }
  },
);

for (const { cutAfter, what } of [
  { cutAfter: ROUNDS - 3, what: 'through the last rounds' },
  { cutAfter: ROUNDS - 1, what: 'as the last round closes (it misses the final sync)' },
]) {
  test(
    `a worker cut off ${what} and elected once the others left does not train on alone: it ends on its own model, said so`,
    { timeout: 120_000 },
    async () => {
      // The aggregator waits for it only a moment before leaving: the cut outlasts that wait.
      const { session, aggregator, other, cut } = await threePeers({ finalModelLingerMs: 200 });
      try {
        const roles: string[] = [];
        cut.events.on('role', (e) => roles.push(e.role));
        let cutAtRound = -1;
        aggregator.events.on('round', (e) => {
          if (e.round === cutAfter && cutAtRound < 0) {
            cutAtRound = e.round;
            cut.partitionLinks(15_000);
          }
        });
        // The other two end and leave; the server then elects the one left, the cut worker.
        await withTimeout(Promise.all([aggregator.finished, other.finished]), 60_000, 'the others to finish');
        await other.leave();
        await aggregator.finalModelServed();
        await aggregator.leave();
        const cutDone = await withTimeout(cut.finished, 30_000, 'the cut worker to end');
        assert.equal(cutAtRound, cutAfter);
        assert.ok(cut.missedEnd !== null, 'it says it missed the end');
        assert.equal(cut.missedEnd.lastRound, ROUNDS - 1);
        assert.ok(cut.missedEnd.round <= ROUNDS - 1, `it was at round ${cut.missedEnd.round}`);
        assert.equal(cutDone.round, cut.missedEnd.round);
        assert.deepEqual(roles, [], 'it never ran rounds of its own as the aggregator');
        // Elected (what ended it), and no round reported after the last.
        const status = session.status();
        assert.equal(status?.aggregator.peerId, 'c-cut');
        assert.equal(status.aggregator.lastRound, ROUNDS - 1);
      } finally {
        await session.close();
      }
    },
  );
}
