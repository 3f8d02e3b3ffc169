/**
 * topk:auto: the spec, the payload-size bound, the ratio rule, and where the spec is
 * accepted (up only) and refused (down, sync codec, a plain compressor, a session's down).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  chooseTopKRatio,
  DEFAULT_ADAPTIVE_RATIO,
  parseAutoTopK,
  topKPayloadBytes,
  UPLOAD_OVERHEAD_BYTES,
} from '../../shared/algorithm/adaptive-ratio.ts';
import { createAggregator, createWorker, resolveAlgorithmOptions } from '../../shared/algorithm/index.ts';
import { CodecError, createTopK, parseCompressor } from '../../shared/compress/index.ts';
import { sessionConfigSchema } from '../../shared/protocol/session-config.ts';
import { createRng } from '../../shared/random.ts';

const D = 101_770; // the MNIST MLP

function gaussian(d: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: d }, () => rng.normal());
}

function badSpec(err: unknown): boolean {
  return err instanceof CodecError && err.code === 'BAD_SPEC';
}

test('auto specs: defaults, explicit bounds, malformed ones refused, other specs are not auto', () => {
  assert.deepEqual(parseAutoTopK('topk:auto'), DEFAULT_ADAPTIVE_RATIO);
  assert.deepEqual(parseAutoTopK('topk:auto:0.005:0.5'), {
    ...DEFAULT_ADAPTIVE_RATIO,
    minRatio: 0.005,
    maxRatio: 0.5,
  });
  assert.deepEqual(parseAutoTopK('topk:auto:0.001:0.25:0.25'), {
    ...DEFAULT_ADAPTIVE_RATIO,
    minRatio: 0.001,
    maxRatio: 0.25,
    budgetFraction: 0.25,
  });
  for (const spec of [
    'topk:auto:0.5',
    'topk:auto:0.5:0.1',
    'topk:auto:0:0.1',
    'topk:auto:0.1:2',
    'topk:auto:x:y',
    'topk:auto:0.1:0.2:0',
    'topk:auto:0.1:0.2:0.5:1',
  ]) {
    assert.throws(() => parseAutoTopK(spec), badSpec, spec);
  }
  assert.equal(parseAutoTopK('topk:0.01'), null);
  assert.equal(parseAutoTopK('identity'), null);
});

test('the payload bound holds the real topk payload, within 10% above it', () => {
  for (const ratio of [0.0005, 0.001, 0.01, 0.05, 0.2, 0.5, 1]) {
    const x = gaussian(D, Math.round(ratio * 1e4));
    const payload = createTopK({ ratio }).encode(x);
    const k = Math.ceil(ratio * D);
    const bound = topKPayloadBytes(k, D);
    assert.ok(payload.length <= bound, `ratio ${ratio}: ${payload.length} > bound ${bound}`);
    assert.ok(bound <= payload.length * 1.1, `ratio ${ratio}: bound ${bound} vs ${payload.length}`);
  }
});

test('the ratio fits the upload in the budget, grows with the link, and stays within its bounds', () => {
  const settings = DEFAULT_ADAPTIVE_RATIO;
  const at = (bytesPerSecond: number | undefined, deadlineSeconds = 1) =>
    chooseTopKRatio({ d: D, bytesPerSecond, deadlineSeconds }, settings);
  assert.equal(at(undefined), settings.minRatio, 'no measurement yet: start low');
  assert.equal(at(Infinity), settings.maxRatio, 'an unshaped link: the largest ratio');
  assert.equal(at(10), settings.minRatio, 'a link too thin for anything: the smallest ratio');
  // 0.5 and 10 Mbit/s, 1 s deadline: half of it for the upload.
  const slow = at(62_500);
  const fast = at(1_250_000);
  assert.ok(slow > settings.minRatio && slow < fast && fast <= settings.maxRatio, `${slow} ${fast}`);
  const budget = 62_500 * settings.budgetFraction * 1 - UPLOAD_OVERHEAD_BYTES;
  const payload = createTopK({ ratio: slow }).encode(gaussian(D, 3));
  assert.ok(payload.length <= budget, `${payload.length} bytes in a ${budget}-byte budget`);
  assert.ok(payload.length > 0.8 * budget, `the budget is used: ${payload.length} of ${budget}`);
  // A longer deadline allows more; a fraction of the rate allows less.
  assert.ok(at(62_500, 2) > slow);
  assert.ok(at(31_250) < slow);
});

test('topk:auto is accepted as up only: down, sync codec and plain compressor specs refuse it', () => {
  const options = resolveAlgorithmOptions({
    algorithm: 'liec',
    up: 'topk:auto',
    down: 'topk:0.01',
    learningRate: 0.1,
  });
  assert.deepEqual(options.adaptiveUp, DEFAULT_ADAPTIVE_RATIO);
  assert.equal(options.up.spec, 'topk:0.25');
  const bounded = resolveAlgorithmOptions({
    algorithm: 'sgd',
    up: 'topk:auto:0.01:0.1',
    down: 'identity',
    learningRate: 0.1,
  });
  assert.equal(bounded.adaptiveUp?.maxRatio, 0.1);
  assert.throws(
    () =>
      resolveAlgorithmOptions({ algorithm: 'liec', up: 'topk:0.01', down: 'topk:auto', learningRate: 0.1 }),
    RangeError,
  );
  assert.throws(
    () =>
      resolveAlgorithmOptions({
        algorithm: 'liec',
        up: 'topk:0.01',
        down: 'topk:0.01',
        learningRate: 0.1,
        syncCodec: 'topk:auto',
      }),
    RangeError,
  );
  assert.throws(() => parseCompressor('topk:auto'), badSpec);
  assert.equal(sessionConfigSchema.safeParse({ up: 'topk:auto' }).success, true);
  assert.equal(sessionConfigSchema.safeParse({ up: 'topk:auto', down: 'topk:auto' }).success, false);
});

test("a worker encodes with this round's ratio; the aggregator decodes it; LIEC keeps the rest", () => {
  const options = resolveAlgorithmOptions({
    algorithm: 'liec',
    up: 'topk:auto',
    down: 'identity',
    learningRate: 1,
    syncPeriod: 0,
    compensation: 1,
  });
  const d = 1000;
  const worker = createWorker(options, new Float32Array(d));
  const aggregator = createAggregator(options, d);
  const gradient = gaussian(d, 9);
  const payload = worker.prepareUpload(gradient, 1, createTopK({ ratio: 0.05 }));
  const decoded = aggregator.decodeUpload(payload);
  assert.equal(decoded.filter((v) => v !== 0).length, 50, 'k of this round, not of maxRatio');
  // Identity down, lr 1, plain SGD step: the worker applies c + r = the whole gradient.
  worker.applyBroadcast(aggregator.aggregate([decoded], 2));
  for (let i = 0; i < d; i++)
    assert.ok(Math.abs((worker.model[i] ?? 0) + (gradient[i] ?? 0)) < 1e-2, `index ${i}`);
});
