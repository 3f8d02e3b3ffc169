/**
 * Snapshots survive an aggregator failover, for real: three peers over WebRTC on loopback
 * training on MNIST against a real signaling server. Every peer keeps the model it holds
 * every 5 rounds; the aggregator leaves; the new one lists the snapshots of the rounds
 * before it took over (evaluated now, hashed), and an operator's rollback to one of them
 * leaves every remaining peer on that snapshot's exact bits.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Peer } from '../../client/roles/peer.ts';
import { SignalingClient } from '../../client/signaling/index.ts';
import { modelSha256 } from '../../shared/model-hash.ts';
import { startTestSession, waitFor, withTimeout } from '../support/session.ts';

const EVERY = 5;

/** A peer's model as it adopts one whole (a joiner's catch-up, a rollback), copied at the event. */
function recordAdoptions(
  peer: Peer,
  trace: readonly string[],
): {
  adopted: { round: number; model: Float32Array | null }[];
  at(round: number, timeoutMs: number): Promise<Float32Array | null>;
} {
  const adopted: { round: number; model: Float32Array | null }[] = [];
  peer.events.on('model', (e) => adopted.push({ round: e.round, model: peer.model() }));
  return {
    adopted,
    async at(round, timeoutMs) {
      const seen = adopted.find((a) => a.round === round);
      if (seen !== undefined) return seen.model;
      const event = await waitFor<{ round: number }>(
        (listener) => peer.events.on('model', listener),
        (e) => e.round === round,
        timeoutMs,
        `${peer.peerId} adopts a model at round ${round}`,
      ).catch((error: unknown) => {
        // What it did instead: its role changes and reports (see the silence allowed below).
        const seen = adopted.map((a) => a.round).join(', ') || 'none';
        throw new Error(
          `${String(error)}; it adopted models at rounds: ${seen}; now at round ${peer.round} as ${String(peer.currentRole)}; ${trace.join('; ')}`,
        );
      });
      return adopted.find((a) => a.round === event.round)?.model ?? null;
    },
  };
}

/**
 * A session of three peers keeping snapshots every EVERY rounds: a1 first (the aggregator), then
 * b2 and c3 in that order (so the server elects b2 next), both slowed by `computeDelayMs` 20 ms
 * and allowed `aggregatorSilenceMs`. `trace` collects the workers' role changes and reports,
 * for a failure's message.
 */
async function threePeers(roundDeadlineMs: number, aggregatorSilenceMs: number) {
  const session = await startTestSession({ rounds: 5000, minPeers: 3, evalEvery: 5, roundDeadlineMs });
  const snapshots = { everyRounds: EVERY, keep: 10 };
  const settings = { computeDelayMs: 20, aggregatorSilenceMs };
  try {
    const first = await session.addPeer({ peerId: 'a1', snapshots });
    const next = await session.addPeer({ peerId: 'b2', snapshots, settings });
    const other = await session.addPeer({ peerId: 'c3', snapshots, settings });
    const trace: string[] = [];
    for (const w of [next, other]) {
      w.events.on('role', (e) => trace.push(`${w.peerId} ${e.role} of term ${e.term} at round ${w.round}`));
      w.events.on('unreachable', (e) =>
        trace.push(`${w.peerId} reported ${e.aggregatorId} ${e.reason} at round ${w.round}`),
      );
    }
    return { session, first, workers: [next, other] as const, trace };
  } catch (error) {
    await session.close();
    throw error;
  }
}

