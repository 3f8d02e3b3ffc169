/**
 * Byte accounting for a simulated session: every frame that would cross the network is
 * encoded for real and its exact size counted, per direction and per kind, next to what
 * uncompressed SGD would have sent for the same rounds and participants.
 */
import { FRAME_HEADER_BYTES, frameBytes } from '../../shared/protocol/frames.ts';

export interface Traffic {
  up: number;
  down: number;
  /** Of which full-precision or quantized model syncs (LIEC). */
  syncUp: number;
  syncDown: number;
}

export function emptyTraffic(): Traffic {
  return { up: 0, down: 0, syncUp: 0, syncDown: 0 };
}

/** Bytes of an identity (fp32) compressor payload of d values: codec id, length, values. */
export function fp32PayloadBytes(d: number): number {
  return 1 + 4 + 4 * d;
}

/** Wire bytes of an upload frame carrying d fp32 values. */
export function fp32UploadFrameBytes(d: number): number {
  return frameBytes(0, fp32PayloadBytes(d));
}

/** Wire bytes of a broadcast frame listing `counted` senders. */
export function broadcastFrameBytes(payloadBytes: number, counted: number): number {
  return frameBytes(4 * counted, payloadBytes);
}

export { FRAME_HEADER_BYTES };
