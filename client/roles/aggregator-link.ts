/**
 * A worker's link to its aggregator: opens it, abandons an attempt that has not opened after
 * settings.aggregatorConnectTimeoutMs (a lost offer must not stall a failover), and tries
 * again after settings.reconnectDelayMs whenever an attempt fails or the open link drops,
 * until stop(). One per worker term; the runtime stops it when the aggregator changes.
 *
 * @example
 * const link = new AggregatorLink(transport, aggregatorId, settings, log);
 * link.start();
 * transport.on('peer:disconnect', (id) => id === aggregatorId && link.onDropped());
 * link.stop();
 */
import type { PeerTransport } from '../transport/index.ts';
import type { PeerSettings } from './settings.ts';

export class AggregatorLink {
  readonly aggregatorId: string;
  private readonly transport: PeerTransport;
  private readonly settings: PeerSettings;
  private readonly log: (message: string) => void;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private attemptTimer: ReturnType<typeof setTimeout> | null = null;
  private stopped = false;
  /** Link attempts made so far (the first one included). */
  attempts = 0;

  constructor(
    transport: PeerTransport,
    aggregatorId: string,
    settings: PeerSettings,
    log: (message: string) => void,
  ) {
    this.transport = transport;
    this.aggregatorId = aggregatorId;
    this.settings = settings;
    this.log = log;
  }

  start(): void {
    this.attempt();
  }

  /** The open link dropped (the aggregator may still be elected): link again after a pause. */
  onDropped(): void {
    this.retry();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer !== null) clearTimeout(this.retryTimer);
    if (this.attemptTimer !== null) clearTimeout(this.attemptTimer);
    this.retryTimer = null;
    this.attemptTimer = null;
  }

  private attempt(): void {
    if (this.stopped || this.transport.isConnected(this.aggregatorId)) return;
    this.attempts++;
    const timer = setTimeout(() => {
      this.attemptTimer = null;
      // Closing rejects the pending connect(), which schedules the next attempt.
      if (!this.stopped && !this.transport.isConnected(this.aggregatorId))
        this.transport.close(this.aggregatorId);
    }, this.settings.aggregatorConnectTimeoutMs);
    this.attemptTimer = timer;
    this.transport.connect(this.aggregatorId).then(
      () => this.clearAttempt(timer),
      (error: unknown) => {
        this.clearAttempt(timer);
        this.log(
          `link to aggregator ${this.aggregatorId}: ${error instanceof Error ? error.message : String(error)}`,
        );
        this.retry();
      },
    );
  }

  private clearAttempt(timer: ReturnType<typeof setTimeout>): void {
    clearTimeout(timer);
    if (this.attemptTimer === timer) this.attemptTimer = null;
  }

  private retry(): void {
    if (this.stopped || this.retryTimer !== null) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.attempt();
    }, this.settings.reconnectDelayMs);
  }
}
