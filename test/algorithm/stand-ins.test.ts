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
