/**
 * Binary frames exchanged between peers over the data channel (and the simulator's
 * in-memory network, so both count the same bytes).
 *
 * Layout, little-endian, 24-byte fixed header then two variable sections:
 *   0  u8  version (FRAME_VERSION)
 *   1  u8  type (FrameType)
 *   2  u8  codec id of the payload (its first byte; 0 when there is no payload)
 *   3  u8  flags (reserved, 0)
 *   4  u32 term of the aggregator the frame belongs to
 *   8  u32 round
 *  12  u32 sender tag (senderTag(peerId): receivers check it against the link's peer)
 *  16  f32 aux: upload -> the sender's deviation ||x_i - x_common||^2; model -> MODEL_START_OVER
 *      or 0 (see there); others -> 0
 *  20  u16 meta length      22 u16 reserved
 *  24  meta bytes (per type: broadcast/syncBroadcast/sliceBroadcast -> u32 tags of the counted senders;
 *      control -> UTF-8 JSON validated by the control schema; model -> whom the recent broadcasts
 *      behind it counted, model-meta.ts)
 *  ..  u32 payload length, then the payload (a compressor payload, self-describing)
 *
 * @example
 * const bytes = encodeFrame({ type: 'upload', term: 1, round: 5, sender: senderTag('p1'), aux: 0, meta: new Uint8Array(0), payload });
 * const frame = decodeFrame(bytes); // throws FrameError with a stable code on bad input
 */

export const FRAME_VERSION = 1;
/**
 * A model frame's aux when every peer starts over from that model alone (an operator's
 * rollback): the receiver drops its own unsynced gradient mass. With 0 (a joiner, a worker out
 * of step after a failover) a LIEC worker keeps it on top of the model (WorkerAlgorithm.adoptModel).
 */
export const MODEL_START_OVER = 1;
export const FRAME_HEADER_BYTES = 24;
/** Largest meta section accepted (a broadcast lists up to 16,383 counted senders). */
export const MAX_FRAME_META_BYTES = 65535;

export const FRAME_TYPES = [
  'upload',
  'broadcast',
  'syncUpload',
  'syncBroadcast',
  'model',
  'control',
  // LIEC rolling sync (SyncOptions.mode 'rolling'): a slice of x_i - x_common on the round's
  // block, worker to aggregator, and the block's synced delta back (meta: counted tags).
  'sliceUpload',
  'sliceBroadcast',
] as const;
export type FrameType = (typeof FRAME_TYPES)[number];

export interface Frame {
  type: FrameType;
  term: number;
  round: number;
  sender: number;
  aux: number;
  meta: Uint8Array;
  payload: Uint8Array;
}

export type FrameErrorCode =
  'FRAME_TRUNCATED' | 'FRAME_VERSION' | 'FRAME_TYPE' | 'FRAME_LENGTH' | 'FRAME_FIELD';

export class FrameError extends Error {
  readonly code: FrameErrorCode;
  constructor(code: FrameErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'FrameError';
    this.code = code;
  }
}

/** FNV-1a 32-bit hash of a peer id: a compact sender field, checked against the link. */
export function senderTag(peerId: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < peerId.length; i++) {
    hash ^= peerId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** Exact wire size of a frame with these section sizes. */
export function frameBytes(metaBytes: number, payloadBytes: number): number {
  return FRAME_HEADER_BYTES + metaBytes + 4 + payloadBytes;
}

/**
 * Bytes of an identity (fp32) compressor payload of d values: codec id, length, values.
 * Every "what uncompressed SGD would have sent" figure is counted from it.
 */
export function fp32PayloadBytes(d: number): number {
  return 1 + 4 + 4 * d;
}

/** Wire bytes of a frame without meta carrying d fp32 values (an uncompressed upload). */
export function fp32UploadFrameBytes(d: number): number {
  return frameBytes(0, fp32PayloadBytes(d));
}

function checkU32(name: string, value: number): void {
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new FrameError('FRAME_FIELD', `${name} must be a u32, got ${value}`);
  }
}

