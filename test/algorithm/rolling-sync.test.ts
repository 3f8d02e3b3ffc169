/**
 * LIEC's rolling sync (SyncOptions.mode 'rolling'): every round syncs one block of
 * coordinates; over H rounds the blocks cover the model once, and each slice keeps the
 * mean-model invariant like a full sync.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createAggregator,
  createWorker,
  resolveAlgorithmOptions,
  syncBlock,
  type AggregatorAlgorithm,
  type AlgorithmSpec,
  type WorkerAlgorithm,
} from '../../shared/algorithm/index.ts';
import { mean } from '../../shared/algorithm/vector.ts';
import { quadraticProblem } from './fixtures.ts';

const DIM = 203; // not a multiple of H: blocks differ in size by one
const WORKERS = 4;
const H = 5;

function setup(spec: Partial<AlgorithmSpec>) {
  const options = resolveAlgorithmOptions({
    algorithm: 'liec',
    up: 'topk:0.05',
    down: 'topk:0.05:f32',
    learningRate: 0.05,
    syncMode: 'rolling',
    syncPeriod: H,
    // The paper's LIEC (the whole residual at once); 'auto' has its own tests (compensation.test.ts).
    compensation: 1,
    ...spec,
  });
  const problem = quadraticProblem(DIM, WORKERS, 11);
  const workers = Array.from({ length: WORKERS }, () => createWorker(options, problem.initialModel()));
  const aggregator = createAggregator(options, DIM);
  return { options, problem, workers, aggregator };
}

function trainRound(
  workers: WorkerAlgorithm[],
  aggregator: AggregatorAlgorithm,
  problem: ReturnType<typeof quadraticProblem>,
  t: number,
): void {
  const uploads = workers.map((w, i) => w.prepareUpload(problem.gradient(i, w.model, t), t * 100 + i));
  const broadcast = aggregator.aggregate(
    uploads.map((u) => aggregator.decodeUpload(u)),
    t,
  );
  for (const w of workers) w.applyBroadcast(broadcast);
}

/** One slice: the workers in `counted` send their block, every worker applies the result. */
function slice(
  workers: WorkerAlgorithm[],
  aggregator: AggregatorAlgorithm,
  t: number,
  counted: number[],
): void {
  const block = syncBlock(t, H, DIM);
  const payloads = workers.map((w, i) => w.prepareSync(t * 10 + i, block));
  const deltas = counted.map((i) => aggregator.decodeSync(payloads[i] as Uint8Array, block));
  const result = aggregator.aggregateSync(deltas, t, block);
  workers.forEach((w, i) => w.applySync(result, counted.includes(i), block));
}

/** mean(x_i) - eta * e: what every sync preserves. */
function virtualModel(
  workers: WorkerAlgorithm[],
  aggregator: AggregatorAlgorithm,
  eta: number,
): Float32Array {
  const y = mean(
    workers.map((w) => w.model),
    DIM,
  );
  for (let j = 0; j < DIM; j++) y[j] = (y[j] as number) - eta * (aggregator.error[j] as number);
  return y;
}

test('syncBlock: H consecutive rounds cover every coordinate exactly once, in order', () => {
  for (const [length, period] of [
    [203, 5],
    [101_770, 20],
    [3, 7],
    [0, 2],
  ] as const) {
    let next = 0;
    for (let t = 3 * period; t < 4 * period; t++) {
      const { start, end } = syncBlock(t, period, length);
      assert.equal(start, next, `length ${length}, period ${period}, round ${t}`);
      assert.ok(end >= start);
      next = end;
    }
    assert.equal(next, length);
  }
  assert.deepEqual(syncBlock(7, 20, 101_770), { start: 35_619, end: 40_708 });
});

test('identity codec: H slices in a row average the models exactly, like one full sync', () => {
  const { problem, workers, aggregator, options } = setup({ syncCodec: 'identity' });
  for (let t = 0; t < 8; t++) trainRound(workers, aggregator, problem, t);
  const expected = virtualModel(workers, aggregator, options.learningRate);
  assert.ok(
    workers.some((w) => w.deviationSq() > 0),
    'the models drifted apart',
  );
  for (let t = 0; t < H; t++) slice(workers, aggregator, t, [0, 1, 2, 3]);
  for (const w of workers) {
    assert.ok(w.deviationSq() < 1e-10);
    for (let j = 0; j < DIM; j++)
      assert.ok(Math.abs((w.model[j] as number) - (expected[j] as number)) < 1e-5);
  }
  assert.ok(
    aggregator.error.every((v) => v === 0),
    'every block flushed e',
  );
});

