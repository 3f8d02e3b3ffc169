import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  cpuMsPerRound,
  medianOrNull,
  medianRepeat,
  parseRuns,
  parseSeeds,
  readExactFlag,
  summarizeRun,
} from '../../bench/links.ts';
import type { ExactFigures } from '../../bench/snapshot-eval.ts';
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
  return {
    rounds: records,
    exits: [],
    uploads: [],
    stoppedBy: 'target',
    wallSeconds: 1,
    peerIds: ['a'],
    snapshotFiles: [],
  };
}

const run = { algorithm: 'liec', up: 'topk:0.01', down: 'topk:0.01', syncMode: 'full' } as const;
const optimizer = { learningRate: 0.8, momentum: 0, seed: 1 };

test('summarizeRun counts the syncs before the target round and the time they added', () => {
  // Syncs after rounds 9 and 19 (before the hit at 24) and 29 (after it): two count.
  const summary = summarizeRun(run, result(rounds(35, [9, 19, 29], 24)), 0.9, 0.1, optimizer);
  assert.equal(summary.roundsTo90, 25);
  assert.equal(summary.syncsTo90, 2);
  assert.ok(summary.roundSecondsMedian !== null);
  assert.ok(Math.abs(summary.roundSecondsMedian - 0.1) < 1e-9);
  // Each sync gap was 0.6 s against a typical 0.1 s.
  assert.ok(Math.abs(summary.syncExtraSecondsTo90 - 1.0) < 1e-9);
});

test('summarizeRun without syncs reports none and no extra time', () => {
  const summary = summarizeRun(run, result(rounds(30, [], 24)), 0.9, 0.1, optimizer);
  assert.equal(summary.syncsTo90, 0);
  assert.equal(summary.syncExtraSecondsTo90, 0);
});

test('medianRepeat keeps the median repeat and lists the sync figures of all', () => {
  const fast = summarizeRun(run, result(rounds(30, [], 19)), 0.9, 0.1, optimizer);
  const mid = summarizeRun(run, result(rounds(30, [9], 19)), 0.9, 0.1, optimizer);
  const slow = summarizeRun(run, result(rounds(30, [4, 9, 14], 19)), 0.9, 0.1, optimizer);
  const chosen = medianRepeat([slow, fast, mid]);
  assert.equal(chosen.syncsTo90, 1);
  assert.deepEqual(
    chosen.repeats.map((r) => r.syncsTo90),
    [3, 0, 1],
  );
});

test('summarizeRun records the optimizer a run used: its own settings over the bench defaults', () => {
  const records = result(rounds(30, [], 19));
  const defaults = summarizeRun(run, records, 0.9, 0.1, optimizer);
  assert.deepEqual(
    [defaults.learningRate, defaults.momentum, defaults.label],
    [0.8, 0, 'liec topk:0.01/topk:0.01'],
  );
  const tuned = summarizeRun({ ...run, learningRate: 0.2, momentum: 0.9 }, records, 0.9, 0.1, optimizer);
  assert.deepEqual(
    [tuned.learningRate, tuned.momentum, tuned.label],
    [0.2, 0.9, 'liec topk:0.01/topk:0.01 lr=0.2 momentum=0.9'],
  );
});

test("parseRuns reads --runs: compressors, LIEC's sync, a run's own optimizer; anything else is refused", () => {
  assert.deepEqual(parseRuns('', 'doublesqueeze@topk:0.01/topk:0.01, liec@sign/sign+rolling+sync=40'), [
    { algorithm: 'doublesqueeze', up: 'topk:0.01', down: 'topk:0.01', syncMode: 'full' },
    { algorithm: 'liec', up: 'sign', down: 'sign', syncMode: 'rolling', syncPeriod: 40 },
  ]);
  assert.deepEqual(parseRuns('', 'liec@topk:0.01/topk:0.01+sync=1000')[0]?.syncPeriod, 1000);
  assert.equal(parseRuns('', 'liec@topk:0.01/topk:0.01+rolling+slice-wait=250')[0]?.sliceWaitMs, 250);
  assert.deepEqual(parseRuns('', 'doublesqueeze@topk:0.01/topk:0.01+momentum=0.9+lr=0.15'), [
    {
      algorithm: 'doublesqueeze',
      up: 'topk:0.01',
      down: 'topk:0.01',
      syncMode: 'full',
      momentum: 0.9,
      learningRate: 0.15,
    },
  ]);
  for (const bad of [
    'liec@topk:0.01',
    'adam@sign/sign',
    'liec@sign/sign+sync=x',
    'liec@sign/sign+sync=40+sync=20',
    'liec@sign/sign+rolling=1',
    'liec@sign/sign+lr=0',
    'liec@sign/sign+lr=-1',
    'liec@sign/sign+momentum',
    'liec@sign/sign+adam',
    'liec@sign/sign+',
    'liec@sign/sign+slice-wait=1.5',
  ])
    assert.throws(() => parseRuns('', bad), RangeError, bad);
});

