/**
 * Deterministic mini-batches over one worker's shard of example indices, and gathering a
 * batch's images and labels into compact typed arrays.
 *
 * Each epoch visits every index of the shard exactly once in a fresh seeded order. An epoch
 * is cut into ceil(n / batchSize) batches of nearly equal size (they differ by at most one
 * and none exceeds batchSize), so there is no tiny trailing batch and no index repeats
 * within a batch; a shard smaller than batchSize gives its whole shard as every batch.
 *
 * @example
 * const sampler = createBatchSampler(parts[3], 64, mixSeed(seed, 3));
 * const batch = sampler.next();                   // e.g. 64 indices into trainImages
 * const { images, labels } = gatherBatch(data.trainImages, data.trainLabels, batch);
 */
import { createRng } from '../../shared/random.ts';
import { TrainingError } from './errors.ts';

export interface BatchSampler {
  /** The next batch of indices (a fresh array). */
  next(): number[];
  /** Completed epochs so far (0 during the first pass over the shard). */
  readonly epoch: number;
  /** Batches in one epoch: ceil(shard size / batchSize). */
  readonly batchesPerEpoch: number;
}

export function createBatchSampler(
  indices: readonly number[],
  batchSize: number,
  seed: number,
): BatchSampler {
  if (indices.length === 0) throw new TrainingError('BAD_BATCH', 'cannot sample batches from an empty shard');
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) {
    throw new TrainingError('BAD_OPTION', `batchSize must be a positive integer, got ${batchSize}`);
  }
  const rng = createRng(seed);
  const order = [...indices];
  const n = order.length;
  const batchesPerEpoch = Math.ceil(n / batchSize);
  let epoch = -1;
  let batchInEpoch = batchesPerEpoch; // forces a shuffle on the first call
  return {
    next(): number[] {
      if (batchInEpoch === batchesPerEpoch) {
        for (let i = n - 1; i > 0; i--) {
          const j = rng.int(i + 1);
          const a = order[i] ?? 0;
          order[i] = order[j] ?? 0;
          order[j] = a;
        }
        batchInEpoch = 0;
        epoch++;
      }
      const start = Math.floor((batchInEpoch * n) / batchesPerEpoch);
      const end = Math.floor(((batchInEpoch + 1) * n) / batchesPerEpoch);
      batchInEpoch++;
      return order.slice(start, end);
    },
    get epoch() {
      return Math.max(0, epoch + (batchInEpoch === batchesPerEpoch ? 1 : 0));
    },
    batchesPerEpoch,
  };
}

export interface GatheredBatch {
  /** batch.length * pixels values, image after image. */
  images: Float32Array;
  labels: Uint8Array;
}

/** Copies the images and labels of `batch` (indices into the full set) into new arrays. */
export function gatherBatch(
  images: Float32Array,
  labels: Uint8Array,
  batch: readonly number[],
  pixels = 784,
): GatheredBatch {
  const count = labels.length;
  if (images.length !== count * pixels) {
    throw new TrainingError(
      'BAD_BATCH',
      `${images.length} pixel values do not match ${count} labels x ${pixels}`,
    );
  }
  const outImages = new Float32Array(batch.length * pixels);
  const outLabels = new Uint8Array(batch.length);
  batch.forEach((index, row) => {
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new TrainingError('BAD_BATCH', `index ${index} outside 0..${count - 1}`);
    }
    outImages.set(images.subarray(index * pixels, (index + 1) * pixels), row * pixels);
    outLabels[row] = labels[index] ?? 0;
  });
  return { images: outImages, labels: outLabels };
}
