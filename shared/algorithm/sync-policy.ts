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
import type { SyncOptions } from './types.ts';

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
