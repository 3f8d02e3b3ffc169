/**
 * Gamma and Dirichlet sampling from a seeded Rng (Marsaglia and Tsang, 2000).
 *
 * Dirichlet(alpha) proportions are normalised Gamma(alpha, 1) draws. For alpha < 1 the
 * Gamma draw uses the boost Gamma(a) = Gamma(a + 1) * U^(1/a); with a = 0.01, U^(1/a)
 * underflows to 0 in float64, so the draws are kept as logarithms and normalised with
 * log-sum-exp, which stays exact for any alpha > 0.
 *
 * @example
 * const p = sampleDirichlet(createRng(1), 0.1, 10); // 10 proportions summing to 1
 */
import type { Rng } from '../random.ts';

/** log of a Gamma(shape, 1) sample, shape >= 1 (Marsaglia-Tsang squeeze and rejection). */
function logGammaAtLeastOne(rng: Rng, shape: number): number {
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = rng.normal();
    const t = 1 + c * x;
    if (t <= 0) continue;
    const v = t * t * t;
    const u = 1 - rng.next(); // (0, 1], so log(u) is finite
    if (u < 1 - 0.0331 * x * x * x * x) return Math.log(d * v);
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return Math.log(d * v);
  }
}

/** log of a Gamma(shape, 1) sample for any shape > 0. */
export function sampleLogGamma(rng: Rng, shape: number): number {
  if (!(shape > 0) || !Number.isFinite(shape)) throw new RangeError(`gamma shape must be > 0, got ${shape}`);
  if (shape >= 1) return logGammaAtLeastOne(rng, shape);
  const boosted = logGammaAtLeastOne(rng, shape + 1);
  const u = 1 - rng.next();
  return boosted + Math.log(u) / shape;
}

/** A Gamma(shape, 1) sample (may underflow to 0 for tiny shapes; use sampleLogGamma then). */
export function sampleGamma(rng: Rng, shape: number): number {
  return Math.exp(sampleLogGamma(rng, shape));
}

/** k proportions from a symmetric Dirichlet(alpha); they are >= 0 and sum to 1. */
export function sampleDirichlet(rng: Rng, alpha: number, k: number): Float64Array {
  const logs = new Float64Array(k);
  let max = -Infinity;
  for (let i = 0; i < k; i++) {
    const l = sampleLogGamma(rng, alpha);
    logs[i] = l;
    if (l > max) max = l;
  }
  let sum = 0;
  for (let i = 0; i < k; i++) {
    const p = Math.exp((logs[i] ?? 0) - max);
    logs[i] = p;
    sum += p;
  }
  for (let i = 0; i < k; i++) logs[i] = (logs[i] ?? 0) / sum;
  return logs;
}
