import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createAggregator,
  createWorker,
  resolveAlgorithmOptions,
  type AlgorithmSpec,
  type WorkerAlgorithm,
} from '../../shared/algorithm/index.ts';
import { createOptimizer } from '../../shared/algorithm/optimizer.ts';
import { mean } from '../../shared/algorithm/vector.ts';
import { BitWriter } from '../../shared/compress/bits.ts';
import { ByteWriter, writeHeader } from '../../shared/compress/bytes.ts';
import { CodecError, CodecId } from '../../shared/compress/types.ts';
import { quadraticProblem } from './fixtures.ts';

const DIM = 200;
const WORKERS = 4;

function setup(spec: Partial<AlgorithmSpec>) {
  const options = resolveAlgorithmOptions({
    algorithm: 'liec',
    up: 'identity',
    down: 'identity',
    learningRate: 0.05,
    // The paper's LIEC (the whole residual at once); 'auto' has its own tests (compensation.test.ts).
    compensation: 1,
    ...spec,
  });
  const problem = quadraticProblem(DIM, WORKERS, 7);
  const init = problem.initialModel();
  const workers = Array.from({ length: WORKERS }, () => createWorker(options, init));
  const aggregator = createAggregator(options, DIM);
  return { options, problem, init, workers, aggregator };
}

/** One full-participation round; returns the gradients the workers computed. */
function round(
  workers: WorkerAlgorithm[],
  aggregator: ReturnType<typeof createAggregator>,
  problem: ReturnType<typeof quadraticProblem>,
  t: number,
) {
  const gradients = workers.map((w, i) => problem.gradient(i, w.model, t));
  const uploads = workers.map((w, i) => w.prepareUpload(gradients[i] as Float32Array, t * 100 + i));
  const broadcast = aggregator.aggregate(
    uploads.map((u) => aggregator.decodeUpload(u)),
    t,
  );
  for (const w of workers) w.applyBroadcast(broadcast);
  return gradients;
}

for (const [label, extra] of [
  ['plain', {}],
  ['momentum and weight decay', { momentum: 0.9, weightDecay: 1e-3 }],
] as const) {
  test(`liec with identity compressors is exactly synchronous SGD (${label})`, () => {
    const { options, problem, init, workers, aggregator } = setup(extra);
    const reference = Float32Array.from(init);
    const referenceOptimizer = createOptimizer(options, DIM);
    for (let t = 0; t < 30; t++) {
      const gradients = workers.map((_, i) => problem.gradient(i, reference, t));
      referenceOptimizer.step(reference, mean(gradients, DIM));
      round(workers, aggregator, problem, t);
      for (const w of workers) assert.deepEqual(w.model, reference, `round ${t}`);
    }
    assert.ok(workers.every((w) => w.deviationSq() === 0));
  });
}

test('liec mean model follows SGD on the mean gradient, offset only by the aggregator error', () => {
  const { problem, workers, aggregator, options } = setup({ up: 'topk:0.05', down: 'topk:0.05:f32' });
  const eta = options.learningRate;
  // y = mean(x_i) - eta * e must move exactly by -eta * mean(g_i) every round.
  const virtualModel = () => {
    const y = mean(
      workers.map((w) => w.model),
      DIM,
    );
    for (let j = 0; j < DIM; j++) y[j] = (y[j] as number) - eta * (aggregator.error[j] as number);
    return y;
  };
  let y = virtualModel();
  let maxDeviation = 0;
  for (let t = 0; t < 40; t++) {
    const gradients = round(workers, aggregator, problem, t);
    const expected = Float64Array.from(y);
    const g = mean(gradients, DIM);
    for (let j = 0; j < DIM; j++) expected[j] = (expected[j] as number) - eta * (g[j] as number);
    y = virtualModel();
    for (let j = 0; j < DIM; j++) {
      assert.ok(Math.abs((y[j] as number) - (expected[j] as number)) < 1e-4, `round ${t} coordinate ${j}`);
    }
    maxDeviation = Math.max(maxDeviation, ...workers.map((w) => w.deviationSq()));
  }
  // Compression really was lossy (so the invariant was not trivially true).
  assert.ok(maxDeviation > 1e-3, `workers drifted (${maxDeviation})`);
  assert.ok(aggregator.error.some((v) => v !== 0));
});

