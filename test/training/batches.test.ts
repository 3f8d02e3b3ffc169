import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createBatchSampler, gatherBatch } from '../../client/training/batches.ts';
import { TrainingError } from '../../client/training/errors.ts';

const shard = Array.from({ length: 150 }, (_, i) => 1000 + 3 * i);

test('each epoch visits every index once in near-equal batches no larger than batchSize', () => {
  const sampler = createBatchSampler(shard, 64, 9);
  assert.equal(sampler.batchesPerEpoch, 3);
  for (let epoch = 0; epoch < 3; epoch++) {
    assert.equal(sampler.epoch, epoch);
    const seen: number[] = [];
    const sizes: number[] = [];
    for (let b = 0; b < sampler.batchesPerEpoch; b++) {
      const batch = sampler.next();
      sizes.push(batch.length);
      seen.push(...batch);
    }
    assert.deepEqual(sizes, [50, 50, 50]);
    assert.deepEqual(
      [...seen].sort((a, b) => a - b),
      shard,
    );
  }
  assert.equal(sampler.epoch, 3);
});

test('batches are deterministic by seed and reshuffled every epoch', () => {
  const a = createBatchSampler(shard, 32, 1);
  const b = createBatchSampler(shard, 32, 1);
  const c = createBatchSampler(shard, 32, 2);
  const firstA = a.next();
  assert.deepEqual(b.next(), firstA);
  assert.notDeepEqual(c.next(), firstA);
  for (let i = 1; i < a.batchesPerEpoch; i++) a.next();
  assert.notDeepEqual(a.next(), firstA, 'the second epoch starts in another order');
});

test('a shard smaller than the batch gives the whole shard each time', () => {
  const sampler = createBatchSampler([4, 8, 15], 64, 3);
  for (let i = 0; i < 3; i++) {
    assert.deepEqual(
      sampler.next().sort((x, y) => x - y),
      [4, 8, 15],
    );
  }
  assert.throws(
    () => createBatchSampler([], 8, 1),
    (e: unknown) => e instanceof TrainingError && e.code === 'BAD_BATCH',
  );
  assert.throws(
    () => createBatchSampler([1], 0, 1),
    (e: unknown) => e instanceof TrainingError && e.code === 'BAD_OPTION',
  );
});

test('gatherBatch copies the chosen images and labels in batch order', () => {
  const pixels = 4;
  const images = Float32Array.from({ length: 5 * pixels }, (_, i) => i);
  const labels = Uint8Array.from([0, 1, 2, 3, 4]);
  const { images: out, labels: outLabels } = gatherBatch(images, labels, [3, 0], pixels);
  assert.deepEqual([...out], [12, 13, 14, 15, 0, 1, 2, 3]);
  assert.deepEqual([...outLabels], [3, 0]);
  assert.throws(
    () => gatherBatch(images, labels, [5], pixels),
    (e: unknown) => e instanceof TrainingError && e.code === 'BAD_BATCH',
  );
  assert.throws(
    () => gatherBatch(images, labels.subarray(0, 4), [0], pixels),
    (e: unknown) => e instanceof TrainingError && e.code === 'BAD_BATCH',
  );
});
