import { test } from 'node:test';
import assert from 'node:assert/strict';
import { explainedBy, killAll, spawnPeer, type ChildPeer } from '../support/children.ts';
import { recordPeer } from '../support/recorder.ts';
import { startTestSession } from '../support/session.ts';
import { resolvePeerSettings } from '../../client/roles/settings.ts';
import { parseSessionConfig } from '../../shared/protocol/session-config.ts';

const ROUND_DEADLINE_MS = 1500;
// Scheduling slack on a loaded 2-core machine: the deadline timer fires late, not early.
const SLACK_MS = 1000;

const config = {
  rounds: 1000,
  minPeers: 3,
  roundDeadlineMs: ROUND_DEADLINE_MS,
  quorum: 0.5,
  evalEvery: 1000,
  syncPeriod: 20,
};

test(
  'a worker killed mid-round: that round completes by its deadline and training goes on',
  { timeout: 90_000 },
  async (t) => {
    const session = await startTestSession(config);
    const children: ChildPeer[] = [];
    try {
      const aggregator = await session.addPeer({ peerId: 'agg' });
      const log = recordPeer(aggregator);
      await session.addPeer({ peerId: 'w-fast' });
      // The victim is the slowest: the aggregator is waiting for it most of the time.
      const victim = spawnPeer(session, { peerId: 'w-victim', computeDelayMs: 400, verbose: true });
      children.push(victim);
      const counted = await explainedBy(
        log.next(
          'round',
          (e) => e.participants.includes('w-victim') && e.round >= 2,
          60_000,
          'w-victim counted',
        ),
        children,
      );
      // The next round is open and waits for the victim's delayed upload.
      victim.kill('SIGKILL');
      const killedAt = performance.timeOrigin + performance.now();
      const inFlight = counted.round + 1;
      const closed = await log.next(
        'round',
        (e) => e.round === inFlight,
        ROUND_DEADLINE_MS + SLACK_MS,
        'the round in flight',
      );
      assert.ok(!closed.participants.includes('w-victim'));
      assert.deepEqual(closed.participants.sort(), ['agg', 'w-fast']);
      assert.ok(closed.durationMs <= ROUND_DEADLINE_MS + SLACK_MS, `round took ${closed.durationMs} ms`);
      // Training goes on without it, every round in order.
      const later = await log.next('round', (e) => e.round >= inFlight + 5, 30_000, 'five more rounds');
      const after = log.events.round.filter((e) => e.round > inFlight && e.round <= later.round);
      assert.deepEqual(
        after.map((e) => e.round),
        after.map((_, i) => inFlight + 1 + i),
      );
      for (const e of after) assert.equal(e.expected, 2, `round ${e.round} still expects the victim`);
      t.diagnostic(`round ${inFlight} closed ${(closed.at - killedAt).toFixed(0)} ms after the kill`);
      log.stop();
    } finally {
      await killAll(children);
      await session.close();
    }
  },
);

test(
  'a hung worker (SIGSTOP) is not waited for: its round closes by the deadline with quorum, then the server drops it',
  { timeout: 90_000 },
  async (t) => {
    const session = await startTestSession(config, { heartbeatIntervalMs: 500, heartbeatTimeoutMs: 3000 });
    const children: ChildPeer[] = [];
    try {
      const aggregator = await session.addPeer({ peerId: 'agg' });
      const log = recordPeer(aggregator);
      await session.addPeer({ peerId: 'w-fast' });
      const victim = spawnPeer(session, { peerId: 'w-hung', computeDelayMs: 400, verbose: true });
      children.push(victim);
      const counted = await explainedBy(
        log.next('round', (e) => e.participants.includes('w-hung') && e.round >= 2, 60_000, 'w-hung counted'),
        children,
      );
      // Its socket and data channel stay open: the deadline closes the round, or the
      // aggregator stops expecting it once it is silent for aggregatorSilenceMs (1500 ms by
      // default, the deadline here), counted from the last frame it sent, before the round opened.
      victim.kill('SIGSTOP');
      const inFlight = counted.round + 1;
      const closed = await log.next(
        'round',
        (e) => e.round === inFlight,
        ROUND_DEADLINE_MS + SLACK_MS + 1000,
        'the round in flight',
      );
      assert.deepEqual(closed.participants.sort(), ['agg', 'w-fast']);
      const silenceMs = resolvePeerSettings(parseSessionConfig(config)).aggregatorSilenceMs;
      assert.ok(
        closed.durationMs >= Math.min(ROUND_DEADLINE_MS, silenceMs) - 250,
        `closed after ${closed.durationMs} ms, before its deadline and before w-hung was silent`,
      );
      assert.ok(closed.durationMs <= ROUND_DEADLINE_MS + SLACK_MS, `round took ${closed.durationMs} ms`);
      // The server's heartbeat timeout removes it; rounds stop expecting it.
      await session.waitForStatus(
        (s) => !s.peers.some((p) => p.peerId === 'w-hung'),
        10_000,
        'w-hung dropped',
      );
      const fast = await log.next(
        'round',
        (e) => e.round > inFlight && e.expected === 2,
        15_000,
        'a round without w-hung',
      );
      await log.next('round', (e) => e.round >= fast.round + 3, 15_000, 'training going on');
      t.diagnostic(`round ${inFlight} closed after ${closed.durationMs.toFixed(0)} ms`);
      log.stop();
    } finally {
      await killAll(children);
      await session.close();
    }
  },
);
