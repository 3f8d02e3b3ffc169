/**
 * The MNIST digits in the browser: `mnist.bin` (format in shared/data/mnist-binary.ts, built
 * from the `mnist` package by client/ui/tooling/mnist-asset.ts) decoded into the same
 * `MnistData` as the Node loader, with the same split and order (mnist-split.ts), so a tab
 * trains on the same shard as a headless peer in the same join slot and the aggregator's
 * test set is the same whoever aggregates. Pixels are 8-bit here (grey = byte / 255); the
 * package's JSON rounds to 3 decimals, so the two differ by at most 0.002 per pixel.
 *
 * No Node modules: safe to bundle for the browser.
 *
 * @example
 * const data = await fetchMnist('/mnist.bin', { signal });
 * data.trainLabels.length; // 8000
 */
import { decodeImageSet } from '../../shared/data/mnist-binary.ts';
import { TrainingError } from './errors.ts';
import type { MnistData } from './mnist.ts';
import { MNIST_CLASSES, MNIST_PIXELS, mnistSplit, type DigitImageRef } from './mnist-split.ts';

/** Decodes `mnist.bin` bytes and applies the fixed split; throws TrainingError('MNIST_LOAD_FAILED'). */
export function mnistFromBinary(bytes: Uint8Array): MnistData {
  let set;
  try {
    set = decodeImageSet(bytes);
  } catch (error) {
    throw new TrainingError('MNIST_LOAD_FAILED', `mnist.bin: ${String(error)}`, { cause: error });
  }
  if (set.rows * set.cols !== MNIST_PIXELS || set.classes !== MNIST_CLASSES) {
    throw new TrainingError(
      'MNIST_LOAD_FAILED',
      `mnist.bin holds ${set.rows}x${set.cols} images of ${set.classes} classes, not 28x28 digits`,
    );
  }
  // Where the images of each digit are, in file order (the order the split refers to).
  const positions: number[][] = Array.from({ length: MNIST_CLASSES }, () => []);
  set.labels.forEach((label, i) => positions[label]?.push(i));
  const split = mnistSplit(positions.map((list) => list.length));
  const pack = (refs: readonly DigitImageRef[]): [Float32Array, Uint8Array] => {
    const images = new Float32Array(refs.length * MNIST_PIXELS);
    const labels = new Uint8Array(refs.length);
    refs.forEach(({ digit, index }, i) => {
      const source = (positions[digit]?.[index] ?? 0) * MNIST_PIXELS;
      for (let p = 0; p < MNIST_PIXELS; p++)
        images[i * MNIST_PIXELS + p] = (set.pixels[source + p] ?? 0) / 255;
      labels[i] = digit;
    });
    return [images, labels];
  };
  const [trainImages, trainLabels] = pack(split.train);
  const [testImages, testLabels] = pack(split.test);
  return { trainImages, trainLabels, testImages, testLabels };
}

export interface FetchMnistOptions {
  signal?: AbortSignal;
  /** The fetch to use (tests pass their own). @default globalThis.fetch */
  fetch?: typeof fetch;
}

/** Downloads `mnist.bin` from `url` and decodes it; throws TrainingError('MNIST_LOAD_FAILED'). */
export async function fetchMnist(url: string | URL, options: FetchMnistOptions = {}): Promise<MnistData> {
  const get = options.fetch ?? globalThis.fetch;
  let bytes: Uint8Array;
  try {
    const response = await get(url, options.signal === undefined ? {} : { signal: options.signal });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    throw new TrainingError('MNIST_LOAD_FAILED', `cannot download ${String(url)}: ${String(error)}`, {
      cause: error,
    });
  }
  return mnistFromBinary(bytes);
}