test(
  'after a failover the new aggregator lists the snapshots taken before it, and a rollback to one holds',
  { timeout: 90_000 },
  async () => {
    // Slowed down a little, so that the session is still near the snapshots it rolls back to.
    // A silence allowed well above the default (1.5 s): with the three peers in this one
    // process, a loaded machine starved it long enough that a worker reported the new
    // aggregator silent right after the rollback, and the aggregator elected next had not got
    // the rolled-back model (seen in 1 of 12 runs at 6 at once, with and without 54b379e).
    // Failure detection has its own tests; this one is about snapshots across a failover.
    const { session, first, workers, trace } = await threePeers(3000, 6000);
    const operator = new SignalingClient();
    try {
      // What each worker held after applying the broadcast of every snapshot round.
      const held = new Map<string, Map<number, Float32Array>>();
      for (const w of workers) {
        const byRound = new Map<number, Float32Array>();
        held.set(w.peerId, byRound);
        w.events.on('applied', (e) => {
          const model = w.model();
          if ((e.round + 1) % EVERY === 0 && model !== null) byRound.set(e.round, model);
        });
      }
      await session.waitForStatus((s) => s.aggregator.lastRound >= 3 * EVERY + 1, 60_000, 'round 16');
      assert.equal(first.currentRole, 'aggregator');
      const takeover = new Promise<Peer>((resolve) => {
        const offs = workers.map((w) =>
          w.events.on('role', (e) => {
            if (e.role !== 'aggregator') return;
            for (const off of offs) off();
            resolve(w);
          }),
        );
      });
      const failedOverAt = session.status()?.aggregator.lastRound ?? 0;
      await first.leave();
      const next = await withTimeout(takeover, 20_000, 'a new aggregator');
      // A round closed by the new aggregator: the session goes on.
      await waitFor<{ round: number }>(
        (listener) => next.events.on('round', listener),
        () => true,
        20_000,
        'a round under the new aggregator',
      );

      await operator.connect(session.url);
      const listed = await operator.listSnapshots(session.sessionId);
      assert.equal(listed.aggregatorId, next.peerId);
      const before = listed.snapshots.filter((s) => s.round < failedOverAt);
      assert.deepEqual(
        before.slice(0, 3).map((s) => s.round),
        [4, 9, 14],
        `kept ${listed.snapshots.map((s) => s.round).join(', ')}; failover after round ${failedOverAt}`,
      );
      const mine = held.get(next.peerId);
      for (const s of before) {
        const model = mine?.get(s.round);
        assert.ok(model !== undefined, `${next.peerId} applied round ${s.round}`);
        assert.equal(s.modelSha256, await modelSha256(model), `round ${s.round}: the model it held`);
        assert.ok(s.testAccuracy !== null, `round ${s.round} evaluated once listed`);
        assert.equal(
          s.testAccuracy,
          next.evaluateModel(model)?.accuracy,
          `round ${s.round}: that model's accuracy`,
        );
      }
      const target = before.find((s) => s.round === 2 * EVERY - 1);
      assert.ok(target !== undefined && target.testAccuracy !== null && target.testAccuracy > 0.2);

      const remaining = workers.map((w) => ({ peer: w, record: recordAdoptions(w, trace) }));
      const rolled = await operator.rollback(session.sessionId, target.round);
      const continuesAt = rolled.continuesAt;
      assert.ok(continuesAt !== undefined && continuesAt > failedOverAt, `continues at ${continuesAt}`);
      for (const { peer, record } of remaining) {
        const model = await record.at(continuesAt, 30_000);
        assert.ok(model !== null);
        assert.equal(await modelSha256(model), target.modelSha256, `${peer.peerId} holds the snapshot`);
      }
    } finally {
      operator.close();
      await session.close();
    }
  },
);

test(
  'a rollback survives a failover before it reached the next aggregator: that one applies it again',
  { timeout: 90_000 },
  async () => {
    // b2, elected while cut off, must not close a round alone before c3 links to it, so that
    // c3's first model from it is the snapshot itself (round deadline 10 s). A long silence
    // allowed: b2's cut data path must not get a1 reported before a1 leaves.
    const {
      session,
      first,
      workers: [next, other],
      trace,
    } = await threePeers(10_000, 20_000);
    const operator = new SignalingClient();
    try {
      // What b2 held after applying the broadcast of the round rolled back to.
      const target = 2 * EVERY - 1;
      let held: Float32Array | null = null;
      next.events.on('applied', (e) => {
        if (e.round === target) held = next.model();
      });
      await session.waitForStatus((s) => s.aggregator.lastRound >= 3 * EVERY + 1, 60_000, 'round 16');
      assert.equal(first.currentRole, 'aggregator');
      const nextRecord = recordAdoptions(next, trace);
      const otherRecord = recordAdoptions(other, trace);

      // b2's data path is cut, so the rolled-back model cannot reach it; a1 rolls back and leaves.
      next.partitionLinks(2500);
      await operator.connect(session.url);
      const rolled = await operator.rollback(session.sessionId, target);
      const continuesAt = rolled.continuesAt;
      assert.ok(continuesAt !== undefined);
      assert.ok(
        next.round < continuesAt,
        `b2 at round ${next.round} did not get the model of ${continuesAt}`,
      );
      // b2, elected with the rollback announced, applies it again from its own snapshot. Listened
      // for before a1 leaves: b2 may be elected, and apply it, before leave() resolves.
      const adoption = waitFor<{ round: number }>(
        (listener) => next.events.on('model', listener),
        (e) => e.round >= continuesAt,
        30_000,
        () => `b2 adopts a model at round ${continuesAt} or later (${trace.join('; ')})`,
      );
      adoption.catch(() => {}); // awaited below; a failing leave() must not leave it unhandled
      await first.leave();
      const adopted = await adoption;
      assert.equal(next.currentRole, 'aggregator');
      assert.ok(held !== null, `b2 applied round ${target}`);
      const reapplied = nextRecord.adopted.find((a) => a.round === adopted.round)?.model ?? null;
      assert.ok(reapplied !== null);
      assert.equal(
        await modelSha256(reapplied),
        await modelSha256(held),
        'b2 continues from its own snapshot',
      );
      // c3, which had the rolled-back model from a1, is sent b2's and starts over from it.
      const model = await otherRecord.at(adopted.round, 30_000);
      assert.ok(model !== null);
      assert.equal(await modelSha256(model), await modelSha256(held), 'c3 holds the same snapshot');
    } finally {
      operator.close();
      await session.close();
    }
  },
);
