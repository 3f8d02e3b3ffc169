/**
 * The simulator's side of a session's final model (shared/algorithm/tail-average.ts): the mean
 * of x_common over the last rounds, taken where a real peer takes it (LocalState.noteApplied:
 * after each broadcast of the tail but the last, before any sync of that round; then the
 * model after the final sync). Every virtual worker applies every broadcast, so worker 0's
 * x_common is every worker's.
 *
 * @example
 * const average = new FinalAverage(config.rounds, config.finalAverageShare ?? 0);
 * average.applied(round, workers[0]);        // after each round's broadcast
 * const model = average.finish(workers[0]);  // after the last round's final sync
 */
import { TailAverage, tailAverageFrom } from '../../shared/algorithm/tail-average.ts';
import type { WorkerAlgorithm } from '../../shared/algorithm/index.ts';

export class FinalAverage {
  private readonly tail = new TailAverage();
  private readonly from: number;
  private readonly lastRound: number;
  private scratch: Float32Array | undefined = undefined;

  constructor(rounds: number, share: number) {
    this.from = tailAverageFrom(rounds, share);
    this.lastRound = rounds - 1;
  }

  /** Round `round`'s broadcast is applied (a sync of it not yet). */
  applied(round: number, worker: WorkerAlgorithm): void {
    if (round < this.from || round >= this.lastRound) return;
    this.scratch = worker.commonModel(this.scratch);
    this.tail.add(round, this.scratch);
  }

  /** The session's final model, after the last round (and its final sync). */
  finish(worker: WorkerAlgorithm): Float32Array {
    return this.tail.finish(worker.commonModel());
  }
}
