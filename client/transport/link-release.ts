/**
 * How a PeerLink tears its connection down so that no send of either side races the close.
 *
 * wrtc's RTCDataChannel::Send checks the channel, then makes a blocking call into WebRTC's
 * network thread, then sends through a pointer that thread clears when the channel reaches
 * 'closed': a peer whose channel closes under a send of its own can die of SIGSEGV there
 * (docs/failover.md). So a closing link first sends the goodbye frame (chunk-codec.ts) and
 * nothing after it; the remote, reading it, stops sending and closes the channel itself
 * (remoteSaidGoodbye), and simple-peer destroys the connection on the channel's 'close'. Only
 * a remote that does not answer within `timeoutMs` (stopped, gone, busy) gets the older
 * orderly close: the channel first (a stream reset: the remote's channel goes 'closing' and
 * its sends throw) and the connection after another `timeoutMs`. A close during sends crashed
 * a wrtc sender in 7 of 450 links with an outright destroy() and 0 of 500 with the orderly
 * close, which CI still saw fail twice.
 *
 * @example
 * const release = new LinkRelease(simplePeer, settings.gracefulCloseTimeoutMs);
 * release.start();            // on close(): goodbye, then wait for the remote
 * release.remoteSaidGoodbye(); // on the remote's goodbye frame
 * release.finish();           // on simple-peer's 'close'
 */

import type SimplePeer from 'simple-peer';
import { GOODBYE_FRAME_BYTE } from './chunk-codec.ts';

export class LinkRelease {
  readonly #peer: SimplePeer.Instance;
  readonly #timeoutMs: number;
  /** The next step if the remote does not answer in time. */
  #timer: ReturnType<typeof setTimeout> | undefined;
  #started = false;
  /** The remote sent its goodbye frame: it sends nothing more on this link. */
  #remoteSaidGoodbye = false;

  constructor(peer: SimplePeer.Instance, timeoutMs: number) {
    this.#peer = peer;
    this.#timeoutMs = timeoutMs;
  }

  /** Starts the teardown (the link has closed here); once. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const channel = this.#openChannel();
    if (!channel) {
      this.#peer.destroy();
      return;
    }
    if (this.#remoteSaidGoodbye) {
      this.#closeChannel(channel);
      return;
    }
    try {
      channel.send(new Uint8Array([GOODBYE_FRAME_BYTE]));
    } catch {
      this.#closeChannel(channel);
      return;
    }
    this.#arm(() => this.#closeChannel(channel));
  }

  /**
   * The remote's goodbye frame arrived. Before start(): the link is to close (the caller shuts
   * it down, which calls start()). After it: both sides closed at once and each has stopped
   * sending, so the channel can go now.
   */
  remoteSaidGoodbye(): void {
    this.#remoteSaidGoodbye = true;
    if (!this.#started) return;
    const channel = this.#openChannel();
    if (channel && this.#timer !== undefined) this.#closeChannel(channel);
  }

  /** The connection is gone (simple-peer's 'close'): nothing is left to wait for. */
  finish(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    // simple-peer 9 never clears its 5 s ICE-complete timer on destroy(); it delays exit.
    const iceTimer: unknown = Reflect.get(this.#peer, '_iceCompleteTimer');
    if (isTimerHandle(iceTimer)) clearTimeout(iceTimer);
  }

  /** Closes the data channel; the connection goes with it, or after timeoutMs. */
  #closeChannel(channel: OpenChannel): void {
    try {
      channel.close();
    } catch {
      this.#peer.destroy();
      return;
    }
    this.#arm(() => this.#peer.destroy());
  }

  #arm(next: () => void): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      next();
    }, this.#timeoutMs);
    // A process that is done need not wait for a remote that does not answer.
    this.#timer.unref?.();
  }

  /** simple-peer's data channel while it is open, with the two calls the teardown needs. */
  #openChannel(): OpenChannel | undefined {
    const channel: unknown = Reflect.get(this.#peer, '_channel');
    if (typeof channel !== 'object' || channel === null) return undefined;
    if (Reflect.get(channel, 'readyState') !== 'open') return undefined;
    const send: unknown = Reflect.get(channel, 'send');
    const close: unknown = Reflect.get(channel, 'close');
    if (typeof send !== 'function' || typeof close !== 'function') return undefined;
    return {
      send: (frame) => void Reflect.apply(send, channel, [frame]),
      close: () => void Reflect.apply(close, channel, []),
    };
  }
}

interface OpenChannel {
  send(frame: Uint8Array): void;
  close(): void;
}

function isTimerHandle(value: unknown): value is ReturnType<typeof setTimeout> | number {
  if (typeof value === 'number') return true;
  return typeof value === 'object' && value !== null && typeof Reflect.get(value, 'ref') === 'function';
}
