/**
 * Link shaping: makes a fast link (loopback, a LAN) behave like a thin one, so real WebRTC
 * sessions can be measured as if peers sat on 2 Mbit/s factory links.
 *
 * Model: each peer has one access link of `linkMbps` each way, shared by all its data
 * channels, and a one-way propagation delay `linkLatencyMs` on what it sends.
 *  - Uplink (send side): a pacer. A chunk starts crossing when the uplink is free and
 *    leaves it n * 8 / linkMbps later; only then is it handed to the data channel (after the
 *    latency). send() waits for the pacer, so the uplink is also the sender's backpressure.
 *  - Downlink (receive side): a chunk that arrived is delivered once the downlink has carried
 *    it, taken to have streamed in at the downlink's rate up to its arrival: a stream paced by
 *    one sender at the same rate passes without extra delay, while several senders into one
 *    peer (workers into the aggregator) share its downlink.
 * So a worker's upload costs its uplink and the aggregator's downlink, and a broadcast
 * costs the aggregator's uplink once per worker, as in the simulator (client/sim/links.ts).
 *
 * @example
 * const up = new Pacer(2);                    // 2 Mbit/s: 250 bytes per ms
 * up.release(65_536);                         // now + 262.1 ms: when this chunk has left
 * const down = new Pacer(2);
 * down.deliver(65_536);                       // now if the downlink was idle, later if busy
 */

/** A clock in milliseconds (performance.now by default; tests pass a fake one). */
export type Clock = () => number;

const defaultClock: Clock = () => performance.now();

/**
 * A link of fixed rate in virtual time (a FIFO that remembers when it is busy until; GCRA,
 * the generic cell rate algorithm). Unshaped (Infinity) always answers now.
 */
export class Pacer {
  /** Link rate in bytes per millisecond; Infinity when unshaped. */
  readonly bytesPerMs: number;
  readonly #now: Clock;
  /** Time at which every byte booked so far has crossed. */
  #busyUntil = Number.NEGATIVE_INFINITY;

  constructor(mbps: number, now: Clock = defaultClock) {
    if (!(mbps > 0)) throw new RangeError(`link rate must be > 0 Mbit/s, got ${mbps}`);
    this.bytesPerMs = (mbps * 1e6) / 8 / 1000;
    this.#now = now;
  }

  get shaped(): boolean {
    return Number.isFinite(this.bytesPerMs);
  }

  /** Sending: `bytes` start crossing once the link is free; returns when they have left it. */
  release(bytes: number): number {
    const now = this.#now();
    if (!this.shaped) return now;
    this.#busyUntil = Math.max(this.#busyUntil, now) + bytes / this.bytesPerMs;
    return this.#busyUntil;
  }

  /**
   * Receiving: `bytes` finished arriving now, having streamed in no faster than this link's
   * rate; returns when this link has delivered them (now, unless it is busy with earlier bytes).
   */
  deliver(bytes: number): number {
    const now = this.#now();
    if (!this.shaped) return now;
    const took = bytes / this.bytesPerMs;
    this.#busyUntil = Math.max(this.#busyUntil, now - took) + took;
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
}

export function createLinkShaping(settings: LinkShapingSettings, now: Clock = defaultClock): LinkShaping {
  return {
    uplink: new Pacer(settings.linkMbps, now),
    downlink: new Pacer(settings.linkMbps, now),
    latencyMs: settings.linkLatencyMs,
    meter: new ThroughputMeter(),
  };
}

/** True when the shaping changes anything (a finite rate or a latency). */
export function isShaped(shaping: LinkShaping): boolean {
  return shaping.uplink.shaped || shaping.latencyMs > 0;
}
