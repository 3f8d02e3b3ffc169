/**
 * A silent aggregator, for real: four `liec join` processes over WebRTC on loopback, the
 * aggregator SIGSTOPped mid-training. Its sockets stay open and the server's heartbeat
 * timeout is its default 15 s, so only the data path can tell: the workers hear nothing for
 * aggregatorSilenceMs, report it, the server replaces it, and the successor closes a round
 * within aggregatorSilenceMs + 2 x roundDeadlineMs of the stop (no wall-clock constant:
 * the bound comes from the settings). Continued (SIGCONT), the old aggregator finds the
 * new term, steps down and ends as a worker, and every peer ends on one model.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runAggregatorFailure } from '../support/aggregator-failure.ts';

const ROUND_DEADLINE_MS = 2000;
const ROUNDS = 300;
const LAST_ROUND = ROUNDS - 1;
/** Rounds at the very end a worker may miss and make up for by fetching the final model. */
const END_SLACK_ROUNDS = 5;

test(
  'a SIGSTOPped aggregator is replaced through the data path, steps down once continued, and every peer ends on one model',
  { timeout: 300_000 },
  async (t) => {
    const run = await runAggregatorFailure('SIGSTOP', { rounds: ROUNDS, roundDeadlineMs: ROUND_DEADLINE_MS });
    const { settings, replaced, firstRound } = run;
    const bound = settings.aggregatorSilenceMs + 2 * ROUND_DEADLINE_MS;
    t.diagnostic(
      `stopped after round ${run.lastRoundBefore}; new term ${replaced.aggregator.term} (${replaced.aggregator.peerId}); ` +
        `its first round (${firstRound.round}) closed ${(run.firstRoundAfterMs / 1000).toFixed(2)} s after the SIGSTOP ` +
        `(bound ${(bound / 1000).toFixed(1)} s)`,
    );
    // The next by join order; the silent one stays a member meanwhile.
    assert.equal(replaced.aggregator.peerId, run.workerIds[0]);
    assert.ok(replaced.peers.some((p) => p.peerId === run.aggregatorId));
    assert.ok(
      run.firstRoundAfterMs <= bound,
      `first round under the successor ${run.firstRoundAfterMs.toFixed(0)} ms after the SIGSTOP, bound ${bound} ms`,
    );
    // Its counter continues where the old aggregator left off.
    assert.ok(firstRound.round > run.lastRoundBefore && firstRound.round <= run.lastRoundBefore + 2);

    // Continued, it found the new term and came back as a worker of the successor.
    const roles = run.oldRoles.map((e) => [e['role'], e['term']]);
    assert.deepEqual(roles[0], ['aggregator', 1]);
    assert.ok(
      run.oldRoles.some((e) => e['role'] === 'worker' && e['aggregatorId'] === replaced.aggregator.peerId),
      JSON.stringify(roles),
    );

    // The session ran to its end; every peer, the old aggregator included, holds one model.
    for (const [peerId, exit] of run.exits)
      assert.deepEqual(exit, { code: 0, signal: null }, `${peerId}: ${run.stderr.get(peerId) ?? ''}`);
    assert.equal(run.summaries.size, 4);
    // It trained to the end as the successor's worker: it applied broadcasts of the new term
    // up to the last rounds. Not necessarily round 299 itself: a worker whose last upload
    // misses the deadline is out of step at `done`, and fetches the final model instead
    // (checked below by the one model hash). Peers leave once done; when the successor leaves
    // before the others, the server names the next one by join order, this one, for a moment
    // with nothing left to train: a race at the very end, so its summary may say either role.
    const oldEvents = run.events.get(run.aggregatorId) ?? [];
    const appliedUnderSuccessor = oldEvents
      .filter((e) => e.type === 'applied' && e['term'] === replaced.aggregator.term)
      .map((e) => Number(e['round']));
    const lastApplied = Math.max(-1, ...appliedUnderSuccessor);
    // Why, if it fell behind: its roles, the frames it refused, whom it banned.
    const story = oldEvents.filter((e) => ['role', 'rejected', 'banned', 'model', 'linked'].includes(e.type));
    t.diagnostic(
      `a-first applied ${appliedUnderSuccessor.length} rounds under term ${replaced.aggregator.term}, the last ${lastApplied}; ` +
        `its roles, links, models, rejections and bans: ${JSON.stringify(story.slice(0, 20))}; ` +
        `its last events: ${JSON.stringify(oldEvents.slice(-4))}`,
    );
    assert.ok(
      lastApplied >= LAST_ROUND - END_SLACK_ROUNDS,
      `a-first applied up to round ${lastApplied} under the new term`,
    );
    assert.ok(oldEvents.some((e) => e.type === 'done' && e['round'] === ROUNDS));
    const hashes = new Set([...run.summaries.values()].map((s) => s.modelSha256));
    assert.equal(hashes.size, 1, JSON.stringify([...run.summaries].map(([id, s]) => [id, s.modelSha256])));
    assert.ok(!hashes.has(null));
    // The successor ran the session to its end.
    assert.equal(run.summaries.get(run.workerIds[0] ?? '')?.role, 'aggregator');
  },
);
