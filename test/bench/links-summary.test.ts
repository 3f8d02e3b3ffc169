import assert from 'node:assert/strict';
import { test } from 'node:test';
import { medianRepeat, parseRuns, summarizeRun } from '../../bench/links.ts';
import type { LiveSessionResult, RoundRecord } from '../../bench/live-session.ts';

/** Rounds closing every 100 ms from t = 1000 ms; a sync round is followed by a 600 ms gap. */
function rounds(count: number, syncs: readonly number[], hitRound: number): RoundRecord[] {
  let closedAt = 1000;
  return Array.from({ length: count }, (_, round) => {
    closedAt += round > 0 && syncs.includes(round - 1) ? 600 : 100;
    return {
      kind: 'round',
      peerId: 'a',
      round,
      term: 1,
      closedAt,
      durationMs: 100,
      computeMs: 10,
      evalMs: 0,
      testAccuracy: round === hitRound ? 0.91 : round % 5 === 4 ? 0.5 : null,
      bytesUp: 1000 * (round + 1),
      bytesDown: 1000 * (round + 1),
      counted: 4,
      expected: 4,
      late: 0,
      sync: syncs.includes(round),
    };
  });
}

function result(records: RoundRecord[]): LiveSessionResult {
  return { rounds: records, exits: [], uploads: [], stoppedBy: 'target', wallSeconds: 1, peerIds: ['a'] };
}

const run = { algorithm: 'liec', up: 'topk:0.01', down: 'topk:0.01', syncMode: 'full' } as const;

test('summarizeRun counts the syncs before the target round and the time they added', () => {
  // Syncs after rounds 9 and 19 (before the hit at 24) and 29 (after it): two count.
  const summary = summarizeRun(run, result(rounds(35, [9, 19, 29], 24)), 0.9, 0.1);
  assert.equal(summary.roundsTo90, 25);
  assert.equal(summary.syncsTo90, 2);
  assert.ok(summary.roundSecondsMedian !== null);
  assert.ok(Math.abs(summary.roundSecondsMedian - 0.1) < 1e-9);
  // Each sync gap was 0.6 s against a typical 0.1 s.
  assert.ok(Math.abs(summary.syncExtraSecondsTo90 - 1.0) < 1e-9);
});

test('summarizeRun without syncs reports none and no extra time', () => {
  const summary = summarizeRun(run, result(rounds(30, [], 24)), 0.9, 0.1);
  assert.equal(summary.syncsTo90, 0);
  assert.equal(summary.syncExtraSecondsTo90, 0);
});

test('medianRepeat keeps the median repeat and lists the sync figures of all', () => {
  const fast = summarizeRun(run, result(rounds(30, [], 19)), 0.9, 0.1);
  const mid = summarizeRun(run, result(rounds(30, [9], 19)), 0.9, 0.1);
  const slow = summarizeRun(run, result(rounds(30, [4, 9, 14], 19)), 0.9, 0.1);
  const chosen = medianRepeat([slow, fast, mid]);
  assert.equal(chosen.syncsTo90, 1);
  assert.deepEqual(
    chosen.repeats.map((r) => r.syncsTo90),
    [3, 0, 1],
  );
});

test("parseRuns reads --runs: compressors, LIEC's rolling sync and sync period; anything else is refused", () => {
  assert.deepEqual(parseRuns('', 'doublesqueeze@topk:0.01/topk:0.01, liec@sign/sign+rolling+sync=40'), [
    { algorithm: 'doublesqueeze', up: 'topk:0.01', down: 'topk:0.01', syncMode: 'full' },
    { algorithm: 'liec', up: 'sign', down: 'sign', syncMode: 'rolling', syncPeriod: 40 },
  ]);
  assert.deepEqual(parseRuns('', 'liec@topk:0.01/topk:0.01+sync=1000')[0]?.syncPeriod, 1000);
  for (const bad of [
    'liec@topk:0.01',
    'adam@sign/sign',
    'liec@sign/sign+sync=x',
    'liec@sign/sign+sync=40+rolling',
  ])
    assert.throws(() => parseRuns('', bad), RangeError, bad);
});
