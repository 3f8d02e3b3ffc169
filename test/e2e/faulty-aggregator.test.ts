/**
 * An aggregator that garbles its frames (Peer.corruptFrames: 30% of what it sends arrives
 * truncated) while its process, its links and its signaling socket stay healthy. Its
 * workers disconnect it after settings.maxBadAggregatorFrames, report it `faulty`, and the
 * server starts a new term with another aggregator and bars the offender from the role:
 * when the successor leaves, the next aggregator is a third peer, not the offender that
 * joined first. The offender stays a worker whose frames are checked like anyone's (the
 * new aggregator bans it too and reports it: a second offence, so the server expels it,
 * test/e2e/expelled-peer.test.ts); it can no longer report rounds as the session's. The honest
 * peers finish on one model. Four in-process peers over real WebRTC on loopback, a real
 * signaling server.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epochNow } from '../../client/roles/events.ts';
import { recordPeer } from '../support/recorder.ts';
import { startTestSession, withTimeout } from '../support/session.ts';

const ROUNDS = 160;
const CONFIG = { rounds: ROUNDS, minPeers: 4, roundDeadlineMs: 2000, quorum: 0.5, evalEvery: 20 };
const CORRUPT_SHARE = 0.3;

test(
  'an aggregator corrupting its frames is reported faulty, replaced and barred from the role; the session ends on one model',
  { timeout: 240_000 },
  async (t) => {
    const session = await startTestSession(CONFIG);
    try {
      const bad = await session.addPeer({ peerId: 'a-bad' });
      const next = await session.addPeer({ peerId: 'b-next' });
      const third = await session.addPeer({ peerId: 'c-three' });
      const fourth = await session.addPeer({ peerId: 'd-four' });
      const [badLog, nextLog, thirdLog, fourthLog] = [bad, next, third, fourth].map((p) => recordPeer(p));
      if (!badLog || !nextLog || !thirdLog || !fourthLog) throw new Error('recorders');
      await badLog.next('round', (e) => e.term === 1 && e.round >= 10, 60_000, 'rounds under a-bad');
      const corruptAt = epochNow();
      bad.corruptFrames(CORRUPT_SHARE);

      // Whichever worker counts its invalid frames first reports it (the report that replaces
      // a-bad may be c-three's or d-four's: b-next, elected then, has nothing left to report).
      const report = await Promise.any(
        [nextLog, thirdLog, fourthLog].map((log) =>
          log.next('unreachable', (e) => e.aggregatorId === 'a-bad', 20_000, 'a report'),
        ),
      );
      assert.equal(report.reason, 'faulty');
      const takeover = await nextLog.next(
        'role',
        (e) => e.role === 'aggregator',
        20_000,
        'b-next taking over',
      );
      const first = await nextLog.next(
        'round',
        (e) => e.term === takeover.term,
        20_000,
        'a round of the new term',
      );
      const stepDown = await badLog.next('role', (e) => e.role === 'worker', 10_000, 'a-bad stepping down');
      assert.equal(stepDown.aggregatorId, 'b-next');
      t.diagnostic(
        `corrupting from ${((corruptAt - badLog.events.round[0]!.at) / 1000).toFixed(1)} s: reported after ` +
          `${(report.at - corruptAt).toFixed(0)} ms, b-next aggregator after ${(takeover.at - corruptAt).toFixed(0)} ms, ` +
          `its first round (${first.round}) after ${(first.closedAt - corruptAt).toFixed(0)} ms`,
      );
      // Rounds a-bad still closed under its old term reach no report: the server follows b-next.
      await session.waitForStatus((s) => s.aggregator.lastRound >= first.round, 10_000, 'b-next reporting');
      assert.equal(session.status()?.aggregator.peerId, 'b-next');

      // The successor leaves: a-bad joined first and is ready, but barred; c-three takes over.
      await nextLog.next('round', (e) => e.round >= first.round + 20, 60_000, 'rounds under b-next');
      await next.leave();
      const after = await thirdLog.next('role', (e) => e.term > takeover.term, 20_000, 'the next election');
      assert.equal(after.aggregatorId, 'c-three', 'a-bad is kept out of the aggregator role');

      await withTimeout(Promise.all([third.finished, fourth.finished]), 180_000, 'the session to finish');
      assert.ok(
        !badLog.events.role.some((e) => e.role === 'aggregator' && e.term > 1),
        'a-bad never aggregates again',
      );
      const [x, y] = [third.model(), fourth.model()];
      assert.ok(x !== null && y !== null);
      assert.deepEqual(Buffer.from(x.buffer), Buffer.from(y.buffer), 'the honest peers hold one model');
      const accuracy = third.evaluateModel()?.accuracy ?? 0;
      t.diagnostic(`final accuracy of the honest peers' model ${(accuracy * 100).toFixed(2)}%`);
      assert.ok(accuracy > 0.8, `the honest peers trained on (accuracy ${accuracy})`);
      for (const log of [badLog, nextLog, thirdLog, fourthLog]) log.stop();
    } finally {
      await session.close();
    }
  },
);
