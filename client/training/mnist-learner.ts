/**
 * MNIST as a Learner: one TF.js model instance serves every virtual worker (weights
 * are set before each gradient), each worker samples batches from its own shard.
 *
 * @example
 * const learner = await createMnistLearner({ workers: 8, partition: { kind: 'iid' }, batchSize: 32, seed: 1, arch: 'mlp' });
 */
import { partitionIndices } from '../../shared/data/partition.ts';
import type { PartitionSpec } from '../../shared/data/spec.ts';
import { mixSeed } from '../../shared/random.ts';
import { selectBackend, type BackendName } from './backend.ts';
import { createBatchSampler } from './batches.ts';
import { loadMnist } from './mnist.ts';
import { createModel } from './model.ts';
import type { Learner } from './learner.ts';

export interface MnistLearnerOptions {
  workers: number;
  partition: PartitionSpec;
  batchSize: number;
  seed: number;
  arch: 'mlp' | 'cnn';
  /** Log line sink for the backend choice. @default console.info */
  log?: (line: string) => void;
}

export interface MnistLearner extends Learner {
  readonly backend: BackendName;
  dispose(): void;
}

export async function createMnistLearner(options: MnistLearnerOptions): Promise<MnistLearner> {
  const backend = await selectBackend(undefined, options.log ? { log: options.log } : {});
  const data = await loadMnist();
  const shards = partitionIndices(data.trainLabels, options.workers, options.partition, options.seed);
  const samplers = shards.map((shard, i) =>
    createBatchSampler(shard, options.batchSize, mixSeed(options.seed, i, 0xba7c)),
  );
  const model = createModel({ arch: options.arch, seed: options.seed });
  return {
    backend,
    numParams: model.numParams,
    initialWeights: () => model.getWeights(),
    gradient(worker, weights) {
      const sampler = samplers[worker];
      if (sampler === undefined) throw new RangeError(`no shard for worker ${worker}`);
      model.setWeights(weights);
      return model.computeGradient(data.trainImages, data.trainLabels, sampler.next());
    },
    evaluate(weights) {
      model.setWeights(weights);
      return model.evaluate(data.testImages, data.testLabels);
    },
    dispose: () => model.dispose(),
  };
}
