/**
 * Link shaping: makes a fast link (loopback, a LAN) behave like a thin one, so real WebRTC
 * sessions can be measured as if peers sat on 2 Mbit/s factory links.
 *
 * Model: each peer has one access link of `linkMbps` each way, shared by all its data
 * channels, and a one-way propagation delay `linkLatencyMs` on what it sends.
 *  - Uplink (send side): a pacer. A chunk starts crossing when the uplink is free and
 *    leaves it n * 8 / linkMbps later; only then is it handed to the data channel (after the
 *    latency). send() waits for the pacer, so the uplink is also the sender's backpressure.
 *  - Downlink (receive side): a token bucket with a burst of `linkBurstBytes` (one chunk).
 *    A chunk that arrived is delivered once the downlink has carried it; a paced stream from
 *    one sender at the same rate passes without extra delay, while several senders into one
 *    peer (workers into the aggregator) share its downlink.
 * So a worker's upload costs its uplink and the aggregator's downlink, and a broadcast
 * costs the aggregator's uplink once per worker, as in the simulator (client/sim/links.ts).
 *
 * @example
 * const up = new Pacer(2, 0);                 // 2 Mbit/s, no burst: 250 bytes per ms
 * up.release(65_536);                         // now + 262.1 ms: when this chunk has left
 * const down = new Pacer(2, 65_536);          // a downlink that absorbs one chunk at once
 */

/** A clock in milliseconds (performance.now by default; tests pass a fake one). */
export type Clock = () => number;

const defaultClock: Clock = () => performance.now();

/**
 * A rate limiter in virtual time (GCRA, the generic cell rate algorithm, equivalent to a
 * token bucket of `burstBytes` that may go into debt): release(n) books n bytes and returns
 * the clock time at which they have crossed the link. Unshaped (Infinity) always returns now.
 */
export class Pacer {
  /** Link rate in bytes per millisecond; Infinity when unshaped. */
  readonly bytesPerMs: number;
  readonly #burstMs: number;
  readonly #now: Clock;
  /** Time at which every byte booked so far has crossed (the "theoretical arrival time"). */
  #busyUntil = Number.NEGATIVE_INFINITY;

  constructor(mbps: number, burstBytes: number, now: Clock = defaultClock) {
    if (!(mbps > 0)) throw new RangeError(`link rate must be > 0 Mbit/s, got ${mbps}`);
    if (!(burstBytes >= 0)) throw new RangeError(`burst must be >= 0 bytes, got ${burstBytes}`);
    this.bytesPerMs = (mbps * 1e6) / 8 / 1000;
    this.#burstMs = Number.isFinite(this.bytesPerMs) ? burstBytes / this.bytesPerMs : 0;
    this.#now = now;
  }

  get shaped(): boolean {
    return Number.isFinite(this.bytesPerMs);
  }

  /** Books `bytes` on the link; returns when they have crossed it (>= now). */
  release(bytes: number): number {
    const now = this.#now();
    if (!this.shaped) return now;
    // An idle link has saved up at most the burst; a busy one queues behind what is booked.
    this.#busyUntil = Math.max(this.#busyUntil, now - this.#burstMs) + bytes / this.bytesPerMs;
    return Math.max(now, this.#busyUntil);
  }

  /** How long what is already booked keeps the link busy from now (ms, >= 0). */
  backlogMs(): number {
    return Math.max(0, this.#busyUntil - this.#now());
  }
}

/** What one send took: payload bytes and the time until its last chunk left the uplink. */
export interface ThroughputSample {
  bytes: number;
  ms: number;
}

/**
 * Measured uplink throughput: bytes over time of the last few sends, from the moment a send
 * started to the moment its last chunk left this peer's uplink (queueing behind other sends
 * included: that is the rate this peer actually gets). Used by `topk:auto` to size uploads.
 */
export class ThroughputMeter {
  readonly #window: number;
  readonly #samples: ThroughputSample[] = [];

  /** @param window how many recent sends the estimate averages over. @default 8 */
  constructor(window = 8) {
    if (!(Number.isInteger(window) && window > 0)) throw new RangeError('window must be a positive integer');
    this.#window = window;
  }

  record(sample: ThroughputSample): void {
    if (!(sample.bytes >= 0 && sample.ms >= 0)) return;
    this.#samples.push(sample);
    if (this.#samples.length > this.#window) this.#samples.shift();
  }

  /**
   * Bytes per second over the window (sum of bytes / sum of time), or undefined before the
   * first sample that took measurable time (an unshaped link that hands everything over at once).
   */
  bytesPerSecond(): number | undefined {
    let bytes = 0;
    let ms = 0;
    for (const s of this.#samples) {
      bytes += s.bytes;
      ms += s.ms;
    }
    return ms > 0 ? (bytes / ms) * 1000 : undefined;
  }

  get samples(): number {
    return this.#samples.length;
  }
}

/**
 * The shaping state one peer shares among all its links: its uplink pacer, its downlink
 * bucket, its propagation delay and its uplink meter.
 */
export interface LinkShaping {
  readonly uplink: Pacer;
  readonly downlink: Pacer;
  readonly latencyMs: number;
  readonly meter: ThroughputMeter;
}

export interface LinkShapingSettings {
  linkMbps: number;
  linkLatencyMs: number;
  linkBurstBytes: number;
}

export function createLinkShaping(settings: LinkShapingSettings, now: Clock = defaultClock): LinkShaping {
  return {
    uplink: new Pacer(settings.linkMbps, 0, now),
    downlink: new Pacer(settings.linkMbps, settings.linkBurstBytes, now),
    latencyMs: settings.linkLatencyMs,
    meter: new ThroughputMeter(),
  };
}

/** True when the shaping changes anything (a finite rate or a latency). */
export function isShaped(shaping: LinkShaping): boolean {
  return shaping.uplink.shaped || shaping.latencyMs > 0;
}
