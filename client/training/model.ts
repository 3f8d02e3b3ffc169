/**
 * One TF.js model that many virtual workers share: load a worker's weights, compute its
 * gradient on a batch, read it back as one flat Float32Array. The optimizer lives outside,
 * in pure code over flat vectors; this wrapper never changes the weights on its own.
 *
 * Flattened weight order: see architectures.ts (mlp: dense1/kernel, dense1/bias,
 * dense2/kernel, dense2/bias, each row-major). `layout` lists names, shapes and offsets.
 *
 * Hot-path choices: the weights live in TF.js variables created once and overwritten with
 * assign() (from a view of the caller's vector where the backend copies it: flat-io.ts); a
 * gradient is one tidy() and one read (the loss travels in the same tensor as the gradient),
 * into the caller's reused vector when it passes one; evaluation runs in chunks of
 * `evalChunkSize` examples, one dataSync each. Call selectBackend() before createModel().
 *
 * @example
 * await selectBackend();
 * const model = createModel({ arch: 'mlp', seed: 1 });
 * const x = model.getWeights();
 * const { gradient, loss } = model.computeGradient(data.trainImages, data.trainLabels, batch);
 * for (let i = 0; i < x.length; i++) x[i] -= 0.1 * gradient[i];
 * model.setWeights(x);
 * model.evaluate(data.testImages, data.testLabels); // { accuracy: 0.87, loss: 0.45 }
 * model.dispose();
 */
import * as tf from '@tensorflow/tfjs';
import { architecture, initialWeights, MLP_HIDDEN, MNIST_SHAPE, sizeOf } from './architectures.ts';
import type { ArchName, TaskShape } from './architectures.ts';
import { TrainingError } from './errors.ts';
import { assignFlat, checkWeights, readGradientAndLoss } from './flat-io.ts';

export interface ModelOptions {
  arch: ArchName;
  /** Seed of the initial weights (same seed, same weights, on every backend). */
  seed: number;
  /** Hidden units of an MLP (ignored by the CNN). @default MLP_HIDDEN[arch] (architectures.ts) */
  hidden?: number;
  /** Examples per forward pass in evaluate(), bounding its memory. @default 1000 */
  evalChunkSize?: number;
  /** The task's input size and class count. @default MNIST's, 784 and 10 */
  io?: TaskShape;
}

export interface ParamLayout {
  name: string;
  shape: readonly number[];
  /** First index of this parameter in the flat vector. */
  offset: number;
  size: number;
}

export interface TrainableModel {
  readonly arch: ArchName;
  readonly numParams: number;
  readonly layout: readonly ParamLayout[];
  /** A fresh copy of all weights, flattened in layout order. */
  getWeights(): Float32Array;
  /** Overwrites all weights (copied; later changes to `flat` do not affect the model). */
  setWeights(flat: Float32Array): void;
  /**
   * Mean softmax cross-entropy and its gradient at the current weights, on the examples
   * `batchIndices` of (images, labels), or on all of them when no indices are given. With
   * `into` (numParams values) the gradient is written there and `into` is returned: a
   * learner's vector reused every round instead of a new one; without it, a vector of its own.
   */
  computeGradient(
    images: Float32Array,
    labels: Uint8Array | readonly number[],
    batchIndices?: readonly number[],
    into?: Float32Array,
  ): { gradient: Float32Array; loss: number };
  /** Accuracy (fraction in [0, 1]) and mean cross-entropy over all given examples. */
  evaluate(images: Float32Array, labels: Uint8Array | readonly number[]): { accuracy: number; loss: number };
  dispose(): void;
}

const DEFAULT_EVAL_CHUNK = 1000;

