/**
 * The signaling abstraction PeerTransport needs but does not implement (the socket.io client
 * implements it in production, MemorySignalHub in tests), and the envelope PeerTransport puts
 * around simple-peer's signals.
 *
 * Envelopes:
 *   { v: 1, kind: 'hello' }                     "I want a link; please initiate" (sent by the
 *                                                 peer that is not the initiator)
 *   { v: 1, kind: 'signal', link, data }        a simple-peer signal of link `link` (an id the
 *                                                 initiator draws per connection attempt, so
 *                                                 signals of an old link never reach a new one)
 *   { v: 1, kind: 'bye', link? }                the link (`link`, or the one a hello asked for)
 *                                                 was closed before it opened: stop waiting for it
 *
 * @example
 * const relay: SignalRelay = {
 *   sendSignal: (to, data) => socket.emit('signal', { to, data }),
 *   onSignal: (handler) => { const h = (m) => handler(m.from, m.data); socket.on('signal', h); return () => socket.off('signal', h); },
 * };
 */

import { z } from 'zod';

export interface SignalRelay {
  /** Delivers `data` (JSON-serialisable) to peer `to`; may drop it if `to` is unknown. */
  sendSignal(to: string, data: unknown): void;
  /** Subscribes to signals addressed to this peer; returns an unsubscribe function. */
  onSignal(handler: (from: string, data: unknown) => void): () => void;
}

/** Longest link id accepted in an envelope. */
export const MAX_LINK_ID_CHARS = 64;

export const signalEnvelopeSchema = z.discriminatedUnion('kind', [
  z.object({ v: z.literal(1), kind: z.literal('hello') }),
  z.object({
    v: z.literal(1),
    kind: z.literal('signal'),
    link: z.string().min(1).max(MAX_LINK_ID_CHARS),
    // Checked by PeerLink.signal() (peerSignalSchema) before it reaches WebRTC.
    data: z.unknown(),
  }),
  z.object({
    v: z.literal(1),
    kind: z.literal('bye'),
    link: z.string().min(1).max(MAX_LINK_ID_CHARS).optional(),
  }),
]);

export type SignalEnvelope = z.infer<typeof signalEnvelopeSchema>;

/** True for an envelope payload that is an SDP offer (starts or restarts a link). */
export function isOfferPayload(data: unknown): boolean {
  return typeof data === 'object' && data !== null && Reflect.get(data, 'type') === 'offer';
}
