/**
 * LIEC's rolling sync over real WebRTC: every round syncs one block of the model
 * (sliceUpload when the round closes, sliceBroadcast behind the broadcast), no round waits
 * for a sync phase, the models' drift stays bounded, and the session ends on one model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RoundEvent } from '../../client/roles/events.ts';
import type { PeerSettings } from '../../client/roles/settings.ts';
import { startTestSession, withTimeout } from '../support/session.ts';

const mean = (xs: number[]): number => xs.reduce((s, x) => s + x, 0) / Math.max(1, xs.length);

async function runSession(
  syncMode: 'rolling' | 'full',
  syncPeriod: number,
  rounds: number,
  settings: Partial<PeerSettings> = {},
) {
  const session = await startTestSession({
    rounds,
    minPeers: 3,
    algorithm: 'liec',
    up: 'topk:0.01',
    down: 'topk:0.01',
    roundDeadlineMs: 10_000,
    evalEvery: 10,
    syncPeriod,
    syncMode,
    // Exact syncs, so every peer ends on the very same model (checked below), and the paper's
    // LIEC (the whole residual at once), whose drift this test follows.
    syncCodec: 'identity',
    compensation: 1,
  });
  try {
    const peers = await Promise.all([0, 1, 2].map(() => session.addPeer({ settings })));
    const aggregator = peers.find((p) => p.currentRole === 'aggregator');
    assert.ok(aggregator !== undefined, 'one peer is the aggregator');
    const events: RoundEvent[] = [];
    aggregator.events.on('round', (e) => events.push(e));
    const sliceSyncs: { round: number; counted: number; expected: number }[] = [];
    aggregator.events.on('sliceSynced', (e) => sliceSyncs.push(e));
    /** Which came first for each round: its block delta or its round event. */
    const order: string[] = [];
    aggregator.events.on('sliceSynced', (e) => order.push(`slice ${e.round}`));
    aggregator.events.on('round', (e) => order.push(`round ${e.round}`));
    const done = await withTimeout(
      Promise.all(peers.map((p) => p.finished)).then(() => aggregator.finished),
      100_000,
      'training to finish on every peer',
    );
    return { events, sliceSyncs, order, done, models: peers.map((p) => p.model()) };
  } finally {
    await session.close();
  }
}

test(
  'rolling sync: no sync phase but the last, drift stays level instead of growing, one model at the end',
  { timeout: 220_000 },
  async () => {
    const rounds = 30;
    const rolling = await runSession('rolling', 5, rounds);
    const { events, sliceSyncs, done, models } = rolling;
    assert.deepEqual(
      events.map((e) => e.round),
      Array.from({ length: rounds }, (_, i) => i),
    );
    for (const e of events) assert.equal(e.counted, 3, `round ${e.round} counted ${e.counted}`);
    // Every round but the first and the last syncs a block, with every peer's slice: each
    // worker's, sent when told the round closed, is in before the block's delta leaves.
    assert.deepEqual(
      sliceSyncs.map((e) => e.round),
      Array.from({ length: rounds - 2 }, (_, i) => i + 1),
    );
    for (const e of sliceSyncs) assert.deepEqual([e.counted, e.expected], [3, 3], `round ${e.round}`);
    assert.deepEqual(
      events.filter((e) => e.sync).map((e) => e.round),
      [rounds - 1],
      'only the final round syncs the whole model',
    );
    // Chance is 10%: 30 rounds of 3 x 64 digits learn well past it.
    assert.ok((done.testAccuracy ?? 0) > 0.5, `final accuracy ${done.testAccuracy}`);
    const drift = (from: number, to: number) =>
      mean(events.filter((e) => e.round >= from && e.round <= to).map((e) => e.drift ?? 0));
    // The same session without syncs (H beyond the last round): its drift keeps growing.
    const unsynced = await runSession('full', 1000, rounds);
    const unsyncedDrift = (from: number, to: number) =>
      mean(unsynced.events.filter((e) => e.round >= from && e.round <= to).map((e) => e.drift ?? 0));
    const rollingGrowth = drift(20, 28) / drift(5, 9);
    const unsyncedGrowth = unsyncedDrift(20, 28) / unsyncedDrift(5, 9);
    assert.ok(drift(5, 9) > 0, 'the models drift between block syncs');
    assert.ok(
      rollingGrowth < unsyncedGrowth / 2,
      `drift growth from rounds 5-9 to 20-28: rolling ${rollingGrowth.toFixed(2)}x, unsynced ${unsyncedGrowth.toFixed(2)}x`,
    );
    assert.ok(drift(20, 28) < unsyncedDrift(20, 28) / 2, 'rolling drift well below the unsynced drift');
    // The final full sync (exact) leaves every peer on the very same model.
    const reference = models[0];
    assert.ok(reference !== null && reference !== undefined);
    for (const m of models) {
      assert.ok(m !== null && m !== undefined);
      let maxDiff = 0;
      for (let i = 0; i < m.length; i++)
        maxDiff = Math.max(maxDiff, Math.abs((m[i] ?? 0) - (reference[i] ?? 0)));
      assert.ok(maxDiff < 1e-5, `models differ by ${maxDiff}`);
    }
    console.log(
      `# rolling drift growth ${rollingGrowth.toFixed(2)}x vs unsynced ${unsyncedGrowth.toFixed(2)}x; accuracy ${done.testAccuracy}`,
    );
  },
);

test(
  'with sliceWaitMs the aggregator applies the block delta of each round before its next gradient (and its round event)',
  { timeout: 120_000 },
  async () => {
    const rounds = 12;
    const waiting = await runSession('rolling', 5, rounds, { sliceWaitMs: 5_000 });
    assert.deepEqual(
      waiting.sliceSyncs.map((e) => [e.round, e.counted, e.expected]),
      Array.from({ length: rounds - 2 }, (_, i) => [i + 1, 3, 3]),
    );
    for (let round = 1; round < rounds - 1; round++)
      assert.ok(
        waiting.order.indexOf(`slice ${round}`) < waiting.order.indexOf(`round ${round}`),
        `round ${round}: ${waiting.order.join(', ')}`,
      );
    // Without the wait the round event comes first: the delta lands after the next gradient.
    const plain = await runSession('rolling', 5, rounds);
    assert.ok(plain.order.indexOf('round 1') < plain.order.indexOf('slice 1'), plain.order.join(', '));
    const reference = waiting.models[0];
    assert.ok(reference !== null && reference !== undefined);
    for (const m of waiting.models) assert.deepEqual(m, reference, 'one model after the final sync');
  },
);
