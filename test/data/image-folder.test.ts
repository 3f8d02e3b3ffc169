/**
 * Image folders: PNG and JPEG of any size decode and resize into the task's input; MNIST
 * digits written as PNG read back as the very pixels of the built-in task; an unreadable
 * image, an empty class folder and a class the task does not list are coded errors naming
 * the file or folder.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { imageClasses, readImageFolder } from '../../client/training/image-folder.ts';
import { loadMnistSource } from '../../client/training/mnist.ts';
import { DataError } from '../../shared/data/data-errors.ts';
import { imageToInput } from '../../shared/data/image-input.ts';
import type { ImagesTask } from '../../shared/data/task.ts';
import { writeMnistPngs } from '../support/mnist-png.ts';

const GRAY28: Omit<ImagesTask, 'classes'> = { kind: 'images', width: 28, height: 28, channels: 1 };

function rejectsWith(code: string, file: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof DataError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, file);
    return true;
  };
}

test('imageToInput: same size passes through, shrinking averages areas, colour to luma, alpha over black', () => {
  const gray = { pixels: [0, 51, 102, 255], width: 2, height: 2, channels: 1 as const };
  assert.deepEqual(
    imageToInput(gray, { width: 2, height: 2, channels: 1 }),
    Float32Array.from([0, 0.2, 0.4, 1]),
  );
  const [mean = 0] = imageToInput(gray, { width: 1, height: 1, channels: 1 });
  assert.ok(Math.abs(mean - (0 + 51 + 102 + 255) / 4 / 255) < 1e-6);
  // 3 -> 2 pixels: the middle source pixel is split between both outputs.
  const row = imageToInput(
    { pixels: [0, 90, 255], width: 3, height: 1, channels: 1 },
    { width: 2, height: 1, channels: 1 },
  );
  assert.ok(Math.abs((row[0] ?? 0) - (0 * 1 + 90 * 0.5) / 1.5 / 255) < 1e-6);
  const red = { pixels: [255, 0, 0], width: 1, height: 1, channels: 3 as const };
  assert.ok(Math.abs((imageToInput(red, { width: 1, height: 1, channels: 1 })[0] ?? 0) - 0.299) < 1e-6);
  assert.deepEqual([...imageToInput(red, { width: 1, height: 1, channels: 3 })], [1, 0, 0]);
  const halfClear = { pixels: [255, 255, 255, 128], width: 1, height: 1, channels: 4 as const };
  assert.ok(
    Math.abs((imageToInput(halfClear, { width: 1, height: 1, channels: 1 })[0] ?? 0) - 128 / 255) < 1e-6,
  );
  // Enlarging: every output pixel inside one source pixel takes its value.
  const up = imageToInput(
    { pixels: [10, 200], width: 2, height: 1, channels: 1 },
    { width: 4, height: 2, channels: 1 },
  );
  assert.deepEqual(
    [...up].map((v) => Math.round(v * 255)),
    [10, 10, 200, 200, 10, 10, 200, 200],
  );
});

test('MNIST digits written as PNG read back as the built-in pixels (within 0.5/255), labels in digit order', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'liec-img-'));
  try {
    await writeMnistPngs(dir, { limit: 300, trainOnly: true });
    const classes = await imageClasses(dir);
    assert.deepEqual(classes, ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9']);
    const data = await readImageFolder(dir, { ...GRAY28, classes });
    assert.equal(data.labels.length, 300);
    assert.equal(data.inputSize, 784);
    const source = await loadMnistSource();
    const original = source.readTrainImages(Array.from({ length: 300 }, (_, i) => i));
    // Files sort by class folder, then name (train-00000 ...): map back by label order.
    const byLabel = Array.from({ length: 300 }, (_, i) => i).sort(
      (a, b) => (source.trainLabels[a] ?? 0) - (source.trainLabels[b] ?? 0) || a - b,
    );
    byLabel.forEach((index, row) => {
      assert.equal(data.labels[row], source.trainLabels[index]);
      const got = data.inputs.subarray(row * 784, (row + 1) * 784);
      const want = original.subarray(index * 784, (index + 1) * 784);
      // The package's grey values have three decimals; the PNG holds them as bytes.
      const worst = got.reduce((max, v, p) => Math.max(max, Math.abs(v - (want[p] ?? 0))), 0);
      assert.ok(worst <= 0.5 / 255 + 1e-6, `digit ${index}: ${worst}`);
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('PNG and JPEG of other sizes, RGB; bad files and folders are named', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'liec-img-'));
  try {
    await mkdir(join(dir, 'cat'));
    await mkdir(join(dir, 'dog'));
    const png = new PNG({ width: 40, height: 30 });
    png.data.fill(255);
    await writeFile(join(dir, 'cat', 'a.png'), PNG.sync.write(png));
    const rgba = Buffer.alloc(64 * 48 * 4, 0);
    for (let p = 0; p < 64 * 48; p++) rgba[p * 4] = 200; // red, alpha ignored by the encoder
    await writeFile(join(dir, 'dog', 'b.jpg'), jpeg.encode({ data: rgba, width: 64, height: 48 }, 95).data);
    await writeFile(join(dir, '.DS_Store'), 'skipped');
    const task: ImagesTask = { kind: 'images', width: 8, height: 8, channels: 3, classes: ['cat', 'dog'] };
    const data = await readImageFolder(dir, task);
    assert.deepEqual([...data.labels], [0, 1]);
    assert.equal(data.inputs.length, 2 * 8 * 8 * 3);
    assert.ok((data.inputs[0] ?? 0) > 0.99, 'white PNG');
    assert.ok(Math.abs((data.inputs[192] ?? 0) - 200 / 255) < 0.05, 'red JPEG, red channel');
    assert.ok((data.inputs[193] ?? 1) < 0.05, 'red JPEG, green channel');

    await assert.rejects(
      readImageFolder(dir, { ...task, classes: ['cat'] }),
      rejectsWith('UNKNOWN_CLASS', /dog/),
    );
    await writeFile(join(dir, 'dog', 'c.png'), 'not an image');
    await assert.rejects(readImageFolder(dir, task), rejectsWith('UNREADABLE_IMAGE', /dog\/c\.png/));
    const truncated = PNG.sync.write(png).subarray(0, 60);
    await writeFile(join(dir, 'dog', 'c.png'), truncated);
    await assert.rejects(readImageFolder(dir, task), rejectsWith('UNREADABLE_IMAGE', /dog\/c\.png/));
    await rm(join(dir, 'dog', 'c.png'));
    await mkdir(join(dir, 'bird'));
    await assert.rejects(
      readImageFolder(dir, { ...task, classes: ['bird', 'cat', 'dog'] }),
      rejectsWith('EMPTY_CLASS', /bird/),
    );
    await assert.rejects(imageClasses(join(dir, 'missing')), rejectsWith('NO_DATA', /missing/));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
