/**
 * An aggregator cut off on the data path while its signaling socket stays up (a partition:
 * Peer.partitionLinks closes its data channels and refuses new ones for a while). The
 * server sees nothing wrong; its workers hear nothing, report it, and the server replaces
 * it. The old aggregator learns the new term from the server at once, steps down, and once
 * the partition heals links to its successor as a worker; every peer ends on one model.
 * Its successor leaves while it is still cut off: the election passes over the old
 * aggregator (connected longest, but behind: not ready until it caught up, readiness.ts),
 * which would otherwise hand its older model to everyone.
 * Four in-process peers over real WebRTC on loopback.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { epochNow } from '../../client/roles/events.ts';
import { resolvePeerSettings } from '../../client/roles/settings.ts';
import { parseSessionConfig } from '../../shared/protocol/session-config.ts';
import { recordPeer } from '../support/recorder.ts';
import { startTestSession, withTimeout } from '../support/session.ts';

const ROUNDS = 200;
const CONFIG = { rounds: ROUNDS, minPeers: 4, roundDeadlineMs: 2000, quorum: 0.5, evalEvery: 1000 };
const SETTINGS = resolvePeerSettings(parseSessionConfig(CONFIG));
/** Longer than detection plus the election: the old aggregator is replaced while cut off. */
const PARTITION_MS = SETTINGS.aggregatorSilenceMs + 2500;

test(
  'an aggregator partitioned from its workers but not from the server is replaced, steps down and rejoins as a worker',
  { timeout: 180_000 },
  async (t) => {
    const session = await startTestSession(CONFIG);
    try {
      const old = await session.addPeer({ peerId: 'a-old' });
      const peers = [
        old,
        await session.addPeer({ peerId: 'b-next' }),
        await session.addPeer({ peerId: 'c-three' }),
        await session.addPeer({ peerId: 'd-four' }),
      ];
      const [oldLog, nextLog] = peers.map((p) => recordPeer(p));
      if (oldLog === undefined || nextLog === undefined) throw new Error('recorders');
      const before = await oldLog.next(
        'round',
        (e) => e.term === 1 && e.round >= 10,
        60_000,
        'rounds under a-old',
      );
      const cutAt = epochNow();
      old.partitionLinks(PARTITION_MS);

      const takeover = await nextLog.next(
        'role',
        (e) => e.role === 'aggregator',
        20_000,
        'b-next taking over',
      );
      assert.ok(takeover.term > 1);
      const bound = SETTINGS.aggregatorSilenceMs + 2 * CONFIG.roundDeadlineMs;
      const first = await nextLog.next(
        'round',
        (e) => e.term === takeover.term,
        bound + 10_000,
        'a round of term 2',
      );
      const firstAfter = first.closedAt - cutAt;
      // The old aggregator heard of the new term through its signaling socket, cut off or not.
      const stepDown = await oldLog.next('role', (e) => e.role === 'worker', 10_000, 'a-old stepping down');
      assert.equal(stepDown.aggregatorId, 'b-next');
      t.diagnostic(
        `cut after round ${before.round}: b-next aggregator ${(takeover.at - cutAt).toFixed(0)} ms later, ` +
          `its first round (${first.round}) closed after ${firstAfter.toFixed(0)} ms (bound ${bound}); ` +
          `a-old stepped down after ${(stepDown.at - cutAt).toFixed(0)} ms, the partition lasts ${PARTITION_MS} ms`,
      );
      assert.ok(firstAfter <= bound, `first round of the new term ${firstAfter.toFixed(0)} ms after the cut`);
      assert.ok(stepDown.at - cutAt < PARTITION_MS, 'stepped down while still cut off');
      // Rounds a-old closed alone while cut off (at most one, at its deadline) are its own:
      // nobody applied them.
      const alone = oldLog.events.round.filter((e) => e.term === 1 && e.closedAt > cutAt);
      assert.ok(alone.length <= 1, `a-old closed ${alone.length} rounds alone`);

      // b-next leaves while a-old is still cut off and behind: c-three is elected, not a-old.
      const [, next, third] = peers;
      if (next === undefined || third === undefined) throw new Error('peers');
      const thirdLog = recordPeer(third);
      await next.leave();
      const successor = await thirdLog.next(
        'role',
        (e) => e.term > takeover.term,
        20_000,
        'the term after b-next',
      );
      assert.equal(successor.aggregatorId, 'c-three', 'a-old, behind, is passed over');
      assert.ok(epochNow() - cutAt < PARTITION_MS, 'elected while a-old was still cut off');
      const remaining = peers.filter((p) => p !== next);
      await withTimeout(Promise.all(remaining.map((p) => p.finished)), 120_000, 'the session to finish');
      assert.equal(old.currentRole, 'worker');
      assert.ok(
        !oldLog.events.role.some((e) => e.role === 'aggregator' && e.at > cutAt),
        'a-old never led again',
      );
      assert.ok(
        oldLog.events.model.some((e) => e.source === 'aggregator' && e.at > stepDown.at) ||
          oldLog.events.applied.some((e) => e.term === successor.term),
        'a-old follows c-three after the partition',
      );
      const models = remaining.map((p) => p.model());
      const reference = models[2];
      assert.ok(reference !== null && reference !== undefined);
      for (const [i, model] of models.entries()) {
        assert.ok(model !== null && model !== undefined);
        let maxDiff = 0;
        for (let j = 0; j < model.length; j++)
          maxDiff = Math.max(maxDiff, Math.abs((model[j] ?? 0) - (reference[j] ?? 0)));
        assert.equal(maxDiff, 0, `${remaining[i]?.peerId} differs from c-three by ${maxDiff}`);
      }
      for (const log of [oldLog, nextLog, thirdLog]) log.stop();
    } finally {
      await session.close();
    }
  },
);
