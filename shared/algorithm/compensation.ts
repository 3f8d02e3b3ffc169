/**
 * LIEC's adaptive compensation strength (Compensation 'auto' in types.ts).
 *
 * Applying its own residual r_i at once helps a worker exactly as far as r_i stands for the
 * residual of the mean gradient, the one every model would have taken with exact
 * communication. Write each worker's deviation since the last sync as D_i = S + U_i, a part S
 * all workers share and a part U_i of its own. Then mean_i ||D_i||^2 = s + u and
 * ||mean_i D_i||^2 = s + u / n, so the shared share s / (s + u) is measured from the deltas a
 * sync collects anyway:
 *
 *   shared = (n ||mean D||^2 - mean ||D_i||^2) / ((n - 1) mean ||D_i||^2)
 *
 * and alpha = shared is the least-squares estimate of the mean's residual from one's own.
 * A sync sends what each worker owes (its deviation and its error-feedback memory, worker.ts),
 * so the share is measured whatever alpha was. Measured on MNIST at top-k 1% (simulator, 8
 * workers): about 0.4 at round 20 on IID data, falling to 0 by round 200 as the gradients
 * turn to noise; 0 from the first sync on label shards and Dirichlet 0.1. The aggregator
 * puts it at the head of every sync broadcast (sync-payload.ts) and the workers adopt it.
 *
 * @example
 * const shared = sharedShare(deltas); // 0.38: alpha for the rounds up to the next sync
 */
import { mean } from './vector.ts';

/**
 * 'auto' starts at alpha = 0 (DoubleSqueeze's step, every residual sent later) until the first
 * sync has measured how much the workers share. Starting at 1 instead cost about half a point
 * on label shards (simulator, seeds 1-3): 20 rounds of own residuals on 2 classes each.
 */
export const AUTO_COMPENSATION_INITIAL = 0;

/**
 * The share of the deltas' energy that all of them have in common, in [0, 1]; null when it
 * cannot be measured (fewer than two deltas, or all of them zero).
 */
export function sharedShare(deltas: readonly Float32Array[]): number | null {
  const n = deltas.length;
  const first = deltas[0];
  if (n < 2 || first === undefined) return null;
  let own = 0;
  for (const delta of deltas) for (let i = 0; i < delta.length; i++) own += (delta[i] as number) ** 2;
  own /= n;
  if (!(own > 0 && Number.isFinite(own))) return null;
  const average = mean(deltas, first.length);
  let common = 0;
  for (let i = 0; i < average.length; i++) common += (average[i] as number) ** 2;
  const shared = (n * common - own) / ((n - 1) * own);
  // Sums of squares of values near the float32 limit overflow: then nothing was measured.
  return Number.isFinite(shared) ? Math.min(1, Math.max(0, shared)) : null;
}

/** The alpha an 'auto' worker takes from a sync's measured share (null: keeps `current`). */
export function nextCompensation(shared: number | null, current: number): number {
  return shared === null ? current : Math.min(1, Math.max(0, shared));
}
