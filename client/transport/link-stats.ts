/**
 * Byte counters of a link, per direction: wire bytes (chunks as handed to / received from the
 * data channel, headers included) and payload bytes (whole messages). The UI and the
 * benchmarks read these.
 *
 * @example
 * const { sent, received } = link.stats();
 * const overhead = sent.wireBytes - sent.payloadBytes;
 */

export interface DirectionStats {
  /** Bytes handed to (or received from) the data channel, chunk headers included. */
  wireBytes: number;
  /** Payload bytes of complete messages. */
  payloadBytes: number;
  /** Complete messages. */
  messages: number;
  /** Data-channel messages (chunks). */
  chunks: number;
}

export interface LinkStats {
  sent: DirectionStats;
  received: DirectionStats;
}

export function emptyDirectionStats(): DirectionStats {
  return { wireBytes: 0, payloadBytes: 0, messages: 0, chunks: 0 };
}

export function emptyLinkStats(): LinkStats {
  return { sent: emptyDirectionStats(), received: emptyDirectionStats() };
}

export function copyLinkStats(stats: LinkStats): LinkStats {
  return { sent: { ...stats.sent }, received: { ...stats.received } };
}

/** Adds `b` into `a` (for totals over many links). */
export function addLinkStats(a: LinkStats, b: LinkStats): void {
  for (const dir of ['sent', 'received'] as const) {
    a[dir].wireBytes += b[dir].wireBytes;
    a[dir].payloadBytes += b[dir].payloadBytes;
    a[dir].messages += b[dir].messages;
    a[dir].chunks += b[dir].chunks;
  }
}
