/**
 * Fast rejoin (client/roles/learner-wait.ts): a peer joining mid-session links to its
 * aggregator and gets the session's model while its learner still loads, holds what comes
 * meanwhile, and is counted soon after the learner is ready. The learner's load is held by a
 * gate the test opens (real server, real WebRTC on loopback, real MNIST learner). Also: a
 * learner that fails makes start() fail and leaves nothing running; leaving during the load
 * ends start() quietly.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SessionConfig } from '../../shared/protocol/session-config.ts';
import { defaultLearner } from '../../client/training/session-learner.ts';
import { recordPeer } from '../support/recorder.ts';
import { pollUntil, startTestSession, withTimeout } from '../support/session.ts';

/** A createLearner whose load waits for open() (the default MNIST learner after it). */
function gatedLearner(): {
  createLearner: (config: SessionConfig) => ReturnType<typeof defaultLearner>;
  asked: Promise<void>;
  open: () => void;
  fail: (error: Error) => void;
} {
  let open = (): void => {};
  let fail = (_error: Error): void => {};
  let onAsked = (): void => {};
  const asked = new Promise<void>((resolve) => (onAsked = resolve));
  const gate = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return {
    createLearner: async (config) => {
      onAsked();
      await gate;
      return defaultLearner(config);
    },
    asked,
    open,
    fail,
  };
}

test(
  'a newcomer whose learner loads slowly has its link and the model before the learner, and is counted soon after',
  { timeout: 90_000 },
  async () => {
    const session = await startTestSession({
      rounds: 100_000,
      minPeers: 2,
      roundDeadlineMs: 2000,
      evalEvery: 1000,
    });
    try {
      const aggregator = await session.addPeer({ peerId: 'agg' });
      const log = recordPeer(aggregator);
      await session.addPeer({ peerId: 'early' });
      await log.next('round', (e) => e.round >= 5, 60_000, 'round 5');
      const gate = gatedLearner();
      const starting = session.addPeer({ peerId: 'slow', createLearner: gate.createLearner });
      starting.catch(() => {}); // awaited below
      await withTimeout(gate.asked, 20_000, 'the learner asked for');
      const slow = session.peers.find((p) => p.peerId === 'slow');
      assert.ok(slow !== undefined);
      const joined = recordPeer(slow);
      // The whole model (fp32) came over its link while the learner was still held.
      const modelBytes = 4 * (aggregator.model()?.length ?? 0);
      await pollUntil(
        () => (slow.traffic().received >= modelBytes ? true : undefined),
        30_000,
        'the model over the link before the learner',
      );
      assert.equal(slow.model(), null, 'no model (nor state) before the learner is ready');
      assert.equal(slow.currentRole, null);
      const roundAtOpen = log.events.round.at(-1)?.round ?? 0;
      gate.open();
      await withTimeout(starting, 30_000, 'start() once the learner is ready');
      const counted = await log.next('round', (e) => e.participants.includes('slow'), 30_000, 'slow counted');
      // Held frames replayed in order bring it to the round in flight: counted within 3 rounds.
      assert.ok(
        counted.round <= roundAtOpen + 3,
        `counted in round ${counted.round}, the learner was ready at round ${roundAtOpen}`,
      );
      // One hello on that link: the model came once (a second hello would have it sent again).
      const models = joined.events.model.filter((e) => e.source === 'aggregator');
      assert.equal(models.length, 1, `models ${JSON.stringify(joined.events.model)}`);
      assert.equal(slow.currentRole, 'worker');
      log.stop();
      joined.stop();
    } finally {
      await session.close();
    }
  },
);

test('a learner that fails fails start() and leaves nothing running', { timeout: 60_000 }, async () => {
  const session = await startTestSession({
    rounds: 100_000,
    minPeers: 1,
    roundDeadlineMs: 2000,
    evalEvery: 1000,
  });
  try {
    const aggregator = await session.addPeer({ peerId: 'agg' });
    await recordPeer(aggregator).next('round', (e) => e.round >= 2, 30_000, 'round 2');
    const gate = gatedLearner();
    const starting = session.addPeer({ peerId: 'broken', createLearner: gate.createLearner });
    starting.catch(() => {}); // awaited below
    await withTimeout(gate.asked, 20_000, 'the learner asked for');
    gate.fail(new Error('no backend'));
    await assert.rejects(starting, /no backend/);
    const broken = session.peers.find((p) => p.peerId === 'broken');
    assert.ok(broken !== undefined);
    await withTimeout(broken.finished, 10_000, 'finished once it left');
    // It left the session (the server removed it), and its link to the aggregator closed.
    await session.waitForStatus((s) => !s.peers.some((p) => p.peerId === 'broken'), 10_000, 'broken gone');
    assert.equal(broken.currentRole, null);
  } finally {
    await session.close();
  }
});

test('leaving while the learner loads ends start() without a role', { timeout: 60_000 }, async () => {
  const session = await startTestSession({
    rounds: 100_000,
    minPeers: 1,
    roundDeadlineMs: 2000,
    evalEvery: 1000,
  });
  try {
    const aggregator = await session.addPeer({ peerId: 'agg' });
    await recordPeer(aggregator).next('round', (e) => e.round >= 2, 30_000, 'round 2');
    const gate = gatedLearner();
    const starting = session.addPeer({ peerId: 'gone', createLearner: gate.createLearner });
    await withTimeout(gate.asked, 20_000, 'the learner asked for');
    const gone = session.peers.find((p) => p.peerId === 'gone');
    assert.ok(gone !== undefined);
    await gone.leave();
    gate.open();
    await withTimeout(starting, 30_000, 'start() to return');
    assert.equal(gone.currentRole, null);
    assert.equal(gone.model(), null);
    await session.waitForStatus((s) => !s.peers.some((p) => p.peerId === 'gone'), 10_000, 'gone left');
  } finally {
    await session.close();
  }
});
