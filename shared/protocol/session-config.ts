/**
 * The configuration of one training session: what is trained, how, and with which
 * compression. Chosen by whoever creates the session, validated by the signaling server,
 * handed unchanged to every peer in its join reply.
 *
 * Every field has a default, so `{}` is a valid input. To add a field later, give it a
 * default here (old clients that omit it keep working); unknown fields are stripped.
 *
 * @example
 * const config = parseSessionConfig({ algorithm: 'liec', up: 'topk:0.01' });
 * config.syncPeriod; // 20 (DEFAULT_SYNC_PERIOD)
 */
import { z } from 'zod';
import {
  DEFAULT_COMPENSATION,
  DEFAULT_SYNC_CODEC,
  DEFAULT_SYNC_PERIOD,
  resolveAlgorithmOptions,
  type AlgorithmSpec,
} from '../algorithm/index.ts';
import { taskSpecSchema } from '../data/task.ts';
import { customModelIssue, customModelSchema, modelTaskShapeOf } from './custom-model.ts';
import {
  CONSERVATIVE_LEARNING_DEFAULTS,
  DEFAULT_BATCH_SIZE,
  defaultStandInRounds,
  TUNED_LEARNING_DEFAULTS,
  type LearningDefaults,
} from '../defaults.ts';

/** A compressor spec such as "identity", "topk:0.01", "topk:0.01:f32", "qsgd:16" or "sign:256". */
const compressorSpecSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9]+(:[A-Za-z0-9.=,_-]+)*$/, 'compressor spec like "topk:0.01"');

/** How the training data is split across peers: "iid", "dirichlet:<alpha>" or "shards:<k>". */
const partitionSchema = z
  .string()
  .max(32)
  .regex(/^(iid|dirichlet:\d+(\.\d+)?|shards:[1-9]\d*)$/, '"iid", "dirichlet:<alpha>" or "shards:<k>"');

const positiveInt = z.number().int().positive();

