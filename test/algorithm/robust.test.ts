import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  combine,
  coordinateMedian,
  formatAggregation,
  parseAggregation,
  trimCount,
  trimmedMean,
} from '../../shared/algorithm/robust.ts';
import { createAggregator, resolveAlgorithmOptions } from '../../shared/algorithm/index.ts';
import { decodeSyncPayload } from '../../shared/algorithm/sync-payload.ts';
import { mean } from '../../shared/algorithm/vector.ts';
import { parseSessionConfig } from '../../shared/protocol/session-config.ts';

const v = (...values: number[]): Float32Array => Float32Array.from(values);
const rows = (...vectors: Float32Array[]): Float32Array[] => vectors;

test('median of an odd count is the middle value of each coordinate', () => {
  const out = coordinateMedian(rows(v(1, 10, -5), v(3, -20, 0), v(2, 30, 100)), 3);
  assert.deepEqual([...out], [2, 10, 0]);
});

test('median of an even count is the mean of the two middle values', () => {
  const out = coordinateMedian(rows(v(1, 0), v(4, 0), v(2, 1), v(100, 1)), 2);
  assert.deepEqual([...out], [3, 0.5]);
});

test('median with ties, one vector, and none', () => {
  assert.deepEqual([...coordinateMedian(rows(v(5, 7), v(5, 7), v(5, -1)), 2)], [5, 7]);
  assert.deepEqual([...coordinateMedian(rows(v(2, 2), v(2, 2)), 2)], [2, 2]);
  assert.deepEqual([...coordinateMedian(rows(v(-3.5)), 1)], [-3.5]);
  assert.deepEqual([...coordinateMedian([], 3)], [0, 0, 0]);
});

test('trimmed mean drops floor(F n) values at each end, never all of them', () => {
  assert.equal(trimCount(10, 0.2), 2);
  assert.equal(trimCount(5, 0.2), 1);
  assert.equal(trimCount(4, 0.2), 0);
  assert.equal(trimCount(4, 0.49), 1);
  assert.equal(trimCount(2, 0.49), 0);
  assert.equal(trimCount(1, 0.4), 0);
  // n = 5, F = 0.2: drop the lowest and the highest, average the middle three.
  const out = trimmedMean(rows(v(1), v(2), v(3), v(4), v(1000)), 1, 0.2);
  assert.deepEqual([...out], [3]);
  // n = 6, F = 0.34: drop two at each end, average the middle two (ties included).
  assert.deepEqual([...trimmedMean(rows(v(-9), v(1), v(1), v(3), v(3), v(9)), 1, 0.34)], [2]);
  // Too few to trim: the plain mean.
  assert.deepEqual([...trimmedMean(rows(v(1), v(2), v(6)), 1, 0.2)], [3]);
});

test('trimmed mean with F = 0 and mean are the plain mean, bit for bit', () => {
  const a = v(0.1, -2, 3e38);
  const b = v(0.2, 5, 3e38);
  const c = v(0.7, 1e-30, -3e38);
  const plain = mean(rows(a, b, c), 3);
  assert.deepEqual([...combine(rows(a, b, c), 3, 'mean')], [...plain]);
  assert.deepEqual([...trimmedMean(rows(a, b, c), 3, 0)], [...plain]);
});

test('more workers than the insertion sort handles: same results through the library sort', () => {
  const many = Array.from({ length: 41 }, (_, i) => v(i % 2 === 0 ? i : -i, 7));
  assert.deepEqual([...coordinateMedian(many, 2)], [0, 7]);
  const sorted = Array.from({ length: 41 }, (_, i) => (i % 2 === 0 ? i : -i)).sort((x, y) => x - y);
  const kept = sorted.slice(8, 33); // trimCount(41, 0.2) = 8
  const expected = Math.fround(kept.reduce((s, x) => s + x, 0) / kept.length);
  assert.equal(trimmedMean(many, 2, 0.2)[0], expected);
});

test('one huge outlier moves the mean but not the median', () => {
  const honest = [v(1, -1), v(1.2, -0.8), v(0.8, -1.2), v(1.1, -0.9)];
  const poisoned = [...honest, v(1e30, 1e30)];
  assert.ok((mean(poisoned, 2)[0] ?? 0) > 1e29);
  assert.deepEqual([...coordinateMedian(poisoned, 2)], [Math.fround(1.1), Math.fround(-0.9)]);
  assert.deepEqual(
    [...trimmedMean(poisoned, 2, 0.2)],
    [Math.fround((1 + 1.2 + 1.1) / 3), Math.fround((-1 - 0.8 - 0.9) / 3)],
  );
});

