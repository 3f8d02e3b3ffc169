/**
 * One WebRTC link to one remote peer: a simple-peer instance with one ordered, reliable data
 * channel, carrying opaque binary messages of any size (up to maxMessageBytes). Messages are
 * chunked (see chunk-codec.ts), sends are serialised and respect backpressure, and anything a
 * remote sends that breaks the chunk format closes the link with a coded error, never the
 * process. Signals go out through the 'signal' event and come in through signal().
 *
 * @example
 * const link = await createPeerLink({ initiator: true });
 * link.on('signal', (data) => relay.sendSignal(remoteId, data));
 * relay.onSignal((from, data) => link.signal(data));
 * link.on('connect', () => void link.send(new Uint8Array([1, 2, 3])));
 * link.on('message', (bytes) => console.log(bytes.byteLength));
 * link.close(); // destroys the connection and lets the process exit
 */

import SimplePeer from 'simple-peer';
import { waitForDrain, type LowBufferEvents } from './backpressure.ts';
import { loadWebRtcBinding, type WebRtcBinding } from './binding.ts';
import { encodeChunks, isGoodbyeFrame, MIN_CHUNK_BYTES } from './chunk-codec.ts';
import { LinkRelease } from './link-release.ts';
import { selectedPairRoundTripMs } from './ice-rtt.ts';
import { DelayLine } from './delay-line.ts';
import { TransportError, toTransportError } from './errors.ts';
import { defaultPacingMbps, resolveLinkSettings, type LinkSettings } from './link-options.ts';
import { copyLinkStats, emptyLinkStats, type LinkStats } from './link-stats.ts';
import { Reassembler } from './reassembler.ts';
import {
  createLinkShaping,
  isShaped,
  readStamp,
  stampChunk,
  STAMP_BYTES,
  type LinkShaping,
} from './shaping.ts';
import { parsePeerSignal, sdpMaxMessageSize, type PeerSignal } from './signal-schema.ts';
import { TypedEmitter } from '../../shared/typed-emitter.ts';

/** Why a link closed: close() was called here, the remote went away, or an error. */
export type LinkCloseReason = 'local' | 'remote' | 'error';

export interface PeerLinkEvents {
  /** A signaling payload to hand to the remote peer (it calls signal() with it). */
  signal: (data: PeerSignal) => void;
  /** The data channel is open; send() works from now on. */
  connect: () => void;
  /** One complete message from the remote peer. */
  message: (message: Uint8Array) => void;
  /** Emitted exactly once; after it the link is dead. */
  close: (reason: LinkCloseReason) => void;
  /** Emitted before 'close' when the link fails; the link always closes after an error. */
  error: (error: TransportError) => void;
}

export interface PeerLinkOptions extends Partial<LinkSettings> {
  /** The initiator creates the data channel and sends the offer. */
  initiator: boolean;
  /** The WebRTC implementation; loaded with loadWebRtcBinding() when omitted. */
  binding?: WebRtcBinding;
  /**
   * Shaping state shared with this peer's other links (PeerTransport passes one per peer);
   * a link of its own from linkMbps / linkLatencyMs when omitted.
   */
  shaping?: LinkShaping;
}

/** Loads the binding if needed and creates a link. */
export async function createPeerLink(options: PeerLinkOptions): Promise<PeerLink> {
  const { iceTransportPolicy } = resolveLinkSettings(options);
  const binding = options.binding ?? (await loadWebRtcBinding(undefined, { iceTransportPolicy }));
  return new PeerLink({ ...options, binding });
}

