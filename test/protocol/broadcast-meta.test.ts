/**
 * The broadcast meta section: tag lists (4n bytes) and tag lists with slack (6n + 1), told
 * apart by length; slack quantized to 0.1 ms and saturating; malformed sections refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeBroadcastMeta,
  encodeBroadcastMeta,
  slackOf,
  SLACK_META_VERSION,
} from '../../shared/protocol/broadcast-meta.ts';
import { encodeTags, FrameError } from '../../shared/protocol/frames.ts';

const code = (expected: string) => (err: unknown) => err instanceof FrameError && err.code === expected;

test('tags with slack round-trip at 0.1 ms, saturate at +-3.2767 s, and tag-only metas still decode', () => {
  const meta = encodeBroadcastMeta([1, 0xffffffff, 7], [0.00424, -0.0013, 99]);
  assert.equal(meta.length, 6 * 3 + 1);
  assert.equal(meta[meta.length - 1], SLACK_META_VERSION);
  const decoded = decodeBroadcastMeta(meta);
  assert.deepEqual(decoded.tags, [1, 0xffffffff, 7]);
  const slack = decoded.slackSeconds ?? [];
  [0.0042, -0.0013, 3.2767].forEach((s, i) => assert.ok(Math.abs((slack[i] ?? NaN) - s) < 1e-12, `${i}`));
  assert.equal(slackOf(decoded, 0xffffffff), slack[1]);
  assert.equal(slackOf(decoded, 2), undefined);
  assert.deepEqual(decodeBroadcastMeta(encodeTags([3, 4])), { tags: [3, 4], slackSeconds: null });
  assert.deepEqual(encodeBroadcastMeta([3, 4]), encodeTags([3, 4]));
  assert.deepEqual(decodeBroadcastMeta(encodeBroadcastMeta([], [])), { tags: [], slackSeconds: [] });
});

test('malformed broadcast metas are refused with a code', () => {
  assert.throws(() => decodeBroadcastMeta(new Uint8Array(6)), code('FRAME_LENGTH'));
  assert.throws(() => decodeBroadcastMeta(new Uint8Array(9)), code('FRAME_LENGTH'));
  assert.throws(() => decodeBroadcastMeta(new Uint8Array(7)), code('FRAME_FIELD'), 'unknown version 0');
  assert.throws(() => encodeBroadcastMeta([1, 2], [0]), code('FRAME_FIELD'));
});
