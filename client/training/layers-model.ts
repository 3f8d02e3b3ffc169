/**
 * A session's own TF.js Layers model behind the same flat-weight seam as the built-in ones
 * (model.ts): weights in and out as one Float32Array in `trainableWeights` order, a gradient
 * of the mean cross-entropy on a batch, evaluation in chunks. And back out again: the trained
 * flat weights as the artifacts `tf.LayersModel.save` writes (model.json + one weight file),
 * which `tf.loadLayersModel` reads. Browser-safe: artifacts come and go in memory
 * (tf.io.fromMemory, tf.io.withSaveHandler); the Node files live in layers-files.ts.
 *
 * Loss: a model whose last layer ends in softmax gives probabilities, and is trained on
 * -log p(label) (clipped away from 0); any other output is taken as logits.
 *
 * @example
 * await fetchSessionModelWeights(serverUrl, config.customModel); // held weights (model-weights.ts)
 * const layers = await loadCustomModel(config.customModel); // checks the SHA-256 first
 * const model = createLayersTrainable(layers, { numClasses: 10 });
 * const { gradient } = model.computeGradient(images, labels, [0, 1, 2]);
 * const artifacts = await trainedArtifacts(layers, model.getWeights());
 */
import * as tf from '@tensorflow/tfjs';
import {
  customModelIssue,
  customModelSha256,
  MAX_CUSTOM_WEIGHT_BYTES,
  modelTaskShapeOf,
  sha256Hex,
  toBase64,
  type CustomModel,
  type ModelTaskShape,
} from '../../shared/protocol/custom-model.ts';
import { selectBackend } from './backend.ts';
import { TrainingError } from './errors.ts';
import { assignFlat, checkWeights, readGradientAndLoss } from './flat-io.ts';
import type { ParamLayout, TrainableModel } from './model.ts';
import { customModelWeights, holdModelWeights } from './model-weights.ts';
import { registerWasmConvFilterGrad } from './wasm-conv-grad.ts';

/** The seam a learner drives: a TrainableModel without the built-in architecture's name. */
export type FlatModel = Omit<TrainableModel, 'arch'>;

export interface LayersTrainableOptions {
  numClasses: number;
  /** Examples per forward pass in evaluate(). @default 1000 */
  evalChunkSize?: number;
}

/** Smallest probability fed to log() for a softmax output. */
const PROBABILITY_FLOOR = 1e-7;
const DEFAULT_EVAL_CHUNK = 1000;

/**
 * The artifacts of a session's model, as tf.io.fromMemory takes them. Held weights must have
 * been fetched (model-weights.ts), else CUSTOM_MODEL_WEIGHTS.
 */
export function artifactsOf(custom: CustomModel): tf.io.ModelArtifacts {
  return {
    modelTopology: custom.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: custom.weightSpecs,
    weightData: customModelWeights(custom).buffer,
    format: 'layers-model',
  };
}

/**
 * The session's model as a tf.LayersModel, after checking it is the one the config's hash
 * names (CUSTOM_MODEL_HASH) and that the seam can train it on `task` (CUSTOM_MODEL_UNTRAINABLE).
 */
export async function loadCustomModel(custom: CustomModel, task?: ModelTaskShape): Promise<tf.LayersModel> {
  const actual = await customModelSha256(custom, customModelWeights(custom));
  if (actual !== custom.sha256)
    throw new TrainingError(
      'CUSTOM_MODEL_HASH',
      `the model's SHA-256 is ${actual}, the session names ${custom.sha256}`,
    );
  if (task !== undefined) {
    const issue = customModelIssue(custom, task);
    if (issue !== null) throw new TrainingError('CUSTOM_MODEL_UNTRAINABLE', issue);
  }
  registerWasmConvFilterGrad();
  const model = await tf.loadLayersModel(tf.io.fromMemory(artifactsOf(custom)));
  if (model.nonTrainableWeights.length > 0) {
    model.dispose();
    throw new TrainingError(
      'CUSTOM_MODEL_UNTRAINABLE',
      `the model has ${model.nonTrainableWeights.length} non-trainable weights, which the flat-weight seam does not carry`,
    );
  }
  return model;
}

