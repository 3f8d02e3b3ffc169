/**
 * The learning core: LIEC-SGD and its baselines as pure code over Float32Array.
 *
 * @example
 * const options = resolveAlgorithmOptions({ algorithm: 'liec', up: 'topk:0.01', down: 'topk:0.01', learningRate: 0.1 });
 * const worker = createWorker(options, initialWeights);
 * const aggregator = createAggregator(options, initialWeights.length);
 */
import { createTopK, parseCompressor } from '../compress/index.ts';
import { isAutoSpec, parseAutoTopK } from './adaptive-ratio.ts';
import { resolveLocalSteps, type LocalStepSpec } from './local-steps.ts';
import { validateOptimizerOptions } from './optimizer.ts';
import { parseAggregation } from './robust.ts';
import { ALGORITHM_NAMES, type AlgorithmName, type AlgorithmOptions, type Compensation } from './types.ts';

export * from './types.ts';
export { createWorker } from './worker.ts';
export { createAggregator, syncFlushStep } from './aggregator.ts';
export { createOptimizer, type OptimizerOptions } from './optimizer.ts';
export {
  chooseTopKRatio,
  DEFAULT_ADAPTIVE_RATIO,
  isAutoSpec,
  parseAutoTopK,
  topKPayloadBytes,
  type AdaptiveRatioSettings,
} from './adaptive-ratio.ts';
export { combine, formatAggregation, parseAggregation } from './robust.ts';
export {
  createLocalStepWorker,
  DILOCO_OUTER_LEARNING_RATE,
  DILOCO_OUTER_MOMENTUM,
  isLocalStepAlgorithm,
  outerStep,
  SPARSELOCO_FEEDBACK_DECAY,
  takeLocalSteps,
  type LocalStepSpec,
} from './local-steps.ts';
export { AUTO_COMPENSATION_INITIAL, sharedShare } from './compensation.ts';

/**
 * Default LIEC compensation strength: measured from the data at every sync (compensation.ts),
 * so the same defaults hold on IID and on label-skewed data.
 */
export const DEFAULT_COMPENSATION: Compensation = 'auto';

/** Parses "auto" or a number in [0, 1]; throws RangeError otherwise. */
export function parseCompensation(text: string | number): Compensation {
  if (text === 'auto') return 'auto';
  const value = typeof text === 'number' ? text : text.trim() === '' ? Number.NaN : Number(text);
  if (!(value >= 0 && value <= 1))
    throw new RangeError(`compensation must be "auto" or a number in [0, 1], got "${String(text)}"`);
  return value;
}

/**
 * Default LIEC sync period H (rounds). Cheaper settings were measured and rejected
 * (bench/results/convergence-sync-sweep.json): H = 40 halves the sync bytes but took more
 * rounds to 90% on IID MNIST (185 vs 170, 8 workers) and lost 1-3 points on dirichlet:0.1
 * (6-8 at lr 0.8); top-k 1% sync deltas lost 3-10 points there.
 */
export const DEFAULT_SYNC_PERIOD = 20;

/**
 * Default codec of LIEC's sync deltas: scaled sign per 256-value block, 1/32 of fp32. Its
 * error stays with each worker (compensated), so a coarse code loses nothing. Measured on
 * MNIST (README): level with fp32 syncs on IID data; skewed data wants q4 every ~6 rounds.
 */
export const DEFAULT_SYNC_CODEC = 'sign:256';

/** Algorithm settings as plain data (CLI flags, session configs), before parsing. */
export interface AlgorithmSpec extends LocalStepSpec {
  algorithm: string;
  up: string;
  down: string;
  learningRate: number;
  momentum?: number;
  weightDecay?: number;
  /** LIEC sync period H; 0 = never on the clock. @default DEFAULT_SYNC_PERIOD */
  syncPeriod?: number;
  /** LIEC sync codec spec. @default DEFAULT_SYNC_CODEC */
  syncCodec?: string;
  /** LIEC relative drift threshold for an early sync. @default undefined */
  syncDriftThreshold?: number;
  /** LIEC: 'full' syncs every H rounds, or a 'rolling' sync of 1/H of the model every round. @default 'full' */
  syncMode?: string;
  /** How uploads are combined: "mean", "median" or "trimmed:F" (robust.ts). @default 'mean' */
  aggregation?: string;
  /** LIEC compensation strength: "auto" or alpha in [0, 1]. @default DEFAULT_COMPENSATION */
  compensation?: string | number;
}