export class PeerLink extends TypedEmitter<PeerLinkEvents> {
  readonly initiator: boolean;
  readonly settings: Readonly<LinkSettings>;
  readonly #peer: SimplePeer.Instance;
  readonly #binding: WebRtcBinding;
  readonly #reassembler: Reassembler;
  readonly #stats = emptyLinkStats();
  /** Data-channel messages (chunks) that came in, counted before any shaping holds them back. */
  #arrivedChunks = 0;
  readonly #teardown = new AbortController();
  #connectTimer: ReturnType<typeof setTimeout> | undefined;
  #connected = false;
  #closed = false;
  #localMaxMessageSize = Number.POSITIVE_INFINITY;
  #remoteMaxMessageSize = Number.POSITIVE_INFINITY;
  #chunkBytes = 0;
  #nextMessageId = 0;
  #sendTail: Promise<void> = Promise.resolve();
  /** Sends not yet handed over in full (the one in progress included). */
  #sendsQueued = 0;
  /** Messages that completed before simple-peer reported 'connect' (the remote side often opens first). */
  #early: Uint8Array[] = [];
  readonly #shaping: LinkShaping;
  /**
   * Shaping, receive side: chunks waiting out their departure stamp (the sender's uplink and
   * latency), then chunks waiting for this peer's downlink; #heldBytes in both together.
   */
  readonly #arrivals = new DelayLine();
  readonly #inbound = new DelayLine();
  #heldBytes = 0;
  /** Sends waiting until their message has left the shaped uplink (see #sleepUntil). */
  readonly #departures = new DelayLine();
  readonly #awaitingDeparture = new Set<(error: TransportError) => void>();
  /** When the last message sent on this link has left the shaped uplink (clock ms). */
  #lastLeftAt = Number.NEGATIVE_INFINITY;
  /** When the chunks sent so far would have left at settings.pacingMbps (clock ms). */
  #pacedUntil = Number.NEGATIVE_INFINITY;
  /**
   * An upper bound on the channel's bufferedAmount: its value when last read plus every byte
   * handed over since. Reading the real value is a blocking call into wrtc's network thread
   * (measured 1-3 ms on a busy 2-core machine, more than the send itself), so it is read only
   * once the bound reaches the high-water mark.
   */
  #bufferedBound = 0;
  /** The teardown after close: goodbye first, so no send of either side races it. */
  readonly #release: LinkRelease;

