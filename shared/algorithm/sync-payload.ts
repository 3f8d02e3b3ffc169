/**
 * A LIEC sync broadcast's payload: 4 bytes of the deltas' measured shared share (float32,
 * little endian; NaN when not measured, see compensation.ts), then the synced delta in the
 * session's sync codec. The share travels inside the payload so that every path that keeps
 * or passes on a sync (resends, failover relays, checkpoints) carries it unchanged.
 */
import { CodecError } from '../compress/types.ts';

const HEADER_BYTES = 4;

export function encodeSyncPayload(shared: number | null, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + body.length);
  new DataView(out.buffer).setFloat32(0, shared ?? Number.NaN, true);
  out.set(body, HEADER_BYTES);
  return out;
}

/** Splits a sync payload; throws CodecError when it is too short or its share is outside [0, 1]. */
export function decodeSyncPayload(payload: Uint8Array): { shared: number | null; body: Uint8Array } {
  if (payload.length < HEADER_BYTES)
    throw new CodecError('TRUNCATED', `sync payload of ${payload.length} bytes has no header`);
  const shared = new DataView(payload.buffer, payload.byteOffset, HEADER_BYTES).getFloat32(0, true);
  if (!Number.isNaN(shared) && !(shared >= 0 && shared <= 1))
    throw new CodecError('MALFORMED', `sync payload's shared share ${shared} is outside [0, 1]`);
  return { shared: Number.isNaN(shared) ? null : shared, body: payload.subarray(HEADER_BYTES) };
}
