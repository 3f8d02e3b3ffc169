/**
 * Failure detection on the data path. The signaling server notices a peer whose socket
 * closes, but a silent one (a SIGSTOPped process, a frozen tab, a dead radio, a partition of
 * the data path only) only after its heartbeat timeout (15 s). This tracks, per remote peer,
 * when this peer last sent it something and last heard from it, so that:
 *
 * - a link of this peer's role that carried nothing for settings.aggregatorPingIntervalMs
 *   gets a `ping` control message (pingDue); round traffic counts, so a training session
 *   pings only between rounds and while it waits;
 * - a worker that heard nothing from its aggregator for settings.aggregatorSilenceMs reports
 *   it unreachable to the signaling server (client/roles/peer.ts), whose majority rule
 *   replaces it (signaling/sessions.ts, reportUnreachable);
 * - an aggregator stops expecting, in the round collecting, a worker silent that long
 *   (AggregatorRole.dropSilentWorkers).
 *
 * "Heard" is any frame, and any chunk of one: a large broadcast crawling through a thin
 * link keeps its sender alive (peer.ts feeds in the chunks each link got, counted as they
 * arrive, before link shaping holds them back: a shaped uplink is one queue for every
 * link, where a frame to one worker waits behind a model to another). A peer never
 * heard (a new aggregator, a worker that has not linked yet) gets the time a link may take
 * to open, max(aggregatorSilenceMs, aggregatorConnectTimeoutMs), from `since`.
 *
 * This peer's own stalls are told apart: when its clock jumped by more than half of
 * aggregatorSilenceMs between two observations, its own event loop stood still (it was
 * stopped, or busy); what it did not hear meanwhile may be waiting in its sockets, so
 * every silence counts again from then on. A SIGSTOPped aggregator or worker that wakes up
 * so accuses nobody for its own sleep.
 *
 * @example
 * const liveness = new LinkLiveness(settings);
 * liveness.noteSent('w1'); liveness.noteHeard('w1');
 * if (liveness.pingDue('w1')) sendPing('w1');
 * if (liveness.silence('agg', roleStartedAt, false).silent) report('agg');
 */
import type { PeerSettings } from './settings.ts';

export type LivenessSettings = Pick<
  PeerSettings,
  'aggregatorPingIntervalMs' | 'aggregatorSilenceMs' | 'aggregatorConnectTimeoutMs'
>;

/**
 * How much longer than aggregatorSilenceMs a peer may stay quiet because its event loop is
 * blocked by this session's work: a gradient of a large model blocks it for seconds (a 10M-
 * parameter MLP: about 5 s on wasm), and no ping leaves meanwhile. The peers of a session
 * train one model, so this peer's own last gradient time, doubled, stands for theirs; before
 * its first gradient, `msPerParam` per model parameter. Small models get next to nothing
 * (the 0.1M MLP: 30 ms a gradient, 60 ms allowed).
 */
export function busyAllowanceMs(lastComputeMs: number, numParams: number, msPerParam: number): number {
  return lastComputeMs > 0 ? 2 * lastComputeMs : numParams * msPerParam;
}

export interface Silence {
  /** How long the peer has been silent, as far as this peer can tell (ms). */
  readonly ms: number;
  /** How long it may be: aggregatorSilenceMs, or the time a link may take to open if never heard. */
  readonly limitMs: number;
  readonly silent: boolean;
}

export class LinkLiveness {
  private readonly settings: LivenessSettings;
  private readonly now: () => number;
  private readonly sentAt = new Map<string, number>();
  private readonly heardAt = new Map<string, number>();
  /** When this peer last woke from a stall of its own (or was created). */
  private resumedAt: number;
  /** Until when sends wait after a stall of its own (see settling). */
  private settleUntil = Number.NEGATIVE_INFINITY;
  private lastObserved: number;

  private readonly allowanceMs: () => number;

  /** `allowanceMs`: extra quiet time allowed on top of the settings (busyAllowanceMs). */
  constructor(
    settings: LivenessSettings,
    now: () => number = () => performance.now(),
    allowanceMs: () => number = () => 0,
  ) {
    this.settings = settings;
    this.now = now;
    this.allowanceMs = allowanceMs;
    this.resumedAt = now();
    this.lastObserved = this.resumedAt;
  }

  /** How often a caller should run its checks: a fifth of the ping interval (or silence, if shorter). */
  get tickMs(): number {
    const { aggregatorPingIntervalMs, aggregatorSilenceMs } = this.settings;
    return Math.max(5, Math.min(aggregatorPingIntervalMs, aggregatorSilenceMs) / 5);
  }

  /** A clock jump longer than this between two observations is a stall of this peer's own. */
  get stallMs(): number {
    return this.settings.aggregatorSilenceMs / 2;
  }

  /** How long sends wait after a stall of this peer's own: one tick. */
  get settleMs(): number {
    return this.tickMs;
  }

  /**
   * Reads the clock; returns true when this peer itself stood still since the last call
   * (every silence then counts from now). Called by every query, and by the caller's tick.
   */
  observe(): boolean {
    const t = this.now();
    const gap = t - this.lastObserved;
    this.lastObserved = t;
    if (gap <= this.stallMs) return false;
    this.resumedAt = t;
    this.settleUntil = t + this.settleMs;
    return true;
  }

  /**
   * True for settleMs after a stall of this peer's own: links may have closed while it
   * stood still, their close still on its way in, and the runtime holds its sends until it
   * is through (a send racing a data channel's close can crash wrtc).
   */
  get settling(): boolean {
    this.observe();
    return this.now() < this.settleUntil;
  }

  /** Milliseconds since `at`, not counting from before this peer's own last stall. */
  elapsedSince(at: number): number {
    this.observe();
    return this.now() - Math.max(at, this.resumedAt);
  }

  noteSent(to: string): void {
    this.sentAt.set(to, this.now());
  }

  noteHeard(from: string): void {
    this.heardAt.set(from, this.now());
  }

  /** True when nothing went to `to` for aggregatorPingIntervalMs (or ever). */
  pingDue(to: string): boolean {
    const at = this.sentAt.get(to);
    return at === undefined || this.now() - at >= this.settings.aggregatorPingIntervalMs;
  }

  /**
   * How long `id` has been silent. Counted from the last time it was heard, but not from
   * before `since` unless `heardBefore` (an aggregator taking over already knows the old
   * one went quiet; a worker gives a new aggregator a fresh start), and never from before
   * this peer's own last stall.
   */
  silence(id: string, since: number, heardBefore: boolean): Silence {
    this.observe();
    let heard = this.heardAt.get(id);
    if (heard !== undefined && heard < since && !heardBefore) heard = undefined;
    const { aggregatorSilenceMs, aggregatorConnectTimeoutMs } = this.settings;
    const limitMs =
      (heard === undefined
        ? Math.max(aggregatorSilenceMs, aggregatorConnectTimeoutMs)
        : aggregatorSilenceMs) + this.allowanceMs();
    const ms = this.now() - Math.max(heard ?? since, this.resumedAt);
    return { ms, limitMs, silent: ms > limitMs };
  }
}