export const sessionConfigFields = z.object({
  /**
   * The learning task: the shipped MNIST digits, or each peer's own image folder or CSV file
   * under `taskSpec` (classes, input shape, features and scaling; see shared/data/task.ts).
   */
  task: z.enum(['mnist', 'images', 'csv']).default('mnist'),
  /** images and csv: what the creator's data defines for every peer (absent for mnist). */
  taskSpec: taskSpecSchema.optional(),
  /** The model trained by every peer: mlp 0.1M parameters, mlp-large 1M, mlp-xlarge 10M, cnn 9k. */
  model: z.enum(['mlp', 'mlp-large', 'mlp-xlarge', 'cnn']).default('mlp'),
  /**
   * The session's own TF.js Layers model (liec create --model DIR), trained in place of `model`:
   * topology, initial weights (inline, or named by hash and held by the signaling server) and
   * its SHA-256 (see ./custom-model.ts for how they travel).
   */
  customModel: customModelSchema.optional(),
  /** The training algorithm; all but liec are baselines on the same engine. */
  algorithm: z
    .enum(['sgd', 'ef-sgd', 'doublesqueeze', 'liec', 'fedavg', 'diloco', 'sparseloco'])
    .default('liec'),
  // Unset, the next four follow what the session trains (learningDefaultsOf).
  /** H, local optimizer steps per round: fedavg, diloco, sparseloco, and liec (liec-local.ts; 1 for the others). */
  localSteps: positiveInt.max(10_000).optional(),
  /** Compressor from workers to the aggregator. */
  up: compressorSpecSchema.optional(),
  /** Compressor from the aggregator to the workers. */
  down: compressorSpecSchema.optional(),
  learningRate: z.number().positive().max(10).optional(),
  /** Heavy-ball momentum of every peer's local optimizer. */
  momentum: z.number().min(0).lt(1).default(0),
  /** L2 weight decay of every peer's local optimizer. */
  weightDecay: z.number().min(0).max(1).default(0),
  batchSize: positiveInt.max(4096).default(DEFAULT_BATCH_SIZE),
  /** Number of rounds to train. */
  rounds: positiveInt.max(10_000_000).default(500),
  /** How long the aggregator waits for updates in a round before aggregating what arrived. */
  roundDeadlineMs: positiveInt.max(3_600_000).default(5000),
  /** Fraction in (0, 1] of the live workers whose updates a round needs. */
  quorum: z.number().gt(0).lte(1).default(0.5),
  /** H: rounds between full-precision model syncs. */
  syncPeriod: positiveInt.max(1_000_000).default(DEFAULT_SYNC_PERIOD),
  /** LIEC: codec of the sync deltas ("identity" exact; "sign:256", "q4", "q8" compensated). */
  syncCodec: compressorSpecSchema.default(DEFAULT_SYNC_CODEC),
  /** LIEC: relative drift that triggers an early sync; 0 = clock only. */
  syncDriftThreshold: z.number().min(0).default(0),
  /**
   * LIEC: "full" = a sync phase every syncPeriod rounds moves the whole model; "rolling" =
   * every round syncs 1/syncPeriod of it alongside the round's upload and broadcast, so no
   * round waits for a sync (thin links).
   */
  syncMode: z.enum(['full', 'rolling']).default('full'),
  /**
   * LIEC: the share of its own residual a worker applies at once: "auto" (measured from the
   * data at every sync, see shared/algorithm/compensation.ts) or a number in [0, 1].
   */
  compensation: z
    .union([z.literal('auto'), z.number().min(0).max(1)])
    .default(DEFAULT_COMPENSATION as 'auto'),
  /** How many parts the training set is split into; a peer trains on part (join slot mod dataShards). */
  dataShards: positiveInt.max(1000).default(4),
  /** Training starts (round 0) once this many peers, the aggregator included, are present. */
  minPeers: positiveInt.max(10_000).default(1),
  /** The aggregator measures test accuracy every this many rounds. */
  evalEvery: positiveInt.max(1_000_000).default(10),
  partition: partitionSchema.default('iid'),
  /**
   * How the aggregator combines uploads: "mean", or against poisoned workers a coordinate-wise
   * "median" or "trimmed:F" (drop the F lowest and F highest per coordinate, F in [0, 0.5)).
   * The robust ones need a dense `up` codec (identity, fp16, q8, q4, sign, qsgd).
   */
  aggregation: z
    .string()
    .max(32)
    .regex(/^(mean|median|trimmed:(0(\.[0-4]\d*)?|\.[0-4]\d*))$/, '"mean", "median" or "trimmed:<fraction>"')
    .default('mean'),
  /**
   * Rounds during which an absent worker's recent average upload stands in for it in the
   * aggregator's mean, its weight fading (shared/algorithm/stand-ins.ts); 0 = none. Unset: 100
   * for liec, 0 for the baselines (they run as published). Mean aggregation only.
   */
  standInRounds: z.number().int().min(0).max(1_000_000).optional(),
  /** Seed of every random choice in the session (partition, batch order, random codecs). */
  seed: z.number().int().min(0).max(0xffff_ffff).default(1),
});

type ConfigFields = z.output<typeof sessionConfigFields>;

/**
 * The learning rate, H and codecs a session takes for those it leaves unset: the setting tuned
 * for LIEC on the built-in mlp and the shipped digits (`npm start`'s), the conservative one for
 * anything else (shared/defaults.ts says why).
 */
export function learningDefaultsOf(
  config: Pick<ConfigFields, 'algorithm' | 'task' | 'model' | 'customModel'>,
): Readonly<LearningDefaults> {
  const tuned =
    config.algorithm === 'liec' &&
    config.task === 'mnist' &&
    config.model === 'mlp' &&
    config.customModel === undefined;
  return tuned ? TUNED_LEARNING_DEFAULTS : CONSERVATIVE_LEARNING_DEFAULTS;
}

