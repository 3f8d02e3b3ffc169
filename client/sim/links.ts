/**
 * Link models for the simulator: how long a message of n bytes takes on a link with a
 * given bandwidth and latency. Pure arithmetic; simulated time, not wall time.
 *
 * @example
 * transferSeconds({ mbps: 2, latencyMs: 20 }, 250_000); // 0.02 + 250000*8/2e6 = 1.02 s
 */

export interface LinkSpec {
  /** Bandwidth in Mbit/s; Infinity for an unshaped link. @default Infinity */
  mbps: number;
  /** One-way latency in milliseconds. @default 0 */
  latencyMs: number;
}

export const UNSHAPED_LINK: LinkSpec = { mbps: Infinity, latencyMs: 0 };

/** Time the bytes occupy the link (no latency); 0 on an unshaped link. */
export function serializationSeconds(link: LinkSpec, bytes: number): number {
  return Number.isFinite(link.mbps) ? (bytes * 8) / (link.mbps * 1e6) : 0;
}

export function transferSeconds(link: LinkSpec, bytes: number): number {
  return link.latencyMs / 1000 + serializationSeconds(link, bytes);
}

/**
 * Per-worker links from lists that repeat over the workers: worker i gets mbps[i % length]
 * and latencyMs[i % length] ("--link-mbps 0.5,10": even workers at 0.5, odd ones at 10).
 */
export function alternatingLinks(
  mbps: readonly number[],
  latencyMs: readonly number[],
): (worker: number) => LinkSpec {
  if (mbps.length === 0 || latencyMs.length === 0) throw new RangeError('link lists must not be empty');
  const links = Array.from({ length: mbps.length * latencyMs.length }, (_, i) => ({
    mbps: mbps[i % mbps.length] ?? Infinity,
    latencyMs: latencyMs[i % latencyMs.length] ?? 0,
  }));
  return (worker) => links[worker % links.length] ?? UNSHAPED_LINK;
}

/**
 * Time for many messages that all cross one shared link (the aggregator's), each also
 * crossing its own peer link: the later of the slowest single transfer and the shared
 * link's total serialization time.
 */
export function sharedTransferSeconds(
  shared: LinkSpec,
  perPeer: readonly { link: LinkSpec; bytes: number }[],
): number {
  let slowest = 0;
  let totalBytes = 0;
  for (const { link, bytes } of perPeer) {
    slowest = Math.max(slowest, transferSeconds(link, bytes));
    totalBytes += bytes;
  }
  return Math.max(slowest, perPeer.length === 0 ? 0 : transferSeconds(shared, totalBytes));
}
