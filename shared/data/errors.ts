/**
 * Named failures of the data-partitioning code. Tests assert on `code`, never on the text.
 *
 * @example
 * try { parsePartitionSpec('dirichlet:-1'); } catch (e) { if (e instanceof PartitionError) e.code; } // 'BAD_SPEC'
 */

export type PartitionErrorCode =
  | 'BAD_SPEC' // unparseable or out-of-range partition spec
  | 'BAD_ARGUMENT' // workers not a positive integer, empty label array, bad option
  | 'TOO_MANY_WORKERS'; // more workers (or shards) than examples: someone would be left empty

export class PartitionError extends Error {
  readonly code: PartitionErrorCode;
  constructor(code: PartitionErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'PartitionError';
    this.code = code;
  }
}
