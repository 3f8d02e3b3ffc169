/**
 * The chunk format and the reassembler, without WebRTC: round trips over many sizes, each
 * malformed-stream rule with its code, and random garbage that must only ever produce a coded
 * TransportError.
 */

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CHUNK_FLAG_FIRST,
  CHUNK_FLAG_LAST,
  chunkedSize,
  decodeChunkHeader,
  encodeChunks,
  FIRST_CHUNK_HEADER_BYTES,
  GOODBYE_FRAME_BYTE,
  isGoodbyeFrame,
  MIN_CHUNK_BYTES,
} from '../../client/transport/chunk-codec.ts';
import { stampChunk } from '../../client/transport/shaping.ts';
import { TransportError, type TransportErrorCode } from '../../client/transport/errors.ts';
import { Reassembler } from '../../client/transport/reassembler.ts';
import { pattern } from './helpers.ts';

function feed(reassembler: Reassembler, chunks: Iterable<Uint8Array>): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const chunk of chunks) {
    const message = reassembler.push(chunk);
    if (message) out.push(message);
  }
  return out;
}

function rawChunk(flags: number, id: number, total: number | undefined, payload: number[]): Uint8Array {
  const header = total === undefined ? 5 : 9;
  const chunk = new Uint8Array(header + payload.length);
  const view = new DataView(chunk.buffer);
  view.setUint8(0, flags);
  view.setUint32(1, id);
  if (total !== undefined) view.setUint32(5, total);
  chunk.set(payload, header);
  return chunk;
}

function assertCode(fn: () => unknown, code: TransportErrorCode, label: string = code): void {
  assert.throws(fn, (err: unknown) => err instanceof TransportError && err.code === code, label);
}

test('messages of many sizes round-trip through encode and reassembly, ids in sequence', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 0, max: 5000 }), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 16, max: 700 }),
      (sizes, chunkBytes) => {
        const reassembler = new Reassembler(1 << 20);
        sizes.forEach((size, id) => {
          const message = pattern(size, id);
          const chunks = [...encodeChunks(id, message, chunkBytes)];
          assert.ok(chunks.every((c) => c.byteLength <= chunkBytes && c.byteOffset === 0));
          const expected = chunkedSize(size, chunkBytes);
          assert.equal(chunks.length, expected.chunks);
          assert.equal(
            chunks.reduce((sum, c) => sum + c.byteLength, 0),
            expected.wireBytes,
          );
          const out = feed(reassembler, chunks);
          assert.equal(out.length, 1);
          assert.deepEqual(out[0], message);
        });
        assert.equal(reassembler.inProgress, false);
      },
    ),
  );
});

test('an empty message is a single FIRST|LAST chunk', () => {
  const chunks = [...encodeChunks(0, new Uint8Array(0), 64)];
  assert.equal(chunks.length, 1);
  const header = decodeChunkHeader(chunks[0] ?? new Uint8Array());
  assert.deepEqual([header.first, header.last, header.totalLength], [true, true, 0]);
  assert.equal(feed(new Reassembler(10), chunks)[0]?.byteLength, 0);
});

test('each broken rule of the chunk stream has its code', () => {
  const F = CHUNK_FLAG_FIRST;
  const L = CHUNK_FLAG_LAST;
  const cases: [string, Uint8Array[], TransportErrorCode][] = [
    ['shorter than a header', [new Uint8Array([F, 0, 0])], 'ERR_MALFORMED_CHUNK'],
    ['first chunk without length', [new Uint8Array([F, 0, 0, 0, 0, 1])], 'ERR_MALFORMED_CHUNK'],
    ['unknown flag bits', [rawChunk(0x80 | F | L, 0, 1, [1])], 'ERR_MALFORMED_CHUNK'],
    ['continuation first', [rawChunk(L, 0, undefined, [1])], 'ERR_MALFORMED_CHUNK'],
    ['skipped message id', [rawChunk(F | L, 1, 1, [1])], 'ERR_MALFORMED_CHUNK'],
    ['started twice', [rawChunk(F, 0, 4, [1]), rawChunk(F, 0, 4, [1])], 'ERR_MALFORMED_CHUNK'],
    ['other id mid-message', [rawChunk(F, 0, 4, [1]), rawChunk(L, 1, undefined, [1])], 'ERR_MALFORMED_CHUNK'],
    [
      'overflows its length',
      [rawChunk(F, 0, 2, [1]), rawChunk(L, 0, undefined, [1, 2])],
      'ERR_MALFORMED_CHUNK',
    ],
    ['last chunk early', [rawChunk(F, 0, 3, [1]), rawChunk(L, 0, undefined, [1])], 'ERR_MALFORMED_CHUNK'],
    ['bytes past its length', [rawChunk(F, 0, 1, [1])], 'ERR_MALFORMED_CHUNK'],
    ['empty continuation', [rawChunk(F, 0, 2, [1]), rawChunk(0, 0, undefined, [])], 'ERR_MALFORMED_CHUNK'],
    ['announced length over the limit', [rawChunk(F, 0, 101, [1])], 'ERR_MESSAGE_TOO_LARGE'],
  ];
  for (const [name, chunks, code] of cases) {
    const reassembler = new Reassembler(100);
    const last = chunks.pop() ?? new Uint8Array();
    feed(reassembler, chunks);
    assertCode(() => reassembler.push(last), code, name);
  }
});

test('random garbage only ever yields a coded TransportError, never another exception', () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 8 }), (chunks) => {
      const reassembler = new Reassembler(1 << 16);
      try {
        feed(reassembler, chunks);
      } catch (err) {
        assert.ok(err instanceof TransportError);
        assert.ok(err.code === 'ERR_MALFORMED_CHUNK' || err.code === 'ERR_MESSAGE_TOO_LARGE', err.code);
      }
    }),
  );
});

test('encodeChunks refuses a chunk size that cannot hold a header', () => {
  assertCode(() => [...encodeChunks(0, new Uint8Array(4), FIRST_CHUNK_HEADER_BYTES)], 'ERR_INVALID_OPTION');
});

test('the goodbye frame is one byte that no chunk, stamped or not, can be', () => {
  assert.equal(isGoodbyeFrame(new Uint8Array([GOODBYE_FRAME_BYTE])), true);
  assert.equal(isGoodbyeFrame(new Uint8Array([GOODBYE_FRAME_BYTE, 0])), false);
  assert.equal(isGoodbyeFrame(new Uint8Array([0])), false);
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 64 }),
      fc.integer({ min: MIN_CHUNK_BYTES, max: 80 }),
      (message, size) => {
        for (const chunk of encodeChunks(7, message, size)) {
          assert.equal(isGoodbyeFrame(chunk), false);
          assert.equal(isGoodbyeFrame(stampChunk(chunk, 3)), false);
        }
      },
    ),
  );
});
