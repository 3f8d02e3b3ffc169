import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameError, MAX_FRAME_META_BYTES } from '../../shared/protocol/frames.ts';
import { decodeModelMeta, encodeModelMeta } from '../../shared/protocol/model-meta.ts';

test('model meta: counted lists round-trip, oldest first; none is an empty section', () => {
  const lists = [
    { round: 7, counted: [1, 0xffffffff] },
    { round: 8, counted: [] },
    { round: 10, counted: [42] },
  ];
  const meta = encodeModelMeta(lists);
  assert.equal(meta.length, 3 * 6 + 3 * 4);
  assert.deepEqual(decodeModelMeta(meta), lists);
  assert.equal(encodeModelMeta([]).length, 0);
  assert.deepEqual(decodeModelMeta(new Uint8Array(0)), []);
});

test('model meta: the newest lists that fit in a frame meta; rounds out of order are skipped', () => {
  const tags = Array.from({ length: 1000 }, (_, i) => i);
  const lists = Array.from({ length: 40 }, (_, round) => ({ round, counted: tags }));
  const decoded = decodeModelMeta(encodeModelMeta(lists));
  assert.ok(encodeModelMeta(lists).length <= MAX_FRAME_META_BYTES);
  assert.deepEqual(
    decoded.map((l) => l.round),
    Array.from({ length: 16 }, (_, i) => 24 + i),
    '16 lists of 1000 tags fit in 65535 bytes: rounds 24-39',
  );
  // A list of a round not after the one before it (another lineage) is left out.
  assert.deepEqual(
    decodeModelMeta(
      encodeModelMeta([
        { round: 5, counted: [1] },
        { round: 9, counted: [2] },
        { round: 7, counted: [3] },
      ]),
    ).map((l) => l.round),
    [5, 7],
  );
});

test('model meta: malformed sections throw FrameError', () => {
  const good = encodeModelMeta([
    { round: 3, counted: [1, 2] },
    { round: 4, counted: [1] },
  ]);
  const cases: [string, Uint8Array][] = [
    ['a header cut short', good.subarray(0, 4)],
    ['tags past the end', good.subarray(0, good.length - 1)],
    ['rounds not increasing', Uint8Array.from([...good.subarray(14), ...good.subarray(0, 14)])],
  ];
  for (const [what, meta] of cases) assert.throws(() => decodeModelMeta(meta), FrameError, what);
});