/** True when the model's last layer is a softmax (its outputs are probabilities). */
function endsInSoftmax(model: tf.LayersModel): boolean {
  const last = model.layers.at(-1);
  if (last === undefined) return false;
  return last.getClassName() === 'Softmax' || last.getConfig()['activation'] === 'softmax';
}

/** The tf.Variable under each trainable weight, in flat order. */
function variablesOf(model: tf.LayersModel): tf.Variable[] {
  return model.trainableWeights.map((w) => {
    const v = w.read();
    if (!(v instanceof tf.Variable))
      throw new TrainingError('CUSTOM_MODEL_UNTRAINABLE', `weight ${w.name} is no variable`);
    return v;
  });
}

export function createLayersTrainable(model: tf.LayersModel, options: LayersTrainableOptions): FlatModel {
  const { numClasses } = options;
  const evalChunkSize = options.evalChunkSize ?? DEFAULT_EVAL_CHUNK;
  const inputShape = model.inputs[0]?.shape.slice(1) ?? [];
  if (inputShape.some((d) => d === null)) {
    throw new TrainingError(
      'CUSTOM_MODEL_UNTRAINABLE',
      `the model's input shape [${inputShape.join(', ')}] is not fixed`,
    );
  }
  const shape = inputShape as number[];
  const inputSize = shape.reduce((a, b) => a * b, 1);
  const softmax = endsInSoftmax(model);
  const variables = variablesOf(model);
  const layout: ParamLayout[] = [];
  let numParams = 0;
  model.trainableWeights.forEach((w) => {
    const size = w.shape.reduce((a: number, b) => a * (b ?? 1), 1);
    layout.push({ name: w.name, shape: w.shape as number[], offset: numParams, size });
    numParams += size;
  });
  let disposed = false;
  const alive = (): void => {
    if (disposed) throw new TrainingError('MODEL_DISPOSED', 'the model was disposed');
  };
  /** Mean loss of outputs against one-hot labels (probabilities or logits, see the module doc). */
  const lossOf = (ys: tf.Tensor, out: tf.Tensor, reduction: tf.Reduction): tf.Tensor => {
    if (!softmax) return tf.losses.softmaxCrossEntropy(ys, out, undefined, undefined, reduction);
    const perExample = tf.neg(tf.sum(tf.mul(ys, tf.log(tf.clipByValue(out, PROBABILITY_FLOOR, 1))), 1));
    return reduction === tf.Reduction.SUM ? tf.sum(perExample) : tf.mean(perExample);
  };
  const batchOf = (
    images: Float32Array,
    labels: Uint8Array | readonly number[],
    indices?: readonly number[],
  ) => selectRows(images, labels, indices, inputSize, numClasses);

  return {
    numParams,
    layout,
    getWeights() {
      alive();
      const flat = tf.tidy(() => tf.concat(variables.map((v) => v.reshape([-1]))));
      const values = Float32Array.from(flat.dataSync());
      flat.dispose();
      return values;
    },
    setWeights(flat) {
      alive();
      checkWeights(flat, numParams);
      assignFlat(variables, layout, flat);
    },
    computeGradient(images, labels, batchIndices, into) {
      alive();
      const batch = batchOf(images, labels, batchIndices);
      const out = tf.tidy(() => {
        const xs = tf.tensor(batch.images, [batch.labels.length, ...shape]);
        const ys = tf.oneHot(tf.tensor1d(batch.labels, 'int32'), numClasses);
        const { value, grads } = tf.variableGrads(
          () => lossOf(ys, model.apply(xs, { training: true }) as tf.Tensor, tf.Reduction.MEAN).asScalar(),
          variables,
        );
        return tf.concat([
          ...variables.map((v) => (grads[v.name] ?? tf.zerosLike(v)).reshape([-1])),
          value.reshape([1]),
        ]);
      });
      try {
        return readGradientAndLoss(out, numParams, into);
      } finally {
        out.dispose();
      }
    },
    evaluate(images, labels) {
      alive();
      const all = batchOf(images, labels);
      const count = all.labels.length;
      let lossSum = 0;
      let correct = 0;
      for (let start = 0; start < count; start += evalChunkSize) {
        const end = Math.min(count, start + evalChunkSize);
        const out = tf.tidy(() => {
          const xs = tf.tensor(all.images.subarray(start * inputSize, end * inputSize), [
            end - start,
            ...shape,
          ]);
          const truth = tf.tensor1d(all.labels.subarray(start, end), 'int32');
          const predicted = model.predict(xs) as tf.Tensor;
          const loss = lossOf(tf.oneHot(truth, numClasses), predicted, tf.Reduction.SUM);
          const hits = tf.sum(tf.cast(tf.equal(tf.argMax(predicted, 1), truth), 'float32'));
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
      model.dispose();
    },
  };
}

/** The chosen rows (all without indices) with int32 labels, checked like model.ts's batches. */
function selectRows(
  images: Float32Array,
  labels: Uint8Array | readonly number[],
  indices: readonly number[] | undefined,
  inputSize: number,
  numClasses: number,
): { images: Float32Array; labels: Int32Array } {
  const count = labels.length;
  if (images.length !== count * inputSize)
    throw new TrainingError(
      'BAD_BATCH',
      `${images.length} input values do not match ${count} labels x ${inputSize}`,
    );
  const size = indices ? indices.length : count;
  if (size === 0) throw new TrainingError('BAD_BATCH', 'empty batch');
  const outLabels = new Int32Array(size);
  const outImages = indices ? new Float32Array(size * inputSize) : images;
  for (let row = 0; row < size; row++) {
    const index = indices ? (indices[row] ?? -1) : row;
    if (!Number.isInteger(index) || index < 0 || index >= count)
      throw new TrainingError('BAD_BATCH', `index ${index} outside 0..${count - 1}`);
    const label = labels[index] ?? -1;
    if (!Number.isInteger(label) || label < 0 || label >= numClasses)
      throw new TrainingError('BAD_BATCH', `label ${label} of example ${index} outside 0..${numClasses - 1}`);
    outLabels[row] = label;
    if (indices) outImages.set(images.subarray(index * inputSize, (index + 1) * inputSize), row * inputSize);
  }
  return { images: outImages, labels: outLabels };
}

/**
 * What `model.save` writes for `model` holding the flat weights `flat` (the session's trained
 * model): topology, weight specs and data, in memory. The model keeps those weights.
 */
export async function trainedArtifacts(
  model: tf.LayersModel,
  flat: Float32Array,
): Promise<tf.io.ModelArtifacts> {
  createLayersTrainable(model, { numClasses: 1 }).setWeights(flat);
  let saved: tf.io.ModelArtifacts | undefined;
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      saved = artifacts;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  if (saved === undefined) throw new TrainingError('CUSTOM_MODEL_FILES', 'the model saved no artifacts');
  return saved;
}

/** The weight bytes of artifacts as one buffer (TF.js may hand them as several). */
export function weightBytesOf(artifacts: tf.io.ModelArtifacts): Uint8Array<ArrayBuffer> {
  const data = artifacts.weightData;
  if (data === undefined) return new Uint8Array(0);
  const parts = Array.isArray(data) ? data : [data];
  const total = parts.reduce((n, p) => n + p.byteLength, 0);
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    bytes.set(new Uint8Array(part), offset);
    offset += part.byteLength;
  }
  return bytes;
}

/**
 * A session config's customModel from saved artifacts, with its SHA-256: the weights inline up
 * to MAX_CUSTOM_WEIGHT_BYTES, else named by their own SHA-256 for the signaling server to hold
 * (and kept in this process, so it need not fetch them; liec create uploads them).
 */
export async function customModelFromArtifacts(artifacts: tf.io.ModelArtifacts): Promise<CustomModel> {
  const topology = artifacts.modelTopology;
  if (topology === undefined || topology instanceof ArrayBuffer || artifacts.weightSpecs === undefined)
    throw new TrainingError('CUSTOM_MODEL_FILES', 'the artifacts hold no JSON topology or weight specs');
  const weightSpecs = artifacts.weightSpecs.map((s) => {
    if (s.dtype !== 'float32')
      throw new TrainingError(
        'CUSTOM_MODEL_UNTRAINABLE',
        `weight ${s.name} is ${s.dtype}; only float32 weights are trained`,
      );
    if (s.quantization !== undefined)
      throw new TrainingError(
        'CUSTOM_MODEL_UNTRAINABLE',
        `weight ${s.name} is quantized; save the model unquantized`,
      );
    return { name: s.name, shape: [...s.shape], dtype: 'float32' as const };
  });
  const shape = { modelTopology: topology as Record<string, unknown>, weightSpecs };
  const bytes = weightBytesOf(artifacts);
  const sha256 = await customModelSha256(shape, bytes);
  if (bytes.byteLength <= MAX_CUSTOM_WEIGHT_BYTES)
    return { format: 'layers-model', ...shape, weightData: toBase64(bytes), sha256 };
  const weightsSha256 = await sha256Hex(bytes);
  holdModelWeights(weightsSha256, bytes);
  return { format: 'layers-model', ...shape, weightsSha256, sha256 };
}

/** model.json as `tf.LayersModel.save` writes it for one weight file `weightsPath`. */
export function modelJsonOf(artifacts: tf.io.ModelArtifacts, weightsPath: string): Record<string, unknown> {
  return {
    modelTopology: artifacts.modelTopology,
    format: artifacts.format ?? 'layers-model',
    generatedBy: artifacts.generatedBy,
    convertedBy: artifacts.convertedBy ?? null,
    weightsManifest: [{ paths: [weightsPath], weights: artifacts.weightSpecs ?? [] }],
  };
}

/**
 * The flat-weight model of a session's own Layers model, for a peer's learner: selects the
 * backend (as the built-in learners do, silently), checks hash and trainability, wraps it.
 */
export async function sessionLayersModel(
  custom: CustomModel,
  config: Parameters<typeof modelTaskShapeOf>[0],
): Promise<FlatModel> {
  await selectBackend(undefined, { log: () => {} });
  const task = modelTaskShapeOf(config);
  return createLayersTrainable(await loadCustomModel(custom, task), { numClasses: task.numClasses });
}

/**
 * A browser download of the session's model holding `flat`: `name.json` and
 * `name.weights.bin` (what tf.io.browserDownloads writes), loadable with tf.loadLayersModel.
 */
export async function downloadLayersModel(
  custom: CustomModel,
  flat: Float32Array,
  name: string,
): Promise<void> {
  const model = await loadCustomModel(custom);
  let artifacts: tf.io.ModelArtifacts;
  try {
    artifacts = await trainedArtifacts(model, flat);
  } finally {
    model.dispose();
  }
  const weightsFile = `${name}.weights.bin`;
  const files: Array<[string, Blob]> = [
    [
      `${name}.json`,
      new Blob([JSON.stringify(modelJsonOf(artifacts, `./${weightsFile}`))], { type: 'application/json' }),
    ],
    [weightsFile, new Blob([weightBytesOf(artifacts)], { type: 'application/octet-stream' })],
  ];
  for (const [file, blob] of files) {
    const url = URL.createObjectURL(blob);
    const anchor = document.createElement('a');
    anchor.href = url;
    anchor.download = file;
    anchor.click();
    setTimeout(() => URL.revokeObjectURL(url), 0);
  }
}
