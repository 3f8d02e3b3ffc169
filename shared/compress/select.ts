/**
 * Top-k selection by magnitude in linear time, no sort. The float32 bits of |x| order like
 * the magnitudes, so all work is on integers. A random sample of the vector gives a lower
 * bound L that, with overwhelming probability, a little more than k entries reach; one
 * pass (kernels.ts's SIMD scan where WebAssembly SIMD runs) collects the positions with
 * |x| >= L, ascending, with their raw bits, so later steps never go back to the vector; a
 * histogram (radix) select among those finds the exact threshold. If the bound misses (too
 * few or far too many candidates: heavy ties, zeros, adversarial data) two histogram
 * passes over the whole vector give the exact threshold and a third takes the entries:
 * still linear. Ties at the threshold keep the lowest indices, so the result is
 * deterministic. NaN/Inf always land among candidates (or in the histogram's top).
 *
 * @example
 * const { indices, bits, maxAbsBits } = selectTopK(x, 100); // indices ascending, length 100
 */
import { bitsOf } from './bytes.ts';
import { throwNonFinite } from './finite.ts';
import { simdKernels } from './kernels.ts';
import { Slot, scratch } from './scratch.ts';

/**
 * Sample size for the threshold estimate: 1/24 of the vector, within these bounds (on a 100k
 * model a larger sample and its selection cost more than the scan they save); vectors up to
 * 4x the smallest skip sampling.
 */
const MIN_SAMPLE_SIZE = 4096;
const MAX_SAMPLE_SIZE = 16384;
const NON_FINITE_BITS = 0x7f800000;
const MAGNITUDE = 0x7fffffff;
/** Buckets per histogram round of the candidates' radix select (2^11). */
const RADIX_BUCKETS = 2048;

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
  /** The float32 bits of x at those positions (x[indices[j]] as bits), same order. */
  bits: Uint32Array;
  /** float32 bits (sign cleared) of the largest selected |x|: max |x| whenever k >= 1. */
  maxAbsBits: number;
}

/** Positions (ascending) with their raw float32 bits; only the first `count` are used. */
interface Candidates {
  index: Uint32Array;
  bits: Uint32Array;
  count: number;
}

/** Selects the k (clamped to [0, x.length]) entries of largest |x|. Throws NON_FINITE_INPUT. */
export function selectTopK(x: Float32Array, k: number): TopK {
  const { indices, bits, maxAbsBits } = selectTopKTransient(x, k);
  return { indices: indices.slice(), bits: bits.slice(), maxAbsBits };
}

/**
 * selectTopK with its arrays in scratch.ts buffers: valid until the next top-k selection,
 * for encoders that turn them into a payload at once.
 */
export function selectTopKTransient(x: Float32Array, k: number): TopK {
  const d = x.length;
  const u = bitsOf(x);
  k = Math.max(0, Math.min(k, d));
  if (k === d || k === 0) {
    let max = 0;
    for (let i = 0; i < d; i++) {
      const a = u[i]! & MAGNITUDE;
      if (a > max) max = a;
    }
    if (max >= NON_FINITE_BITS) throwNonFinite(x);
    const all = new Uint32Array(k);
    for (let i = 0; i < k; i++) all[i] = i;
    return { indices: all, bits: u.slice(0, k), maxAbsBits: k === 0 ? 0 : max };
  }
  let candidates: Candidates | undefined;
  if (d <= 4 * MIN_SAMPLE_SIZE) {
    candidates = everything(u);
  } else {
    const estimate = sampledLowerBound(u, k);
    if (estimate !== undefined) candidates = collectAtLeast(x, estimate.bound, estimate.capacity);
    if (candidates === undefined || candidates.count < k) return histogramSelect(x, k);
  }

  const { index, bits, count: c } = candidates;
  const magnitudes = scratch(Slot.magnitudes, c);
  let max = 0;
  let min = MAGNITUDE;
  for (let j = 0; j < c; j++) {
    const a = bits[j]! & MAGNITUDE;
    magnitudes[j] = a;
    if (a > max) max = a;
    if (a < min) min = a;
  }
  if (max >= NON_FINITE_BITS) throwNonFinite(x);

  const threshold = rankedValue(magnitudes, c, k - 1, min, max); // reorders magnitudes
  let above = 0;
  for (let j = 0; j < c; j++) above += (threshold - (bits[j]! & MAGNITUDE)) >>> 31;
  let ties = k - above;
  const indices = scratch(Slot.selectedIndex, k);
  const kept = scratch(Slot.selectedBits, k);
  let m = 0;
  for (let j = 0; j < c; j++) {
    const v = bits[j]!;
    const a = v & MAGNITUDE;
    if (a > threshold || (a === threshold && ties-- > 0)) {
      indices[m] = index[j]!;
      kept[m++] = v;
    }
  }
  return { indices, bits: kept, maxAbsBits: max };
}

