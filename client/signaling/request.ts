/**
 * One request to the signaling server with an ack: a timeout, an optional AbortSignal, and
 * socket.io's failures mapped to SignalingError codes (TIMEOUT, DISCONNECTED, ABORTED).
 * The reply is returned unvalidated; the caller checks it against the protocol schema.
 *
 * @example
 * const reply = await requestWithAck(socket, 10_000, { signal }, (s, ack) => s.emit('signal', msg, ack));
 */
import type { Socket } from 'socket.io-client';
import {
  SignalingError,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from '../../shared/protocol/signaling.ts';

export interface RequestOptions {
  /** Gives up (ABORTED) when this fires. */
  signal?: AbortSignal;
  /** Overrides the client's request timeout for this call. */
  timeoutMs?: number;
}

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;
export type TimeoutSocket = ReturnType<ClientSocket['timeout']>;

function mapSocketError(err: unknown): never {
  if (err instanceof SignalingError) throw err;
  const message = err instanceof Error ? err.message : String(err);
  // socket.io-client rejects with these two messages; nothing else reaches here.
  if (/timed out/.test(message)) throw new SignalingError('TIMEOUT', 'no reply from the signaling server');
  throw new SignalingError('DISCONNECTED', `request failed: ${message}`);
}

/** Receives the server's reply, or socket.io's timeout/disconnect error. */
export type AckCallback = (err: Error | null, reply?: unknown) => void;

/**
 * Sends with `send(socket.timeout(ms), ack)`. `onReply` sees the reply synchronously, as it
 * arrives, before any later packet (such as the server's disconnect) is processed.
 */
export async function requestWithAck(
  socket: ClientSocket,
  defaultTimeoutMs: number,
  { signal, timeoutMs = defaultTimeoutMs }: RequestOptions = {},
  send: (socket: TimeoutSocket, ack: AckCallback) => void,
  onReply: (reply: unknown) => void = () => {},
): Promise<unknown> {
  if (signal?.aborted === true) throw new SignalingError('ABORTED', 'request aborted');
  let onAbort: (() => void) | undefined;
  try {
    return await new Promise<unknown>((resolve, reject) => {
      onAbort = () => reject(new SignalingError('ABORTED', 'request aborted'));
      signal?.addEventListener('abort', onAbort, { once: true });
      send(socket.timeout(timeoutMs), (err, reply) => {
        if (err !== null) {
          try {
            mapSocketError(err);
          } catch (mapped) {
            reject(mapped);
          }
          return;
        }
        onReply(reply);
        resolve(reply);
      });
    });
  } finally {
    if (onAbort !== undefined) signal?.removeEventListener('abort', onAbort);
  }
}
