import assert from 'node:assert/strict';
import { mkdtempSync, openSync, closeSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  appendSnapshot,
  decodeSnapshots,
  encodeSnapshot,
  firstReaching,
  SNAPSHOT_HEADER_BYTES,
  SnapshotError,
  type Snapshot,
} from '../../bench/snapshots.ts';

const snapshot = (round: number, closedAt: number, term = 1, length = 5): Snapshot => ({
  round,
  term,
  closedAt,
  model: Float32Array.from({ length }, (_, i) => round + i / 8 - 0.3),
});

const concat = (parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
};

test('snapshot records round-trip: header fields, float64 closedAt, the model bit for bit', () => {
  const records = [
    snapshot(0, 1_700_000_000_123.456),
    { ...snapshot(7, 1_700_000_000_999.001, 3), model: Float32Array.of(-0, 1e-40, 3.4e38, NaN, -Infinity) },
    snapshot(4_000_000_000, 2.5, 4_294_967_295, 0),
  ];
  // One byte in front: the models sit at unaligned offsets of the buffer decoded.
  const bytes = concat([Uint8Array.of(9), ...records.flatMap(encodeSnapshot)]).subarray(1);
  const { snapshots, truncatedBytes } = decodeSnapshots(bytes);
  assert.equal(truncatedBytes, 0);
  assert.equal(snapshots.length, 3);
  snapshots.forEach((decoded, i) => {
    const original = records[i];
    assert.ok(original !== undefined);
    assert.deepEqual(
      [decoded.round, decoded.term, decoded.closedAt],
      [original.round, original.term, original.closedAt],
    );
    assert.deepEqual(
      new Uint8Array(decoded.model.buffer),
      new Uint8Array(Float32Array.from(original.model).buffer),
    );
  });
  // Little-endian on the wire: the round sits in bytes 4-7, low byte first.
  const [header] = encodeSnapshot(snapshot(0x0102, 0));
  assert.deepEqual([...header.subarray(4, 8)], [0x02, 0x01, 0, 0]);
});

test('a record cut short at the end is left out; a bad record start is SNAPSHOT_CORRUPT', () => {
  const whole = concat([...encodeSnapshot(snapshot(1, 10)), ...encodeSnapshot(snapshot(2, 20))]);
  for (const cut of [1, SNAPSHOT_HEADER_BYTES - 1, SNAPSHOT_HEADER_BYTES + 3]) {
    const { snapshots, truncatedBytes } = decodeSnapshots(whole.subarray(0, whole.length - cut));
    assert.deepEqual(
      snapshots.map((s) => s.round),
      [1],
    );
    assert.equal(truncatedBytes, whole.length / 2 - cut);
  }
  const corrupt = whole.slice();
  const second = whole.length / 2;
  corrupt[second] = (corrupt[second] ?? 0) ^ 0xff;
  assert.throws(
    () => decodeSnapshots(corrupt),
    (error: unknown) => error instanceof SnapshotError && error.code === 'SNAPSHOT_CORRUPT',
  );
});

test('appendSnapshot appends records to an open file that decode in order', () => {
  const dir = mkdtempSync(join(tmpdir(), 'snapshots-test-'));
  try {
    const file = join(dir, 'p00.snap');
    for (const round of [0, 1, 2]) {
      const fd = openSync(file, 'a'); // reopened: appending, not overwriting
      appendSnapshot(fd, snapshot(round, 100 + round, 1, 1000));
      closeSync(fd);
    }
    const { snapshots } = decodeSnapshots(readFileSync(file));
    assert.deepEqual(
      snapshots.map((s) => [s.round, s.closedAt, s.model[999]]),
      [0, 1, 2].map((r) => [r, 100 + r, snapshot(r, 0, 1, 1000).model[999]]),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** Accuracy of a fake model: its first weight. */
const accuracyOf = (s: Snapshot): number => s.model[0] ?? 0;
const withAccuracy = (round: number, closedAt: number, accuracy: number, term = 1): Snapshot => ({
  round,
  term,
  closedAt,
  model: Float32Array.of(accuracy),
});
/** The session evaluated rounds 4, 9, 14, ... (every 5), and saw what the snapshot holds. */
const everyFifth = (s: Snapshot): number | null => (s.round % 5 === 4 ? accuracyOf(s) : null);

test('firstReaching finds the first round at the target, not the first evaluated one, and stops there', () => {
  const accuracies = [0.5, 0.6, 0.7, 0.8, 0.85, 0.88, 0.905, 0.89, 0.91, 0.92, 0.93];
  const snapshots = accuracies.map((a, round) => withAccuracy(round, 1000 + 100 * round, a));
  let calls = 0;
  const search = firstReaching(
    snapshots,
    0.9,
    (s) => {
      calls++;
      return accuracyOf(s);
    },
    everyFifth,
  );
  assert.equal(search.hit?.round, 6); // the session, evaluating every 5 rounds, would say round 9
  assert.ok(Math.abs((search.hitAccuracy ?? 0) - 0.905) < 1e-6);
  assert.equal(search.evaluated, 7);
  assert.equal(calls, 7);
  assert.deepEqual(
    search.checked.map((c) => c.round),
    [4],
  );
  assert.equal(search.checked[0]?.session, search.checked[0]?.snapshot);
});

test("firstReaching drops a successor's re-close of a round already closed, in closing order", () => {
  const snapshots = [
    withAccuracy(5, 1500, 0.95, 2), // a successor re-closes round 5 after round 6: not progress
    withAccuracy(6, 1450, 0.8),
    withAccuracy(4, 1300, 0.7),
    withAccuracy(5, 1400, 0.75),
    withAccuracy(7, 1600, 0.92, 2), // the successor's own next round counts
  ];
  const search = firstReaching(snapshots, 0.9, accuracyOf, everyFifth);
  assert.equal(search.hit?.round, 7);
  assert.equal(search.hit?.term, 2);
  assert.equal(search.evaluated, 4);
});

test('firstReaching goes on to a round the session evaluated when the hit came before any', () => {
  const snapshots = [0.5, 0.95, 0.4, 0.3, 0.96, 0.2].map((a, round) => withAccuracy(round, round, a));
  const seen: number[] = [];
  const search = firstReaching(
    snapshots,
    0.9,
    (s) => {
      seen.push(s.round);
      return accuracyOf(s);
    },
    (s) => (s.round === 4 ? 0.9 : null), // the session saw 0.9 where the snapshot holds 0.96
  );
  assert.equal(search.hit?.round, 1);
  assert.deepEqual(seen, [0, 1, 4]);
  assert.equal(search.checked.length, 1);
  assert.notEqual(search.checked[0]?.session, search.checked[0]?.snapshot);
});

test('firstReaching without a hit evaluates every round and reports none', () => {
  const snapshots = [0.5, 0.6, 0.7, 0.8, 0.85, 0.89].map((a, round) => withAccuracy(round, round, a));
  const search = firstReaching(snapshots, 0.9, accuracyOf, everyFifth);
  assert.equal(search.hit, null);
  assert.equal(search.hitAccuracy, null);
  assert.equal(search.evaluated, 6);
  assert.equal(search.checked.length, 1);
});
