import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { fileURLToPath } from 'node:url';
import { selectBackend } from '../../client/training/backend.ts';
import { createDataLearner } from '../../client/training/data-learner.ts';
import { TrainingError } from '../../client/training/errors.ts';
import { createMnistLearner } from '../../client/training/mnist-learner.ts';
import { readMnistCache, writeMnistCache } from '../../client/training/mnist-cache.ts';
import {
  loadMnist,
  loadMnistSource,
  MNIST_PIXELS,
  mnistSourceBytes,
  readMnistPackage,
  scanDigitFile,
} from '../../client/training/mnist.ts';

const bytes = (text: string) => new TextEncoder().encode(text);

test('scanDigitFile gives the bits JSON.parse gives, for every value of the package', () => {
  for (let digit = 0; digit < 10; digit++) {
    const path = fileURLToPath(import.meta.resolve(`mnist/src/digits/${digit}.json`));
    const file = readFileSync(path);
    const parsed = Float32Array.from((JSON.parse(file.toString('utf8')) as { data: number[] }).data);
    const out = new Float32Array(parsed.length);
    const count = scanDigitFile(file, digit, (image) => image, out);
    assert.equal(count, parsed.length);
    assert.deepEqual(new Uint32Array(out.buffer), new Uint32Array(parsed.buffer), `digit ${digit}`);
  }
});

test('scanDigitFile: whitespace, exponents and long decimals as JSON.parse; bad input refused with a code', () => {
  const text = '{ "data" : [ 0 , 1,0.5,\n0.123456789012345678, 1e-3,2.5E-1 ,0.0] }';
  const expected = Float32Array.from((JSON.parse(text) as { data: number[] }).data);
  const out = new Float32Array(MNIST_PIXELS);
  assert.equal(
    scanDigitFile(bytes(text), 0, () => 0, out),
    expected.length,
  );
  assert.deepEqual([...out.subarray(0, expected.length)], [...expected]);
  for (const bad of [
    '{"data":[0,1.5]}',
    '{"data":[0,-0.1]}',
    '{"data":[0,,1]}',
    '{"values":[0]}',
    '{"data":[0,x]}',
  ]) {
    assert.throws(
      () => scanDigitFile(bytes(bad), 3, () => 0, new Float32Array(MNIST_PIXELS)),
      (error: unknown) => error instanceof TrainingError && error.code === 'MNIST_LOAD_FAILED',
      bad,
    );
  }
});

test('readTrainImages packs any subset of the training images exactly as the full set holds them', async () => {
  const [source, data] = await Promise.all([loadMnistSource(), loadMnist()]);
  assert.deepEqual(source.trainLabels, data.trainLabels);
  const picked = [7999, 0, 4242, 17];
  const images = source.readTrainImages(picked);
  assert.equal(images.length, picked.length * MNIST_PIXELS);
  picked.forEach((index, k) =>
    assert.deepEqual(
      images.subarray(k * MNIST_PIXELS, (k + 1) * MNIST_PIXELS),
      data.trainImages.subarray(index * MNIST_PIXELS, (index + 1) * MNIST_PIXELS),
    ),
  );
  assert.throws(() => source.readTrainImages([8000]), RangeError);
});

test("a learner holding one shard's images computes the same gradients, bit for bit, as one holding all", async () => {
  const backend = await selectBackend(undefined, { log: () => {} });
  const options = {
    workers: 4,
    partition: { kind: 'iid' as const },
    batchSize: 32,
    seed: 3,
    arch: 'mlp' as const,
  };
  const full = createDataLearner({ ...options, data: await loadMnist(), backend });
  const lazy = await createMnistLearner({ ...options, log: () => {} });
  try {
    const weights = full.initialWeights();
    // Shard 2 alone first (a peer), then shard 0 (the simulator's second worker: every image read).
    for (const shard of [2, 2, 0, 2]) {
      const a = full.gradient(shard, weights);
      const b = lazy.gradient(shard, weights);
      assert.equal(a.loss, b.loss);
      assert.deepEqual(
        new Uint32Array(b.gradient.buffer),
        new Uint32Array(a.gradient.buffer),
        `shard ${shard}`,
      );
    }
    assert.deepEqual(lazy.evaluate(weights), full.evaluate(weights));
  } finally {
    full.dispose();
    lazy.dispose();
  }
});

test("the build's packed copy holds the scanned digits' very bits, and is ignored for other source files", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'liec-mnist-cache-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const url = pathToFileURL(`${dir}/`);
  const [scanned, bytes] = await Promise.all([readMnistPackage(), mnistSourceBytes()]);
  assert.equal(await readMnistCache(bytes, url), null, 'no cache yet');
  await writeMnistCache(scanned, bytes, url);
  const cached = await readMnistCache(bytes, url);
  assert.ok(cached !== null);
  assert.deepEqual(cached.trainLabels, scanned.trainLabels);
  assert.deepEqual(cached.testLabels, scanned.testLabels);
  assert.deepEqual(
    new Uint32Array(cached.testImages.buffer, cached.testImages.byteOffset, cached.testImages.length),
    new Uint32Array(scanned.testImages.buffer, scanned.testImages.byteOffset, scanned.testImages.length),
  );
  const picked = [3, 7999, 100, 3];
  assert.deepEqual(cached.readTrainImages(picked), scanned.readTrainImages(picked));
  assert.throws(() => cached.readTrainImages([8000]), RangeError);
  assert.equal(await readMnistCache(bytes + 1, url), null, 'a cache of other digit files');
});
