/**
 * The mean of a round's uploads, summed as they arrive: closing the round then reads one
 * vector instead of every upload, which shortens the aggregator's critical path (the time
 * from the last upload to the broadcast). Accumulates in float64 in arrival order, like
 * shared/algorithm/vector.ts mean(), so the result is the same.
 *
 * No model-sized garbage per round: a round's float64 sum (8 bytes a parameter, 8 MB for the
 * 1M model) is handed on to the next round's RunningMean once mean() has read it, and mean()
 * writes its float32 result over the sum's own memory instead of into a new vector.
 * Lifetimes: a sum belongs to one RunningMean from its constructor until its mean(); the
 * vector mean() returns is valid until the next RunningMean of the same length is made (the
 * aggregator consumes it at once, in the same call that closes the round). Copy it to keep it.
 *
 * @example
 * const sum = new RunningMean(numParams);
 * sum.add(ownUpload);
 * sum.add(workerUpload);
 * aggregator.aggregate([sum.mean()], seed); // = aggregate([ownUpload, workerUpload], seed)
 */

/**
 * Sums whose RunningMean has ended, for the next one to take. One is enough: an aggregator
 * closes round t before it opens t + 1, so one sum is in use at a time; another of a
 * different length (another session in the same process) replaces it.
 */
let spareSum: Float64Array | null = null;

export class RunningMean {
  private sum: Float64Array | null;
  private readonly length: number;
  /** Sum of the weights added (the number of vectors when all are 1). */
  count = 0;

  constructor(length: number) {
    this.length = length;
    const spare = spareSum;
    if (spare !== null && spare.length === length) {
      spareSum = null;
      // The last round's sum, or its mean written over it: zero it, nothing may carry over.
      this.sum = spare.fill(0);
    } else {
      this.sum = new Float64Array(length);
    }
  }

  /**
   * Adds `vector` at `weight` (a stand-in's, shared/algorithm/stand-ins.ts): mean() divides by
   * the sum of the weights. Weight 1 adds the vector itself, so plain uploads keep the exact
   * arithmetic of an unweighted mean. `support`: the only positions where `vector` may be
   * nonzero (a top-k upload, AggregatorAlgorithm.decodeUploadSparse), each once: only they are
   * added, the same sums in O(k).
   */
  add(vector: Float32Array, weight = 1, support: Uint32Array | null = null): void {
    const sum = this.open('add');
    if (vector.length !== sum.length)
      throw new RangeError(`vector has ${vector.length} values, expected ${sum.length}`);
    if (!(weight > 0) || !Number.isFinite(weight)) throw new RangeError(`weight must be > 0, got ${weight}`);
    if (support !== null) {
      for (let j = 0; j < support.length; j++) {
        const i = support[j] as number;
        sum[i] = (sum[i] as number) + weight * (vector[i] as number);
      }
    } else if (weight === 1)
      for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (vector[i] as number);
    else for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + weight * (vector[i] as number);
    this.count += weight;
  }

  /**
   * The mean of the vectors added, once: this ends the sum (add and mean then throw). The
   * result is a view over the sum's memory, valid until the next RunningMean of this length.
   */
  mean(): Float32Array {
    const sum = this.open('mean');
    this.sum = null;
    // In place: out[i] covers bytes 4i..4i+3, inside sum[floor(i / 2)], which was read at step
    // floor(i / 2) <= i; sum[i] itself is read before out[i] is written.
    const out = new Float32Array(sum.buffer, sum.byteOffset, this.length);
    const count = this.count;
    if (count === 0) out.fill(0);
    else for (let i = 0; i < this.length; i++) out[i] = (sum[i] as number) / count;
    spareSum = sum;
    return out;
  }

  private open(what: string): Float64Array {
    if (this.sum === null) throw new Error(`RunningMean.${what} after mean(): the sum has ended`);
    return this.sum;
  }
}
