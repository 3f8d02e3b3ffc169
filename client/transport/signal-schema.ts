/**
 * Validation of the WebRTC signaling payloads a remote peer hands us through the relay (a trust
 * boundary), and reading max-message-size out of an SDP.
 *
 * @example
 * const signal = parsePeerSignal(untrusted); // throws TransportError ERR_SIGNAL_INVALID
 * sdpMaxMessageSize(signal.type === 'offer' ? signal.sdp : ''); // 262144
 */

import { z } from 'zod';
import { TransportError } from './errors.ts';

/** Longest SDP accepted from a remote peer (data-only SDPs are ~1-2 KB). */
export const MAX_SDP_CHARS = 64 * 1024;
/** Longest ICE candidate line accepted. */
export const MAX_CANDIDATE_CHARS = 2048;

const descriptionSchema = z.object({
  type: z.enum(['offer', 'answer']),
  sdp: z.string().max(MAX_SDP_CHARS),
});

const candidateSchema = z.object({
  type: z.literal('candidate'),
  candidate: z.object({
    candidate: z.string().max(MAX_CANDIDATE_CHARS),
    sdpMLineIndex: z.number().int().min(0).max(1024).nullable().optional(),
    sdpMid: z.string().max(256).nullable().optional(),
  }),
});

/** The signals simple-peer exchanges for a data-only connection (no media renegotiation). */
export const peerSignalSchema = z.union([descriptionSchema, candidateSchema]);
export type PeerSignal = z.infer<typeof peerSignalSchema>;

export function parsePeerSignal(data: unknown): PeerSignal {
  const result = peerSignalSchema.safeParse(data);
  if (!result.success) {
    throw new TransportError(
      'ERR_SIGNAL_INVALID',
      `invalid signal: ${result.error.issues[0]?.message ?? ''}`,
    );
  }
  return result.data;
}

/** RFC 8841: an SDP without a=max-message-size implies 64 KiB; 0 means "no limit". */
const SDP_DEFAULT_MAX_MESSAGE_SIZE = 65536;

/** The max-message-size an SDP advertises, in bytes (Infinity for "no limit"). */
export function sdpMaxMessageSize(sdp: string): number {
  const match = /^a=max-message-size:(\d+)\s*$/m.exec(sdp);
  if (!match?.[1]) return SDP_DEFAULT_MAX_MESSAGE_SIZE;
  const size = Number(match[1]);
  return size === 0 ? Number.POSITIVE_INFINITY : size;
}
