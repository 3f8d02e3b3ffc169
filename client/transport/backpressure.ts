/**
 * Waiting for a data channel's send buffer to drain. Browsers fire `bufferedamountlow`; the
 * Node binding (wrtc) never does, and it silently drops data once ~16 MiB are buffered, so the
 * wait always polls `bufferedAmount` too and the sender keeps the buffer far below that.
 *
 * @example
 * if (channel.bufferedAmount >= highWater) {
 *   await waitForDrain(() => channel.bufferedAmount, { lowWaterMarkBytes, pollIntervalMs: 1, timeoutMs: 30_000, signal });
 * }
 */

import { TransportError } from './errors.ts';

/** The `bufferedamountlow` side of a channel, when the implementation has it. */
export interface LowBufferEvents {
  addEventListener(type: 'bufferedamountlow', listener: () => void): void;
  removeEventListener(type: 'bufferedamountlow', listener: () => void): void;
}

export interface DrainOptions {
  /** Resolve once the buffered amount is at or below this. */
  lowWaterMarkBytes: number;
  /** How often to re-read the buffered amount. */
  pollIntervalMs: number;
  /** Reject with ERR_DRAIN_TIMEOUT when the buffer has not drained by then. */
  timeoutMs: number;
  /** Aborting rejects with ERR_LINK_CLOSED (the link closes its controller on teardown). */
  signal: AbortSignal;
  /** Optional event source, for an early wake-up where `bufferedamountlow` works. */
  events?: LowBufferEvents | undefined;
}

export function waitForDrain(bufferedAmount: () => number, options: DrainOptions): Promise<void> {
  const { lowWaterMarkBytes, pollIntervalMs, timeoutMs, signal, events } = options;
  return new Promise<void>((resolve, reject) => {
    let pollTimer: ReturnType<typeof setTimeout> | undefined;
    const deadline = setTimeout(() => finish(drainTimeout()), timeoutMs);
    const check = (): void => {
      if (bufferedAmount() <= lowWaterMarkBytes) finish(undefined);
    };
    const poll = (): void => {
      check();
      if (pollTimer !== undefined) pollTimer = setTimeout(poll, pollIntervalMs);
    };
    const onAbort = (): void => finish(new TransportError('ERR_LINK_CLOSED', 'link closed while sending'));
    function finish(error: TransportError | undefined): void {
      clearTimeout(deadline);
      clearTimeout(pollTimer);
      pollTimer = undefined;
      signal.removeEventListener('abort', onAbort);
      events?.removeEventListener('bufferedamountlow', check);
      if (error) reject(error);
      else resolve();
    }
    function drainTimeout(): TransportError {
      return new TransportError(
        'ERR_DRAIN_TIMEOUT',
        `send buffer still holds ${bufferedAmount()} bytes after ${timeoutMs} ms`,
      );
    }
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort);
    events?.addEventListener('bufferedamountlow', check);
    pollTimer = setTimeout(poll, pollIntervalMs);
  });
}
