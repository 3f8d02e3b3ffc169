import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainedBy, killAll, spawnAggregator, spawnPeer, type ChildPeer } from '../support/children.ts';
import { recordPeer } from '../support/recorder.ts';
import { startTestSession, withTimeout } from '../support/session.ts';

// The server drops a silent member after this long, so a dead aggregator is replaced within
// it even when its socket does not close; a SIGKILL closes the socket, so it is much sooner.
const ELECTION_TIMEOUT_MS = 3000;
const ROUND_DEADLINE_MS = 3000;

test(
  'aggregator killed mid-round: a new one within the election timeout, same round counter, no upload of the round in flight lost',
  { timeout: 120_000 },
  async (t) => {
    const session = await startTestSession(
      {
        rounds: 1000,
        minPeers: 4,
        roundDeadlineMs: ROUND_DEADLINE_MS,
        quorum: 0.5,
        evalEvery: 1000,
        syncPeriod: 20,
      },
      { heartbeatIntervalMs: 1000, heartbeatTimeoutMs: ELECTION_TIMEOUT_MS },
    );
    const children: ChildPeer[] = [];
    try {
      // Join order decides the succession: the old aggregator first, the successor second.
      const old = await spawnAggregator(session, 'a-old', children);
      const successor = await session.addPeer({ peerId: 'b-next' });
      const fast = await session.addPeer({ peerId: 'c-fast' });
      // A straggler: while the old aggregator waits for it, the others' uploads are in flight.
      const straggler = spawnPeer(session, { peerId: 'd-slow', computeDelayMs: 1200 });
      children.push(straggler);
      const next = recordPeer(successor);
      const other = recordPeer(fast);

      // Training under the old aggregator; then both in-process workers upload the same round.
      await explainedBy(
        next.next('applied', (e) => e.term === 1 && e.round >= 2, 60_000, 'rounds under a-old'),
        children,
      );
      const inFlight = await next.next(
        'uploaded',
        (e) => e.term === 1 && e.round >= 3 && !e.resent,
        30_000,
        'an upload under a-old',
      );
      const round = inFlight.round;
      await other.next('uploaded', (e) => e.term === 1 && e.round === round, 10_000, 'c-fast upload');
      const killedAt = performance.timeOrigin + performance.now();
      old.kill('SIGKILL');

      const takeover = await next.next(
        'role',
        (e) => e.role === 'aggregator',
        ELECTION_TIMEOUT_MS + 2000,
        'takeover',
      );
      assert.ok(
        takeover.at - killedAt <= ELECTION_TIMEOUT_MS,
        `new aggregator after ${(takeover.at - killedAt).toFixed(0)} ms`,
      );
      assert.equal(takeover.aggregatorId, 'b-next');
      const term = takeover.term;
      assert.ok(term > 1);

      // Five rounds under the new aggregator.
      await next.next('round', (e) => e.term === term && e.round >= round + 4, 60_000, 'rounds under b-next');
      const applied = next.events.applied.filter((e) => e.term === 1).map((e) => e.round);
      assert.equal(applied.at(-1), round - 1, `the old aggregator's last round was ${round - 1}`);
      const closed = next.events.round.filter((e) => e.term === term);
      // The counter continues: the first round of the new term is the round in flight, then +1.
      assert.deepEqual(
        closed.map((e) => e.round),
        closed.map((_, i) => round + i),
      );
      const resumed = other.events.applied.filter((e) => e.term === term).map((e) => e.round);
      assert.equal(resumed[0], round, 'c-fast resumes at the round in flight');

      // No upload of the round in flight is lost: each one a surviving worker sent is counted in
      // that round or folded late, exactly once.
      straggler.kill('SIGTERM');
      const { code } = await withTimeout(straggler.exited, 15_000, 'd-slow to exit');
      assert.equal(code, 0);
      const slowSummary = await straggler.summary();
      assert.ok(slowSummary !== null, 'd-slow wrote its summary');
      const senders = new Set<string>(['b-next']); // its own cached upload
      if (other.events.uploaded.some((e) => e.round === round)) senders.add('c-fast');
      if (slowSummary.timeline.uploads.some((u) => u.round === round && u.kind === 'upload'))
        senders.add('d-slow');
      const first = closed[0];
      assert.ok(first !== undefined);
      const lateFor = (id: string) =>
        next.events.round.flatMap((e) => e.lateUploads).filter((l) => l.peerId === id && l.round === round)
          .length;
      for (const id of senders) {
        const counted: number = first.participants.includes(id) ? 1 : 0;
        assert.equal(
          counted + lateFor(id),
          1,
          `${id}'s upload of round ${round}: counted ${counted}, late ${lateFor(id)}`,
        );
      }
      assert.ok(senders.has('c-fast'));
      t.diagnostic(
        `round ${round}: takeover ${(takeover.at - killedAt).toFixed(0)} ms after the kill, closed ${(first.at - killedAt).toFixed(0)} ms after it, counted ${first.participants.join(',')}, late ${first.late}`,
      );
      // c-fast had sent its upload to a-old: it reached b-next as a resend.
      assert.ok(
        other.events.uploaded.some((e) => e.term === term && e.round === round && e.resent),
        'c-fast resent its cached upload to the new aggregator',
      );
      // Nobody was counted twice in any round.
      for (const e of closed) assert.equal(new Set(e.participants).size, e.participants.length);
      next.stop();
      other.stop();
    } finally {
      await killAll(children);
      await session.close();
    }
  },
);
