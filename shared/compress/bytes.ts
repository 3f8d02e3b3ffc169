/**
 * Byte-level helpers shared by every codec: the 5-byte payload header, a bounds-checked
 * little-endian writer and reader, aligned typed-array views over payload sections, and
 * the length limit. All multi-byte fields on the wire are little-endian.
 *
 * @example
 * const w = new ByteWriter(HEADER_BYTES + 4);
 * writeHeader(w, CodecId.identity, 1);
 * w.f32(0.5);
 * const r = readHeader(w.finish(), CodecId.identity, 1); // r.reader.f32() === 0.5
 */
import { CodecError, CodecId, type CodecName } from './types.ts';

/** Codec id (1 byte) + vector length (uint32 LE). */
export const HEADER_BYTES = 5;

/**
 * Largest vector length a decoder accepts (2^28 values, 1 GiB as float32), so a corrupted
 * length field is MALFORMED instead of an allocation failure.
 */
export const MAX_DECODE_LENGTH = 2 ** 28;

// The fast paths copy typed arrays byte for byte, which matches the little-endian wire
// format only on little-endian hosts (every platform Node and browsers run on today).
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('shared/compress requires a little-endian host');
}

/** Writes fields sequentially into a payload whose exact size is known up front. */
export class ByteWriter {
  readonly bytes: Uint8Array;
  private readonly view: DataView;
  pos = 0;

  constructor(size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
  }
  u8(v: number): void {
    this.view.setUint8(this.pos, v);
    this.pos += 1;
  }
  i16(v: number): void {
    this.view.setInt16(this.pos, v, true);
    this.pos += 2;
  }
  u32(v: number): void {
    this.view.setUint32(this.pos, v, true);
    this.pos += 4;
  }
  f32(v: number): void {
    this.view.setFloat32(this.pos, v, true);
    this.pos += 4;
  }
  f64(v: number): void {
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }
  /** Copies the raw bytes of a typed array (host order = little-endian). */
  array(a: ArrayBufferView): void {
    this.bytes.set(new Uint8Array(a.buffer, a.byteOffset, a.byteLength), this.pos);
    this.pos += a.byteLength;
  }
  /** Returns the payload; a size mismatch here is a bug in the codec, not bad input. */
  finish(): Uint8Array {
    if (this.pos !== this.bytes.length) {
      throw new Error(`codec wrote ${this.pos} bytes into a ${this.bytes.length}-byte payload`);
    }
    return this.bytes;
  }
}

/** Reads fields sequentially; running past the end is TRUNCATED. */
export class ByteReader {
  private readonly view: DataView;
  pos: number;

  constructor(
    readonly bytes: Uint8Array,
    pos = 0,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = pos;
  }
  get remaining(): number {
    return this.bytes.length - this.pos;
  }
  /** Throws TRUNCATED unless n more bytes are available. */
  need(n: number): void {
    if (n > this.remaining) {
      throw new CodecError('TRUNCATED', `need ${n} more bytes at offset ${this.pos}, have ${this.remaining}`);
    }
  }
  u8(): number {
    this.need(1);
    return this.view.getUint8(this.pos++);
  }
  i16(): number {
    this.need(2);
    const v = this.view.getInt16(this.pos, true);
    this.pos += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f32(): number {
    this.need(4);
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }
  f64(): number {
    this.need(8);
    const v = this.view.getFloat64(this.pos, true);
    this.pos += 8;
    return v;
  }
  /** The next n bytes as a view (no copy). */
  take(n: number): Uint8Array {
    this.need(n);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  /** Throws MALFORMED if bytes are left over (trailing garbage). */
  end(): void {
    if (this.remaining !== 0) {
      throw new CodecError('MALFORMED', `${this.remaining} trailing bytes after the body`);
    }
  }
  /** Throws TRUNCATED if fewer than n bytes remain, MALFORMED if more do. */
  expectRemaining(n: number): void {
    this.need(n);
    if (this.remaining !== n) {
      throw new CodecError('MALFORMED', `${this.remaining - n} trailing bytes after the body`);
    }
  }
}

/** Writes byte 0 (codec id) and bytes 1..4 (vector length). */
export function writeHeader(w: ByteWriter, id: number, length: number): void {
  if (length > 0xffffffff) throw new RangeError(`vector length ${length} does not fit the uint32 header`);
  w.u8(id);
  w.u32(length);
}

function isCodecName(name: string): name is CodecName {
  return Object.hasOwn(CodecId, name);
}
const codecNames = new Map<number, CodecName>();
for (const name of Object.keys(CodecId)) if (isCodecName(name)) codecNames.set(CodecId[name], name);

/** Reads and validates the header of any payload. */
export function peekHeader(payload: Uint8Array): { codec: CodecName; length: number } {
  if (payload.length < HEADER_BYTES) {
    throw new CodecError('TRUNCATED', `payload of ${payload.length} bytes is shorter than its header`);
  }
  const id = payload[0] ?? 0;
  const codec = codecNames.get(id);
  if (codec === undefined) throw new CodecError('WRONG_CODEC', `unknown codec id ${id}`);
  const length = new DataView(payload.buffer, payload.byteOffset + 1, 4).getUint32(0, true);
  return { codec, length };
}

/** Validates the header against the decoding codec and expected length; returns a body reader. */
export function readHeader(
  payload: Uint8Array,
  id: number,
  expectedLength: number | undefined,
): { length: number; reader: ByteReader } {
  const { codec, length } = peekHeader(payload);
  if (CodecId[codec] !== id) {
    throw new CodecError(
      'WRONG_CODEC',
      `payload is ${codec} (id ${CodecId[codec]}), decoder expects id ${id}`,
    );
  }
  if (expectedLength !== undefined && length !== expectedLength) {
    throw new CodecError('LENGTH_MISMATCH', `payload holds ${length} values, expected ${expectedLength}`);
  }
  if (length > MAX_DECODE_LENGTH) {
    throw new CodecError('MALFORMED', `vector length ${length} exceeds ${MAX_DECODE_LENGTH}`);
  }
  return { length, reader: new ByteReader(payload, HEADER_BYTES) };
}

/**
 * A codec's decode(): the header checked against the codec and expectedLength, then a fresh
 * vector of its length filled by the codec's decodeInto (so the two cannot differ).
 */
export function decodeFresh(
  payload: Uint8Array,
  id: number,
  expectedLength: number | undefined,
  decodeInto: (payload: Uint8Array, out: Float32Array) => Float32Array,
): Float32Array {
  return decodeInto(payload, new Float32Array(readHeader(payload, id, expectedLength).length));
}

/** A Float32Array over `bytes` (copied only when its offset is not 4-aligned). */
export function float32View(bytes: Uint8Array): Float32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >>> 2);
}

/** A Uint32Array over `bytes` (copied only when its offset is not 4-aligned). */
export function uint32View(bytes: Uint8Array): Uint32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >>> 2);
}

/** A Uint16Array over `bytes` (copied only when its offset is not 2-aligned). */
export function uint16View(bytes: Uint8Array): Uint16Array {
  const aligned = bytes.byteOffset % 2 === 0 ? bytes : bytes.slice();
  return new Uint16Array(aligned.buffer, aligned.byteOffset, aligned.byteLength >>> 1);
}

/** The raw bits of a float vector, for sign tests and integer-domain conversions. */
export function bitsOf(x: Float32Array): Uint32Array {
  return new Uint32Array(x.buffer, x.byteOffset, x.length);
}
