/**
 * Named failures of the peer-to-peer transport. Tests and callers branch on `code`, never on
 * the message text.
 *
 * @example
 * link.on('error', (err) => {
 *   if (err.code === 'ERR_MESSAGE_TOO_LARGE') log.warn('peer sent an oversized message');
 * });
 */

export type TransportErrorCode =
  | 'ERR_NO_WEBRTC' // no WebRTC implementation could be loaded
  | 'ERR_INVALID_OPTION' // an option is out of range
  | 'ERR_MALFORMED_CHUNK' // a received chunk has a bad header or breaks the chunk sequence
  | 'ERR_MESSAGE_TOO_LARGE' // a message exceeds maxMessageBytes (on send or on receive)
  | 'ERR_DRAIN_TIMEOUT' // the send buffer did not drain within drainTimeoutMs
  | 'ERR_SHAPING_BACKLOG' // link shaping held back more than maxShapedBacklogBytes on receipt
  | 'ERR_NOT_CONNECTED' // send() before the data channel opened
  | 'ERR_LINK_CLOSED' // the link is closed (or closed while a send was in progress)
  | 'ERR_CONNECT_TIMEOUT' // the data channel did not open within connectTimeoutMs
  | 'ERR_SIGNAL_INVALID' // a signaling payload failed validation or breaks the protocol
  | 'ERR_UNKNOWN_PEER' // no connected link to that remote id
  | 'ERR_RELAY' // the signal relay threw while sending a signal
  | 'ERR_PEER'; // the underlying simple-peer/WebRTC stack reported an error (see `cause`)

export class TransportError extends Error {
  readonly code: TransportErrorCode;
  constructor(code: TransportErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'TransportError';
    this.code = code;
  }
}

/** Wraps anything thrown or emitted by the WebRTC stack as a TransportError (idempotent). */
export function toTransportError(err: unknown, fallback: TransportErrorCode = 'ERR_PEER'): TransportError {
  if (err instanceof TransportError) return err;
  const peerCode = typeof err === 'object' && err !== null ? Reflect.get(err, 'code') : undefined;
  const text = err instanceof Error ? err.message : String(err);
  const suffix = typeof peerCode === 'string' ? ` (${peerCode})` : '';
  return new TransportError(fallback, `${text}${suffix}`, { cause: err });
}
