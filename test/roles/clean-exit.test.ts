import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainedBy, killAll, spawnAggregator, spawnPeer, type ChildPeer } from '../support/children.ts';
import { recordPeer } from '../support/recorder.ts';
import { startTestSession, withTimeout } from '../support/session.ts';

// leave() waits at most 2 s for queued frames; the rest is closing sockets and links.
const EXIT_WITHIN_MS = 6000;

test(
  'join processes leave on SIGTERM (worker) and SIGINT (aggregator), exit 0 by themselves, and the session goes on',
  { timeout: 120_000 },
  async (t) => {
    const session = await startTestSession({
      rounds: 1000,
      minPeers: 3,
      roundDeadlineMs: 3000,
      evalEvery: 1000,
    });
    const children: ChildPeer[] = [];
    try {
      const aggregator = await spawnAggregator(session, 'a-child', children);
      const local = await session.addPeer({ peerId: 'b-local' });
      const log = recordPeer(local);
      const worker = spawnPeer(session, { peerId: 'c-child' });
      children.push(worker);
      await explainedBy(
        session.waitForStatus((s) => s.aggregator.lastRound >= 3, 60_000, 'three rounds'),
        children,
      );

      let signalledAt = performance.now();
      worker.kill('SIGTERM');
      const workerExit = await withTimeout(worker.exited, EXIT_WITHIN_MS, 'c-child to exit after SIGTERM');
      assert.deepEqual(workerExit, { code: 0, signal: null }, worker.stderr());
      t.diagnostic(`worker exited ${(performance.now() - signalledAt).toFixed(0)} ms after SIGTERM`);
      const workerSummary = await worker.summary();
      assert.equal(workerSummary?.interrupted, true);
      assert.equal(workerSummary.role, 'worker', 'the summary keeps the role it left in');
      await session.waitForStatus((s) => !s.peers.some((p) => p.peerId === 'c-child'), 5000, 'c-child gone');
      const before = session.status()?.aggregator.lastRound ?? 0;
      await session.waitForStatus(
        (s) => s.aggregator.lastRound >= before + 2,
        30_000,
        'rounds without c-child',
      );

      signalledAt = performance.now();
      aggregator.kill('SIGINT');
      const aggregatorExit = await withTimeout(
        aggregator.exited,
        EXIT_WITHIN_MS,
        'a-child to exit after SIGINT',
      );
      assert.deepEqual(aggregatorExit, { code: 0, signal: null }, aggregator.stderr());
      t.diagnostic(`aggregator exited ${(performance.now() - signalledAt).toFixed(0)} ms after SIGINT`);
      assert.equal((await aggregator.summary())?.interrupted, true);
      // The in-process peer takes over and closes rounds on its own.
      const took = await log.next('role', (e) => e.role === 'aggregator', 10_000, 'b-local takes over');
      await log.next('round', (e) => e.term === took.term, 15_000, 'a round under b-local');

      // Interrupted while joining (member of the session, still loading its data): same.
      const joining = spawnPeer(session, { peerId: 'd-joining' });
      children.push(joining);
      await session.waitForStatus(
        (s) => s.peers.some((p) => p.peerId === 'd-joining'),
        30_000,
        'd-joining member',
      );
      signalledAt = performance.now();
      joining.kill('SIGTERM');
      const joiningExit = await withTimeout(
        joining.exited,
        EXIT_WITHIN_MS,
        'd-joining to exit after SIGTERM',
      );
      assert.deepEqual(joiningExit, { code: 0, signal: null }, joining.stderr());
      t.diagnostic(`joining peer exited ${(performance.now() - signalledAt).toFixed(0)} ms after SIGTERM`);
      log.stop();
    } finally {
      await killAll(children);
      await session.close();
    }
  },
);
