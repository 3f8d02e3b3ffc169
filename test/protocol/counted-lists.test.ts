/**
 * The "same counted list" meta: an aggregator sends each worker its counted list in full only
 * when it changed since the last one that worker got; with slacks (topk:auto), always in full.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeBroadcastMeta,
  encodeBroadcastMeta,
  isSameCountedMeta,
  SAME_COUNTED_META,
} from '../../shared/protocol/broadcast-meta.ts';
import { SentCountedLists } from '../../shared/protocol/counted-lists.ts';
import { FrameError } from '../../shared/protocol/frames.ts';

test('a list goes in full once per worker, then as one byte until it changes or is forgotten', () => {
  const lists = new SentCountedLists();
  assert.deepEqual(lists.metaFor('a', [1, 2]), encodeBroadcastMeta([1, 2]));
  assert.deepEqual(lists.metaFor('a', [1, 2]), SAME_COUNTED_META);
  assert.deepEqual(lists.metaFor('b', [1, 2]), encodeBroadcastMeta([1, 2]), 'per worker');
  assert.deepEqual(lists.metaFor('a', [3, 1]), encodeBroadcastMeta([1, 3]), 'changed');
  assert.deepEqual(lists.metaFor('a', [3, 1]), SAME_COUNTED_META, 'arrival order does not matter');
  lists.forget('a');
  assert.deepEqual(lists.metaFor('a', [3, 1]), encodeBroadcastMeta([1, 3]), 'forgotten; sent sorted');
  // Slacks go with their tags, always in full.
  assert.deepEqual(lists.metaFor('a', [3, 1], [0.001, 0]), encodeBroadcastMeta([1, 3], [0, 0.001]));
  assert.deepEqual(lists.metaFor('a', [3, 1], [0.001, 0]), encodeBroadcastMeta([1, 3], [0, 0.001]));
  assert.deepEqual(lists.metaFor('a', []), encodeBroadcastMeta([]));
  assert.deepEqual(lists.metaFor('a', []), SAME_COUNTED_META);
});

test('the marker is told apart from every list, and never decodes as one (a relay must carry the list)', () => {
  assert.equal(isSameCountedMeta(SAME_COUNTED_META), true);
  for (const meta of [encodeBroadcastMeta([]), encodeBroadcastMeta([0]), encodeBroadcastMeta([], [])])
    assert.equal(isSameCountedMeta(meta), false);
  assert.throws(
    () => decodeBroadcastMeta(SAME_COUNTED_META),
    (e: unknown) => e instanceof FrameError && e.code === 'FRAME_FIELD',
  );
});
