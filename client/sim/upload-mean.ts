/**
 * The aggregator's round in the simulator without holding every decoded upload at once: with
 * 'mean' aggregation the counted uploads are decoded one at a time into a float64 running sum,
 * in the same order and arithmetic as vector.ts's mean (so the broadcast is bit for bit the
 * same), and the aggregator combines that one mean. With N virtual peers of a 1M-parameter
 * model the list of decoded uploads alone was N x 4 MB (bench: the 1,000-peer memory figure).
 *
 * @example
 * const payload = aggregateFrames(aggregator, options.aggregation, frames, seed);
 */
import type { AggregatorAlgorithm, Aggregation } from '../../shared/algorithm/index.ts';
import type { StandIn } from '../../shared/algorithm/stand-ins.ts';
import { decodeFrame } from '../../shared/protocol/frames.ts';

/**
 * aggregator.aggregate of the frames' decoded payloads, decoding one frame at a time for 'mean';
 * absent workers' stand-ins (mean only) join the mean at their weights.
 */
export function aggregateFrames(
  aggregator: AggregatorAlgorithm,
  aggregation: Aggregation | undefined,
  frames: readonly Uint8Array[],
  seed: number,
  standIns: readonly StandIn[] = [],
): Uint8Array {
  const d = aggregator.error.length;
  const decode = (frame: Uint8Array) => aggregator.decodeUpload(decodeFrame(frame).payload);
  // Robust statistics need every upload at once; no upload: the aggregator's own empty round.
  if ((aggregation ?? 'mean') !== 'mean' || (frames.length <= 1 && standIns.length === 0))
    return aggregator.aggregate(frames.map(decode), seed);
  const sum = new Float64Array(d);
  for (const frame of frames) {
    const v = decode(frame);
    for (let j = 0; j < d; j++) sum[j] = (sum[j] as number) + (v[j] as number);
  }
  // Absent workers' stand-ins at their weights, as the real aggregator's RunningMean adds them.
  let weights = frames.length;
  for (const { vector, weight } of standIns) {
    for (let j = 0; j < d; j++) sum[j] = (sum[j] as number) + weight * (vector[j] as number);
    weights += weight;
  }
  const mean = new Float32Array(d);
  for (let j = 0; j < d; j++) mean[j] = (sum[j] as number) / weights;
  // The mean of one vector is that vector, bit for bit (float64 sum of one, divided by 1).
  return aggregator.aggregate([mean], seed);
}

/**
 * A read-only list whose element k is decode(k), decoded anew at each access and never kept:
 * for an aggregator call that takes every peer's vector (aggregateSync reads them a few times,
 * one at a time), so that N decoded sync deltas never sit in memory together. Costs a decode
 * per access (three passes for a sync).
 */
export function decodedOnAccess(count: number, decode: (k: number) => Float32Array): readonly Float32Array[] {
  const indices = Array.from({ length: count }, (_, k) => k);
  return new Proxy(indices as unknown as Float32Array[], {
    get(target, property, receiver) {
      if (typeof property === 'string' && /^\d+$/.test(property)) {
        const k = Number(property);
        return k < count ? decode(k) : undefined;
      }
      return Reflect.get(target, property, receiver) as unknown;
    },
  });
}
