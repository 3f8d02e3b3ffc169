/**
 * LIEC's rolling sync across an aggregator failover, over real WebRTC: the aggregator (a
 * child process) is killed mid-training; a worker takes over, the blocks keep being synced
 * every round, and the session still ends on one model for every surviving peer (exact
 * syncs): no block's delta was applied by some peers and not others, nor twice. (Where the
 * kill lands in a round decides which path runs; test/roles/slice-relay.test.ts drives the
 * relay and the resend of a block delta one by one.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainedBy, killAll, spawnAggregator, type ChildPeer } from '../support/children.ts';
import { recordPeer } from '../support/recorder.ts';
import { startTestSession, withTimeout } from '../support/session.ts';

const ELECTION_TIMEOUT_MS = 3000;
const ROUNDS = 40;

test(
  'rolling sync: the aggregator killed mid-training, a worker takes over, every surviving peer ends on the same model',
  { timeout: 120_000 },
  async () => {
    const session = await startTestSession(
      {
        rounds: ROUNDS,
        minPeers: 4,
        algorithm: 'liec',
        up: 'topk:0.01',
        down: 'topk:0.01',
        roundDeadlineMs: 3000,
        quorum: 0.5,
        evalEvery: 1000,
        syncMode: 'rolling',
        syncPeriod: 4,
        syncCodec: 'identity',
      },
      { heartbeatIntervalMs: 1000, heartbeatTimeoutMs: ELECTION_TIMEOUT_MS },
    );
    const children: ChildPeer[] = [];
    try {
      // Join order decides the succession: the old aggregator first, the successor second.
      const old = await spawnAggregator(session, 'a-old', children);
      const peers = [
        await session.addPeer({ peerId: 'b-next' }),
        await session.addPeer({ peerId: 'c-two' }),
        await session.addPeer({ peerId: 'd-three' }),
      ];
      const next = recordPeer(peers[0] as (typeof peers)[number]);
      // Past a few blocks under the old aggregator, then it dies.
      await explainedBy(
        next.next('applied', (e) => e.term === 1 && e.round >= 6, 60_000, 'rounds under a-old'),
        children,
      );
      old.kill('SIGKILL');
      const takeover = await next.next('role', (e) => e.role === 'aggregator', 15_000, 'takeover');
      assert.equal(takeover.aggregatorId, 'b-next');
      await withTimeout(
        Promise.all(peers.map((p) => p.finished)),
        90_000,
        'training to finish on every surviving peer',
      );
      const closed = next.events.round.filter((e) => e.term === takeover.term).map((e) => e.round);
      assert.equal(closed.at(-1), ROUNDS - 1, 'the new aggregator ran the session to its last round');
      assert.deepEqual(
        next.events.round.filter((e) => e.sync).map((e) => e.round),
        [ROUNDS - 1],
        'no sync phase but the last under the new aggregator either',
      );
      const models = peers.map((p) => p.model());
      const reference = models[0];
      assert.ok(reference !== null && reference !== undefined);
      for (const [i, m] of models.entries()) {
        assert.ok(m !== null && m !== undefined);
        let maxDiff = 0;
        const differing: number[] = [];
        for (let j = 0; j < m.length; j++) {
          const diff = Math.abs((m[j] ?? 0) - (reference[j] ?? 0));
          maxDiff = Math.max(maxDiff, diff);
          if (diff >= 1e-5) differing.push(j);
        }
        // Where they differ tells which block's delta went astray (block r mod syncPeriod).
        assert.ok(
          maxDiff < 1e-5,
          `${peers[i]?.peerId} differs from b-next by ${maxDiff} at ${differing.length} of ${m.length} ` +
            `coordinates, from ${differing[0]} to ${differing.at(-1)}`,
        );
      }
      next.stop();
    } finally {
      await killAll(children);
      await session.close();
    }
  },
);
