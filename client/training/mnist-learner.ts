/**
 * MNIST as a Learner: one TF.js model instance serves every virtual worker (weights
 * are set before each gradient), each worker samples batches from its own shard. Only the
 * shards in use are in memory (see trainImagesOnDemand): a headless peer holds its own.
 *
 * @example
 * const learner = await createMnistLearner({ workers: 8, partition: { kind: 'iid' }, batchSize: 32, seed: 1, arch: 'mlp' });
 */
import { partitionIndices } from '../../shared/data/partition.ts';
import type { PartitionSpec } from '../../shared/data/spec.ts';
import { mixSeed } from '../../shared/random.ts';
import { selectBackend, type BackendName } from './backend.ts';
import { createBatchSampler } from './batches.ts';
import { loadMnistSource, type MnistSource } from './mnist.ts';
import { createModel } from './model.ts';
import type { ArchName } from './architectures.ts';
import type { Learner } from './learner.ts';
import type { FlatModel } from './layers-model.ts';

export interface MnistLearnerOptions {
  workers: number;
  partition: PartitionSpec;
  batchSize: number;
  seed: number;
  arch: ArchName;
  /** A model to train instead of the built-in `arch` (a session's own Layers model). */
  model?: FlatModel;
  /** Log line sink for the backend choice. @default console.info */
  log?: (line: string) => void;
}

export interface MnistLearner extends Learner {
  readonly backend: BackendName;
  dispose(): void;
}

export async function createMnistLearner(options: MnistLearnerOptions): Promise<MnistLearner> {
  const backend = await selectBackend(undefined, options.log ? { log: options.log } : {});
  const source = await loadMnistSource();
  const shards = partitionIndices(source.trainLabels, options.workers, options.partition, options.seed);
  const samplers = shards.map((shard, i) =>
    createBatchSampler(shard, options.batchSize, mixSeed(options.seed, i, 0xba7c)),
  );
  const model = options.model ?? createModel({ arch: options.arch, seed: options.seed });
  const trainSet = trainImagesOnDemand(source, shards);
  // Every gradient is written here: valid until the next gradient() (see Learner.gradient).
  const gradientBuffer = new Float32Array(model.numParams);
  return {
    backend,
    numParams: model.numParams,
    initialWeights: () => model.getWeights(),
    gradient(worker, weights) {
      const sampler = samplers[worker];
      if (sampler === undefined) throw new RangeError(`no shard for worker ${worker}`);
      const view = trainSet(worker);
      model.setWeights(weights);
      return model.computeGradient(
        view.images,
        view.labels,
        sampler.next().map(view.position),
        gradientBuffer,
      );
    },
    evaluate(weights) {
      model.setWeights(weights);
      return model.evaluate(source.testImages, source.testLabels);
    },
    dispose: () => model.dispose(),
  };
}

interface TrainView {
  /** Which shard's images are in memory ('all': every training image, in the fixed order). */
  shard: number | 'all';
  images: Float32Array;
  labels: Uint8Array;
  /** Training index -> its place in images/labels. */
  position: (index: number) => number;
}

/**
 * Training images as the learner needs them. A peer trains on one shard, so the first shard
 * asked for is read alone (4 peers: 6 MB instead of 25); a second one (the simulator's
 * virtual workers) reads every image once and keeps them. Same pixels, labels and batches
 * either way, so the gradients are the same bits.
 */
function trainImagesOnDemand(source: MnistSource, shards: readonly number[][]): (shard: number) => TrainView {
  let view: TrainView | undefined;
  return (shard) => {
    if (view !== undefined && (view.shard === 'all' || view.shard === shard)) return view;
    const indices = shards[shard];
    if (indices === undefined) throw new RangeError(`no shard ${shard}`);
    if (view === undefined) {
      const places = new Int32Array(source.trainLabels.length).fill(-1);
      indices.forEach((index, place) => (places[index] = place));
      view = {
        shard,
        images: source.readTrainImages(indices),
        labels: Uint8Array.from(indices, (index) => source.trainLabels[index] ?? 0),
        position: (index) => places[index] ?? -1,
      };
    } else {
      const all = Array.from(source.trainLabels, (_, i) => i);
      view = {
        shard: 'all',
        images: source.readTrainImages(all),
        labels: source.trainLabels,
        position: (i) => i,
      };
    }
    return view;
  };
}
