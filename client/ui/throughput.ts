/**
 * A peer's current throughput from its cumulative byte counters (heartbeat stats on /status,
 * or this tab's own traffic samples): bytes per second over the span between the last two
 * samples whose counters moved. Pure; the store keeps one tracker state per peer.
 *
 * - Counters that did not move leave the rate as it was, until the peer has been quiet for
 *   `idleAfterMs` (or 2.5 spans, whichever is longer): then it is 0 (idle, e.g. paused).
 * - Counters that went back (a peer that rejoined counts from 0 again) restart the tracker:
 *   no rate until the next sample.
 * - Samples closer than `minSpanMs` to the last one are ignored (a burst would read as a spike).
 *
 * @example
 * let tracker = startThroughput({ up: 0, down: 0 }, 0);
 * tracker = nextThroughput(tracker, { up: 5000, down: 1000 }, 1000);
 * tracker.rate; // { up: 5000, down: 1000 } bytes/s
 */

export interface ByteCounters {
  up: number;
  down: number;
}

export interface ThroughputTracker {
  /** The counters when they last moved, and when (ms). */
  readonly last: ByteCounters;
  readonly at: number;
  /** Span (ms) of the last rate computed. */
  readonly spanMs: number | null;
  /** Bytes per second each way; null before two samples. */
  readonly rate: ByteCounters | null;
}

export interface ThroughputOptions {
  /** @default 250 */
  minSpanMs?: number;
  /** @default 10_000 */
  idleAfterMs?: number;
}

export function startThroughput(counters: ByteCounters, at: number): ThroughputTracker {
  return { last: { ...counters }, at, spanMs: null, rate: null };
}

export function nextThroughput(
  tracker: ThroughputTracker,
  counters: ByteCounters,
  at: number,
  options: ThroughputOptions = {},
): ThroughputTracker {
  const minSpanMs = options.minSpanMs ?? 250;
  const idleAfterMs = options.idleAfterMs ?? 10_000;
  const dUp = counters.up - tracker.last.up;
  const dDown = counters.down - tracker.last.down;
  if (dUp < 0 || dDown < 0) return startThroughput(counters, at);
  const span = at - tracker.at;
  if (dUp === 0 && dDown === 0) {
    const quietFor = Math.max(idleAfterMs, 2.5 * (tracker.spanMs ?? 0));
    const idle = tracker.rate !== null && span > quietFor;
    return idle ? { ...tracker, rate: { up: 0, down: 0 } } : tracker;
  }
  if (span < minSpanMs) return tracker;
  return {
    last: { ...counters },
    at,
    spanMs: span,
    rate: { up: (dUp * 1000) / span, down: (dDown * 1000) / span },
  };
}
