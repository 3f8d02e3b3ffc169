/**
 * A peer that keeps corrupting its frames is out of the session after two offences. As the
 * aggregator (Peer.corruptFrames: 30% of what it sends arrives truncated) its workers report
 * it `faulty` and the server replaces and bars it (offence 1). As a worker it keeps
 * corrupting; the new aggregator drops it after settings.maxBadFrames and reports it
 * (`peer:report`, offence 2): the server expels it (its Peer ends with `expelled` saying
 * why), refuses its rejoin under its id (EXPELLED), and the other peers finish the session
 * on one model (modelSha256 equal). Four in-process peers over real WebRTC on loopback, a
 * real signaling server. maxBadFrames is lowered to 4 (default 20) so the worker's
 * invalid uploads reach it in a few rounds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epochNow } from '../../client/roles/events.ts';
import { SignalingClient } from '../../client/signaling/index.ts';
import { modelSha256 } from '../../shared/model-hash.ts';
import { SignalingError } from '../../shared/protocol/signaling.ts';
import { recordPeer } from '../support/recorder.ts';
import { startTestSession, withTimeout } from '../support/session.ts';

const CONFIG = { rounds: 60, minPeers: 4, roundDeadlineMs: 2000, quorum: 0.5, evalEvery: 20 };
const CORRUPT_SHARE = 0.3;
const SETTINGS = { maxBadFrames: 4 };

test(
  'a corrupting aggregator is barred, then dropped and reported as a worker: expelled, its rejoin refused, the others end on one model',
  { timeout: 120_000 },
  async (t) => {
    const session = await startTestSession(CONFIG);
    try {
      const bad = await session.addPeer({ peerId: 'a-bad', settings: SETTINGS });
      const next = await session.addPeer({ peerId: 'b-next', settings: SETTINGS });
      const third = await session.addPeer({ peerId: 'c-three', settings: SETTINGS });
      const fourth = await session.addPeer({ peerId: 'd-four', settings: SETTINGS });
      const [badLog, nextLog] = [bad, next].map((p) => recordPeer(p));
      if (!badLog || !nextLog) throw new Error('recorders');
      await badLog.next('round', (e) => e.term === 1 && e.round >= 5, 60_000, 'rounds under a-bad');
      const corruptAt = epochNow();
      bad.corruptFrames(CORRUPT_SHARE);

      const takeover = await nextLog.next(
        'role',
        (e) => e.role === 'aggregator',
        20_000,
        'b-next taking over',
      );
      const stepDown = await badLog.next('role', (e) => e.role === 'worker', 10_000, 'a-bad stepping down');
      assert.equal(stepDown.aggregatorId, 'b-next');
      const banned = await nextLog.next(
        'banned',
        (e) => e.peerId === 'a-bad' && e.strikes > SETTINGS.maxBadFrames,
        40_000,
        'b-next dropping a-bad',
      );
      await withTimeout(bad.finished, 10_000, 'a-bad to be expelled');
      const expelledAt = epochNow();
      t.diagnostic(
        `corrupting from round 5: b-next aggregator after ${(takeover.at - corruptAt).toFixed(0)} ms, ` +
          `a-bad dropped (${banned.strikes} invalid frames) after ${(banned.at - corruptAt).toFixed(0)} ms; ` +
          `out of the session after ${(expelledAt - corruptAt).toFixed(0)} ms: ${bad.expelled}`,
      );
      assert.match(bad.expelled ?? '', /replaced as aggregator for a fault; dropped by aggregator b-next/);
      await session.waitForStatus(
        (s) => !s.peers.some((p) => p.peerId === 'a-bad'),
        10_000,
        'a-bad out of the session',
      );

      const rejoin = new SignalingClient();
      try {
        await rejoin.connect(session.url);
        await assert.rejects(
          rejoin.join({
            sessionId: session.sessionId,
            token: session.token,
            kind: 'headless',
            peerId: 'a-bad',
          }),
          (err: unknown) => err instanceof SignalingError && err.code === 'EXPELLED',
        );
      } finally {
        rejoin.close();
      }

      await withTimeout(
        Promise.all([next.finished, third.finished, fourth.finished]),
        90_000,
        'the session to finish',
      );
      const hashes = await Promise.all(
        [next, third, fourth].map(async (peer) => {
          const model = peer.model();
          assert.ok(model !== null);
          return modelSha256(model);
        }),
      );
      assert.equal(new Set(hashes).size, 1, `the honest peers hold one model: ${hashes.join(', ')}`);
      assert.equal(session.status()?.aggregator.lastRound, CONFIG.rounds - 1);
      const accuracy = third.evaluateModel()?.accuracy ?? 0;
      t.diagnostic(`final accuracy of the honest peers' model ${(accuracy * 100).toFixed(2)}%`);
      badLog.stop();
      nextLog.stop();
    } finally {
      await session.close();
    }
  },
);