/** Every position is a candidate (small vectors, or a bound of 0). */
function everything(u: Uint32Array): Candidates {
  const d = u.length;
  const index = scratch(Slot.candidateIndex, d);
  for (let i = 0; i < d; i++) index[i] = i;
  return { index, bits: u, count: d };
}

/**
 * A magnitude (as bits) that about k (1 + 4 / sqrt(expected sample rank)) entries reach,
 * from a fixed pseudo-random stratified sample, with room for twice that many candidates.
 */
function sampledLowerBound(u: Uint32Array, k: number): { bound: number; capacity: number } | undefined {
  const d = u.length;
  const size = Math.min(MAX_SAMPLE_SIZE, Math.max(MIN_SAMPLE_SIZE, Math.floor(d / 24)));
  const rank = (k / d) * size;
  const safeRank = Math.ceil(rank + 4 * Math.sqrt(rank) + 4);
  if (safeRank >= size / 2) return undefined; // k is a large share of d: no saving
  const sample = scratch(Slot.sample, size);
  // One position drawn in each of `size` equal strata, in ascending order: the reads go
  // forward through memory (a uniform draw over the whole vector was a cache miss per read,
  // most of the selection's time on a 100k model) and no stratum is over- or under-sampled.
  const stratum = d / size;
  const jitter = stratum / 4294967296;
  let state = 0x9e3779b9;
  for (let j = 0; j < size; j++) {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    sample[j] = u[Math.floor(j * stratum + (state >>> 0) * jitter)]! & MAGNITUDE;
  }
  const bound = kthLargest(sample, safeRank);
  return { bound, capacity: Math.ceil((2 * safeRank * d) / size) + 1024 };
}

/**
 * Exact fallback, without candidates (heavy ties, sparse or adversarial vectors): a
 * histogram of the top 16 magnitude bits finds the bucket of the k-th largest, one of the
 * low 16 bits within that bucket the exact threshold, and a last pass takes everything
 * above it and the first ties at it, in index order. Three linear passes.
 */
function histogramSelect(x: Float32Array, k: number): TopK {
  const u = bitsOf(x);
  const d = u.length;
  const high = new Uint32Array(32768);
  for (let i = 0; i < d; i++) high[(u[i]! >>> 16) & 0x7fff]!++;
  for (let bucket = NON_FINITE_BITS >>> 16; bucket < 32768; bucket++) {
    if (high[bucket] !== 0) throwNonFinite(x);
  }
  let above = 0;
  let bucket = 32767;
  while (above + high[bucket]! < k) above += high[bucket--]!;
  const low = new Uint32Array(65536);
  for (let i = 0; i < d; i++) {
    const a = u[i]! & MAGNITUDE;
    if (a >>> 16 === bucket) low[a & 0xffff]!++;
  }
  let rest = 65535;
  while (above + low[rest]! < k) above += low[rest--]!;
  const threshold = bucket * 65536 + rest;
  let ties = k - above;
  const indices = scratch(Slot.selectedIndex, k);
  const kept = scratch(Slot.selectedBits, k);
  let m = 0;
  let max = 0;
  for (let i = 0; i < d && m < k; i++) {
    const v = u[i]!;
    const a = v & MAGNITUDE;
    if (a > threshold || (a === threshold && ties-- > 0)) {
      indices[m] = i;
      kept[m++] = v;
      if (a > max) max = a;
    }
  }
  return { indices, bits: kept, maxAbsBits: max };
}

