import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRng } from '../../shared/random.ts';
import { labelCounts, partitionIndices } from '../../shared/data/partition.ts';
import { formatPartitionSpec, parsePartitionSpec } from '../../shared/data/spec.ts';
import type { PartitionSpec } from '../../shared/data/spec.ts';
import { PartitionError } from '../../shared/data/errors.ts';

/** 8,000 labels with uneven class sizes, like the MNIST training split. */
function syntheticLabels(n = 8000, seed = 7): Uint8Array {
  const rng = createRng(seed);
  const weights = [1.0, 1.13, 0.99, 1.03, 0.98, 0.86, 1.01, 1.07, 0.94, 0.98];
  const total = weights.reduce((a, b) => a + b, 0);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    let u = rng.next() * total;
    let k = 0;
    while (k < 9 && u >= (weights[k] ?? 0)) u -= weights[k++] ?? 0;
    labels[i] = k;
  }
  return labels;
}

const labels = syntheticLabels();
const globalShare = labelCounts(labels, [...labels.keys()]).map((c) => c / labels.length);

/** Mean total-variation distance between each worker's label mix and the global one. */
function meanSkew(parts: number[][]): number {
  let sum = 0;
  for (const part of parts) {
    const counts = labelCounts(labels, part);
    sum += 0.5 * counts.reduce((acc, c, k) => acc + Math.abs(c / part.length - (globalShare[k] ?? 0)), 0);
  }
  return sum / parts.length;
}

function assertCoversExactlyOnce(parts: number[][], n: number): void {
  const seen = new Uint8Array(n);
  for (const part of parts) {
    assert.ok(part.length >= 1, 'no worker is empty');
    for (let i = 0; i < part.length; i++) {
      const index = part[i] ?? -1;
      assert.ok(Number.isInteger(index) && index >= 0 && index < n, `index ${index} in range`);
      assert.equal(seen[index], 0, `index ${index} assigned once`);
      seen[index] = 1;
      if (i > 0) assert.ok(index > (part[i - 1] ?? -1), 'ascending');
    }
  }
  assert.equal(
    seen.reduce((a, b) => a + b, 0),
    n,
    'every index assigned',
  );
}

const specs = ['iid', 'dirichlet:0.1', 'dirichlet:100', 'shards:2', 'shards:1'];

test('every spec covers each index exactly once, leaves no worker empty, for 1..1000 workers', () => {
  for (const text of specs) {
    for (const workers of [1, 2, 7, 10, 100, 1000]) {
      const parts = partitionIndices(labels, workers, parsePartitionSpec(text), 3);
      assert.equal(parts.length, workers, `${text} x ${workers}`);
      assertCoversExactlyOnce(parts, labels.length);
    }
  }
});

test('partitions are deterministic by seed and change with the seed', () => {
  for (const text of specs) {
    const spec = parsePartitionSpec(text);
    const a = partitionIndices(labels, 10, spec, 11);
    assert.deepEqual(partitionIndices(labels, 10, spec, 11), a, text);
    assert.notDeepEqual(partitionIndices(labels, 10, spec, 12), a, text);
  }
});

test('iid sizes differ by at most one and label mixes match the global one', () => {
  const parts = partitionIndices(labels, 10, { kind: 'iid' }, 1);
  const sizes = parts.map((p) => p.length);
  assert.ok(Math.max(...sizes) - Math.min(...sizes) <= 1);
  // 800 examples a worker: sampling noise of the total-variation distance is about 0.05.
  assert.ok(meanSkew(parts) < 0.08, `iid skew ${meanSkew(parts)}`);
});

test('dirichlet:0.1 skews label mixes far more than iid; large alpha approaches iid', () => {
  const skewed = meanSkew(partitionIndices(labels, 10, parsePartitionSpec('dirichlet:0.1'), 1));
  const mild = meanSkew(partitionIndices(labels, 10, parsePartitionSpec('dirichlet:100'), 1));
  const iid = meanSkew(partitionIndices(labels, 10, { kind: 'iid' }, 1));
  assert.ok(skewed > 0.5, `dirichlet:0.1 skew ${skewed}`);
  assert.ok(mild < 0.1, `dirichlet:100 skew ${mild}`);
  assert.ok(skewed > 5 * iid);
  // Most workers are dominated by few labels: the top two labels hold most of their data.
  const parts = partitionIndices(labels, 10, parsePartitionSpec('dirichlet:0.1'), 1);
  const dominated = parts.filter((p) => {
    const counts = labelCounts(labels, p).sort((a, b) => b - a);
    return (counts[0] ?? 0) + (counts[1] ?? 0) > 0.7 * p.length;
  });
  assert.ok(dominated.length >= 5, `${dominated.length} of 10 workers dominated by two labels`);
});