test('a late upload is folded into the aggregator error and reaches a later broadcast', () => {
  const { problem, workers, aggregator } = setup({});
  const gradients = workers.map((w, i) => problem.gradient(i, w.model, 0));
  const uploads = workers.map((w, i) => w.prepareUpload(gradients[i] as Float32Array, i));
  const counted = uploads.slice(0, 3).map((u) => aggregator.decodeUpload(u));
  const broadcast0 = aggregator.decodeUpload(aggregator.aggregate(counted, 0));
  assert.deepEqual(broadcast0, mean(counted, DIM));
  // Worker 3 was late: its upload arrives after the round closed.
  const late = aggregator.decodeUpload(uploads[3] as Uint8Array);
  aggregator.foldLate(late, 3);
  const expectedError = late.map((v) => v / 3);
  assert.deepEqual(aggregator.error, expectedError);
  // The next round's broadcast carries it: mean of that round's uploads plus late/3.
  for (const w of workers) w.applyBroadcast(aggregator.aggregate([], 1));
  assert.ok(
    aggregator.error.every((v) => v === 0),
    'identity down: error fully delivered',
  );
});

test('a sync averages the models exactly and flushes the aggregator error (identity codec)', () => {
  const { problem, workers, aggregator, options } = setup({
    up: 'topk:0.05',
    down: 'topk:0.05:f32',
    syncCodec: 'identity',
  });
  for (let t = 0; t < 10; t++) round(workers, aggregator, problem, t);
  const eta = options.learningRate;
  const expected = mean(
    workers.map((w) => w.model),
    DIM,
  );
  for (let j = 0; j < DIM; j++) expected[j] = (expected[j] as number) - eta * (aggregator.error[j] as number);
  const syncs = workers.map((w, i) => aggregator.decodeSync(w.prepareSync(i)));
  const payload = aggregator.aggregateSync(syncs, 0);
  for (const w of workers) w.applySync(payload, true);
  for (const w of workers) {
    assert.equal(w.deviationSq(), 0);
    for (let j = 0; j < DIM; j++)
      assert.ok(Math.abs((w.model[j] as number) - (expected[j] as number)) < 1e-5);
  }
  assert.ok(aggregator.error.every((v) => v === 0));
});

test('with momentum a sync flushes e as far as the broadcasts would have moved the model: eta / (1 - momentum)', () => {
  const momentum = 0.9;
  const { problem, workers, aggregator, options } = setup({
    up: 'topk:0.05',
    down: 'topk:0.05:f32',
    syncCodec: 'identity',
    momentum,
  });
  for (let t = 0; t < 10; t++) round(workers, aggregator, problem, t);
  const error = Float32Array.from(aggregator.error);
  assert.ok(
    error.some((v) => v !== 0),
    'the down compressor held something back',
  );
  // Heavy ball's total response to one step d is eta * d * (1 + m + m^2 + ...) = eta * d / (1 - m):
  // delivering e in a broadcast and nothing after would move a model this far in the end.
  const impulse = createOptimizer(options, DIM);
  const moved = new Float32Array(DIM);
  impulse.step(moved, error);
  for (let k = 0; k < 400; k++) impulse.step(moved, new Float32Array(DIM));
  const expected = mean(
    workers.map((w) => w.model),
    DIM,
  );
  for (let j = 0; j < DIM; j++) expected[j] = (expected[j] as number) + (moved[j] as number);
  const syncs = workers.map((w, i) => aggregator.decodeSync(w.prepareSync(i)));
  const payload = aggregator.aggregateSync(syncs, 0);
  for (const w of workers) w.applySync(payload, true);
  for (const w of workers) {
    for (let j = 0; j < DIM; j++)
      assert.ok(
        Math.abs((w.model[j] as number) - (expected[j] as number)) < 1e-5,
        `coordinate ${j}: ${w.model[j]} against ${expected[j]}`,
      );
  }
  assert.ok(aggregator.error.every((v) => v === 0));
});