export function encodeFrame(frame: Frame): Uint8Array {
  checkU32('term', frame.term);
  checkU32('round', frame.round);
  checkU32('sender', frame.sender);
  if (!Number.isFinite(frame.aux)) throw new FrameError('FRAME_FIELD', 'aux must be finite');
  if (frame.meta.length > MAX_FRAME_META_BYTES)
    throw new FrameError('FRAME_LENGTH', 'meta section too large');
  const out = new Uint8Array(frameBytes(frame.meta.length, frame.payload.length));
  const view = new DataView(out.buffer);
  view.setUint8(0, FRAME_VERSION);
  view.setUint8(1, FRAME_TYPES.indexOf(frame.type));
  view.setUint8(2, frame.payload[0] ?? 0);
  view.setUint32(4, frame.term, true);
  view.setUint32(8, frame.round, true);
  view.setUint32(12, frame.sender, true);
  view.setFloat32(16, frame.aux, true);
  view.setUint16(20, frame.meta.length, true);
  out.set(frame.meta, FRAME_HEADER_BYTES);
  const payloadAt = FRAME_HEADER_BYTES + frame.meta.length;
  view.setUint32(payloadAt, frame.payload.length, true);
  out.set(frame.payload, payloadAt + 4);
  return out;
}

/** Parses a frame; sections are views into `bytes` (copy them to keep them). */
export function decodeFrame(bytes: Uint8Array): Frame {
  if (bytes.length < FRAME_HEADER_BYTES + 4) {
    throw new FrameError('FRAME_TRUNCATED', `${bytes.length} bytes is shorter than a frame header`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint8(0);
  if (version !== FRAME_VERSION)
    throw new FrameError('FRAME_VERSION', `unsupported frame version ${version}`);
  const type = FRAME_TYPES[view.getUint8(1)];
  if (type === undefined) throw new FrameError('FRAME_TYPE', `unknown frame type ${view.getUint8(1)}`);
  const aux = view.getFloat32(16, true);
  if (!Number.isFinite(aux)) throw new FrameError('FRAME_FIELD', 'aux is not finite');
  const metaLength = view.getUint16(20, true);
  const payloadAt = FRAME_HEADER_BYTES + metaLength;
  if (bytes.length < payloadAt + 4) throw new FrameError('FRAME_TRUNCATED', 'meta section runs past the end');
  const payloadLength = view.getUint32(payloadAt, true);
  if (bytes.length !== payloadAt + 4 + payloadLength) {
    throw new FrameError(
      'FRAME_LENGTH',
      `payload length ${payloadLength} disagrees with frame size ${bytes.length}`,
    );
  }
  const payload = bytes.subarray(payloadAt + 4);
  if ((payload[0] ?? 0) !== view.getUint8(2))
    throw new FrameError('FRAME_FIELD', 'codec byte disagrees with payload');
  return {
    type,
    term: view.getUint32(4, true),
    round: view.getUint32(8, true),
    sender: view.getUint32(12, true),
    aux,
    meta: bytes.subarray(FRAME_HEADER_BYTES, payloadAt),
    payload,
  };
}

/** Encodes a list of sender tags (who was counted) as a meta section. */
export function encodeTags(tags: readonly number[]): Uint8Array {
  const out = new Uint8Array(tags.length * 4);
  const view = new DataView(out.buffer);
  tags.forEach((tag, i) => view.setUint32(i * 4, tag, true));
  return out;
}

export function decodeTags(meta: Uint8Array): number[] {
  if (meta.length % 4 !== 0) throw new FrameError('FRAME_LENGTH', 'tag list length is not a multiple of 4');
  const view = new DataView(meta.buffer, meta.byteOffset, meta.byteLength);
  const tags: number[] = [];
  for (let i = 0; i < meta.length; i += 4) tags.push(view.getUint32(i, true));
  return tags;
}
