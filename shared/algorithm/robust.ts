/**
 * How the aggregator combines the decoded uploads of a round: the plain mean (the method
 * as published), or a coordinate-wise robust statistic that a few poisoned workers cannot
 * drag far: the median, or the trimmed mean that drops the `trimmed` fraction of the
 * lowest and of the highest values of every coordinate before averaging the rest.
 *
 * Robust statistics assume dense uploads (identity, fp16, q8, q4, sign, qsgd): over top-k
 * or random-k uploads most coordinates are zero in most uploads, so their median is zero
 * almost everywhere. resolveAlgorithmOptions refuses that combination.
 *
 * @example
 * const aggregation = parseAggregation('trimmed:0.2'); // { trimmed: 0.2 }
 * combine([a, b, c], a.length, 'median'); // coordinate-wise median of a, b and c
 */
import { mean } from './vector.ts';

export type Aggregation = 'mean' | 'median' | { trimmed: number };

/** Largest trimmed fraction: below one half, so something is always left to average. */
export const MAX_TRIMMED_FRACTION = 0.5;

/** Parses "mean", "median" or "trimmed:F" with F in [0, 0.5); throws RangeError. */
export function parseAggregation(text: string): Aggregation {
  if (text === 'mean' || text === 'median') return text;
  const match = /^trimmed:(0(\.\d+)?|\.\d+)$/.exec(text);
  const fraction = match === null ? NaN : Number(match[1]);
  if (!(fraction >= 0 && fraction < MAX_TRIMMED_FRACTION)) {
    throw new RangeError(`aggregation "${text}": expected mean, median or trimmed:F with F in [0, 0.5)`);
  }
  return { trimmed: fraction };
}

/** The canonical text of an aggregation, as parseAggregation reads it. */
export function formatAggregation(aggregation: Aggregation): string {
  return typeof aggregation === 'string' ? aggregation : `trimmed:${aggregation.trimmed}`;
}

/** Combines equally long vectors coordinate by coordinate; an empty list gives zeros. */
export function combine(
  vectors: readonly Float32Array[],
  length: number,
  aggregation: Aggregation = 'mean',
): Float32Array {
  if (aggregation === 'mean') return mean(vectors, length);
  const n = vectors.length;
  // Values dropped from each end: the median keeps the middle one or two.
  const drop = aggregation === 'median' ? Math.floor((n - 1) / 2) : trimCount(n, aggregation.trimmed);
  return trimmedAverage(vectors, length, drop);
}

/** How many values a trimmed mean drops at each end: floor(fraction n), leaving at least one. */
export function trimCount(n: number, fraction: number): number {
  return Math.max(0, Math.min(Math.floor(fraction * n), Math.floor((n - 1) / 2)));
}

/** Coordinate-wise median (the mean of the two middle values for an even count). */
export function coordinateMedian(vectors: readonly Float32Array[], length: number): Float32Array {
  return combine(vectors, length, 'median');
}

/** Coordinate-wise trimmed mean: drops trimCount(n, fraction) values at each end. */
export function trimmedMean(
  vectors: readonly Float32Array[],
  length: number,
  fraction: number,
): Float32Array {
  return combine(vectors, length, { trimmed: fraction });
}

/** Up to this many uploads a round, an insertion sort per coordinate beats a library sort. */
const INSERTION_SORT_MAX = 32;

/** Inserts value into the sorted column[0..count). */
function insert(column: Float64Array, count: number, value: number): void {
  let k = count;
  while (k > 0 && (column[k - 1] as number) > value) {
    column[k] = column[k - 1] as number;
    k--;
  }
  column[k] = value;
}

function trimmedAverage(vectors: readonly Float32Array[], length: number, drop: number): Float32Array {
  for (const v of vectors) {
    if (v.length !== length) throw new RangeError(`combine: length ${v.length} != ${length}`);
  }
  const n = vectors.length;
  const out = new Float32Array(length);
  if (n === 0) return out;
  const column = new Float64Array(n);
  const kept = n - 2 * drop;
  const small = n <= INSERTION_SORT_MAX;
  for (let i = 0; i < length; i++) {
    if (small) {
      for (let j = 0; j < n; j++) insert(column, j, (vectors[j] as Float32Array)[i] as number);
    } else {
      for (let j = 0; j < n; j++) column[j] = (vectors[j] as Float32Array)[i] as number;
      column.sort();
    }
    let sum = 0;
    for (let j = drop; j < n - drop; j++) sum += column[j] as number;
    out[i] = sum / kept;
  }
  return out;
}
