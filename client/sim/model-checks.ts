/**
 * What the simulator checks of its workers' models: how far they drift apart, and whether
 * they end on the same bits.
 */
import {
  syncFlushStep,
  type AggregatorAlgorithm,
  type AlgorithmOptions,
  type WorkerAlgorithm,
} from '../../shared/algorithm/index.ts';
import { distanceSq } from '../../shared/algorithm/vector.ts';

/** Whether two models hold the very same float32 bits. */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return x.length === y.length && x.every((byte, i) => byte === y[i]);
}

/**
 * The workers' mean model, as vector.ts's mean computes it (float64 sums in worker order,
 * rounded once), reading one model at a time: a group's models are views that a worker may
 * only lend until the next one is asked (worker.ts's WorkerGroup), and N copies would not fit.
 */
function meanModel(workers: readonly WorkerAlgorithm[], d: number): Float32Array {
  const acc = new Float64Array(d);
  for (const w of workers) {
    const x = w.model;
    for (let i = 0; i < d; i++) acc[i] = (acc[i] as number) + (x[i] as number);
  }
  const out = new Float32Array(d);
  if (workers.length === 0) return out;
  for (let i = 0; i < d; i++) out[i] = (acc[i] as number) / workers.length;
  return out;
}

/** Mean over workers of ||x_i - mean(x)||^2. */
export function driftOf(workers: readonly WorkerAlgorithm[], d: number): number {
  const average = meanModel(workers, d);
  let sum = 0;
  for (const w of workers) sum += distanceSq(w.model, average);
  return sum / workers.length;
}

/**
 * The model a LIEC sync would produce now (config.consensus): the workers' mean minus e times
 * the flush step, a diagnostic no peer holds; worker 0's model for the other algorithms.
 */
export function consensusModel(
  workers: readonly WorkerAlgorithm[],
  aggregator: AggregatorAlgorithm,
  options: AlgorithmOptions,
): Float32Array {
  const first = workers[0];
  if (first === undefined) throw new RangeError('no workers');
  if (options.algorithm !== 'liec') return first.model;
  const d = first.model.length;
  const y = meanModel(workers, d);
  const step = syncFlushStep(options);
  for (let j = 0; j < d; j++) y[j] = (y[j] as number) - step * (aggregator.error[j] as number);
  return y;
}