test('shards:s gives every worker at most s labels when shards outnumber labels', () => {
  for (const [workers, s] of [
    [5, 2],
    [10, 2],
    [100, 2],
    [1000, 2],
    [10, 1],
    [50, 3],
  ] as const) {
    const parts = partitionIndices(labels, workers, { kind: 'shards', shardsPerWorker: s }, 5);
    for (const part of parts) {
      const distinct = labelCounts(labels, part).filter((c) => c > 0).length;
      assert.ok(distinct <= s, `${workers} workers shards:${s}: a worker has ${distinct} labels`);
    }
  }
  // Fewer shards than labels: shards span several labels, but the split still covers everything.
  const parts = partitionIndices(labels, 2, { kind: 'shards', shardsPerWorker: 2 }, 5);
  assertCoversExactlyOnce(parts, labels.length);
});

test('minPerWorker tops up the smallest workers from the largest ones', () => {
  const parts = partitionIndices(labels, 1000, parsePartitionSpec('dirichlet:0.01'), 9, { minPerWorker: 8 });
  assertCoversExactlyOnce(parts, labels.length);
  assert.ok(parts.every((p) => p.length === 8));
  const few = partitionIndices(labels, 200, parsePartitionSpec('dirichlet:0.05'), 9);
  assert.ok(few.every((p) => p.length >= 1));
});

test('bad arguments fail with stable codes', () => {
  const code = (fn: () => unknown): string => {
    try {
      fn();
    } catch (error) {
      assert.ok(error instanceof PartitionError);
      return error.code;
    }
    return 'no error';
  };
  assert.equal(
    code(() => partitionIndices(labels, 8001, { kind: 'iid' }, 1)),
    'TOO_MANY_WORKERS',
  );
  assert.equal(
    code(() => partitionIndices(labels, 5000, { kind: 'shards', shardsPerWorker: 2 }, 1)),
    'TOO_MANY_WORKERS',
  );
  assert.equal(
    code(() => partitionIndices(labels, 0, { kind: 'iid' }, 1)),
    'BAD_ARGUMENT',
  );
  assert.equal(
    code(() => partitionIndices(labels, 1.5, { kind: 'iid' }, 1)),
    'BAD_ARGUMENT',
  );
  assert.equal(
    code(() => partitionIndices(new Uint8Array(0), 1, { kind: 'iid' }, 1)),
    'BAD_ARGUMENT',
  );
  const badSpec: PartitionSpec = { kind: 'dirichlet', alpha: -1 };
  assert.equal(
    code(() => partitionIndices(labels, 2, badSpec, 1)),
    'BAD_SPEC',
  );
});

test('parsePartitionSpec accepts the documented forms and rejects the rest with BAD_SPEC', () => {
  assert.deepEqual(parsePartitionSpec('iid'), { kind: 'iid' });
  assert.deepEqual(parsePartitionSpec('dirichlet:0.1'), { kind: 'dirichlet', alpha: 0.1 });
  assert.deepEqual(parsePartitionSpec(' shards:2 '), { kind: 'shards', shardsPerWorker: 2 });
  for (const text of ['iid', 'dirichlet:0.5', 'shards:3']) {
    assert.equal(formatPartitionSpec(parsePartitionSpec(text)), text);
  }
  for (const text of [
    '',
    'iid:1',
    'dirichlet',
    'dirichlet:',
    'dirichlet:0',
    'dirichlet:-1',
    'dirichlet:abc',
    'dirichlet:Infinity',
    'shards:0',
    'shards:1.5',
    'shards:-2',
    'shards:2x',
    'random',
  ]) {
    assert.throws(
      () => parsePartitionSpec(text),
      (error: unknown) => error instanceof PartitionError && error.code === 'BAD_SPEC',
      text,
    );
  }
});
