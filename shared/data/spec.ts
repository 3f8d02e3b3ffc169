/**
 * Partition specs: how a labelled data set is split among workers, as a value and as the
 * short string used on command lines and in configs.
 *
 * - `iid`: a uniform random split, every worker sees every label in about the same share.
 * - `dirichlet:<alpha>`: per label, worker shares drawn from Dirichlet(alpha); small alpha
 *   (0.1) gives each worker a few dominant labels, large alpha (100) approaches iid.
 * - `shards:<s>`: label-sorted data cut into workers*s shards, s shards per worker, so each
 *   worker holds at most s labels (see partition.ts for the exact guarantee).
 *
 * @example
 * parsePartitionSpec('dirichlet:0.1'); // { kind: 'dirichlet', alpha: 0.1 }
 * formatPartitionSpec({ kind: 'shards', shardsPerWorker: 2 }); // 'shards:2'
 */
import { z } from 'zod';
import { PartitionError } from './errors.ts';

/** Validates a spec object arriving from a config file or message. */
export const PartitionSpecSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('iid') }),
  z.object({ kind: z.literal('dirichlet'), alpha: z.number().positive().finite() }),
  z.object({ kind: z.literal('shards'), shardsPerWorker: z.number().int().positive() }),
]);

export type PartitionSpec = z.infer<typeof PartitionSpecSchema>;

/** Largest accepted Dirichlet alpha; beyond it the split is iid for all practical purposes. */
const MAX_ALPHA = 1e6;

/** Parses 'iid', 'dirichlet:<alpha>' or 'shards:<n>'; throws PartitionError('BAD_SPEC'). */
export function parsePartitionSpec(text: string): PartitionSpec {
  const trimmed = text.trim();
  if (trimmed === 'iid') return { kind: 'iid' };
  const match = /^([a-z]+):(.+)$/.exec(trimmed);
  const kind = match?.[1];
  const arg = match?.[2] ?? '';
  if (kind === 'dirichlet') {
    const alpha = Number(arg);
    if (arg.trim() === '' || !Number.isFinite(alpha) || alpha <= 0 || alpha > MAX_ALPHA) {
      throw new PartitionError(
        'BAD_SPEC',
        `dirichlet alpha must be a number in (0, ${MAX_ALPHA}], got "${arg}"`,
      );
    }
    return { kind: 'dirichlet', alpha };
  }
  if (kind === 'shards') {
    const shardsPerWorker = Number(arg);
    if (!/^\d+$/.test(arg) || !Number.isSafeInteger(shardsPerWorker) || shardsPerWorker < 1) {
      throw new PartitionError('BAD_SPEC', `shards per worker must be a positive integer, got "${arg}"`);
    }
    return { kind: 'shards', shardsPerWorker };
  }
  throw new PartitionError(
    'BAD_SPEC',
    `unknown partition spec "${text}"; expected "iid", "dirichlet:<alpha>" (e.g. dirichlet:0.1) or "shards:<n>" (e.g. shards:2)`,
  );
}

/** The canonical string form, accepted back by parsePartitionSpec. */
export function formatPartitionSpec(spec: PartitionSpec): string {
  switch (spec.kind) {
    case 'iid':
      return 'iid';
    case 'dirichlet':
      return `dirichlet:${spec.alpha}`;
    case 'shards':
      return `shards:${spec.shardsPerWorker}`;
    default: {
      const unreachable: never = spec;
      return unreachable;
    }
  }
}