test('aggregation specs parse, print back and refuse the rest', () => {
  assert.equal(parseAggregation('mean'), 'mean');
  assert.equal(parseAggregation('median'), 'median');
  assert.deepEqual(parseAggregation('trimmed:0.2'), { trimmed: 0.2 });
  assert.deepEqual(parseAggregation('trimmed:.1'), { trimmed: 0.1 });
  assert.equal(formatAggregation({ trimmed: 0.25 }), 'trimmed:0.25');
  for (const bad of [
    '',
    'Median',
    'trimmed',
    'trimmed:',
    'trimmed:0.5',
    'trimmed:1',
    'trimmed:-0.1',
    'trimmed:0.2x',
    'max',
  ]) {
    assert.throws(() => parseAggregation(bad), RangeError, bad);
  }
});

test('resolveAlgorithmOptions: mean by default, robust modes only with dense uploads', () => {
  const base = { algorithm: 'liec', up: 'fp16', down: 'fp16', learningRate: 0.1 };
  assert.equal(resolveAlgorithmOptions(base).aggregation, undefined);
  assert.equal(resolveAlgorithmOptions({ ...base, aggregation: 'median' }).aggregation, 'median');
  assert.deepEqual(resolveAlgorithmOptions({ ...base, aggregation: 'trimmed:0.2' }).aggregation, {
    trimmed: 0.2,
  });
  assert.throws(() => resolveAlgorithmOptions({ ...base, up: 'topk:0.01', aggregation: 'median' }), /dense/);
  assert.throws(
    () => resolveAlgorithmOptions({ ...base, up: 'randk:0.1', aggregation: 'trimmed:0.1' }),
    /dense/,
  );
  assert.equal(
    resolveAlgorithmOptions({ ...base, up: 'topk:0.01', aggregation: 'mean' }).aggregation,
    undefined,
  );
});

test('the aggregator uses the statistic for rounds and syncs, and drops late uploads when robust', () => {
  const options = resolveAlgorithmOptions({
    algorithm: 'liec',
    up: 'identity',
    down: 'identity',
    learningRate: 0.5,
    syncCodec: 'identity',
    aggregation: 'median',
  });
  const aggregator = createAggregator(options, 2);
  const uploads = [v(1, 2), v(3, 4), v(1000, -1000)];
  const payload = aggregator.aggregate(uploads, 1);
  assert.deepEqual([...options.down.decode(payload, 2)], [3, 2]);
  aggregator.foldLate(v(1e6, 1e6), 3);
  assert.deepEqual([...aggregator.error], [0, 0], 'a late upload does not bypass the median');
  const sync = decodeSyncPayload(aggregator.aggregateSync([v(0, 1), v(2, 1), v(-50, 50)], 2));
  assert.deepEqual([...aggregator.decodeSync(sync.body)], [0, 1]);
  const plain = createAggregator({ ...options, aggregation: 'mean' }, 2);
  plain.foldLate(v(3, 6), 3);
  assert.deepEqual([...plain.error], [1, 2], 'the mean folds late uploads, weighted 1/|S_t|');
});

test('sessions carry the aggregation as a config field, mean by default', () => {
  assert.equal(parseSessionConfig({}).aggregation, 'mean');
  // Robust statistics need dense uploads; a sparse `up` is refused at creation.
  const dense = { up: 'fp16', down: 'fp16' };
  assert.equal(parseSessionConfig({ ...dense, aggregation: 'trimmed:0.25' }).aggregation, 'trimmed:0.25');
  assert.equal(parseSessionConfig({ ...dense, aggregation: 'trimmed:.4999' }).aggregation, 'trimmed:.4999');
  assert.throws(() => parseSessionConfig({ aggregation: 'median' }), /dense uploads/);
  for (const bad of ['avg', 'trimmed:0.5', 'trimmed:0.7', 'trimmed:0.2x', 'median;drop table']) {
    assert.throws(() => parseSessionConfig({ ...dense, aggregation: bad }), bad);
  }
});
