/**
 * The "same counted list" meta: an aggregator sends each worker its counted list in full only
 * when it changed since the last one that worker got; in topk:auto sessions with the worker's
 * own slack either way.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeBroadcastMeta,
  encodeBroadcastMeta,
  SAME_COUNTED_META,
} from '../../shared/protocol/broadcast-meta.ts';
import { SentCountedLists } from '../../shared/protocol/counted-lists.ts';

test('a list goes in full once per worker, then as one byte until it changes or is forgotten', () => {
  const lists = new SentCountedLists();
  assert.deepEqual(lists.metaFor('a', [1, 2]), encodeBroadcastMeta([1, 2]));
  assert.deepEqual(lists.metaFor('a', [1, 2]), SAME_COUNTED_META);
  assert.deepEqual(lists.metaFor('b', [1, 2]), encodeBroadcastMeta([1, 2]), 'per worker');
  assert.deepEqual(lists.metaFor('a', [3, 1]), encodeBroadcastMeta([1, 3]), 'changed');
  assert.deepEqual(lists.metaFor('a', [3, 1]), SAME_COUNTED_META, 'arrival order does not matter');
  lists.forget('a');
  assert.deepEqual(lists.metaFor('a', [3, 1]), encodeBroadcastMeta([1, 3]), 'forgotten; sent sorted');
  // A recipient's own slack: with the full list when it changed, else with "same" (3 bytes).
  assert.deepEqual(lists.metaFor('a', [3, 1], 0.001), encodeBroadcastMeta('same', 0.001));
  assert.deepEqual(lists.metaFor('c', [3, 1], 0.002), encodeBroadcastMeta([1, 3], 0.002));
  assert.deepEqual(lists.metaFor('c', [3, 1], 0.003), encodeBroadcastMeta('same', 0.003));
  assert.deepEqual(lists.metaFor('c', [3, 1]), SAME_COUNTED_META, 'not counted: no slack');
  assert.deepEqual(lists.metaFor('a', []), encodeBroadcastMeta([]));
  assert.deepEqual(lists.metaFor('a', []), SAME_COUNTED_META);
});

test('the marker is told apart from every list and decodes as "same", never as a list', () => {
  for (const meta of [encodeBroadcastMeta([]), encodeBroadcastMeta([0]), encodeBroadcastMeta([], 0)])
    assert.notEqual(decodeBroadcastMeta(meta).tags, 'same');
  assert.equal(decodeBroadcastMeta(SAME_COUNTED_META).tags, 'same');
  assert.equal(decodeBroadcastMeta(encodeBroadcastMeta('same', 0)).tags, 'same');
});

test('a broadcast meta stays the same size whatever the number of peers once the list is known', () => {
  const lists = new SentCountedLists();
  for (const n of [4, 64, 512]) {
    const tags = Array.from({ length: n }, (_, i) => i);
    lists.metaFor(`w${n}`, tags, 0.001);
    assert.equal(lists.metaFor(`w${n}`, tags, 0.001).length, 3, `${n} peers, topk:auto`);
    assert.equal(lists.metaFor(`w${n}`, tags).length, 1, `${n} peers, fixed ratio`);
  }
});
