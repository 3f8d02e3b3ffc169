/**
 * Model-sized vectors the aggregator decodes uploads into, given back once a round is done with
 * them. Without it every upload is a fresh array (400 KB for the mlp, 4 to 8 of them a round)
 * for the garbage collector to find, on the aggregator, whose every round waits on it. A vector
 * is given back only where nothing holds it any more (see AggregatorRole); one that is never
 * given back (a round abandoned at a failover, an early upload dropped) is simply collected.
 *
 * @example
 * const pool = new VectorPool(numParams);
 * const vector = pool.take();   // contents undefined: decode into it
 * pool.give(vector);            // once nothing refers to it
 */

/**
 * Free vectors kept at most: enough for a round of a few dozen workers while the next fills;
 * more peers than that allocate the rest as before.
 */
export const MAX_POOLED_VECTORS = 32;

export class VectorPool {
  private readonly free: Float32Array[] = [];

  constructor(
    readonly length: number,
    private readonly maxFree = MAX_POOLED_VECTORS,
  ) {}

  /** A vector of `length` values, contents undefined. */
  take(): Float32Array {
    return this.free.pop() ?? new Float32Array(this.length);
  }

  /** Gives `vector` back for a later take(); giving the same one twice keeps it once. */
  give(vector: Float32Array): void {
    if (vector.length !== this.length || this.free.length >= this.maxFree) return;
    if (this.free.includes(vector)) return;
    this.free.push(vector);
  }

  /** Vectors waiting to be taken (for tests). */
  get size(): number {
    return this.free.length;
  }
}
