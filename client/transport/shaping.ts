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
 * The link works while the peer's CPU does, like a real network card: the sender hands every
 * chunk to the data channel at once, stamped with how long it still has to cross the uplink
 * (plus the latency), and the receiver holds it back that long after it arrives (the loopback
 * itself takes well under a millisecond). Pacing with timers on the sender instead charged a
 * peer's computation to its link: a chunk due to leave while the event loop was busy with a
 * gradient left only when the gradient was done.
 *
 * @example
 * const up = new Pacer(2);                    // 2 Mbit/s: 250 bytes per ms
 * up.release(65_536);                         // now + 262.1 ms: when this chunk has left
 * const down = new Pacer(2);
 * down.deliver(65_536);                       // now if the downlink was idle, later if busy
 */

import { TransportError } from './errors.ts';

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

/**
 * A stamped chunk: STAMP_MARKER, a u32 (big-endian) delay in microseconds, then the chunk.
 * The chunk codec's flags use bits 0-1 only, so the marker cannot begin an unstamped chunk.
 */
const STAMP_MARKER = 0x80;
/** Bytes a departure stamp adds to a chunk (not counted as link traffic). */
export const STAMP_BYTES = 5;
/** Largest delay a stamp can carry: 2^32 - 1 microseconds, about 71 minutes. */
const MAX_STAMP_MICROS = 0xffff_ffff;

/**
 * `chunk` stamped with `delayMs`: how long after it reaches the remote it is to count as
 * arrived (what is left of its time on this peer's uplink, plus the link latency).
 */
export function stampChunk(chunk: Uint8Array, delayMs: number): Uint8Array {
  const micros = Math.min(MAX_STAMP_MICROS, Math.max(0, Math.round(delayMs * 1000)));
  const stamped = new Uint8Array(STAMP_BYTES + chunk.byteLength);
  stamped[0] = STAMP_MARKER;
  new DataView(stamped.buffer).setUint32(1, micros);
  stamped.set(chunk, STAMP_BYTES);
  return stamped;
}

/**
 * Splits a received data-channel message into the chunk and its stamp's delay (0 when it
 * carries none: the sender's link is unshaped). Throws ERR_MALFORMED_CHUNK on a truncated stamp.
 */
export function readStamp(data: Uint8Array): { chunk: Uint8Array; delayMs: number } {
  if (data.byteLength === 0 || data[0] !== STAMP_MARKER) return { chunk: data, delayMs: 0 };
  if (data.byteLength <= STAMP_BYTES) {
    throw new TransportError('ERR_MALFORMED_CHUNK', `stamped chunk of ${data.byteLength} bytes`);
  }
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { chunk: data.subarray(STAMP_BYTES), delayMs: view.getUint32(1) / 1000 };
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
