/**
 * When LIEC runs a model sync. Two triggers, both named options (SyncOptions):
 * the clock (at least every `period` rounds) and measured drift (the workers' reported
 * mean ||x_i - x_common||^2 relative to ||x_common||^2 above `driftThreshold`).
 * Drift-triggered syncs spend sync traffic only when the models actually pull apart:
 * rare on IID data, frequent on skewed data.
 *
 * Caveat, measured (bench/results/convergence-sync-sweep.json): ||x_i - x_common||^2 also
 * counts the residuals every worker applied alike (not only their disagreement), and a lossy
 * sync codec leaves its compensated error in it, so after the first drift sync it stays near
 * the threshold: with sign:256 and 0.02, IID MNIST at lr 0.8 synced 8 times in 120 rounds,
 * more than the clock's 3. Hence no drift trigger by default.
 */
import type { AlgorithmOptions, SyncBlock, SyncOptions } from './types.ts';

export interface SyncSignal {
  /** Rounds completed since the last sync (or since the start). */
  roundsSinceSync: number;
  /** Mean over reporting workers of ||x_i - x_common||^2. */
  meanDeviationSq: number;
  /** ||x_common||^2, the scale the drift is compared against. */
  commonNormSq: number;
}

export type SyncReason = 'period' | 'drift';

/** Returns why a sync is due now, or null when it is not. */
export function syncDue(options: SyncOptions, signal: SyncSignal): SyncReason | null {
  if (options.period > 0 && signal.roundsSinceSync >= options.period) return 'period';
  const threshold = options.driftThreshold;
  if (threshold !== undefined && signal.roundsSinceSync > 0 && signal.commonNormSq > 0) {
    if (signal.meanDeviationSq / signal.commonNormSq > threshold) return 'drift';
  }
  return null;
}

/**
 * Rolling sync (SyncOptions.mode 'rolling'): the coordinates round `round` syncs. The model
 * is cut into `period` contiguous blocks and round t syncs block t mod period, so every
 * coordinate is synced once every `period` rounds, as with full syncs, but each round moves
 * only 1/period of a sync's bytes (small enough to cross a link while it would be idle).
 *
 * @example
 * syncBlock(7, 20, 101_770); // { start: 35_619, end: 40_708 }
 */
export function syncBlock(round: number, period: number, length: number): SyncBlock {
  if (!(period >= 1)) throw new RangeError(`a rolling sync needs period >= 1, got ${period}`);
  const index = round % period;
  return {
    start: Math.floor((length * index) / period),
    end: Math.floor((length * (index + 1)) / period),
  };
}

/** `block`, checked to lie inside a model of `length` values; the whole model when undefined. */
export function checkSyncBlock(block: SyncBlock | undefined, length: number): SyncBlock {
  if (block === undefined) return { start: 0, end: length };
  const { start, end } = block;
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > length || start > end)
    throw new RangeError(`sync block [${start}, ${end}) is not inside a model of ${length} values`);
  return block;
}

/** H of the session's rolling sync, or null when it runs full syncs (or is not LIEC). */
export function rollingPeriod(options: AlgorithmOptions): number | null {
  const { algorithm, sync } = options;
  return algorithm === 'liec' && sync?.mode === 'rolling' ? sync.period : null;
}

/**
 * Whether round `round` syncs a slice: not round 0 (nothing drifted yet), and not the last
 * round, which ends on a full sync (one shared model) that a pending slice would overlap.
 */
export function sliceDue(round: number, rounds: number): boolean {
  return round >= 1 && round + 1 < rounds;
}
