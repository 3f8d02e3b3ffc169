/**
 * How a peer's own examples are split, pure and seeded: an optional held-back test part
 * (the demo and simulator, where one file stands for every peer's data), an optional share
 * of the rest under the session's partition (the demo's peer k of n), then a validation
 * part of what the peer keeps, on which it reports its local validation accuracy.
 *
 * Every split is per class (stratified): each class's examples in a seeded order, the
 * first round(fraction * count) of them go to the held-back part, so a rare class is in
 * every part when it has enough examples. The same file, seed and options give the same
 * split on every peer, which is what lets the demo's peers share one file.
 *
 * @example
 * const split = splitLocalData(data.labels, { seed: 1, validationFraction: 0.2, heldOutFraction: 0.2, share: { index: 0, count: 4, partition: { kind: 'iid' } } });
 * split.train.length + split.validation.length + split.test.length; // 1/4 of 80% + 20% of the file
 */
import { createRng, mixSeed } from '../random.ts';
import { DataError } from './data-errors.ts';
import { partitionIndices } from './partition.ts';
import type { PartitionSpec } from './spec.ts';

export interface LocalSplitOptions {
  /** The session's seed. */
  seed: number;
  /** Share of the peer's examples for validation, in [0, 1). */
  validationFraction: number;
  /** Share of the file held back as a test set first. @default 0 */
  heldOutFraction?: number;
  /** Keep only part `index` of `count` of the rest, split by `partition`. @default all of it */
  share?: { index: number; count: number; partition: PartitionSpec };
  /** For messages. */
  source?: string;
}

export interface LocalSplit {
  train: number[];
  validation: number[];
  test: number[];
}

export function splitLocalData(labels: Uint8Array, options: LocalSplitOptions): LocalSplit {
  const source = options.source ?? 'data';
  const all = Array.from(labels, (_, i) => i);
  const [test, rest] = stratified(labels, all, options.heldOutFraction ?? 0, mixSeed(options.seed, 0x7e57));
  let own = rest;
  const { share } = options;
  if (share !== undefined) {
    const restLabels = Uint8Array.from(rest, (i) => labels[i] ?? 0);
    const parts = partitionIndices(restLabels, share.count, share.partition, options.seed);
    own = (parts[share.index] ?? []).map((k) => rest[k] ?? 0);
  }
  const [validation, train] = stratified(
    labels,
    own,
    options.validationFraction,
    mixSeed(options.seed, 0x7a11d),
  );
  if (train.length === 0)
    throw new DataError(
      'NO_DATA',
      source,
      `${labels.length} examples leave none to train on after the split`,
    );
  return { train, validation, test };
}

/** [held, kept]: per class, the first round(fraction * count) of a seeded order are held. */
function stratified(
  labels: Uint8Array,
  indices: readonly number[],
  fraction: number,
  seed: number,
): [number[], number[]] {
  if (fraction <= 0) return [[], [...indices]];
  const byClass = new Map<number, number[]>();
  for (const i of indices) {
    const label = labels[i] ?? 0;
    const list = byClass.get(label) ?? [];
    list.push(i);
    byClass.set(label, list);
  }
  const rng = createRng(seed);
  const held: number[] = [];
  const kept: number[] = [];
  for (const label of [...byClass.keys()].sort((a, b) => a - b)) {
    const list = byClass.get(label) ?? [];
    for (let i = list.length - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      const a = list[i] ?? 0;
      list[i] = list[j] ?? 0;
      list[j] = a;
    }
    const count = Math.round(fraction * list.length);
    held.push(...list.slice(0, count));
    kept.push(...list.slice(count));
  }
  return [held.sort((a, b) => a - b), kept.sort((a, b) => a - b)];
}