test('sign:256 slices interleaved with training: the mean model never moves at a slice', () => {
  const { problem, workers, aggregator, options } = setup({ syncCodec: 'sign:256' });
  const eta = options.learningRate;
  for (let t = 0; t < 4 * H; t++) {
    trainRound(workers, aggregator, problem, t);
    const before = virtualModel(workers, aggregator, eta);
    slice(workers, aggregator, t, [0, 1, 2, 3]);
    const after = virtualModel(workers, aggregator, eta);
    for (let j = 0; j < DIM; j++)
      assert.ok(
        Math.abs((after[j] as number) - (before[j] as number)) < 1e-5,
        `round ${t}, coordinate ${j}: ${before[j]} -> ${after[j]}`,
      );
  }
});

test('a worker whose slice was not counted keeps its whole deviation on that block, outside it nothing moves', () => {
  const { problem, workers, aggregator } = setup({ syncCodec: 'sign:256' });
  for (let t = 0; t < 6; t++) trainRound(workers, aggregator, problem, t);
  const left = workers[3] as WorkerAlgorithm;
  const deviation = (w: WorkerAlgorithm) => {
    const common = w.commonModel();
    return w.model.map((x, j) => x - (common[j] as number));
  };
  const before = deviation(left);
  const otherBefore = Float32Array.from((workers[0] as WorkerAlgorithm).model);
  slice(workers, aggregator, 6, [0, 1, 2]);
  const after = deviation(left);
  const { start, end } = syncBlock(6, H, DIM);
  for (let j = 0; j < DIM; j++) assert.ok(Math.abs((after[j] as number) - (before[j] as number)) < 1e-6);
  const other = (workers[0] as WorkerAlgorithm).model;
  for (let j = 0; j < DIM; j++) if (j < start || j >= end) assert.equal(other[j], otherBefore[j]);
});

test('a slice whose answer never came is replaced by the next slice of its block: kept as not counted', () => {
  const { problem, workers, aggregator, options } = setup({ syncCodec: 'identity' });
  for (let t = 0; t < 3; t++) trainRound(workers, aggregator, problem, t);
  const fresh = createAggregator(options, DIM); // e = 0: its aggregate of zeros is zero
  const w = workers[0] as WorkerAlgorithm;
  const block = syncBlock(0, H, DIM);
  w.prepareSync(1, block); // lost: no aggregate ever comes back for it
  const model = Float32Array.from(w.model);
  const payload = w.prepareSync(2, block);
  const zero = fresh.aggregateSync([fresh.decodeSync(payload, block).fill(0)], 0, block);
  w.applySync(zero, false, block);
  // Not counted and a zero delta: the model is unchanged (to float32 rounding of x_i - x_common).
  for (let j = 0; j < DIM; j++) assert.ok(Math.abs((w.model[j] as number) - (model[j] as number)) < 1e-6);
});

test('bad rolling settings and blocks get a clear RangeError', () => {
  const base = { algorithm: 'liec', up: 'identity', down: 'identity', learningRate: 0.1 };
  assert.throws(
    () => resolveAlgorithmOptions({ ...base, syncMode: 'rolling', syncPeriod: 1 }),
    /syncPeriod >= 2/,
  );
  assert.throws(
    () => resolveAlgorithmOptions({ ...base, syncMode: 'rolling', syncDriftThreshold: 0.1 }),
    /no drift trigger/,
  );
  assert.throws(() => resolveAlgorithmOptions({ ...base, syncMode: 'sometimes' }), /"full" or "rolling"/);
  const { workers, aggregator } = setup({});
  assert.throws(() => (workers[0] as WorkerAlgorithm).prepareSync(0, { start: 200, end: 204 }), /not inside/);
  assert.throws(() => aggregator.decodeSync(new Uint8Array(8), { start: 5, end: 4 }), /not inside/);
});
