/**
 * topk:auto's rule, exactly: the worker's next ratio from its last one and the reported
 * slack (nextTopKRatio), and the aggregator's slack per counted upload (uploadSlack).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_ADAPTIVE_RATIO as S,
  NO_FEEDBACK,
  nextTopKRatio,
  topKPayloadBytes,
  type UploadFeedback,
} from '../../shared/algorithm/adaptive-ratio.ts';
import { uploadSlack } from '../../shared/algorithm/upload-slack.ts';

const d = 100_000;
const next = (
  previousRatio: number | undefined,
  feedback: UploadFeedback,
  bytesPerSecond: number | undefined = 1e6,
  deadlineSeconds = 0.1,
) => nextTopKRatio({ d, previousRatio, bytesPerSecond, deadlineSeconds, feedback }, S);
const counted = (slackSeconds: number): UploadFeedback => ({ kind: 'counted', slackSeconds });

test('nextTopKRatio: starts at minRatio, holds without news, grows into slack, shrinks after the close or late', () => {
  assert.equal(next(undefined, counted(1)), S.minRatio, 'the first upload');
  assert.equal(next(0.0123, NO_FEEDBACK), 0.0123, 'sat the round out: hold');
  const unmeasured = { d, previousRatio: 0.0123, bytesPerSecond: undefined, deadlineSeconds: 0.1 };
  assert.equal(nextTopKRatio({ ...unmeasured, feedback: counted(0.01) }, S), 0.0123, 'no rate: hold');
  // k = 100 of 100,000: 363 payload bytes + 64 overhead = 427. Slack 4 ms at 1 MB/s, gain 0.5:
  // 427 + 2000, capped at twice 427 = 854 -> 790 payload bytes -> k = 231 (789 bytes).
  assert.equal(topKPayloadBytes(100, d), 363);
  assert.equal(topKPayloadBytes(231, d), 789);
  assert.equal(topKPayloadBytes(232, d), 792);
  assert.equal(next(0.001, counted(0.004)), 0.00231);
  // 0.2 ms of slack: 427 + 100 = 527 -> k = 129.
  assert.equal(next(0.001, counted(0.0002)), 0.00129);
  // Late: half of k = 1000's 3110 + 64 bytes = 1587 -> k = 467.
  assert.equal(topKPayloadBytes(1000, d), 3110);
  assert.equal(next(0.01, { kind: 'late' }), 0.00467);
  // After the close on a 0.5 Mbit/s link: 3174 - 31.25, but the budget 62,500 * 0.5 * 0.1 = 3125 binds: k = 983.
  assert.equal(next(0.01, counted(-0.001), 62_500), 0.00983);
  // Far after it: halved at most, and never under minRatio.
  assert.equal(next(0.002, counted(-1), 62_500), S.minRatio);
  // Never past maxRatio.
  assert.equal(next(0.25, counted(1), Infinity, Infinity), S.maxRatio);
});

test('uploadSlack: target 95% of the last arrival, a positive slack shared with those behind, a negative one not', () => {
  const slack = uploadSlack([0.012, 0.067, 0.02]);
  const target = 0.067 * 0.95;
  const expected = [(target - 0.012) / 3, target - 0.067, (target - 0.02) / 2];
  slack.forEach((s, i) => assert.ok(Math.abs(s - (expected[i] ?? NaN)) < 1e-15, `${i}: ${s}`));
  assert.deepEqual(uploadSlack([]), []);
  assert.deepEqual(uploadSlack([0.01, 0.01], 0), [0, 0], 'arrived together at the close');
  assert.deepEqual(uploadSlack([0, 0.01], 0), [0.005, 0]);
});
