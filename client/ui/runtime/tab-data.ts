/**
 * A tab's own data for a csv or images session: the files the user picks (a folder through
 * `<input webkitdirectory>`, or one CSV file) read and prepared in the tab, under the
 * session's task spec, with the same pure code a headless peer uses (shared/data: the
 * resizer, the CSV parser, the stratified local split). Nothing read here is sent anywhere:
 * the learner only ever hands gradients and models to the peer runtime.
 *
 * Images: a file's class is its parent folder's name (`root/cat/1.png` -> "cat"), decoded
 * by the browser (createImageBitmap, no colour conversion, so a grayscale PNG reads back its
 * exact bytes), drawn on an OffscreenCanvas, and resized by imageToInput (box filter) exactly
 * as Node's loader does. Files that are not images (by extension) or hidden are skipped.
 *
 * The learner trains on the training part and evaluates on the validation part: its
 * `evaluate` is this tab's local validation accuracy (the aggregator's evaluations, when the
 * tab aggregates, and the figure the dashboard shows beside the session's).
 *
 * @example
 * const dataset = await readTabData(input.files, config.taskSpec);
 * const learner = createTabLearner({ config, dataset, backend: 'wasm' });
 */
import { csvDataset, parseCsv } from '../../../shared/data/csv.ts';
import { DataError } from '../../../shared/data/data-errors.ts';
import { imageToInput } from '../../../shared/data/image-input.ts';
import { splitLocalData } from '../../../shared/data/local-split.ts';
import { subset, VALIDATION_FRACTION, type Dataset, type TaskSpec } from '../../../shared/data/task.ts';
import type { SessionConfig } from '../../../shared/protocol/session-config.ts';
import type { BackendName } from '../../training/backend.ts';
import { createDataLearner, type DataLearner } from '../../training/data-learner.ts';
import type { FlatModel } from '../../training/layers-model.ts';

/** Images decoded at once: enough to keep the decoder busy, few enough bitmaps in memory. */
const DECODE_CONCURRENCY = 16;
const IMAGE_EXTENSIONS = /\.(png|jpe?g|gif|bmp|webp)$/i;

/** What the tab shows about its data (none of it leaves the tab either). */
export interface TabDataSummary {
  /** The folder's or file's name. */
  source: string;
  examples: number;
  train: number;
  validation: number;
  classes: readonly string[];
  /** Examples per class over all the tab's data, in class order. */
  classCounts: readonly number[];
  /** Time to read, decode and prepare every example, ms. */
  prepareMs: number;
}

/** A picked file's path inside the picked folder (its name alone for a single file). */
function pathOf(file: File): string {
  return file.webkitRelativePath === '' ? file.name : file.webkitRelativePath;
}

/** The examples in `files` under `spec`; a DataError names the file at fault. */
export async function readTabData(files: readonly File[], spec: TaskSpec): Promise<Dataset> {
  switch (spec.kind) {
    case 'csv': {
      const file = files.find((f) => /\.csv$/i.test(f.name)) ?? files[0];
      if (file === undefined) throw new DataError('NO_DATA', 'the picked files', 'no CSV file was picked');
      return csvDataset(parseCsv(await file.text(), file.name), spec);
    }
    case 'images':
      return readImages(files, spec);
    default: {
      const unreachable: never = spec;
      return unreachable;
    }
  }
}

async function readImages(
  files: readonly File[],
  spec: Extract<TaskSpec, { kind: 'images' }>,
): Promise<Dataset> {
  const images = files.filter((f) => IMAGE_EXTENSIONS.test(f.name) && !f.name.startsWith('.'));
  const root = pathOf(images[0] ?? files[0] ?? new File([], 'picked folder')).split('/')[0] ?? '';
  if (images.length === 0) throw new DataError('NO_DATA', root, 'no PNG or JPEG images in the picked folder');
  const inputSize = spec.width * spec.height * spec.channels;
  const inputs = new Float32Array(images.length * inputSize);
  const labels = new Uint8Array(images.length);
  const shape = { width: spec.width, height: spec.height, channels: spec.channels };
  images.forEach((file, i) => {
    const parts = pathOf(file).split('/');
    const folder = parts.length >= 2 ? (parts.at(-2) ?? '') : '';
    const label = spec.classes.indexOf(folder);
    if (label < 0)
      throw new DataError(
        'UNKNOWN_CLASS',
        pathOf(file),
        `class folder "${folder}" is not one of the session's classes (${spec.classes.join(', ')})`,
      );
    labels[i] = label;
  });
  const canvas = new OffscreenCanvas(1, 1);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (context === null) throw new DataError('UNREADABLE_IMAGE', root, 'this browser has no 2D canvas');
  for (let start = 0; start < images.length; start += DECODE_CONCURRENCY) {
    const batch = images.slice(start, start + DECODE_CONCURRENCY);
    const bitmaps = await Promise.all(
      batch.map((file) =>
        createImageBitmap(file, { colorSpaceConversion: 'none', premultiplyAlpha: 'none' }).catch(
          (error: unknown) => {
            throw new DataError('UNREADABLE_IMAGE', pathOf(file), `does not decode: ${String(error)}`);
          },
        ),
      ),
    );
    bitmaps.forEach((bitmap, j) => {
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
      context.clearRect(0, 0, bitmap.width, bitmap.height);
      context.drawImage(bitmap, 0, 0);
      const pixels = context.getImageData(0, 0, bitmap.width, bitmap.height).data;
      imageToInput(
        { pixels, width: bitmap.width, height: bitmap.height, channels: 4 },
        shape,
        inputs,
        (start + j) * inputSize,
      );
      bitmap.close();
    });
  }
  return { inputs, labels, inputSize, numClasses: spec.classes.length, source: root };
}

export interface TabLearnerOptions {
  config: SessionConfig;
  dataset: Dataset;
  backend: BackendName;
  /** The session's own Layers model, when it has one. */
  model?: FlatModel;
}

/** The tab's learner over its own data, and what it holds (for the dashboard). */
export function createTabLearner(options: TabLearnerOptions): {
  learner: DataLearner;
  counts: { train: number; validation: number };
} {
  const { config, dataset } = options;
  const split = splitLocalData(dataset.labels, {
    seed: config.seed,
    validationFraction: VALIDATION_FRACTION,
    source: dataset.source,
  });
  const train = subset(dataset, split.train);
  // Too few examples for a validation part: the tab reports its training accuracy.
  const validation = subset(dataset, split.validation.length > 0 ? split.validation : split.train);
  const inner = createDataLearner({
    data: {
      trainImages: train.inputs,
      trainLabels: train.labels,
      testImages: validation.inputs,
      testLabels: validation.labels,
    },
    backend: options.backend,
    workers: 1,
    partition: { kind: 'iid' },
    batchSize: config.batchSize,
    seed: config.seed,
    arch: config.model,
    io: { inputSize: dataset.inputSize, numClasses: dataset.numClasses },
    ...(options.model === undefined ? {} : { model: options.model }),
  });
  const learner: DataLearner = {
    ...inner,
    // One tab, one data set: whatever shard the runtime names, the tab's own examples.
    gradient: (_shard, weights) => inner.gradient(0, weights),
    lastLoss: () => inner.lastLoss(0),
  };
  return { learner, counts: { train: split.train.length, validation: split.validation.length } };
}

/** Examples per class, in class order. */
export function classCountsOf(dataset: Dataset): number[] {
  const counts = new Array<number>(dataset.numClasses).fill(0);
  for (const label of dataset.labels) counts[label] = (counts[label] ?? 0) + 1;
  return counts;
}
