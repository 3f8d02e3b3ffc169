/**
 * The fixed MNIST train/test split and order, as pure code, so the Node loader (mnist.ts,
 * reading the `mnist` package's JSON) and the browser loader (mnist-browser.ts, reading
 * `mnist.bin`) put the very same digits in the very same places.
 *
 * Split (stratified, fixed by index, no randomness in membership): for each digit, the LAST
 * t_d images of that digit (in the package's file order) are test images, the others training
 * images, where t_d = 20% of that digit's count, rounded by largest remainder so the t_d sum
 * to exactly MNIST_TEST_SIZE. Each set is then put in a fixed pseudo-random order (seed
 * MNIST_ORDER_SEED), so any prefix or contiguous slice holds a mix of all digits.
 *
 * @example
 * const { train, test } = mnistSplit([1001, 1127, 991, 1032, 980, 863, 1014, 1070, 944, 978]);
 * train[0]; // { digit: 7, index: 412 }: the 413th image of digit 7 comes first
 */
import { createRng, type Rng } from '../../shared/random.ts';

export const MNIST_PIXELS = 784;
export const MNIST_CLASSES = 10;
/** Images of the package that go to the test set. */
export const MNIST_TEST_SIZE = 2000;
/** Seed of the fixed order of each set (not of the split, which is by index). */
export const MNIST_ORDER_SEED = 20_240_601;

/** One image: its digit and its position among the images of that digit (file order). */
export interface DigitImageRef {
  digit: number;
  index: number;
}

export interface MnistSplit {
  /** Training images in their fixed order. */
  train: DigitImageRef[];
  /** Test images in their fixed order. */
  test: DigitImageRef[];
}

/** The split and order for `countsPerDigit[d]` images of each digit d. */
export function mnistSplit(countsPerDigit: readonly number[], testSize = MNIST_TEST_SIZE): MnistSplit {
  const testCounts = largestRemainder(countsPerDigit, testSize);
  const train: DigitImageRef[] = [];
  const test: DigitImageRef[] = [];
  countsPerDigit.forEach((count, digit) => {
    const firstTest = count - (testCounts[digit] ?? 0);
    for (let index = 0; index < count; index++) (index < firstTest ? train : test).push({ digit, index });
  });
  // One generator for both sets, train first: the order the Node loader always used.
  const rng = createRng(MNIST_ORDER_SEED);
  return { train: shuffle(train, rng), test: shuffle(test, rng) };
}

/** Integer shares of `total` proportional to `weights`, summing exactly to `total`. */
export function largestRemainder(weights: readonly number[], total: number): number[] {
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

/** Fisher-Yates in place, driven by `rng`. */
function shuffle<T>(items: T[], rng: Rng): T[] {
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