test("cpuMsPerRound sums each peer's median CPU between consecutive uploads", () => {
  const upload = (peerId: string, round: number, cpuMs: number) =>
    ({ kind: 'uploaded', peerId, round, computeMs: 1, cpuMs }) as const;
  const uploads = [
    // a: 10, 12, 11 ms a round (median 11); the gap over a missed round 3 is not a round's CPU.
    upload('a', 0, 500),
    upload('a', 1, 510),
    upload('a', 2, 522),
    upload('a', 4, 600),
    upload('a', 5, 611),
    // b, out of order: 20, 30 ms (median 25).
    upload('b', 2, 350),
    upload('b', 0, 300),
    upload('b', 1, 320),
    // c uploaded once: no figure, not counted.
    upload('c', 0, 900),
  ];
  assert.equal(cpuMsPerRound(uploads), 11 + 25);
  assert.equal(cpuMsPerRound([upload('c', 0, 900)]), null);
});

const exactFigures = (roundsTo90: number | null, secondsTo90: number | null): ExactFigures => ({
  roundsTo90,
  secondsTo90,
  accuracy: roundsTo90 === null ? null : 0.9,
  evaluated: 10,
  checkedRounds: 2,
  mismatches: [],
  missingSnapshots: 0,
  truncatedBytes: 0,
  backend: 'wasm',
  snapshotWriteMs: 1,
});

test("medianRepeat keeps each repeat's exact figures and the median of the exact seconds", () => {
  const records = result(rounds(30, [], 19));
  const repeat = (seconds: number | null) =>
    summarizeRun(run, records, 0.9, 0.1, optimizer, exactFigures(seconds === null ? null : 17, seconds));
  const chosen = medianRepeat([repeat(2.5), repeat(null), repeat(1.5)]);
  assert.equal(chosen.exactSecondsTo90Median, 2.5); // not reached counts as slowest
  assert.deepEqual(
    chosen.repeats.map((r) => r.exact),
    [
      { roundsTo90: 17, secondsTo90: 2.5 },
      { roundsTo90: null, secondsTo90: null },
      { roundsTo90: 17, secondsTo90: 1.5 },
    ],
  );
  assert.equal(medianRepeat([repeat(2), repeat(1), repeat(4), repeat(3)]).exactSecondsTo90Median, 2.5);
  assert.equal(medianRepeat([repeat(null), repeat(null), repeat(1)]).exactSecondsTo90Median, null);
  // Without exact figures (--no-exact): none, and no median.
  const plain = medianRepeat([summarizeRun(run, records, 0.9, 0.1, optimizer)]);
  assert.equal(plain.exact, null);
  assert.equal(plain.exactSecondsTo90Median, null);
  assert.equal(medianOrNull([]), null);
});

test('readExactFlag: on by default; --no-exact, --exact false and --exact=false turn it off', () => {
  const others = ['--mbps', '2', '--peers', '4'];
  assert.deepEqual(readExactFlag(others), { exact: true, rest: others });
  assert.deepEqual(readExactFlag(['--no-exact', ...others]), { exact: false, rest: others });
  assert.deepEqual(readExactFlag(['--mbps', '2', '--exact', 'false', '--peers', '4']), {
    exact: false,
    rest: others,
  });
  assert.deepEqual(readExactFlag(['--exact=false', ...others]), { exact: false, rest: others });
  assert.deepEqual(readExactFlag(['--no-exact', '--exact', ...others]), { exact: true, rest: others });
  assert.deepEqual(readExactFlag([...others, '--exact', 'true']), { exact: true, rest: others });
  assert.throws(() => readExactFlag(['--exact=maybe']), RangeError);
});

test('--seeds: distinct integer session seeds, each repeat records its own', () => {
  assert.deepEqual(parseSeeds('1, 2,7'), [1, 2, 7]);
  for (const bad of ['', '1,,2', '1.5', '-1', 'a', '1,1'])
    assert.throws(() => parseSeeds(bad), RangeError, bad);
  const records = result(rounds(30, [], 24));
  const repeats = [3, 4, 5].map((seed) =>
    summarizeRun(run, records, 0.9, 0.1, { ...optimizer, seed }, exactFigures(17, 1.7)),
  );
  const summary = medianRepeat(repeats);
  assert.deepEqual(
    summary.repeats.map((r) => r.seed),
    [3, 4, 5],
  );
  assert.equal(summary.exactRoundsTo90Median, 17);
});
