/**
 * What the simulator checks of its workers' models: how far they drift apart, and whether
 * they end on the same bits.
 */
import type { WorkerAlgorithm } from '../../shared/algorithm/index.ts';
import { distanceSq, mean } from '../../shared/algorithm/vector.ts';

/** Whether two models hold the very same float32 bits. */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  return x.length === y.length && x.every((byte, i) => byte === y[i]);
}

/** Mean over workers of ||x_i - mean(x)||^2. */
export function driftOf(workers: readonly WorkerAlgorithm[], d: number): number {
  const average = mean(
    workers.map((w) => w.model),
    d,
  );
  let sum = 0;
  for (const w of workers) sum += distanceSq(w.model, average);
  return sum / workers.length;
}
