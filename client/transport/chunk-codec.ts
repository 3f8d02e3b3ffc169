/**
 * The chunk format that carries messages of any size over a data channel whose messages are
 * limited (max-message-size, and 64 KiB is the fast size on the Node binding).
 *
 * Every chunk starts with a small header (big-endian):
 *   u8  flags       bit 0 FIRST, bit 1 LAST, other bits must be 0
 *   u32 messageId   increments by one per message on a link (wraps at 2^32)
 *   u32 totalLength only when FIRST: the payload length of the whole message
 * followed by a slice of the message payload. A message of length 0 is one FIRST|LAST chunk.
 *
 * @example
 * for (const chunk of encodeChunks(7, message, 65536)) channel.send(chunk);
 * const header = decodeChunkHeader(chunk); // throws TransportError ERR_MALFORMED_CHUNK
 */

import { TransportError } from './errors.ts';

export const CHUNK_FLAG_FIRST = 0x01;
export const CHUNK_FLAG_LAST = 0x02;
const KNOWN_FLAGS = CHUNK_FLAG_FIRST | CHUNK_FLAG_LAST;

/** Header size of a chunk that is not the first of its message. */
export const CHUNK_HEADER_BYTES = 5;
/** Header size of the first chunk of a message (adds the total length). */
export const FIRST_CHUNK_HEADER_BYTES = 9;
/** Smallest usable chunk size: a first header plus a few payload bytes. */
export const MIN_CHUNK_BYTES = 16;
/** Largest message the u32 length field can describe. */
export const MAX_ENCODABLE_MESSAGE_BYTES = 0xffff_ffff;

export interface ChunkHeader {
  readonly messageId: number;
  readonly first: boolean;
  readonly last: boolean;
  /** Present only on the first chunk. */
  readonly totalLength: number | undefined;
  /** Where the payload starts inside the chunk. */
  readonly headerBytes: number;
}

/**
 * Splits `message` into chunks of at most `chunkBytes` bytes (header included). Lazy, so a
 * 64 MiB message is never held twice in memory. Each chunk is a fresh Uint8Array with its own
 * ArrayBuffer (byteOffset 0): some bindings ignore the byteOffset of views.
 */
export function* encodeChunks(
  messageId: number,
  message: Uint8Array,
  chunkBytes: number,
): Generator<Uint8Array> {
  if (!Number.isInteger(chunkBytes) || chunkBytes < MIN_CHUNK_BYTES) {
    throw new TransportError('ERR_INVALID_OPTION', `chunk size ${chunkBytes} is below ${MIN_CHUNK_BYTES}`);
  }
  if (message.byteLength > MAX_ENCODABLE_MESSAGE_BYTES) {
    throw new TransportError(
      'ERR_MESSAGE_TOO_LARGE',
      `message of ${message.byteLength} bytes cannot be encoded`,
    );
  }
  const id = messageId >>> 0;
  let offset = 0;
  do {
    const first = offset === 0;
    const headerBytes = first ? FIRST_CHUNK_HEADER_BYTES : CHUNK_HEADER_BYTES;
    const payloadBytes = Math.min(chunkBytes - headerBytes, message.byteLength - offset);
    const last = offset + payloadBytes === message.byteLength;
    const chunk = new Uint8Array(headerBytes + payloadBytes);
    const view = new DataView(chunk.buffer);
    view.setUint8(0, (first ? CHUNK_FLAG_FIRST : 0) | (last ? CHUNK_FLAG_LAST : 0));
    view.setUint32(1, id);
    if (first) view.setUint32(5, message.byteLength);
    chunk.set(message.subarray(offset, offset + payloadBytes), headerBytes);
    offset += payloadBytes;
    yield chunk;
  } while (offset < message.byteLength);
}

/**
 * The goodbye frame: one byte a link sends when it closes, before any native close. The remote
 * stops sending on the link the moment it reads it and closes the channel itself, so no send
 * of the remote races the close (peer-link.ts, #release). Neither chunk flags (bits 0-1) nor a
 * shaping stamp (0x80) can begin a one-byte frame with this value.
 */
export const GOODBYE_FRAME_BYTE = 0x47;

/** True when a data-channel message is the goodbye frame. */
export function isGoodbyeFrame(data: Uint8Array): boolean {
  return data.byteLength === 1 && data[0] === GOODBYE_FRAME_BYTE;
}

/** Number of chunks (and wire bytes) `encodeChunks` produces for a message: for accounting. */
export function chunkedSize(messageBytes: number, chunkBytes: number): { chunks: number; wireBytes: number } {
  const firstPayload = chunkBytes - FIRST_CHUNK_HEADER_BYTES;
  if (messageBytes <= firstPayload) return { chunks: 1, wireBytes: FIRST_CHUNK_HEADER_BYTES + messageBytes };
  const rest = Math.ceil((messageBytes - firstPayload) / (chunkBytes - CHUNK_HEADER_BYTES));
  return { chunks: 1 + rest, wireBytes: messageBytes + FIRST_CHUNK_HEADER_BYTES + rest * CHUNK_HEADER_BYTES };
}

/** Parses and checks a chunk header; throws TransportError('ERR_MALFORMED_CHUNK'). */
export function decodeChunkHeader(chunk: Uint8Array): ChunkHeader {
  if (chunk.byteLength < CHUNK_HEADER_BYTES) {
    throw new TransportError(
      'ERR_MALFORMED_CHUNK',
      `chunk of ${chunk.byteLength} bytes is shorter than a header`,
    );
  }
  const view = new DataView(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  const flags = view.getUint8(0);
  if ((flags & ~KNOWN_FLAGS) !== 0) {
    throw new TransportError('ERR_MALFORMED_CHUNK', `unknown chunk flags 0x${flags.toString(16)}`);
  }
  const first = (flags & CHUNK_FLAG_FIRST) !== 0;
  const last = (flags & CHUNK_FLAG_LAST) !== 0;
  const messageId = view.getUint32(1);
  if (!first) return { messageId, first, last, totalLength: undefined, headerBytes: CHUNK_HEADER_BYTES };
  if (chunk.byteLength < FIRST_CHUNK_HEADER_BYTES) {
    throw new TransportError(
      'ERR_MALFORMED_CHUNK',
      `first chunk of ${chunk.byteLength} bytes lacks its length`,
    );
  }
  return { messageId, first, last, totalLength: view.getUint32(5), headerBytes: FIRST_CHUNK_HEADER_BYTES };
}