/**
 * Positions (ascending) with |x| bits >= bound and their raw bits, or undefined once more
 * than capacity match: kernels.ts's SIMD scan, or in JS eight values at a time (one branch
 * per eight unless one of them qualifies).
 */
function collectAtLeast(x: Float32Array, bound: number, capacity: number): Candidates | undefined {
  const u = bitsOf(x);
  const d = u.length;
  if (bound <= 0) return capacity >= d ? everything(u) : undefined;
  const limit = Math.min(capacity, d);
  const index = scratch(Slot.candidateIndex, limit + 8); // the JS scan appends up to 8 past a full check
  const bits = scratch(Slot.candidateBits, limit + 8);
  const kernels = simdKernels();
  let c = 0;
  let done = 0;
  if (kernels !== undefined) {
    c = kernels.collect(x, bound, index, bits);
    done = d - (d % 16);
  } else {
    const below = bound - 1; // below - a < 0 exactly when a >= bound; both in [0, 2^31)
    done = d - (d % 8);
    for (let i = 0; i < done && c <= limit; i += 8) {
      const any =
        (below - (u[i]! & 0x7fffffff)) |
        (below - (u[i + 1]! & 0x7fffffff)) |
        (below - (u[i + 2]! & 0x7fffffff)) |
        (below - (u[i + 3]! & 0x7fffffff)) |
        (below - (u[i + 4]! & 0x7fffffff)) |
        (below - (u[i + 5]! & 0x7fffffff)) |
        (below - (u[i + 6]! & 0x7fffffff)) |
        (below - (u[i + 7]! & 0x7fffffff));
      if (any < 0) {
        for (let j = i; j < i + 8; j++) {
          const v = u[j]!;
          if ((v & 0x7fffffff) >= bound) {
            index[c] = j;
            bits[c++] = v;
          }
        }
      }
    }
  }
  for (let i = done; i < d && c >= 0 && c <= limit; i++) {
    const v = u[i]!;
    if ((v & 0x7fffffff) >= bound) {
      index[c] = i;
      bits[c++] = v;
    }
  }
  if (c < 0 || c > limit) return undefined;
  return { index, bits, count: c };
}

/**
 * The value of rank r (0 = largest) among a[0..n), all in [lo, hi]: rounds of a 2^11-bucket
 * histogram narrow the range (keeping only the values in the bucket of rank r), then a
 * quickselect finishes once few are left. Reorders a.
 */
function rankedValue(a: Uint32Array, n: number, r: number, lo: number, hi: number): number {
  const counts = new Uint32Array(RADIX_BUCKETS);
  for (;;) {
    if (lo === hi) return lo;
    if (n <= RADIX_BUCKETS) return kthLargest(a.subarray(0, n), r);
    const span = hi - lo;
    const shift = Math.max(0, 32 - Math.clz32(span) - 11);
    counts.fill(0);
    for (let j = 0; j < n; j++) counts[(a[j]! - lo) >>> shift]!++;
    let bucket = (span >>> shift) + 1;
    let higher = 0;
    while (higher + counts[--bucket]! <= r) higher += counts[bucket]!;
    r -= higher;
    const low = lo + bucket * 2 ** shift;
    if (shift === 0) return low;
    let m = 0;
    for (let j = 0; j < n; j++) {
      const v = a[j]!;
      if ((v - lo) >>> shift === bucket) a[m++] = v;
    }
    n = m;
    lo = low;
    hi = Math.min(hi, low + 2 ** shift - 1);
  }
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