export function createModel(options: ModelOptions): TrainableModel {
  const hidden = options.hidden ?? (options.arch === 'cnn' ? 1 : MLP_HIDDEN[options.arch]);
  const evalChunkSize = options.evalChunkSize ?? DEFAULT_EVAL_CHUNK;
  if (!Number.isSafeInteger(hidden) || hidden < 1) {
    throw new TrainingError('BAD_OPTION', `hidden must be a positive integer, got ${hidden}`);
  }
  if (!Number.isSafeInteger(evalChunkSize) || evalChunkSize < 1) {
    throw new TrainingError('BAD_OPTION', `evalChunkSize must be a positive integer, got ${evalChunkSize}`);
  }
  let arch;
  try {
    arch = architecture(options.arch, hidden, options.io ?? MNIST_SHAPE);
  } catch (error) {
    throw new TrainingError('BAD_OPTION', error instanceof Error ? error.message : String(error));
  }
  const { inputSize, numClasses } = arch;

  const layout: ParamLayout[] = [];
  let numParams = 0;
  for (const p of arch.params) {
    const size = sizeOf(p.shape);
    layout.push({ name: p.name, shape: p.shape, offset: numParams, size });
    numParams += size;
  }
  const initial = initialWeights(arch, options.seed);
  // A variable shares its initial tensor's data; tidy releases the temporary tensors.
  const variables = tf.tidy(() =>
    layout.map((p) => tf.variable(tf.tensor(initial.slice(p.offset, p.offset + p.size), [...p.shape]))),
  );
  let disposed = false;

  const alive = (): void => {
    if (disposed) throw new TrainingError('MODEL_DISPOSED', 'the model was disposed');
  };

  return {
    arch: options.arch,
    numParams,
    layout,
    getWeights() {
      alive();
      const flat = tf.tidy(() => tf.concat(variables.map((v) => v.reshape([-1]))));
      const values = flat.dataSync();
      flat.dispose();
      return Float32Array.from(values);
    },
    setWeights(flat) {
      alive();
      checkWeights(flat, numParams);
      // A copy only where the backend would keep a reference to the array it is given.
      assignFlat(variables, layout, flat);
    },
    computeGradient(images, labels, batchIndices, into) {
      alive();
      const batch = selectBatch(images, labels, batchIndices, arch);
      const out = tf.tidy(() => {
        const xs = tf.tensor2d(batch.images, [batch.labels.length, inputSize]);
        const ys = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), numClasses);
        const lossOf = (...params: tf.Tensor[]): tf.Scalar =>
          tf.losses.softmaxCrossEntropy(ys, arch.forward(xs, params)).asScalar();
        const { value, grads } = tf.valueAndGrads(lossOf)(variables);
        return tf.concat([...grads.map((g) => g.reshape([-1])), value.reshape([1])]);
      });
      try {
        return readGradientAndLoss(out, numParams, into);
      } finally {
        out.dispose();
      }
    },
    evaluate(images, labels) {
      alive();
      const all = selectBatch(images, labels, undefined, arch);
      const count = all.labels.length;
      let lossSum = 0;
      let correct = 0;
      for (let start = 0; start < count; start += evalChunkSize) {
        const end = Math.min(count, start + evalChunkSize);
        const out = tf.tidy(() => {
          const xs = tf.tensor2d(all.images.subarray(start * inputSize, end * inputSize), [
            end - start,
            inputSize,
          ]);
          const truth = tf.tensor1d(all.labels.subarray(start, end), 'int32');
          const logits = arch.forward(xs, variables);
          const loss = tf.losses.softmaxCrossEntropy(
            tf.oneHot(truth, numClasses),
            logits,
            undefined,
            undefined,
            tf.Reduction.SUM,
          );
          const hits = tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), truth), 'float32'));
          return tf.stack([loss, hits]);
        });
        const [batchLoss = Number.NaN, batchHits = 0] = out.dataSync();
        out.dispose();
        lossSum += batchLoss;
        correct += batchHits;
      }
      return { accuracy: correct / count, loss: lossSum / count };
    },
    dispose() {
      if (disposed) return;
      disposed = true;
      for (const v of variables) v.dispose();
    },
  };
}

/** Validated images and int32 labels of the chosen examples (all of them without indices). */
function selectBatch(
  images: Float32Array,
  labels: Uint8Array | readonly number[],
  indices: readonly number[] | undefined,
  { inputSize, numClasses }: TaskShape,
): { images: Float32Array; labels: Int32Array } {
  const count = labels.length;
  if (images.length !== count * inputSize) {
    throw new TrainingError(
      'BAD_BATCH',
      `${images.length} input values do not match ${count} labels x ${inputSize}`,
    );
  }
  const rows = indices ?? null;
  const size = rows ? rows.length : count;
  if (size === 0) throw new TrainingError('BAD_BATCH', 'empty batch');
  const outLabels = new Int32Array(size);
  const outImages = rows ? new Float32Array(size * inputSize) : images;
  for (let row = 0; row < size; row++) {
    const index = rows ? (rows[row] ?? -1) : row;
    if (!Number.isInteger(index) || index < 0 || index >= count) {
      throw new TrainingError('BAD_BATCH', `index ${index} outside 0..${count - 1}`);
    }
    const label = labels[index] ?? -1;
    if (!Number.isInteger(label) || label < 0 || label >= numClasses) {
      throw new TrainingError('BAD_BATCH', `label ${label} of example ${index} outside 0..${numClasses - 1}`);
    }
    outLabels[row] = label;
    if (rows) outImages.set(images.subarray(index * inputSize, (index + 1) * inputSize), row * inputSize);
  }
  return { images: outImages, labels: outLabels };
}
