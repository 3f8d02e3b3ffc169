/**
 * Top-k selection by magnitude in expected linear time, no sort. The float32 bits of |x|
 * order like the magnitudes, so all work is on integers. A random sample of the vector
 * gives a lower bound L that, with overwhelming probability, a little more than k
 * entries reach; one pass collects the indices with |x| >= L (ascending, for free); a
 * quickselect among those finds the exact threshold. If the bound misses (too few or far
 * too many candidates: heavy ties, adversarial data) the pass is redone with L = 0,
 * i.e. a quickselect over everything: still linear. Ties at the threshold keep the
 * lowest indices, so the result is deterministic. NaN/Inf always land among candidates.
 *
 * @example
 * const { indices, maxAbsBits } = selectTopK(x, 100); // indices ascending, length 100
 */
import { bitsOf } from './bytes.ts';
import { throwNonFinite } from './finite.ts';

/** Sample size for the threshold estimate; vectors up to 4x this skip sampling. */
const SAMPLE_SIZE = 16384;
const NON_FINITE_BITS = 0x7f800000;

/**
 * Entries kept by a sparsifier of ratio r on a d-vector: max(1, ceil(r * d)), at most d;
 * 0 for d = 0. The relative 1e-12 slack keeps float noise (0.07 * 100 =
 * 7.000000000000001) from adding one entry.
 */
export function sparseCount(ratio: number, d: number): number {
  if (d === 0) return 0;
  return Math.min(d, Math.max(1, Math.ceil(ratio * d * (1 - 1e-12))));
}

export interface TopK {
  /** The k selected positions, ascending. */
  indices: Uint32Array;
  /** float32 bits (sign cleared) of the largest selected |x|: max |x| whenever k >= 1. */
  maxAbsBits: number;
}

/** Selects the k (clamped to [0, x.length]) entries of largest |x|. Throws NON_FINITE_INPUT. */
export function selectTopK(x: Float32Array, k: number): TopK {
  const d = x.length;
  const u = bitsOf(x);
  k = Math.max(0, Math.min(k, d));
  if (k === d || k === 0) {
    for (let i = 0; i < d; i++) if ((u[i]! & 0x7fffffff) >= NON_FINITE_BITS) throwNonFinite(x);
    const all = new Uint32Array(k);
    for (let i = 0; i < k; i++) all[i] = i;
    return { indices: all, maxAbsBits: maxAbsBitsAt(u, all) };
  }
  const estimate = d > 4 * SAMPLE_SIZE ? sampledLowerBound(u, k) : undefined;
  let candidates = estimate === undefined ? undefined : collectAtLeast(u, estimate.bound, estimate.capacity);
  if (candidates === undefined || candidates.length < k) candidates = collectAtLeast(u, 0, d)!;

  const c = candidates.length;
  const magnitudes = new Uint32Array(c);
  for (let j = 0; j < c; j++) magnitudes[j] = u[candidates[j]!]! & 0x7fffffff;
  let max = 0;
  for (let j = 0; j < c; j++) if (magnitudes[j]! > max) max = magnitudes[j]!;
  if (max >= NON_FINITE_BITS) throwNonFinite(x);

  const threshold = kthLargest(magnitudes, k - 1); // reorders magnitudes
  let ties = k;
  for (let j = 0; j < c; j++) if (magnitudes[j]! > threshold) ties--;
  const indices = new Uint32Array(k);
  let m = 0;
  for (let j = 0; j < c; j++) {
    const i = candidates[j]!;
    const a = u[i]! & 0x7fffffff;
    if (a > threshold || (a === threshold && ties-- > 0)) indices[m++] = i;
  }
  return { indices, maxAbsBits: max };
}

/**
 * A magnitude (as bits) that about k (1 + 4 / sqrt(expected sample rank)) entries reach,
 * from a fixed pseudo-random sample, with room for twice that many candidates.
 */
function sampledLowerBound(u: Uint32Array, k: number): { bound: number; capacity: number } | undefined {
  const d = u.length;
  const rank = (k / d) * SAMPLE_SIZE;
  const safeRank = Math.ceil(rank + 4 * Math.sqrt(rank) + 4);
  if (safeRank >= SAMPLE_SIZE / 2) return undefined; // k is a large share of d: no saving
  const sample = new Uint32Array(SAMPLE_SIZE);
  let state = 0x9e3779b9;
  for (let j = 0; j < SAMPLE_SIZE; j++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    sample[j] = u[(state >>> 0) % d]! & 0x7fffffff;
  }
  const bound = kthLargest(sample, safeRank);
  return { bound, capacity: Math.ceil((2 * safeRank * d) / SAMPLE_SIZE) + 1024 };
}

/** Ascending indices with |x| bits >= bound, or undefined once more than capacity match. */
function collectAtLeast(u: Uint32Array, bound: number, capacity: number): Uint32Array | undefined {
  const d = u.length;
  const out = new Uint32Array(Math.min(capacity, d));
  let c = 0;
  for (let i = 0; i < d; i++) {
    if ((u[i]! & 0x7fffffff) >= bound) {
      if (c === out.length) return undefined;
      out[c++] = i;
    }
  }
  return out.subarray(0, c);
}

/** Largest |x| bits among the given positions (the top-k always holds the global max). */
function maxAbsBitsAt(u: Uint32Array, indices: Uint32Array): number {
  let max = 0;
  for (let j = 0; j < indices.length; j++) {
    const a = u[indices[j]!]! & 0x7fffffff;
    if (a > max) max = a;
  }
  return max;
}

/**
 * The element of rank r (0 = largest) of a, by quickselect with pseudo-random pivots and
 * a three-way partition (so runs of equal values cost one pass). Reorders a.
 */
export function kthLargest(a: Uint32Array, r: number): number {
  let lo = 0;
  let hi = a.length - 1;
  let seed = 0x2545f491; // fixed xorshift state: deterministic, yet no adversarial input
  for (;;) {
    if (lo === hi) return a[lo]!;
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    const pivot = a[lo + ((seed >>> 0) % (hi - lo + 1))]!;
    // Partition descending: [lo, gt) > pivot, [gt, lt] == pivot, (lt, hi] < pivot.
    let gt = lo;
    let i = lo;
    let lt = hi;
    while (i <= lt) {
      const v = a[i]!;
      if (v > pivot) {
        a[i] = a[gt]!;
        a[gt++] = v;
        i++;
      } else if (v < pivot) {
        a[i] = a[lt]!;
        a[lt--] = v;
      } else {
        i++;
      }
    }
    if (r < gt) hi = gt - 1;
    else if (r <= lt) return pivot;
    else lo = lt + 1;
  }
}