test('a q8 sync keeps the mean-model invariant (its quantization error is compensated)', () => {
  const { problem, workers, aggregator, options } = setup({
    up: 'topk:0.05',
    down: 'topk:0.05:f32',
    syncCodec: 'q8',
  });
  for (let t = 0; t < 10; t++) round(workers, aggregator, problem, t);
  const eta = options.learningRate;
  const virtual = () => {
    const y = mean(
      workers.map((w) => w.model),
      DIM,
    );
    for (let j = 0; j < DIM; j++) y[j] = (y[j] as number) - eta * (aggregator.error[j] as number);
    return y;
  };
  const before = virtual();
  const driftBefore = workers.reduce((s, w) => s + w.deviationSq(), 0);
  const syncs = workers.map((w, i) => aggregator.decodeSync(w.prepareSync(i)));
  const payload = aggregator.aggregateSync(syncs, 0);
  for (const w of workers) w.applySync(payload, true);
  const after = virtual();
  for (let j = 0; j < DIM; j++) assert.ok(Math.abs((after[j] as number) - (before[j] as number)) < 1e-5);
  const driftAfter = workers.reduce((s, w) => s + w.deviationSq(), 0);
  assert.ok(driftAfter < driftBefore / 100, `drift ${driftBefore} -> ${driftAfter}`);
});

test('a malformed broadcast is rejected with a CodecError and leaves the model untouched', () => {
  const { problem, workers } = setup({ up: 'topk:0.05', down: 'topk:0.05' });
  const w = workers[0] as WorkerAlgorithm;
  w.prepareUpload(problem.gradient(0, w.model, 0), 1);
  const before = Float32Array.from(w.model);
  assert.throws(
    () => w.applyBroadcast(new Uint8Array([3, 1, 2])),
    (e: unknown) => e instanceof CodecError,
  );
  assert.deepEqual(w.model, before);
  assert.ok(w.hasPendingUpload);
});

test('a top-k broadcast with a NaN among its values is refused and moves neither x_i nor x_common', () => {
  for (const localSteps of [1, 2]) {
    const { problem, workers } = setup({ up: 'topk:0.05', down: 'topk:0.05', localSteps });
    const w = workers[0] as WorkerAlgorithm;
    for (let h = 1; h < w.localSteps; h++) w.localStep(problem.gradient(0, w.model, h));
    w.prepareUpload(problem.gradient(0, w.model, 0), 1);
    const before = Float32Array.from(w.model);
    const common = w.commonModel();
    // Two kept values, f32, positions 3 and 13: the second one NaN.
    const writer = new ByteWriter(5 + 6 + 4 * 2 + 1); // 3 + 5 bits of gaps
    writeHeader(writer, CodecId.topk, DIM);
    writer.u8(1); // f32 values
    writer.u32(2);
    writer.u8(2);
    writer.array(Float32Array.of(0.5, Number.NaN));
    const bits = new BitWriter(writer.bytes, writer.pos);
    bits.rice(3, 2);
    bits.rice(9, 2);
    bits.flush();
    writer.pos = bits.pos;
    assert.throws(
      () => w.applyBroadcast(writer.finish()),
      (e: unknown) => e instanceof CodecError && /non-finite/.test(e.message),
      `H = ${localSteps}`,
    );
    assert.deepEqual(w.model, before, 'x_i untouched');
    assert.deepEqual(w.commonModel(), common, 'x_common untouched');
    assert.ok(w.hasPendingUpload);
  }
});
