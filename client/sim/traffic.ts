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

/** Wire bytes of a broadcast frame listing `counted` senders. */
export function broadcastFrameBytes(payloadBytes: number, counted: number): number {
  return frameBytes(4 * counted, payloadBytes);
}

/** topk:auto: the range of the upload ratios a round's participants picked (null: none). */
export function ratioRange(ratios: readonly number[]): { min: number; mean: number; max: number } | null {
  if (ratios.length === 0) return null;
  const mean = ratios.reduce((s, r) => s + r, 0) / ratios.length;
  return { min: Math.min(...ratios), mean, max: Math.max(...ratios) };
}

export { FRAME_HEADER_BYTES };
