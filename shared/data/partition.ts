/**
 * Splits a labelled data set among workers: iid, Dirichlet label skew, or label shards.
 * Pure and deterministic: the same labels, worker count, spec and seed always give the same
 * split, on any machine.
 *
 * Guarantees, for every spec:
 * - every index 0..n-1 is assigned to exactly one worker; each worker's list is ascending;
 * - no worker is empty: iid and shards give every worker at least floor(n / workers)
 *   (iid) or shardsPerWorker (shards) examples by construction; Dirichlet can leave a worker
 *   with nothing, so afterwards any worker under `minPerWorker` receives single examples
 *   taken from the currently largest worker (lowest worker id on ties) until it has enough.
 *   This always terminates because workers * minPerWorker <= n is checked up front.
 *
 * Shards: label-pure when workers * shardsPerWorker >= number of labels present. Each label
 * gets a share of the shards proportional to its size (at least one), each label's examples
 * are shuffled and cut into that many near-equal shards, and the shuffled shards are dealt
 * shardsPerWorker to a worker, so each worker holds AT MOST shardsPerWorker labels (two of its
 * shards may share a label). With fewer shards than labels (e.g. 2 workers, shards:2 over 10
 * digits) shards are cut from the label-sorted order instead and each spans several labels.
 *
 * @example
 * const parts = partitionIndices(trainLabels, 10, parsePartitionSpec('dirichlet:0.1'), 42);
 * parts[3]; // ascending example indices of worker 3
 */
import { createRng, mixSeed } from '../random.ts';
import type { Rng } from '../random.ts';
import { sampleDirichlet } from './dirichlet.ts';
import { PartitionError } from './errors.ts';
import { PartitionSpecSchema } from './spec.ts';
import type { PartitionSpec } from './spec.ts';

export interface PartitionOptions {
  /**
   * Fewest examples any worker may end up with (see the module doc for how it is enforced).
   * With shards, raising it above shardsPerWorker may move examples and break the label bound.
   * @default 1
   */
  minPerWorker?: number;
}

/** Returns, for each of `workers` workers, the ascending indices into `labels` it owns. */
export function partitionIndices(
  labels: Uint8Array,
  workers: number,
  spec: PartitionSpec,
  seed: number,
  options: PartitionOptions = {},
): number[][] {
  const n = labels.length;
  const minPerWorker = options.minPerWorker ?? 1;
  if (n === 0) throw new PartitionError('BAD_ARGUMENT', 'no examples to partition');
  if (!Number.isSafeInteger(workers) || workers < 1) {
    throw new PartitionError('BAD_ARGUMENT', `workers must be a positive integer, got ${workers}`);
  }
  if (!Number.isSafeInteger(minPerWorker) || minPerWorker < 1) {
    throw new PartitionError('BAD_ARGUMENT', `minPerWorker must be a positive integer, got ${minPerWorker}`);
  }
  if (workers * minPerWorker > n) {
    throw new PartitionError(
      'TOO_MANY_WORKERS',
      `${workers} workers x ${minPerWorker} exceeds ${n} examples`,
    );
  }
  const parsed = PartitionSpecSchema.safeParse(spec);
  if (!parsed.success)
    throw new PartitionError('BAD_SPEC', `invalid partition spec: ${parsed.error.message}`);
  const valid = parsed.data;

  let parts: number[][];
  switch (valid.kind) {
    case 'iid':
      parts = splitEvenly(shuffled(range(n), createRng(mixSeed(seed, 1))), workers);
      break;
    case 'dirichlet':
      parts = dirichletSplit(labels, workers, valid.alpha, createRng(mixSeed(seed, 2)));
      break;
    case 'shards':
      parts = shardSplit(labels, workers, valid.shardsPerWorker, createRng(mixSeed(seed, 3)));
      break;
    default: {
      const unreachable: never = valid;
      throw new PartitionError('BAD_SPEC', `unknown kind ${JSON.stringify(unreachable)}`);
    }
  }
  topUpSmallWorkers(parts, minPerWorker);
  for (const part of parts) part.sort((a, b) => a - b);
  return parts;
}

/** How many of `indices` carry each label 0..numClasses-1. */
export function labelCounts(labels: Uint8Array, indices: readonly number[], numClasses = 10): number[] {
  const counts = new Array<number>(numClasses).fill(0);
  for (const i of indices) {
    const label = labels[i];
    if (label !== undefined && label < numClasses) counts[label] = (counts[label] ?? 0) + 1;
  }
  return counts;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

/** Fisher-Yates, in place; returns its argument. */
function shuffled<T>(items: T[], rng: Rng): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const a = items[i];
    const b = items[j];
    if (a === undefined || b === undefined) continue;
    items[i] = b;
    items[j] = a;
  }
  return items;
}

