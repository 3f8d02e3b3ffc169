/**
 * Stand-ins for absent workers (shared/algorithm/stand-ins.ts), exactly: the moving average of
 * a worker's uploads, the fading weight of its seat, the age limit, the memory budget, and the
 * weighted mean the aggregator's RunningMean forms with them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunningMean } from '../../client/roles/running-mean.ts';
import { AVERAGE_WEIGHT, FADE_PER_ROUND, StandIns, type StandIn } from '../../shared/algorithm/stand-ins.ts';

const vec = (...values: number[]) => Float32Array.from(values);
const ids = (standIns: StandIn[]) => standIns.map((s) => s.workerId);

test('a worker counted in a round has no stand-in; one absent stands in with its average, faded by its age', () => {
  const standIns = new StandIns(2, { maxAgeRounds: 100 });
  standIns.record('w1', vec(1, 0), 0);
  standIns.record('w2', vec(0, 4), 0);
  standIns.record('w1', vec(3, 2), 1);
  // w1 counted in round 2 again; w2 last counted in round 0.
  const round2 = standIns.missing(new Set(['w1']), 2);
  assert.deepEqual(ids(round2), ['w2']);
  assert.deepEqual([...(round2[0] as StandIn).vector], [0, 4]);
  assert.equal((round2[0] as StandIn).weight, FADE_PER_ROUND ** 2);
  // Nobody counted in round 3: w1's average is 0.9 (1, 0) + 0.1 (3, 2), two rounds old.
  const round3 = standIns.missing(new Set(), 3);
  assert.deepEqual(ids(round3), ['w1', 'w2']);
  const w1 = round3[0] as StandIn;
  const keep = 1 - AVERAGE_WEIGHT;
  assert.deepEqual([...w1.vector], [...vec(keep * 1 + AVERAGE_WEIGHT * 3, AVERAGE_WEIGHT * 2)]);
  assert.equal(w1.weight, FADE_PER_ROUND ** 2);
  assert.equal((round3[1] as StandIn).weight, FADE_PER_ROUND ** 3);
});

test('a worker recorded in the round being closed is not its own stand-in', () => {
  const standIns = new StandIns(1, { maxAgeRounds: 10 });
  standIns.record('w1', vec(1), 5);
  assert.deepEqual(standIns.missing(new Set(), 5), []);
});

test('past maxAgeRounds a memory is freed and stands in no more', () => {
  const standIns = new StandIns(1, { maxAgeRounds: 3 });
  standIns.record('w1', vec(1), 10);
  assert.deepEqual(ids(standIns.missing(new Set(), 13)), ['w1']);
  assert.deepEqual(standIns.missing(new Set(), 14), []);
  assert.equal(standIns.size, 0);
  // Back: remembered afresh, its first upload copied.
  standIns.record('w1', vec(7), 20);
  assert.deepEqual([...(standIns.missing(new Set(), 21)[0] as StandIn).vector], [7]);
});

test('maxAgeRounds 0 and a budget too small for one vector: nothing is remembered', () => {
  const off = new StandIns(4, { maxAgeRounds: 0 });
  off.record('w1', vec(1, 2, 3, 4), 0);
  assert.equal(off.enabled, false);
  assert.equal(off.size, 0);
  const tiny = new StandIns(4, { maxAgeRounds: 10, maxBytes: 15 });
  tiny.record('w1', vec(1, 2, 3, 4), 0);
  assert.equal(tiny.size, 0);
});

test('the memory budget: workers beyond it have no stand-in, the ones in it keep theirs', () => {
  const standIns = new StandIns(4, { maxAgeRounds: 10, maxBytes: 2 * 16 });
  for (const id of ['w1', 'w2', 'w3']) standIns.record(id, vec(1, 1, 1, 1), 0);
  assert.equal(standIns.size, 2);
  assert.deepEqual(ids(standIns.missing(new Set(), 1)), ['w1', 'w2']);
});

test('a caller keeps its upload: the first record copies it', () => {
  const standIns = new StandIns(2, { maxAgeRounds: 10 });
  const upload = vec(1, 2);
  standIns.record('w1', upload, 0);
  upload.fill(9);
  assert.deepEqual([...(standIns.missing(new Set(), 1)[0] as StandIn).vector], [1, 2]);
});

test('clear() forgets every worker (a rollback)', () => {
  const standIns = new StandIns(1, { maxAgeRounds: 10 });
  standIns.record('w1', vec(1), 0);
  standIns.clear();
  assert.deepEqual(standIns.missing(new Set(), 1), []);
});

test('wrong lengths and settings are refused', () => {
  assert.throws(() => new StandIns(2, { maxAgeRounds: -1 }), /maxAgeRounds/);
  assert.throws(() => new StandIns(2, { maxAgeRounds: 1.5 }), /maxAgeRounds/);
  assert.throws(() => new StandIns(2, { maxAgeRounds: 5 }).record('w1', vec(1), 0), /expected 2/);
});

test('RunningMean with a stand-in: the weighted mean, divided by the sum of the weights', () => {
  const sum = new RunningMean(2);
  sum.add(vec(1, 2));
  sum.add(vec(3, 4));
  sum.add(vec(10, 20), 0.5);
  assert.equal(sum.count, 2.5);
  const mean = sum.mean();
  assert.deepEqual([...mean], [...vec((1 + 3 + 5) / 2.5, (2 + 4 + 10) / 2.5)]);
  assert.throws(() => new RunningMean(1).add(vec(1), 0), /weight/);
  assert.throws(() => new RunningMean(1).add(vec(1), Number.NaN), /weight/);
});

/** A top-k upload as the aggregator decodes it: `k` random positions set, the rest +0. */
function sparseUpload(
  length: number,
  k: number,
  rng: () => number,
): { vector: Float32Array; support: Uint32Array } {
  const positions = new Set<number>();
  while (positions.size < k) positions.add(Math.floor(rng() * length));
  const support = Uint32Array.from([...positions].sort((a, b) => a - b));
  const vector = new Float32Array(length);
  for (const i of support) vector[i] = (rng() - 0.5) * 8;
  return { vector, support };
}

