/**
 * What a round should cost on shaped links, before running it: exact frame sizes of the
 * codecs on the model, and the simulator's link arithmetic (client/sim/links.ts) for a star of
 * N peers in which the aggregator also trains, so N - 1 workers upload through the
 * aggregator's downlink and its broadcast leaves N - 1 times through its uplink. The link
 * benchmarks print it as their expected duration and store it next to what they measured.
 *
 * @example
 * predictRoundSeconds({ up: 'identity', down: 'identity', peers: 4, linkMbps: [2], latencyMs: 0 }); // about 9.8 s
 */
import { parseAutoTopK } from '../shared/algorithm/adaptive-ratio.ts';
import { parseCompressor } from '../shared/compress/index.ts';
import { frameBytes } from '../shared/protocol/frames.ts';
import { createRng } from '../shared/random.ts';
import { sharedTransferSeconds, type LinkSpec } from '../client/sim/links.ts';

/** Parameters of the default MLP: 784 * 128 + 128 + 128 * 10 + 10. */
export const MLP_PARAMS = 101_770;

/**
 * Compute and bookkeeping per round with a few peers on this 2-core machine (gradient of
 * batch 128 on wasm, decoding, a test-set evaluation every few rounds): a rough figure.
 * @default 0.15
 */
export const DEFAULT_COMPUTE_SECONDS = 0.15;

const payloadCache = new Map<string, number>();

/** Exact payload bytes of a codec on a Gaussian vector of d values (topk:auto: its maxRatio). */
export function payloadBytes(spec: string, d = MLP_PARAMS): number {
  const key = `${spec}/${d}`;
  const cached = payloadCache.get(key);
  if (cached !== undefined) return cached;
  const auto = parseAutoTopK(spec);
  const codec = parseCompressor(auto === null ? spec : `topk:${auto.maxRatio}`);
  const rng = createRng(7);
  const x = Float32Array.from({ length: d }, () => rng.normal());
  const bytes = codec.encode(x, 1).length;
  payloadCache.set(key, bytes);
  return bytes;
}

export interface RoundModelInput {
  up: string;
  down: string;
  peers: number;
  /** Peer i's link rate: linkMbps[i % length]; peer 0 is taken as the aggregator. */
  linkMbps: readonly number[];
  latencyMs: number;
  /** LIEC: sync every H rounds with this codec (0: none). */
  syncPeriod?: number;
  syncCodec?: string;
  computeSeconds?: number;
  d?: number;
}

/** Seconds of one round: compute, uploads through the aggregator's downlink, the broadcast out. */
export function predictRoundSeconds(input: RoundModelInput): number {
  const d = input.d ?? MLP_PARAMS;
  const link = (i: number): LinkSpec => ({
    mbps: input.linkMbps[i % input.linkMbps.length] ?? Infinity,
    latencyMs: input.latencyMs,
  });
  const workers = Array.from({ length: input.peers - 1 }, (_, i) => i + 1);
  const aggregator = link(0);
  const upFrame = frameBytes(0, payloadBytes(input.up, d));
  const downFrame = frameBytes(4 * input.peers, payloadBytes(input.down, d));
  const exchange = (bytes: number): number =>
    workers.length === 0
      ? 0
      : sharedTransferSeconds(
          aggregator,
          workers.map((i) => ({ link: link(i), bytes })),
        );
  let seconds = (input.computeSeconds ?? DEFAULT_COMPUTE_SECONDS) + exchange(upFrame) + exchange(downFrame);
  const period = input.syncPeriod ?? 0;
  if (period > 0 && input.syncCodec !== undefined) {
    const syncFrame = frameBytes(4 * input.peers, payloadBytes(input.syncCodec, d));
    seconds += (2 * exchange(syncFrame)) / period;
  }
  return seconds;
}
