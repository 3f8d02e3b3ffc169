/**
 * An image folder in Node: one subfolder per class, PNG or JPEG files of any size in each
 * (told apart by their first bytes, not their names), decoded with pngjs and jpeg-js (pure
 * JavaScript, nothing native) and turned into the task's inputs by the pure imageToInput.
 * Hidden files (".DS_Store") and files directly in the top folder are skipped; anything
 * else that does not decode is an error naming the file.
 *
 * @example
 * const classes = await imageClasses('photos/');          // ['bad', 'good']
 * const data = await readImageFolder('photos/', { kind: 'images', width: 28, height: 28, channels: 1, classes });
 */
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DataError } from '../../shared/data/data-errors.ts';
import { imageToInput, type DecodedImage } from '../../shared/data/image-input.ts';
import type { Dataset, ImagesTask } from '../../shared/data/task.ts';

/** Largest decoded image accepted, in megapixels (jpeg-js's own guard, raised a little). */
const MAX_MEGAPIXELS = 100;

/** The class subfolders of `dir`, sorted: the creator's class list. */
export async function imageClasses(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    throw new DataError(
      'NO_DATA',
      dir,
      `cannot read the folder: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
  const classes = entries
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  if (classes.length === 0) throw new DataError('NO_DATA', dir, 'no class subfolders (one folder per class)');
  return classes;
}

/** Every image of `dir` under the task: a class folder the task does not list is an error. */
export async function readImageFolder(dir: string, task: ImagesTask): Promise<Dataset> {
  const found = await imageClasses(dir);
  const files: { path: string; label: number }[] = [];
  for (const name of found) {
    const label = task.classes.indexOf(name);
    const folder = join(dir, name);
    if (label === -1)
      throw new DataError(
        'UNKNOWN_CLASS',
        folder,
        `class folder "${name}" is not one of the task's classes (${task.classes.join(', ')})`,
      );
    const names = (await readdir(folder, { withFileTypes: true }))
      .filter((e) => e.isFile() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
    if (names.length === 0) throw new DataError('EMPTY_CLASS', folder, `class "${name}" has no images`);
    for (const file of names) files.push({ path: join(folder, file), label });
  }
  const inputSize = task.width * task.height * task.channels;
  const inputs = new Float32Array(files.length * inputSize);
  const labels = new Uint8Array(files.length);
  for (let i = 0; i < files.length; i++) {
    const file = files[i];
    if (file === undefined) continue;
    imageToInput(decodeImage(await readFile(file.path), file.path), task, inputs, i * inputSize);
    labels[i] = file.label;
  }
  return { inputs, labels, inputSize, numClasses: task.classes.length, source: dir };
}

/** PNG or JPEG bytes to pixels; DataError UNREADABLE_IMAGE naming `path` otherwise. */
export function decodeImage(bytes: Uint8Array, path: string): DecodedImage {
  const fail = (why: string): never => {
    throw new DataError('UNREADABLE_IMAGE', path, why);
  };
  try {
    if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
      const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return { pixels: png.data, width: png.width, height: png.height, channels: 4 };
    }
    if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      const image = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: false,
        maxResolutionInMP: MAX_MEGAPIXELS,
      });
      return { pixels: image.data, width: image.width, height: image.height, channels: 3 };
    }
  } catch (error) {
    return fail(
      `not a readable PNG or JPEG image (${error instanceof Error ? error.message : String(error)})`,
    );
  }
  return fail('not a PNG or JPEG image');
}
