/**
 * Rebuilds messages from the chunks of one link, in order, and rejects anything that breaks the
 * chunk format: bad headers, a chunk of another message in the middle of one, a skipped
 * message id (which is how a silently dropped message shows up), payloads longer or shorter
 * than announced, or an announced length over the limit. Pure: no I/O, easy to fuzz.
 *
 * @example
 * const reassembler = new Reassembler(64 * 1024 * 1024);
 * const message = reassembler.push(chunk); // Uint8Array when complete, else undefined
 */

import { decodeChunkHeader } from './chunk-codec.ts';
import { TransportError } from './errors.ts';

interface PartialMessage {
  readonly id: number;
  readonly buffer: Uint8Array;
  filled: number;
}

export class Reassembler {
  readonly #maxMessageBytes: number;
  #expectedId = 0;
  #partial: PartialMessage | undefined;

  constructor(maxMessageBytes: number) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** True while a message has started but not finished. */
  get inProgress(): boolean {
    return this.#partial !== undefined;
  }

  /**
   * Consumes one chunk. Returns the complete message when this chunk was its last one.
   * Throws TransportError ERR_MALFORMED_CHUNK or ERR_MESSAGE_TOO_LARGE; after a throw the
   * stream is unusable and the caller must close the link.
   */
  push(chunk: Uint8Array): Uint8Array | undefined {
    const header = decodeChunkHeader(chunk);
    if (header.messageId !== this.#expectedId) {
      throw new TransportError(
        'ERR_MALFORMED_CHUNK',
        `chunk of message ${header.messageId} while expecting message ${this.#expectedId}`,
      );
    }
    const payload = chunk.subarray(header.headerBytes);
    let partial = this.#partial;
    if (header.totalLength !== undefined) {
      if (partial)
        throw new TransportError('ERR_MALFORMED_CHUNK', `message ${header.messageId} started twice`);
      if (header.totalLength > this.#maxMessageBytes) {
        throw new TransportError(
          'ERR_MESSAGE_TOO_LARGE',
          `incoming message of ${header.totalLength} bytes exceeds the limit of ${this.#maxMessageBytes}`,
        );
      }
      partial = { id: header.messageId, buffer: new Uint8Array(header.totalLength), filled: 0 };
    } else {
      if (!partial)
        throw new TransportError('ERR_MALFORMED_CHUNK', `message ${header.messageId} has no first chunk`);
      if (payload.byteLength === 0)
        throw new TransportError('ERR_MALFORMED_CHUNK', 'empty continuation chunk');
    }
    const remaining = partial.buffer.byteLength - partial.filled;
    if (payload.byteLength > remaining) {
      throw new TransportError('ERR_MALFORMED_CHUNK', `message ${partial.id} overflows its announced length`);
    }
    partial.buffer.set(payload, partial.filled);
    partial.filled += payload.byteLength;
    const complete = partial.filled === partial.buffer.byteLength;
    if (header.last !== complete) {
      throw new TransportError(
        'ERR_MALFORMED_CHUNK',
        `message ${partial.id}: ${header.last ? 'last chunk arrived early' : 'bytes continue past its length'}`,
      );
    }
    if (!complete) {
      this.#partial = partial;
      return undefined;
    }
    this.#partial = undefined;
    this.#expectedId = (this.#expectedId + 1) >>> 0;
    return partial.buffer;
  }
}
