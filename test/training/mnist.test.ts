import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadMnist, MNIST_PIXELS } from '../../client/training/mnist.ts';

/** FNV-1a over an image's float bits, to compare images cheaply. */
function imageHash(images: Float32Array, index: number): string {
  const bits = new Uint32Array(images.buffer, images.byteOffset + index * MNIST_PIXELS * 4, MNIST_PIXELS);
  let h = 0x811c9dc5;
  let g = 0;
  for (const word of bits) {
    h = Math.imul(h ^ word, 0x01000193) >>> 0;
    g = (g + word * 31) % 4294967291;
  }
  return `${h}:${g}`;
}

test('loads 8,000 training and 2,000 test digits, stratified, with values in [0, 1]', async () => {
  const data = await loadMnist();
  assert.equal(data.trainLabels.length, 8000);
  assert.equal(data.testLabels.length, 2000);
  assert.equal(data.trainImages.length, 8000 * MNIST_PIXELS);
  assert.equal(data.testImages.length, 2000 * MNIST_PIXELS);
  // Per-digit counts of the package: 1001 1127 991 1032 980 863 1014 1070 944 978.
  const testCounts = new Array<number>(10).fill(0);
  for (const label of data.testLabels) testCounts[label] = (testCounts[label] ?? 0) + 1;
  assert.deepEqual(testCounts, [200, 225, 198, 206, 196, 173, 203, 214, 189, 196]);
  for (const images of [data.trainImages, data.testImages]) {
    let max = 0;
    for (const v of images) {
      assert.ok(v >= 0 && v <= 1);
      if (v > max) max = v;
    }
    assert.ok(max > 0.99);
  }
});

test('the split and order are fixed, the sets disjoint, and the data cached', async () => {
  const data = await loadMnist();
  assert.equal(await loadMnist(), data, 'second call returns the cached object');
  // Golden values: changing them changes every experiment's data, so do it on purpose only.
  assert.deepEqual([...data.trainLabels.subarray(0, 10)], [7, 6, 3, 5, 2, 5, 2, 5, 6, 6]);
  const trainHashes = new Set(Array.from({ length: 8000 }, (_, i) => imageHash(data.trainImages, i)));
  let shared = 0;
  for (let i = 0; i < 2000; i++) if (trainHashes.has(imageHash(data.testImages, i))) shared++;
  assert.equal(shared, 0, 'no test image also appears in the training set');
  // A shuffled order: the first 100 test labels already cover every digit.
  assert.equal(new Set(data.testLabels.subarray(0, 100)).size, 10);
});
