/**
 * Learners for the csv and images tasks in Node: a headless peer's (`liec join --data`)
 * and the simulator's. A peer reads its own file or folder under the session's task spec,
 * keeps a validation part of it (shared/data/local-split.ts) and reports accuracy on that:
 * the aggregator's evaluations during training, the peer's final accuracy at the end. The
 * demo gives all its peers one file and `share`: each first holds back the same test part,
 * then takes its part of the rest by the session's partition, as the simulator's workers do.
 *
 * @example
 * const learner = await createTaskLearner({ config, dataPath: 'photos/' });
 * learner.counts; // { train: 640, validation: 160, test: 0 }
 */
import type { SessionConfig } from '../../shared/protocol/session-config.ts';
import { DataError } from '../../shared/data/data-errors.ts';
import { splitLocalData } from '../../shared/data/local-split.ts';
import { labelCounts } from '../../shared/data/partition.ts';
import { parsePartitionSpec, type PartitionSpec } from '../../shared/data/spec.ts';
import {
  HELD_OUT_FRACTION,
  inputSizeOf,
  subset,
  VALIDATION_FRACTION,
  type Dataset,
  type TaskSpec,
} from '../../shared/data/task.ts';
import { selectBackend, type BackendName } from './backend.ts';
import { createDataLearner, type DataLearner } from './data-learner.ts';
import { sessionLayersModel, type FlatModel } from './layers-model.ts';
import type { Learner } from './learner.ts';
import { readTaskData } from './local-data.ts';
import type { MnistData } from './mnist.ts';

export interface TaskLearnerOptions {
  /** The session's config: task, taskSpec, model, seed, batch size, partition, dataShards. */
  config: SessionConfig;
  /** This peer's CSV file or image folder. */
  dataPath: string;
  /** Train on part `share` of config.dataShards of the file, after the held-back test part (the demo). */
  share?: number;
  log?: (line: string) => void;
}

export interface TaskLearner extends Learner {
  readonly backend: BackendName;
  /** Examples this peer trains on, validates on and holds back (test: 0 without `share`). */
  readonly counts: { train: number; validation: number; test: number };
  /** Training examples per class, in the task's class order. */
  readonly classCounts: readonly number[];
  /** Accuracy on the held-back test part, null without one. */
  evaluateTest(weights: Float32Array): { accuracy: number; loss: number } | null;
  /** Accuracy on other examples of the task (a test set the session names). */
  evaluateOn(weights: Float32Array, data: Dataset): { accuracy: number; loss: number };
  dispose(): void;
}

export async function createTaskLearner(options: TaskLearnerOptions): Promise<TaskLearner> {
  const { config } = options;
  const spec = specOf(config);
  const backend = await selectBackend(undefined, options.log ? { log: options.log } : {});
  const data = await readTaskData(spec, options.dataPath);
  checkShape(data, spec);
  const split = splitLocalData(data.labels, {
    seed: config.seed,
    validationFraction: VALIDATION_FRACTION,
    source: options.dataPath,
    ...(options.share === undefined
      ? {}
      : {
          heldOutFraction: HELD_OUT_FRACTION,
          share: {
            index: options.share,
            count: config.dataShards,
            partition: parsePartitionSpec(config.partition),
          },
        }),
  });
  const train = subset(data, split.train);
  // Too few examples for a validation part: the peer reports its training accuracy.
  const validation = subset(data, split.validation.length > 0 ? split.validation : split.train);
  const test = split.test.length > 0 ? subset(data, split.test) : null;
  // A session's own Layers model (liec create --model) replaces the built-in network here too.
  const model =
    config.customModel === undefined ? undefined : await sessionLayersModel(config.customModel, config);
  const inner = learnerOver(
    asSplit(train, validation),
    backend,
    1,
    { kind: 'iid' },
    { ...config, taskSpec: spec },
    model,
  );
  return {
    backend,
    numParams: inner.numParams,
    counts: { train: split.train.length, validation: split.validation.length, test: split.test.length },
    classCounts: labelCounts(
      train.labels,
      Array.from(train.labels, (_, i) => i),
      data.numClasses,
    ),
    initialWeights: () => inner.initialWeights(),
    // One peer, one data set: whatever shard the runtime names, this peer's own examples.
    gradient: (_shard, weights) => inner.gradient(0, weights),
    evaluate: (weights) => inner.evaluate(weights),
    evaluateTest: (weights) => (test === null ? null : inner.evaluateOn(weights, test.inputs, test.labels)),
    evaluateOn: (weights, other) => inner.evaluateOn(weights, other.inputs, other.labels),
    dispose: () => inner.dispose(),
  };
}

/**
 * The simulator's learner for a task: the file's held-back test part is the test set, the
 * rest is split among `workers` by `partition` (one shard per virtual worker).
 */
export async function createTaskSimulationLearner(options: {
  config: LearnerSettings;
  dataPath: string;
  workers: number;
  partition: PartitionSpec;
  log?: (line: string) => void;
}): Promise<DataLearner> {
  const spec = options.config.taskSpec;
  const backend = await selectBackend(undefined, options.log ? { log: options.log } : {});
  const data = await readTaskData(spec, options.dataPath);
  checkShape(data, spec);
  const split = splitLocalData(data.labels, {
    seed: options.config.seed,
    validationFraction: 0,
    heldOutFraction: HELD_OUT_FRACTION,
    source: options.dataPath,
  });
  const split2 = asSplit(subset(data, split.train), subset(data, split.test));
  return learnerOver(split2, backend, options.workers, options.partition, options.config);
}

function specOf(config: SessionConfig): TaskSpec {
  if (config.taskSpec === undefined || config.task === 'mnist')
    throw new DataError(
      'BAD_TASK',
      'session',
      `task ${config.task} has no data to read (--data is for csv and images)`,
    );
  return config.taskSpec;
}

/** The data's input size against the session's: a model that does not fit is named. */
function checkShape(data: Dataset, spec: TaskSpec): void {
  const expected = inputSizeOf(spec);
  if (data.inputSize !== expected || data.numClasses !== spec.classes.length)
    throw new DataError(
      'SHAPE_MISMATCH',
      data.source,
      `inputs of ${data.inputSize} values and ${data.numClasses} classes; the session's model takes ${expected} and ${spec.classes.length}`,
    );
}

function asSplit(train: Dataset, test: Dataset): MnistData {
  return {
    trainImages: train.inputs,
    trainLabels: train.labels,
    testImages: test.inputs,
    testLabels: test.labels,
  };
}

/** What a task's learner takes from a session config (or the simulator's flags). */
type LearnerSettings = Pick<SessionConfig, 'seed' | 'batchSize' | 'model'> & { taskSpec: TaskSpec };

function learnerOver(
  data: MnistData,
  backend: BackendName,
  workers: number,
  partition: PartitionSpec,
  config: LearnerSettings,
  model?: FlatModel,
): DataLearner {
  const spec = config.taskSpec;
  return createDataLearner({
    ...(model === undefined ? {} : { model }),
    data,
    backend,
    workers,
    partition,
    batchSize: config.batchSize,
    seed: config.seed,
    arch: config.model,
    io: { inputSize: inputSizeOf(spec), numClasses: spec.classes.length },
  });
}
