/**
 * Test and bench support: the shipped MNIST digits written as PNG files into one folder per
 * digit (0/ ... 9/), the layout `--task images --data DIR` reads. The package's grey values
 * (three decimals) are rounded to bytes, so the images task sees them within 0.5 / 255.
 *
 * @example
 * const written = await writeMnistPngs(dir); // { images: 10000, ms: 2900 }
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { loadMnistSource } from '../../client/training/mnist.ts';

const SIDE = 28;

/**
 * Writes the training digits (the first `limit` of them) and, unless `trainOnly`, the test
 * digits too; resolves with the count and the time it took.
 */
export async function writeMnistPngs(
  dir: string,
  options: { first?: number; limit?: number; trainOnly?: boolean } = {},
): Promise<{ images: number; ms: number }> {
  const started = performance.now();
  const source = await loadMnistSource();
  const first = options.first ?? 0;
  const trainCount = Math.min(options.limit ?? Infinity, source.trainLabels.length - first);
  const train = source.readTrainImages(Array.from({ length: trainCount }, (_, i) => first + i));
  const trainLabels = source.trainLabels.subarray(first, first + trainCount);
  const testCount = options.trainOnly === true ? 0 : source.testLabels.length;
  for (let digit = 0; digit < 10; digit++) await mkdir(join(dir, String(digit)), { recursive: true });
  const write = async (pixels: Float32Array, labels: Uint8Array, count: number, prefix: string) => {
    for (let i = 0; i < count; i++) {
      const png = new PNG({ width: SIDE, height: SIDE });
      for (let p = 0; p < SIDE * SIDE; p++) {
        const grey = Math.round((pixels[i * SIDE * SIDE + p] ?? 0) * 255);
        png.data[p * 4] = grey;
        png.data[p * 4 + 1] = grey;
        png.data[p * 4 + 2] = grey;
        png.data[p * 4 + 3] = 255;
      }
      const name = `${prefix}-${String(i).padStart(5, '0')}.png`;
      await writeFile(join(dir, String(labels[i] ?? 0), name), PNG.sync.write(png));
    }
  };
  await write(train, trainLabels, trainCount, `train${first}`);
  await write(source.testImages, source.testLabels, testCount, 'test');
  return { images: trainCount + testCount, ms: performance.now() - started };
}
