/**
 * The MNIST digits as `npm run build` leaves them for headless peers: packed float32 images and
 * u8 labels in the fixed split and order (the very bits the JSON scan gives), so a peer reads
 * its labels, the test set and its own shard's images at their offsets instead of scanning
 * 21 MB of JSON three times (about 1.3 s of CPU per peer start, which 64 peers starting on 2
 * cores pay 64 times).
 *
 * Files in the cache folder (default dist/mnist/): train-labels.u8, test-labels.u8,
 * test-images.f32, train-images.f32 (little-endian float32, 784 per image, image after image)
 * and manifest.json { format, pixels, trainSize, testSize, sourceBytes }. sourceBytes is the
 * total size of the `mnist` package's digit files: a cache of other files is not used.
 *
 * @example
 * await writeMnistCache(await readMnistPackage(), await mnistSourceBytes()); // the build
 * const source = await readMnistCache(await mnistSourceBytes());             // null: scan the JSON
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { TrainingError } from './errors.ts';
import type { MnistSource } from './mnist.ts';
import { MNIST_PIXELS } from './mnist-split.ts';

/** Where the build writes the cache; the build rewrites import.meta.url to this file's own. */
export const MNIST_CACHE_DIR = new URL('../../dist/mnist/', import.meta.url);
/** Bumped when the layout changes: an older cache is then ignored. */
const CACHE_FORMAT = 1;
const IMAGE_BYTES = MNIST_PIXELS * 4;

interface Manifest {
  format: number;
  pixels: number;
  trainSize: number;
  testSize: number;
  sourceBytes: number;
}

function isManifest(value: unknown, sourceBytes: number): value is Manifest {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return (
    m.format === CACHE_FORMAT &&
    m.pixels === MNIST_PIXELS &&
    m.sourceBytes === sourceBytes &&
    Number.isSafeInteger(m.trainSize) &&
    Number.isSafeInteger(m.testSize)
  );
}

/** Float32 values of a little-endian file (copied when the buffer is not 4-byte aligned). */
function floats(bytes: Uint8Array): Float32Array {
  if (bytes.byteOffset % 4 === 0) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  return new Float32Array(Uint8Array.from(bytes).buffer);
}

/** The cached digits, or null when there is no cache of these source files (the caller scans). */
export async function readMnistCache(
  sourceBytes: number,
  dir: URL = MNIST_CACHE_DIR,
): Promise<MnistSource | null> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(await readFile(new URL('manifest.json', dir), 'utf8'));
  } catch {
    return null;
  }
  if (!isManifest(manifest, sourceBytes)) return null;
  const { trainSize, testSize } = manifest;
  const [trainLabels, testLabels, testBytes] = await Promise.all(
    ['train-labels.u8', 'test-labels.u8', 'test-images.f32'].map((name) => readFile(new URL(name, dir))),
  );
  if (
    trainLabels?.length !== trainSize ||
    testLabels?.length !== testSize ||
    testBytes?.length !== testSize * IMAGE_BYTES
  )
    return null;
  const trainFile = new URL('train-images.f32', dir);
  return {
    trainLabels: new Uint8Array(trainLabels),
    testLabels: new Uint8Array(testLabels),
    testImages: floats(testBytes),
    readTrainImages(indices) {
      const out = new Float32Array(indices.length * MNIST_PIXELS);
      const bytes = new Uint8Array(out.buffer);
      const fd = openSync(trainFile, 'r');
      try {
        indices.forEach((index, k) => {
          if (!Number.isSafeInteger(index) || index < 0 || index >= trainSize)
            throw new RangeError(`no training image ${index}`);
          const read = readSync(fd, bytes, k * IMAGE_BYTES, IMAGE_BYTES, index * IMAGE_BYTES);
          if (read !== IMAGE_BYTES)
            throw new TrainingError('MNIST_LOAD_FAILED', `${trainFile.pathname}: image ${index} truncated`);
        });
      } finally {
        closeSync(fd);
      }
      return out;
    },
  };
}

/** Writes `source` (every training image) as the cache; the manifest last, so a torn write is ignored. */
export async function writeMnistCache(
  source: MnistSource,
  sourceBytes: number,
  dir: URL = MNIST_CACHE_DIR,
): Promise<void> {
  await mkdir(dir, { recursive: true });
  const all = Array.from(source.trainLabels, (_, i) => i);
  const trainImages = source.readTrainImages(all);
  const write = (name: string, data: ArrayBufferView) =>
    writeFile(new URL(name, dir), new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  await Promise.all([
    write('train-labels.u8', source.trainLabels),
    write('test-labels.u8', source.testLabels),
    write('test-images.f32', source.testImages),
    write('train-images.f32', trainImages),
  ]);
  const manifest: Manifest = {
    format: CACHE_FORMAT,
    pixels: MNIST_PIXELS,
    trainSize: source.trainLabels.length,
    testSize: source.testLabels.length,
    sourceBytes,
  };
  const temp = new URL('manifest.json.tmp', dir);
  await writeFile(temp, JSON.stringify(manifest, null, 2));
  await rename(temp, new URL('manifest.json', dir));
}
