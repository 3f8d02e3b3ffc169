/**
 * The broadcast meta section as one recipient gets it: a tag list (4n bytes), "same list"
 * (1 byte), and each with the recipient's own slack (4n + 3, 3 bytes), told apart by length
 * and trailing byte; slack quantized to 0.1 ms and saturating; malformed sections refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeBroadcastMeta,
  encodeBroadcastMeta,
  LIST_SLACK_VERSION,
  SAME_COUNTED_META,
  SAME_SLACK_VERSION,
} from '../../shared/protocol/broadcast-meta.ts';
import { encodeTags, FrameError } from '../../shared/protocol/frames.ts';

const code = (expected: string) => (err: unknown) => err instanceof FrameError && err.code === expected;
const close = (a: number | null, b: number) => a !== null && Math.abs(a - b) < 1e-12;

test('a list with the recipient slack round-trips at 0.1 ms and saturates at +-3.2767 s', () => {
  const meta = encodeBroadcastMeta([1, 0xffffffff, 7], 0.00424);
  assert.equal(meta.length, 4 * 3 + 3, 'one slack, whatever the list length');
  assert.equal(meta[meta.length - 1], LIST_SLACK_VERSION);
  const decoded = decodeBroadcastMeta(meta);
  assert.deepEqual(decoded.tags, [1, 0xffffffff, 7]);
  assert.ok(close(decoded.slackSeconds, 0.0042), `${decoded.slackSeconds}`);
  assert.ok(close(decodeBroadcastMeta(encodeBroadcastMeta([2], 99)).slackSeconds, 3.2767));
  assert.ok(close(decodeBroadcastMeta(encodeBroadcastMeta([2], -99)).slackSeconds, -3.2767));
  assert.ok(close(decodeBroadcastMeta(encodeBroadcastMeta([2], Number.NaN)).slackSeconds, 0));
  assert.deepEqual(decodeBroadcastMeta(encodeBroadcastMeta([], -0.0013)).tags, []);
});

test('"same list" is one byte, three with the slack; plain tag lists stay plain', () => {
  assert.deepEqual(encodeBroadcastMeta('same'), SAME_COUNTED_META);
  assert.deepEqual(decodeBroadcastMeta(SAME_COUNTED_META), { tags: 'same', slackSeconds: null });
  const withSlack = encodeBroadcastMeta('same', -0.0013);
  assert.equal(withSlack.length, 3);
  assert.equal(withSlack[2], SAME_SLACK_VERSION);
  const decoded = decodeBroadcastMeta(withSlack);
  assert.equal(decoded.tags, 'same');
  assert.ok(close(decoded.slackSeconds, -0.0013));
  assert.deepEqual(decodeBroadcastMeta(encodeTags([3, 4])), { tags: [3, 4], slackSeconds: null });
  assert.deepEqual(encodeBroadcastMeta([3, 4]), encodeTags([3, 4]));
  assert.deepEqual(decodeBroadcastMeta(new Uint8Array(0)), { tags: [], slackSeconds: null });
});

test('malformed broadcast metas are refused with a code', () => {
  assert.throws(() => decodeBroadcastMeta(new Uint8Array(6)), code('FRAME_LENGTH'), 'not 4n');
  assert.throws(() => decodeBroadcastMeta(Uint8Array.of(1)), code('FRAME_FIELD'), 'unknown one-byte meta');
  assert.throws(() => decodeBroadcastMeta(new Uint8Array(7)), code('FRAME_FIELD'), 'unknown version 0');
  const badLength = new Uint8Array(9);
  badLength[8] = LIST_SLACK_VERSION;
  assert.throws(() => decodeBroadcastMeta(badLength), code('FRAME_LENGTH'), '9 is not 4n + 3');
  const longSame = new Uint8Array(7);
  longSame[6] = SAME_SLACK_VERSION;
  assert.throws(() => decodeBroadcastMeta(longSame), code('FRAME_LENGTH'), '"same" with slack is 3 bytes');
});
