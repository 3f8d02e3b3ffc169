/**
 * The model a session ends on: the mean of the shared model over its last rounds (tail, or
 * Polyak, averaging) instead of the last round's model alone. On skewed data the last model
 * swings from round to round with whichever peers' data the latest steps followed; the mean
 * does not, so two runs that were disturbed differently end closer to each other
 * (shared/defaults.ts DEFAULT_FINAL_AVERAGE_SHARE says by how much).
 *
 * Every peer keeps its own mean of the same models (x_common after each broadcast of the tail,
 * then the model after the final sync), added in the same order with the same float32
 * arithmetic, so peers that applied the same rounds end on bit-identical models; one that
 * missed a round holds another mean and asks for the aggregator's (final-model.ts).
 *
 * @example
 * const from = tailAverageFrom(300, 0.2); // 240
 * const tail = new TailAverage();
 * tail.add(240, common240); ... tail.add(298, common298);
 * const finalModel = tail.finish(lastModel); // the mean of 60 models
 */

/**
 * The first round whose model the final mean takes in: the last `share` of `rounds` rounds,
 * rounded down, so `share` 0 (or a run too short for one round of it) keeps the last model.
 */
export function tailAverageFrom(rounds: number, share: number): number {
  if (!(share >= 0 && share <= 1))
    throw new RangeError(`the final average share must be in [0, 1], got ${share}`);
  return rounds - Math.max(1, Math.floor(rounds * share));
}

export class TailAverage {
  private mean: Float32Array | null = null;
  private count = 0;
  private lastRound = -1;

  /** Models averaged so far. */
  get size(): number {
    return this.count;
  }

  /**
   * Adds the model of round `round`. A round at or before the last one added (a rollback
   * replays rounds) starts the mean over from it. A model of another length throws.
   */
  add(round: number, model: Float32Array): void {
    if (round <= this.lastRound || this.mean === null) this.restart(model.length);
    const mean = this.mean as Float32Array;
    if (model.length !== mean.length)
      throw new RangeError(`a model of ${model.length} parameters in a mean of ${mean.length}`);
    this.count++;
    this.lastRound = round;
    // mean += (x - mean) / n: one pass, float32 throughout, the same in every peer.
    const scale = 1 / this.count;
    for (let i = 0; i < mean.length; i++) {
      const m = mean[i] as number;
      mean[i] = m + ((model[i] as number) - m) * scale;
    }
  }

  /**
   * Adds the session's last model and returns the mean, a vector of its own; the average
   * starts over empty. With nothing added before, that is `last` itself (copied).
   */
  finish(last: Float32Array): Float32Array {
    this.add(this.lastRound + 1, last);
    const mean = this.mean as Float32Array;
    this.clear();
    return mean;
  }

  /** Forgets what was added (the peer adopted another model: a rollback, a catch-up). */
  clear(): void {
    this.mean = null;
    this.count = 0;
    this.lastRound = -1;
  }

  private restart(length: number): void {
    this.mean = new Float32Array(length);
    this.count = 0;
    this.lastRound = -1;
  }
}