export function isAlgorithmName(name: string): name is AlgorithmName {
  return (ALGORITHM_NAMES as readonly string[]).includes(name);
}

/** Parses and validates an AlgorithmSpec; throws RangeError with a clear message. */
export function resolveAlgorithmOptions(spec: AlgorithmSpec): AlgorithmOptions {
  if (!isAlgorithmName(spec.algorithm)) {
    throw new RangeError(
      `unknown algorithm "${spec.algorithm}" (expected one of ${ALGORITHM_NAMES.join(', ')})`,
    );
  }
  // topk:auto only upward: each worker sizes its own upload; a broadcast goes to everyone.
  for (const [what, text] of [
    ['down', spec.down],
    ['syncCodec', spec.syncCodec ?? ''],
  ] as const) {
    if (isAutoSpec(text)) {
      throw new RangeError(`"${text}" is for uploads only (up): use a fixed ratio for ${what}`);
    }
  }
  const adaptiveUp = parseAutoTopK(spec.up);
  const up = adaptiveUp === null ? parseCompressor(spec.up) : createTopK({ ratio: adaptiveUp.maxRatio });
  const down = parseCompressor(spec.down);
  if (spec.algorithm === 'ef-sgd' && down.spec !== 'identity') {
    throw new RangeError(`ef-sgd sends full precision down: use down "identity", not "${spec.down}"`);
  }
  const period = spec.syncPeriod ?? DEFAULT_SYNC_PERIOD;
  if (!Number.isInteger(period) || period < 0) throw new RangeError(`syncPeriod must be an integer >= 0`);
  const threshold = spec.syncDriftThreshold;
  if (threshold !== undefined && !(threshold > 0)) throw new RangeError(`syncDriftThreshold must be > 0`);
  const mode = spec.syncMode ?? 'full';
  if (mode !== 'full' && mode !== 'rolling')
    throw new RangeError(`syncMode must be "full" or "rolling", got "${mode}"`);
  // Consecutive rounds must sync different blocks: a slice is answered after the next one is cut.
  if (mode === 'rolling' && period < 2)
    throw new RangeError(`a rolling sync needs syncPeriod >= 2, got ${period}`);
  if (mode === 'rolling' && threshold !== undefined)
    throw new RangeError('a rolling sync has no drift trigger: use syncMode "full" with syncDriftThreshold');
  const optimizer = validateOptimizerOptions(spec);
  const aggregation = parseAggregation(spec.aggregation ?? 'mean');
  if (aggregation !== 'mean' && /^(topk|randk)\b/.test(up.spec)) {
    throw new RangeError(
      `robust aggregation needs dense uploads: "${up.spec}" is mostly zeros, its median is zero`,
    );
  }
  const compensation = parseCompensation(spec.compensation ?? DEFAULT_COMPENSATION);
  const local = resolveLocalSteps(spec.algorithm, spec);
  return {
    algorithm: spec.algorithm,
    up,
    down,
    ...optimizer,
    ...(spec.algorithm === 'liec' ? { compensation } : {}),
    sync: {
      ...(mode === 'rolling' ? { mode } : {}),
      period,
      codec: parseCompressor(spec.syncCodec ?? DEFAULT_SYNC_CODEC),
      ...(threshold === undefined ? {} : { driftThreshold: threshold }),
    },
    ...(aggregation === 'mean' ? {} : { aggregation }),
    ...(local === undefined ? {} : { local }),
    ...(adaptiveUp === null ? {} : { adaptiveUp }),
  };
}
export {
  rollingPeriod,
  sliceDue,
  syncBlock,
  syncDue,
  type SyncSignal,
  type SyncReason,
} from './sync-policy.ts';