/** Cuts `items` into `k` contiguous pieces whose sizes differ by at most one. */
function splitEvenly<T>(items: readonly T[], k: number): T[][] {
  const pieces: T[][] = [];
  for (let p = 0; p < k; p++) {
    pieces.push(items.slice(Math.floor((p * items.length) / k), Math.floor(((p + 1) * items.length) / k)));
  }
  return pieces;
}

/** Example indices grouped by label, for the labels that occur, in ascending label order. */
function byLabel(labels: Uint8Array): number[][] {
  const groups = new Map<number, number[]>();
  labels.forEach((label, i) => {
    const group = groups.get(label);
    if (group) group.push(i);
    else groups.set(label, [i]);
  });
  return [...groups.entries()].sort((a, b) => a[0] - b[0]).map((entry) => entry[1]);
}

function dirichletSplit(labels: Uint8Array, workers: number, alpha: number, rng: Rng): number[][] {
  const parts: number[][] = Array.from({ length: workers }, () => []);
  for (const group of byLabel(labels)) {
    const indices = shuffled(group, rng);
    const shares = sampleDirichlet(rng, alpha, workers);
    let cumulative = 0;
    let start = 0;
    for (let w = 0; w < workers; w++) {
      cumulative += shares[w] ?? 0;
      const end =
        w === workers - 1
          ? indices.length
          : Math.min(indices.length, Math.round(cumulative * indices.length));
      for (let i = start; i < end; i++) parts[w]?.push(indices[i] ?? 0);
      start = Math.max(start, end);
    }
  }
  return parts;
}

function shardSplit(labels: Uint8Array, workers: number, perWorker: number, rng: Rng): number[][] {
  const totalShards = workers * perWorker;
  if (totalShards > labels.length) {
    throw new PartitionError('TOO_MANY_WORKERS', `${totalShards} shards exceed ${labels.length} examples`);
  }
  const groups = byLabel(labels).map((group) => shuffled(group, rng));
  let shards: number[][];
  if (totalShards >= groups.length) {
    const counts = shardsPerLabel(
      groups.map((g) => g.length),
      totalShards,
    );
    shards = groups.flatMap((group, k) => splitEvenly(group, counts[k] ?? 1));
  } else {
    shards = splitEvenly(groups.flat(), totalShards);
  }
  shuffled(shards, rng);
  return Array.from({ length: workers }, (_, w) => shards.slice(w * perWorker, (w + 1) * perWorker).flat());
}

/**
 * Shares `total` shards among labels proportionally to their sizes (largest remainder),
 * at least one and at most `sizes[k]` each. Requires labels <= total <= sum(sizes).
 */
function shardsPerLabel(sizes: readonly number[], total: number): number[] {
  const n = sizes.reduce((a, b) => a + b, 0);
  const quotas = sizes.map((size) => (total * size) / n);
  const counts = quotas.map((q) => Math.max(1, Math.floor(q)));
  let assigned = counts.reduce((a, b) => a + b, 0);
  const pick = (score: (k: number) => number, allowed: (k: number) => boolean): number => {
    let best = -1;
    for (let k = 0; k < counts.length; k++) {
      if (allowed(k) && (best < 0 || score(k) > score(best))) best = k;
    }
    return best;
  };
  const count = (k: number): number => counts[k] ?? 0;
  const quota = (k: number): number => quotas[k] ?? 0;
  while (assigned > total) {
    const k = pick(
      (j) => count(j) - quota(j),
      (j) => count(j) > 1,
    );
    counts[k] = count(k) - 1;
    assigned--;
  }
  while (assigned < total) {
    const k = pick(
      (j) => quota(j) - count(j),
      (j) => count(j) < (sizes[j] ?? 0),
    );
    counts[k] = count(k) + 1;
    assigned++;
  }
  return counts;
}

/** Moves single examples from the largest worker to any worker below `min` (see module doc). */
function topUpSmallWorkers(parts: number[][], min: number): void {
  for (const part of parts) {
    while (part.length < min) {
      let donor = parts[0] ?? part;
      for (const candidate of parts) if (candidate.length > donor.length) donor = candidate;
      const moved = donor.pop();
      if (moved === undefined) throw new PartitionError('TOO_MANY_WORKERS', 'not enough examples to top up');
      part.push(moved);
    }
  }
}
