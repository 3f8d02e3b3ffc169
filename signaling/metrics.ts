/**
 * Prometheus metrics of one signaling instance (prom-client), served at `GET /metrics`
 * (http-routes.ts; the operator token is required when one is configured).
 *
 * Two kinds of figure:
 *   - counted by this instance as requests pass (counters, the histogram): rounds reported,
 *     bytes each way, failovers, refused joins and operator requests, round durations.
 *     With several instances behind Redis each counts its own sockets' requests: sum them.
 *   - read from the session store at scrape time (gauges): sessions, members by kind and
 *     role, and the invalid frames the members report having rejected (heartbeat stats,
 *     cumulative per live member). With Redis every instance sees every session: take one
 *     instance's value (max), not the sum.
 * Plus prom-client's default process metrics (heap, event loop lag, open descriptors),
 * prefixed `liec_signaling_`.
 *
 * @example
 * const metrics = new SignalingMetrics(() => store.cachedStatus());
 * metrics.roundReported({ bytes: { up: 10, down: 30 }, durationMs: 120 });
 * res.end(await metrics.render());
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SessionStatus } from '../shared/protocol/signaling-status.ts';

/** Why the aggregator of a session changed away from a peer that held the role. */
export type FailoverCause = 'disconnect' | 'heartbeat-timeout' | 'unreachable' | 'faulty';

/** Round duration buckets in seconds: LAN rounds take tens of ms, thin links seconds. */
const ROUND_SECONDS_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The heartbeat stat a peer reports its rejected frames under (client/roles/peer.ts). */
export const REJECTED_FRAMES_STAT = 'rejectedFrames';

export class SignalingMetrics {
  readonly registry = new Registry();
  private readonly rounds: Counter;
  private readonly bytes: Counter<'direction'>;
  private readonly failovers: Counter<'cause'>;
  private readonly refused: Counter<'event' | 'code'>;
  private readonly roundSeconds: Histogram;

  constructor(readSessions: () => SessionStatus[]) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: 'liec_signaling_' });
    new Gauge({
      name: 'liec_sessions',
      help: 'Sessions the server holds (with or without members)',
      registers,
      collect() {
        this.set(readSessions().length);
      },
    });
    new Gauge({
      name: 'liec_peers',
      help: 'Session members by kind (browser, headless) and role (aggregator, worker)',
      labelNames: ['kind', 'role'],
      registers,
      collect() {
        this.reset();
        for (const kind of ['browser', 'headless'] as const)
          for (const role of ['aggregator', 'worker'] as const) this.set({ kind, role }, 0);
        for (const session of readSessions())
          for (const peer of session.peers) this.inc({ kind: peer.kind, role: peer.role });
      },
    });
    new Gauge({
      name: 'liec_peer_rejected_frames',
      help: 'Invalid frames the live members report having rejected (cumulative per member)',
      registers,
      collect() {
        let total = 0;
        for (const session of readSessions())
          for (const peer of session.peers) total += peer.stats?.[REJECTED_FRAMES_STAT] ?? 0;
        this.set(total);
      },
    });
    this.rounds = new Counter({
      name: 'liec_rounds_total',
      help: 'Rounds the aggregators reported completed (round:report accepted)',
      registers,
    });
    this.bytes = new Counter({
      name: 'liec_round_bytes_total',
      help: 'Frame bytes of the reported rounds on the data channels, by direction (up: to the aggregator)',
      labelNames: ['direction'],
      registers,
    });
    this.failovers = new Counter({
      name: 'liec_failovers_total',
      help: 'Aggregators replaced: it left (disconnect), went silent (heartbeat-timeout), a majority could not reach it (unreachable) or reported it faulty',
      labelNames: ['cause'],
      registers,
    });
    this.refused = new Counter({
      name: 'liec_refused_requests_total',
      help: 'Refused session:join, session:create and operator requests, by event and error code',
      labelNames: ['event', 'code'],
      registers,
    });
    this.roundSeconds = new Histogram({
      name: 'liec_round_duration_seconds',
      help: 'Reported round durations, from opening the round to sending its broadcast',
      buckets: ROUND_SECONDS_BUCKETS,
      registers,
    });
    // Zero series exist from the start, so a rate() over them works before the first event.
    this.bytes.inc({ direction: 'up' }, 0);
    this.bytes.inc({ direction: 'down' }, 0);
    for (const cause of ['disconnect', 'heartbeat-timeout', 'unreachable', 'faulty'] as const)
      this.failovers.inc({ cause }, 0);
  }

  /** An accepted round:report. */
  roundReported(report: { bytes: { up: number; down: number }; durationMs?: number | undefined }): void {
    this.rounds.inc();
    this.bytes.inc({ direction: 'up' }, report.bytes.up);
    this.bytes.inc({ direction: 'down' }, report.bytes.down);
    if (report.durationMs !== undefined) this.roundSeconds.observe(report.durationMs / 1000);
  }

  failover(cause: FailoverCause): void {
    this.failovers.inc({ cause });
  }

  refusedRequest(event: string, code: string): void {
    this.refused.inc({ event, code });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }
}
