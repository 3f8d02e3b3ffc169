/**
 * The mean of a round's uploads, summed as they arrive: closing the round then reads one
 * vector instead of every upload, which shortens the aggregator's critical path (the time
 * from the last upload to the broadcast). Accumulates in float64 in arrival order, like
 * shared/algorithm/vector.ts mean(), so the result is the same.
 *
 * @example
 * const sum = new RunningMean(numParams);
 * sum.add(ownUpload);
 * sum.add(workerUpload);
 * aggregator.aggregate([sum.mean()], seed); // = aggregate([ownUpload, workerUpload], seed)
 */
export class RunningMean {
  private readonly sum: Float64Array;
  count = 0;

  constructor(length: number) {
    this.sum = new Float64Array(length);
  }

  add(vector: Float32Array): void {
    if (vector.length !== this.sum.length)
      throw new RangeError(`vector has ${vector.length} values, expected ${this.sum.length}`);
    const sum = this.sum;
    for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) + (vector[i] as number);
    this.count++;
  }

  mean(): Float32Array {
    const out = new Float32Array(this.sum.length);
    if (this.count === 0) return out;
    for (let i = 0; i < out.length; i++) out[i] = (this.sum[i] as number) / this.count;
    return out;
  }
}