/** Every field present: the unset learning settings filled from learningDefaultsOf. */
function withLearningDefaults(config: ConfigFields) {
  const defaults = learningDefaultsOf(config);
  return {
    ...config,
    learningRate: config.learningRate ?? defaults.learningRate,
    localSteps: config.localSteps ?? defaults.localSteps,
    up: config.up ?? defaults.codec,
    down: config.down ?? defaults.codec,
    standInRounds: config.standInRounds ?? defaultStandInRounds(config.algorithm),
  };
}

/** The algorithm settings of a session, as shared/algorithm resolves them. */
export function algorithmSpecOf(config: ReturnType<typeof withLearningDefaults>): AlgorithmSpec {
  return {
    algorithm: config.algorithm,
    up: config.up,
    down: config.down,
    learningRate: config.learningRate,
    momentum: config.momentum,
    weightDecay: config.weightDecay,
    syncPeriod: config.syncPeriod,
    syncCodec: config.syncCodec,
    syncMode: config.syncMode,
    aggregation: config.aggregation,
    compensation: config.compensation,
    ...(config.syncDriftThreshold > 0 ? { syncDriftThreshold: config.syncDriftThreshold } : {}),
    ...(config.localSteps === 1 ? {} : { localSteps: config.localSteps }),
  };
}

/**
 * Defaults filled, then the cross-field checks every peer would apply (a codec spec that
 * parses, ef-sgd's fp32 downlink, robust aggregation over dense uploads): a session the
 * server accepts is one its peers can run.
 */
export const sessionConfigSchema = sessionConfigFields
  .transform(withLearningDefaults)
  .superRefine((config, ctx) => {
    const taskIssue = taskMismatch(config);
    if (taskIssue !== null) ctx.addIssue({ code: 'custom', path: ['taskSpec'], message: taskIssue });
    const modelIssue =
      config.customModel === undefined
        ? null
        : customModelIssue(config.customModel, modelTaskShapeOf(config));
    if (modelIssue !== null) ctx.addIssue({ code: 'custom', path: ['customModel'], message: modelIssue });
    try {
      resolveAlgorithmOptions(algorithmSpecOf(config));
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof Error ? error.message : String(error) });
    }
  });

/** Why the task, its spec and the model do not fit together, or null when they do. */
function taskMismatch(config: ConfigFields): string | null {
  const spec = config.taskSpec;
  if (config.task === 'mnist') return spec === undefined ? null : 'the mnist task takes no taskSpec';
  if (spec === undefined) return `the ${config.task} task needs a taskSpec (made by liec create --data)`;
  if (spec.kind !== config.task) return `task ${config.task} with a ${spec.kind} taskSpec`;
  const grayscale28 =
    spec.kind === 'images' && spec.width === 28 && spec.height === 28 && spec.channels === 1;
  if (config.model === 'cnn' && !grayscale28)
    return 'model cnn takes 28x28 grayscale inputs; use an mlp model for this task';
  return null;
}

/** A fully resolved session configuration (every field present). */
export type SessionConfig = z.output<typeof sessionConfigSchema>;
/** What a session creator may send: any subset of the fields. */
export type SessionConfigInput = z.input<typeof sessionConfigSchema>;

export const DEFAULT_SESSION_CONFIG: Readonly<SessionConfig> = Object.freeze(sessionConfigSchema.parse({}));

/** Parses and fills defaults; throws a ZodError on invalid input. */
export function parseSessionConfig(input: unknown): SessionConfig {
  return sessionConfigSchema.parse(input);
}

/** The default of `field` in a session like `config`: the learning settings follow its model (learningDefaultsOf). */
export function defaultValueOf(config: SessionConfig, field: keyof SessionConfig): unknown {
  const learning = learningDefaultsOf(config);
  switch (field) {
    case 'learningRate':
      return learning.learningRate;
    case 'localSteps':
      return learning.localSteps;
    case 'up':
    case 'down':
      return learning.codec;
    case 'standInRounds':
      return defaultStandInRounds(config.algorithm);
    default:
      return DEFAULT_SESSION_CONFIG[field];
  }
}