function lcg(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

test('RunningMean.add with a support sums only those positions: the dense sums bit for bit', () => {
  const rng = lcg(3);
  const length = 500;
  const uploads = Array.from({ length: 5 }, () => sparseUpload(length, 20, rng));
  const dense = new RunningMean(length);
  for (const { vector } of uploads) dense.add(vector);
  dense.add(uploads[0]!.vector, 0.25);
  const expected = Float32Array.from(dense.mean());
  const sparse = new RunningMean(length);
  for (const { vector, support } of uploads) sparse.add(vector, 1, support);
  sparse.add(uploads[0]!.vector, 0.25, uploads[0]!.support);
  assert.equal(sparse.count, 5.25);
  assert.deepEqual([...sparse.mean()], [...expected]);
});

test('a sparse record keeps the moving average of the dense one (its decay folded into a scale), for hundreds of rounds', () => {
  const rng = lcg(7);
  const length = 300;
  const sparse = new StandIns(length, { maxAgeRounds: 1000 });
  const dense = new StandIns(length, { maxAgeRounds: 1000 });
  const exact = new Float64Array(length);
  const keep = 1 - AVERAGE_WEIGHT;
  // Past RESCALE_BELOW (0.9^132 < 1e-6) twice, with a dense record among them.
  for (let round = 0; round < 400; round++) {
    const { vector, support } = sparseUpload(length, 6, rng);
    sparse.record('w1', vector, round, round === 250 ? null : support);
    dense.record('w1', vector, round);
    for (let i = 0; i < length; i++)
      exact[i] =
        round === 0
          ? (vector[i] as number)
          : keep * (exact[i] as number) + AVERAGE_WEIGHT * (vector[i] as number);
  }
  const [fromSparse] = sparse.missing(new Set(), 400);
  const [fromDense] = dense.missing(new Set(), 400);
  assert.ok(fromSparse !== undefined && fromDense !== undefined);
  assert.equal(fromSparse.weight, fromDense.weight);
  let largest = 0;
  for (let i = 0; i < length; i++) largest = Math.max(largest, Math.abs(exact[i] as number));
  for (let i = 0; i < length; i++) {
    const want = exact[i] as number;
    // Float32 rounding of a few operations a value, on either path.
    assert.ok(
      Math.abs((fromSparse.vector[i] as number) - want) <= 1e-5 * largest,
      `entry ${i}: ${fromSparse.vector[i]} vs ${want}`,
    );
    assert.ok(Math.abs((fromDense.vector[i] as number) - want) <= 1e-5 * largest, `dense entry ${i}`);
  }
  // Asked for again, the same vector: the scale was multiplied in once.
  assert.deepEqual([...(sparse.missing(new Set(), 400)[0] as StandIn).vector], [...fromSparse.vector]);
});

test('a sparse record of values near the float32 limit stays finite', () => {
  const standIns = new StandIns(2, { maxAgeRounds: 1000 });
  standIns.record('w1', vec(0, 0), 0);
  const huge = vec(3e38, -3e38);
  const support = Uint32Array.of(0, 1);
  for (let round = 1; round < 140; round++) standIns.record('w1', huge, round, support);
  const [standIn] = standIns.missing(new Set(), 140);
  assert.ok(standIn !== undefined);
  assert.ok(
    standIn.vector.every((v) => Number.isFinite(v)),
    `${[...standIn.vector]}`,
  );
  assert.ok((standIn.vector[0] as number) > 1e38 && (standIn.vector[1] as number) < -1e38);
});
