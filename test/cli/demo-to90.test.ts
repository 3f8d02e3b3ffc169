/**
 * npm start's secondsTo90 / roundsTo90 (client/cli/demo.ts timeToAccuracy): from the
 * aggregators' closed rounds in the peers' timelines, counted from the opening of the first
 * round to the end of the first evaluation at or above 90%, across an aggregator change.
 */
import assert from 'node:assert/strict';
import test from 'node:test';
import { demoSummary, summaryLines, timeToAccuracy } from '../../client/cli/demo.ts';
import type { PeerSummary } from '../../client/cli/join.ts';
import type { ClosedRound } from '../../client/cli/timeline.ts';

const T0 = 1_700_000_000_000;

function closed(round: number, closedAt: number, testAccuracy: number | null): ClosedRound {
  return {
    round,
    term: 1,
    closedAt,
    durationMs: 100,
    computeMs: 10,
    evalMs: testAccuracy === null ? 0 : 50,
    testAccuracy,
    counted: 2,
    participants: ['peer-0', 'peer-1'],
    late: 0,
    sync: false,
  };
}

function peer(peerId: string, rounds: ClosedRound[]): PeerSummary {
  return {
    peerId,
    role: rounds.length > 0 ? 'aggregator' : 'worker',
    round: 30,
    finalTestAccuracy: 0.92,
    modelSha256: 'ab',
    sessionTestAccuracy: 0.92,
    backend: 'cpu',
    aggregatorChanges: 1,
    frameBytes: { up: 0, down: 0 },
    wire: { sent: 0, received: 0 },
    rejections: {},
    timeline: { rounds, uploads: [], applied: [], models: [], roles: [], resentUploads: 0 },
    interrupted: false,
    cpuSeconds: 1.5,
  };
}

const meta = {
  peerCount: 2,
  rounds: 30,
  algorithm: 'liec',
  up: 'topk:0.01',
  down: 'topk:0.01',
  wallSeconds: 9,
};

test('secondsTo90 runs from the first round`s opening to the end of the first evaluation at 90%, across aggregators', () => {
  // peer-0 closed rounds 0-9 (evaluated at 9: 0.85), then peer-1 took over: round 19 at 0.90.
  const first = [closed(0, T0 + 100, null), closed(9, T0 + 1_000, 0.85)];
  const second = [closed(19, T0 + 2_500, 0.9), closed(29, T0 + 3_500, 0.95)];
  const to90 = timeToAccuracy([peer('peer-1', second), peer('peer-0', first)]);
  // Round 0 opened at T0 (closed at +100 after 100 ms); round 19's evaluation ended at +2550.
  assert.deepEqual(to90, { seconds: 2.55, rounds: 20 });

  const summary = demoSummary([peer('peer-0', first), peer('peer-1', second)], meta, [0, 0]);
  assert.equal(summary.secondsTo90, 2.55);
  assert.equal(summary.roundsTo90, 20);
  assert.ok(summaryLines(summary).includes('90% test accuracy after 2.5 s (round 20)'));
});

test('secondsTo90 is null when no evaluation reached 90% or no round closed', () => {
  const below = [closed(0, T0 + 100, null), closed(9, T0 + 1_000, 0.8999)];
  assert.deepEqual(timeToAccuracy([peer('peer-0', below)]), { seconds: null, rounds: null });
  assert.deepEqual(timeToAccuracy([peer('peer-0', [])]), { seconds: null, rounds: null });
  const summary = demoSummary([peer('peer-0', below)], meta, [0]);
  assert.equal(summary.secondsTo90, null);
  assert.ok(summaryLines(summary).includes('90% test accuracy: not reached'));
});
