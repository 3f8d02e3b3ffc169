/**
 * The compressor contract. A compressor turns a dense Float32Array into a compact,
 * self-describing binary payload and back. Pure: no network, no TF.js.
 *
 * Payload layout (every codec): byte 0 is the codec id (see CodecId), bytes 1..4 the
 * vector length as uint32 little-endian, then the codec's own body. decode() checks
 * the id and the length before reading the body, so a payload for another codec, a
 * truncated payload or one for another vector size gives a CodecError, never garbage.
 *
 * @example
 * const topk = parseCompressor('topk:0.01');
 * const payload = topk.encode(gradient, seed);   // Uint8Array, payload.byteLength exact wire bytes
 * const approx = topk.decode(payload, gradient.length);
 * const reused = new Float32Array(gradient.length);          // the caller's, kept across rounds
 * topk.decodeInto(payload, reused);                           // the same values, no allocation
 */

/** Stable one-byte ids written at the start of every payload. */
export const CodecId = {
  identity: 1,
  fp16: 2,
  topk: 3,
  randk: 4,
  sign: 5,
  qsgd: 6,
  q8: 7,
  q4: 8,
} as const;
export type CodecName = keyof typeof CodecId;

/** Stable failure codes; tests assert on these, not on message text. */
export type CodecErrorCode =
  | 'NON_FINITE_INPUT' // NaN or Inf in the vector to encode
  | 'TRUNCATED' // payload shorter than its header or body says
  | 'WRONG_CODEC' // payload written by another codec
  | 'LENGTH_MISMATCH' // payload's vector length differs from the expected one
  | 'MALFORMED' // body inconsistent (index out of range, bad parameter, trailing bytes)
  | 'BAD_SPEC'; // unparseable compressor spec string

export class CodecError extends Error {
  readonly code: CodecErrorCode;
  constructor(code: CodecErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'CodecError';
    this.code = code;
  }
}

export interface Compressor {
  /** Canonical spec string, as accepted by parseCompressor (e.g. "topk:0.01"). */
  readonly spec: string;
  /** True when E[decode(encode(x))] = x (identity, random-k scaled, QSGD). */
  readonly unbiased: boolean;
  /**
   * Encodes x. Random codecs draw from `seed` only, so the same (x, seed) gives the same
   * bytes. Throws CodecError('NON_FINITE_INPUT') on NaN or Inf.
   */
  encode(x: Float32Array, seed?: number): Uint8Array;
  /**
   * Decodes a payload into a new dense vector. Throws CodecError on any malformed input;
   * with expectedLength, also when the payload's vector length differs.
   */
  decode(payload: Uint8Array, expectedLength?: number): Float32Array;
  /**
   * Decodes a payload into the caller's `out` and returns it: bit for bit what decode() would
   * return, without allocating a model-sized vector. out.length is the expected length
   * (LENGTH_MISMATCH otherwise). Every entry is written, those a sparse codec does not send
   * as zeros, so nothing of what out held before survives. On a CodecError out's contents
   * are unspecified. `out` may be a view (subarray) of a larger buffer.
   */
  decodeInto(payload: Uint8Array, out: Float32Array): Float32Array;
  /**
   * Sparse codecs (top-k): decodeInto, returning where the payload put its values, ascending
   * and each once; every other entry of `out` is zero. A caller can then add, average or
   * check the vector in O(k) instead of O(d). Dense codecs leave it undefined.
   */
  decodeSparseInto?(payload: Uint8Array, out: Float32Array): Uint32Array;
}
