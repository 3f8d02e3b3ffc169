/**
 * A peer's learner over MNIST data already in memory: the TF.js model, a batch sampler per
 * data shard, and the test-set evaluation, as the peer runtime's Learner. The browser
 * uses it with the digits of mnist.bin (mnist-browser.ts); nothing here touches Node
 * modules. Call selectBackend() first and pass its answer along.
 *
 * Same shards and batch order as client/training/mnist-learner.ts for the same data, seed and
 * shard count (partitionIndices, then a sampler seeded mixSeed(seed, shard, 0xba7c)).
 *
 * @example
 * const backend = await selectBackend(undefined, { wasmPaths: '/' });
 * const learner = createDataLearner({ data, backend, workers: 4, partition: { kind: 'iid' }, batchSize: 64, seed: 1, arch: 'mlp' });
 * const { gradient, loss } = learner.gradient(0, learner.initialWeights());
 */
import { partitionIndices } from '../../shared/data/partition.ts';
import type { PartitionSpec } from '../../shared/data/spec.ts';
import { mixSeed } from '../../shared/random.ts';
import type { ArchName, TaskShape } from './architectures.ts';
import type { Learner } from './learner.ts';
import type { FlatModel } from './layers-model.ts';
import type { BackendName } from './backend.ts';
import { createBatchSampler } from './batches.ts';
import type { MnistData } from './mnist.ts';
import { createModel, type ParamLayout } from './model.ts';

export interface DataLearnerOptions {
  /** Training and test examples (MNIST's, or a task's: inputs in place of images). */
  data: MnistData;
  /** The backend selectBackend() chose (reported, not selected, here). */
  backend: BackendName;
  /** Number of data shards (the session's dataShards). */
  workers: number;
  partition: PartitionSpec;
  batchSize: number;
  seed: number;
  arch: ArchName;
  /** A model to train instead of the built-in `arch` (a session's own Layers model). */
  model?: FlatModel;
  /** The task's input size and class count. @default MNIST's */
  io?: TaskShape;
}

export interface DataLearner extends Learner {
  readonly backend: BackendName;
  /** Names, shapes and offsets of the flat weight vector. */
  readonly layout: readonly ParamLayout[];
  /** Batch loss of the last gradient, per shard; undefined before the first. */
  lastLoss(shard: number): number | undefined;
  /** Accuracy and loss of `weights` on other examples than the test set (a held-back part). */
  evaluateOn(
    weights: Float32Array,
    images: Float32Array,
    labels: Uint8Array,
  ): { accuracy: number; loss: number };
  /**
   * Runs one gradient and one small evaluation on fixed examples, without touching any
   * shard's batch order, so the backend's one-time costs (WebGL shader compilation: seconds
   * on a software GPU) are paid before the peer takes part. Returns the time it took in ms.
   */
  warmUp(): number;
  dispose(): void;
}

/** Test examples the warm-up evaluates (enough to run every evaluation kernel once). */
const WARM_UP_EVAL_EXAMPLES = 16;

export function createDataLearner(options: DataLearnerOptions): DataLearner {
  const { data } = options;
  const shards = partitionIndices(data.trainLabels, options.workers, options.partition, options.seed);
  const samplers = shards.map((shard, i) =>
    createBatchSampler(shard, options.batchSize, mixSeed(options.seed, i, 0xba7c)),
  );
  const model =
    options.model ??
    createModel({
      arch: options.arch,
      seed: options.seed,
      ...(options.io === undefined ? {} : { io: options.io }),
    });
  const losses = new Map<number, number>();
  // Every gradient is written here: valid until the next gradient() (see Learner.gradient).
  const gradientBuffer = new Float32Array(model.numParams);
  return {
    backend: options.backend,
    numParams: model.numParams,
    layout: model.layout,
    initialWeights: () => model.getWeights(),
    gradient(worker, weights) {
      const sampler = samplers[worker];
      if (sampler === undefined) throw new RangeError(`no shard ${worker} (of ${samplers.length})`);
      model.setWeights(weights);
      const result = model.computeGradient(
        data.trainImages,
        data.trainLabels,
        sampler.next(),
        gradientBuffer,
      );
      losses.set(worker, result.loss);
      return result;
    },
    evaluate(weights) {
      model.setWeights(weights);
      return model.evaluate(data.testImages, data.testLabels);
    },
    lastLoss: (shard) => losses.get(shard),
    evaluateOn(weights, images, labels) {
      model.setWeights(weights);
      return model.evaluate(images, labels);
    },
    warmUp() {
      const started = performance.now();
      const batch = Array.from({ length: Math.min(options.batchSize, data.trainLabels.length) }, (_, i) => i);
      model.computeGradient(data.trainImages, data.trainLabels, batch);
      const examples = Math.min(WARM_UP_EVAL_EXAMPLES, data.testLabels.length);
      model.evaluate(
        data.testImages.subarray(0, examples * (data.testImages.length / data.testLabels.length)),
        data.testLabels.subarray(0, examples),
      );
      return performance.now() - started;
    },
    dispose: () => model.dispose(),
  };
}