  constructor(options: PeerLinkOptions & { binding: WebRtcBinding }) {
    super();
    this.initiator = options.initiator;
    this.#binding = options.binding;
    this.settings = resolveLinkSettings({
      ...options,
      pacingMbps: options.pacingMbps ?? defaultPacingMbps(options.binding.name),
    });
    this.#shaping = options.shaping ?? createLinkShaping(this.settings);
    this.#reassembler = new Reassembler(this.settings.maxMessageBytes);
    this.#peer = new SimplePeer({
      initiator: options.initiator,
      wrtc: options.binding.implementation,
      config: { iceServers: this.settings.iceServers, iceTransportPolicy: this.settings.iceTransportPolicy },
      channelConfig: { ordered: true },
      trickle: true,
    });
    this.#release = new LinkRelease(this.#peer, this.settings.gracefulCloseTimeoutMs);
    this.#peer.on('signal', (data: unknown) => this.#onLocalSignal(data));
    this.#peer.on('connect', () => this.#onConnect());
    this.#peer.on('data', (data: unknown) => this.#onData(data));
    this.#peer.on('error', (err: unknown) => this.#shutdown('error', toTransportError(err)));
    this.#peer.on('close', () => {
      this.#shutdown('remote');
      // The connection is gone: the end of the teardown, whoever started it.
      this.#release.finish();
    });
    this.#connectTimer = setTimeout(() => {
      const error = new TransportError(
        'ERR_CONNECT_TIMEOUT',
        `data channel not open after ${this.settings.connectTimeoutMs} ms`,
      );
      this.#shutdown('error', error);
    }, this.settings.connectTimeoutMs);
  }

  /** True while the data channel is open and the link not closed. */
  get connected(): boolean {
    return this.#connected && !this.#closed;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes accepted by the data channel but not yet sent. */
  get bufferedAmount(): number {
    return this.#closed ? 0 : this.#peer.bufferSize;
  }

  /** Chunk size in use (header included); 0 before connect. */
  get chunkBytes(): number {
    return this.#chunkBytes;
  }

  /**
   * Feeds a signaling payload from the remote peer. An invalid payload emits an
   * ERR_SIGNAL_INVALID error and closes the link (the remote is not speaking our protocol).
   */
  signal(data: unknown): void {
    if (this.#closed) return;
    let signal: PeerSignal;
    try {
      signal = parsePeerSignal(data);
    } catch (err) {
      this.#shutdown('error', toTransportError(err, 'ERR_SIGNAL_INVALID'));
      return;
    }
    if (signal.type !== 'candidate') this.#remoteMaxMessageSize = sdpMaxMessageSize(signal.sdp);
    try {
      this.#peer.signal(this.#toSimplePeerSignal(signal));
    } catch (err) {
      this.#shutdown('error', toTransportError(err, 'ERR_SIGNAL_INVALID'));
    }
  }

  /**
   * Sends one message; resolves once every chunk is handed to the data channel (not when the
   * remote has it), the chunks paced at settings.pacingMbps. On a shaped link, once every chunk has left the shaped uplink (the
   * latency still to come); the time that took is recorded in the peer's uplink meter.
   * Concurrent calls are queued, so messages never interleave. Do not modify `message` until
   * the promise settles. Rejects with ERR_NOT_CONNECTED, ERR_LINK_CLOSED,
   * ERR_MESSAGE_TOO_LARGE (link stays open) or ERR_DRAIN_TIMEOUT (link closes).
   */
  send(message: Uint8Array): Promise<void> {
    if (this.#closed) return Promise.reject(new TransportError('ERR_LINK_CLOSED', 'link is closed'));
    if (!this.#connected) return Promise.reject(new TransportError('ERR_NOT_CONNECTED', 'link not open yet'));
    if (message.byteLength > this.settings.maxMessageBytes) {
      const limit = this.settings.maxMessageBytes;
      const text = `message of ${message.byteLength} bytes exceeds the limit of ${limit}`;
      return Promise.reject(new TransportError('ERR_MESSAGE_TOO_LARGE', text));
    }
    // The queue waits for the hand-over only: with none pending, the chunks are handed over
    // now, before the caller goes on computing. A shaped link's chunks all go at once
    // (stamped), and the caller waits until they have left the emulated uplink.
    const idle = this.#sendsQueued === 0;
    this.#sendsQueued += 1; // before handing over: a send made meanwhile queues behind this one
    const handedOver = idle
      ? this.#handOverMessage(message)
      : this.#sendTail.then(() => this.#handOverMessage(message));
    const dequeue = (): void => void (this.#sendsQueued -= 1);
    this.#sendTail = handedOver.then(dequeue, dequeue); // the caller gets any error; the queue goes on
    return handedOver.then((leftAt) => this.#sleepUntil(leftAt));
  }

  /**
   * Chunks that came in off the data channel so far, counted on arrival: unlike
   * stats().received.chunks, before link shaping holds them back. A sign of life of the
   * remote that a shaped downlink's queue does not delay (client/roles/link-liveness.ts).
   */
  get arrivedChunks(): number {
    return this.#arrivedChunks;
  }

  /** A snapshot of the byte counters. */
  stats(): LinkStats {
    return copyLinkStats(this.#stats);
  }

  /**
   * The round trip time WebRTC measured on this link, in ms (see ice-rtt.ts); undefined while
   * not connected, when the stack reports none, or if the link closes before it answers.
   */
  async roundTripMs(): Promise<number | undefined> {
    const getStats: unknown = Reflect.get(this.#peer, 'getStats');
    if (!this.connected || typeof getStats !== 'function') return undefined;
    const teardown = this.#teardown.signal;
    const reports = await new Promise<readonly unknown[]>((resolve) => {
      const onClose = (): void => resolve([]);
      teardown.addEventListener('abort', onClose, { once: true });
      try {
        Reflect.apply(getStats, this.#peer, [
          (err: unknown, items: unknown) => {
            teardown.removeEventListener('abort', onClose);
            resolve(err == null && Array.isArray(items) ? items : []);
          },
        ]);
      } catch {
        teardown.removeEventListener('abort', onClose);
        resolve([]);
      }
    });
    return selectedPairRoundTripMs(reports);
  }

  /**
   * Closes the link: 'close' comes at once; the remote is told goodbye (it sees 'close' when
   * that arrives) and closes the channel, then the connection goes (link-release.ts). Idempotent.
   */
  close(): void {
    this.#shutdown('local');
  }

  #toSimplePeerSignal(signal: PeerSignal): SimplePeer.SignalData {
    if (signal.type !== 'candidate') return signal;
    return {
      type: 'candidate',
      candidate: new this.#binding.implementation.RTCIceCandidate(signal.candidate),
    };
  }

  /**
   * Hands every chunk of `message` to the data channel; returns when its last chunk leaves
   * this peer's shaped uplink (clock ms; now on an unshaped link). On a shaped link each chunk
   * goes out at once, stamped with its remaining time on the uplink plus the latency (see
   * shaping.ts), so the emulated link moves bytes while this peer computes.
   */
  async #handOverMessage(message: Uint8Array): Promise<number> {
    const messageId = this.#nextMessageId;
    this.#nextMessageId = (messageId + 1) >>> 0;
    const { highWaterMarkBytes } = this.settings;
    const shaping = this.#shaping;
    const stamped = isShaped(shaping);
    const chunkBytes = stamped ? Math.max(MIN_CHUNK_BYTES, this.#chunkBytes - STAMP_BYTES) : this.#chunkBytes;
    // A message starts once the one before it on this link has left (FIFO), as the meter expects.
    const started = Math.max(performance.now(), this.#lastLeftAt);
    let leftAt = performance.now();
    try {
      for (const chunk of encodeChunks(messageId, message, chunkBytes)) {
        if (this.#closed) throw new TransportError('ERR_LINK_CLOSED', 'link closed while sending');
        if (this.#bufferedBound >= highWaterMarkBytes) {
          this.#bufferedBound = this.bufferedAmount;
          if (this.#bufferedBound >= highWaterMarkBytes) {
            await this.#drain();
            this.#bufferedBound = this.settings.lowWaterMarkBytes; // drained to at most this
          }
        }
        // Only when there is a wait: a chunk due now is handed over synchronously (see send).
        if (this.#pacedUntil - this.#pacingBurstMs > performance.now()) await this.#pace();
        if (this.#closed) throw new TransportError('ERR_LINK_CLOSED', 'link closed while sending');
        const now = performance.now();
        leftAt = shaping.uplink.release(chunk.byteLength);
        const wire = stamped ? stampChunk(chunk, leftAt - now + shaping.latencyMs) : chunk;
        this.#peer.send(wire);
        this.#paced(wire.byteLength);
        this.#bufferedBound += wire.byteLength;
        this.#countSent(chunk);
      }
    } catch (err) {
      const error = toTransportError(err, 'ERR_LINK_CLOSED');
      // A message cut short leaves the remote mid-message: this link cannot carry on.
      this.#shutdown('error', error);
      throw error;
    }
    this.#lastLeftAt = leftAt;
    shaping.meter.record({ bytes: message.byteLength, ms: Math.max(leftAt, performance.now()) - started });
    this.#stats.sent.messages += 1;
    this.#stats.sent.payloadBytes += message.byteLength;
    return leftAt;
  }

  /** How long pacingBurstBytes take at settings.pacingMbps. */
  get #pacingBurstMs(): number {
    return this.settings.pacingBurstBytes / this.#pacingBytesPerMs;
  }

  get #pacingBytesPerMs(): number {
    return (this.settings.pacingMbps * 1e6) / 8 / 1000;
  }

  /** Waits until no more than settings.pacingBurstBytes are still due at settings.pacingMbps. */
  async #pace(): Promise<void> {
    const teardown = this.#teardown.signal;
    let waitMs: number;
    while (!teardown.aborted && (waitMs = this.#pacedUntil - this.#pacingBurstMs - performance.now()) > 0) {
      // Whole milliseconds, rounded up: a timer of 1.5 ms may fire after 1, and pacing that
      // runs early lets the bursts through that it is there to stop.
      const timerMs = Math.ceil(waitMs);
      await new Promise<void>((resolve) => {
        // Teardown ends the wait at once; the caller then finds the link closed.
        const done = (): void => {
          clearTimeout(timer);
          teardown.removeEventListener('abort', done);
          resolve();
        };
        const timer = setTimeout(done, timerMs);
        teardown.addEventListener('abort', done);
      });
    }
  }

  #paced(bytes: number): void {
    this.#pacedUntil = Math.max(this.#pacedUntil, performance.now()) + bytes / this.#pacingBytesPerMs;
  }

  #countSent(chunk: Uint8Array): void {
    this.#stats.sent.wireBytes += chunk.byteLength;
    this.#stats.sent.chunks += 1;
  }

  /**
   * Resolves at clock time `at` (performance.now() ms), when a sent message has left the
   * shaped uplink; rejects with ERR_LINK_CLOSED on teardown. One timer for all of them (they
   * come due in order), however many sends are in flight.
   */
  #sleepUntil(at: number): Promise<void> {
    // Behind sends still waiting, even when already due: they settle in order.
    if (at <= performance.now() && this.#departures.size === 0) return Promise.resolve();
    if (this.#closed)
      return Promise.reject(new TransportError('ERR_LINK_CLOSED', 'link closed while sending'));
    return new Promise<void>((resolve, reject) => {
      this.#awaitingDeparture.add(reject);
      this.#departures.push(at, () => {
        this.#awaitingDeparture.delete(reject);
        resolve();
      });
    });
  }

  #drain(): Promise<void> {
    return waitForDrain(() => this.bufferedAmount, {
      lowWaterMarkBytes: this.settings.lowWaterMarkBytes,
      pollIntervalMs: this.settings.drainPollIntervalMs,
      timeoutMs: this.settings.drainTimeoutMs,
      signal: this.#teardown.signal,
      events: this.#lowBufferEvents(),
    });
  }

  /** The channel's bufferedamountlow events where they work (browsers); undefined on wrtc. */
  #lowBufferEvents(): LowBufferEvents | undefined {
    const channel: unknown = Reflect.get(this.#peer, '_channel');
    if (typeof channel !== 'object' || channel === null) return undefined;
    if (typeof Reflect.get(channel, 'bufferedAmountLowThreshold') !== 'number') return undefined;
    if (!isLowBufferEvents(channel)) return undefined;
    return channel;
  }

  #onLocalSignal(data: unknown): void {
    if (this.#closed) return;
    let signal: PeerSignal;
    try {
      signal = parsePeerSignal(data);
    } catch (err) {
      // simple-peer produced something outside the data-only protocol (e.g. renegotiation).
      this.#shutdown('error', toTransportError(err, 'ERR_SIGNAL_INVALID'));
      return;
    }
    if (signal.type !== 'candidate') this.#localMaxMessageSize = sdpMaxMessageSize(signal.sdp);
    this.emit('signal', signal);
  }

  #onConnect(): void {
    if (this.#closed) return;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#chunkBytes = Math.min(
      this.#localMaxMessageSize,
      this.#remoteMaxMessageSize,
      this.settings.maxChunkBytes,
    );
    const channel: unknown = Reflect.get(this.#peer, '_channel');
    if (typeof channel === 'object' && channel !== null && this.#lowBufferEvents()) {
      // simple-peer sets 64 KiB for its stream API, which this class does not use.
      Reflect.set(channel, 'bufferedAmountLowThreshold', this.settings.lowWaterMarkBytes);
    }
    this.#connected = true;
    this.emit('connect');
    const early = this.#early;
    this.#early = [];
    for (const message of early) {
      if (this.#closed) return;
      this.emit('message', message);
    }
  }

  #onData(data: unknown): void {
    // Read even while closing: the remote's goodbye answers ours (link-release.ts).
    if (data instanceof Uint8Array && isGoodbyeFrame(data)) {
      this.#release.remoteSaidGoodbye();
      if (!this.#closed) this.#shutdown('remote');
      return;
    }
    if (this.#closed) return;
    if (!(data instanceof Uint8Array)) {
      this.#shutdown('error', new TransportError('ERR_MALFORMED_CHUNK', 'non-binary data-channel message'));
      return;
    }
    let stamp: { chunk: Uint8Array; delayMs: number };
    try {
      stamp = readStamp(data);
    } catch (err) {
      this.#shutdown('error', toTransportError(err, 'ERR_MALFORMED_CHUNK'));
      return;
    }
    this.#arrivedChunks += 1;
    const { chunk, delayMs } = stamp;
    if (delayMs <= 0 && this.#arrivals.size === 0) {
      this.#arrive(chunk);
      return;
    }
    // Arrives once it has crossed the sender's uplink; in order behind what still waits.
    this.#hold(chunk.byteLength);
    this.#arrivals.push(performance.now() + delayMs, () => {
      this.#heldBytes -= chunk.byteLength;
      this.#arrive(chunk);
    });
  }

  /** A chunk that has crossed the sender's uplink: delivered once this peer's downlink has carried it. */
  #arrive(chunk: Uint8Array): void {
    if (this.#closed) return;
    const { downlink } = this.#shaping;
    if (!downlink.shaped) {
      this.#receive(chunk);
      return;
    }
    // In order behind what still waits.
    const at = downlink.deliver(chunk.byteLength);
    if (this.#inbound.size === 0 && at <= performance.now()) {
      this.#receive(chunk);
      return;
    }
    this.#hold(chunk.byteLength);
    this.#inbound.push(at, () => {
      this.#heldBytes -= chunk.byteLength;
      this.#receive(chunk);
    });
  }

  /** Counts bytes a shaped link holds back on receipt; too many closes the link (a flooding remote). */
  #hold(bytes: number): void {
    this.#heldBytes += bytes;
    const limit = this.settings.maxShapedBacklogBytes;
    if (this.#heldBytes > limit) {
      const text = `more than ${limit} bytes held back by link shaping`;
      this.#shutdown('error', new TransportError('ERR_SHAPING_BACKLOG', text));
    }
  }

  #receive(data: Uint8Array): void {
    if (this.#closed) return;
    this.#stats.received.wireBytes += data.byteLength;
    this.#stats.received.chunks += 1;
    let message: Uint8Array | undefined;
    try {
      message = this.#reassembler.push(data);
    } catch (err) {
      this.#shutdown('error', toTransportError(err, 'ERR_MALFORMED_CHUNK'));
      return;
    }
    if (!message) return;
    this.#stats.received.messages += 1;
    this.#stats.received.payloadBytes += message.byteLength;
    // 'connect' always comes before the first 'message'.
    if (this.#connected) this.emit('message', message);
    else this.#early.push(message);
  }

  #shutdown(reason: LinkCloseReason, error?: TransportError): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#connected = false;
    clearTimeout(this.#connectTimer);
    this.#connectTimer = undefined;
    this.#teardown.abort();
    this.#arrivals.clear();
    this.#inbound.clear();
    this.#heldBytes = 0;
    this.#departures.clear();
    const closedWhileSending = new TransportError('ERR_LINK_CLOSED', 'link closed while sending');
    for (const reject of this.#awaitingDeparture) reject(closedWhileSending);
    this.#awaitingDeparture.clear();
    this.#early = [];
    this.#release.start();
    if (error) this.emit('error', error);
    this.emit('close', error ? 'error' : reason);
  }
}

function isLowBufferEvents(value: object): value is LowBufferEvents {
  return (
    typeof Reflect.get(value, 'addEventListener') === 'function' &&
    typeof Reflect.get(value, 'removeEventListener') === 'function'
  );
}
