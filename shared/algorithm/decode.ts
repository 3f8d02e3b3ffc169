/**
 * Decoding at the algorithm's boundary: every payload that arrives from another peer is
 * decoded against the expected vector length and checked for non-finite values, so a bad
 * peer's bytes can never poison a model.
 */
import { CodecError, type Compressor } from '../compress/types.ts';

export function decodeChecked(compressor: Compressor, payload: Uint8Array, length: number): Float32Array {
  const vector = compressor.decode(payload, length);
  if (vector.length !== length) {
    throw new CodecError('LENGTH_MISMATCH', `decoded ${vector.length} values, expected ${length}`);
  }
  for (let i = 0; i < vector.length; i++) {
    if (!Number.isFinite(vector[i])) {
      throw new CodecError('MALFORMED', `decoded a non-finite value at index ${i}`);
    }
  }
  return vector;
}

/**
 * decodeChecked into the caller's `out` (its length the expected one), for a vector reused
 * round after round (Compressor.decodeInto); returns out. On a CodecError out's contents are
 * unspecified: a caller must not use them.
 */
export function decodeCheckedInto(
  compressor: Compressor,
  payload: Uint8Array,
  out: Float32Array,
): Float32Array {
  compressor.decodeInto(payload, out);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) {
      throw new CodecError('MALFORMED', `decoded a non-finite value at index ${i}`);
    }
  }
  return out;
}

/**
 * decodeCheckedInto, returning also where a sparse codec put its values (Compressor.decodeSparseInto:
 * ascending, each once, every other entry zero), or null when the codec is dense. Only those
 * positions can be non-finite, so only they are checked.
 */
export function decodeCheckedSparseInto(
  compressor: Compressor,
  payload: Uint8Array,
  out: Float32Array,
): Uint32Array | null {
  if (compressor.decodeSparseInto === undefined) {
    decodeCheckedInto(compressor, payload, out);
    return null;
  }
  const support = compressor.decodeSparseInto(payload, out);
  for (let j = 0; j < support.length; j++) {
    const i = support[j] as number;
    if (!Number.isFinite(out[i]))
      throw new CodecError('MALFORMED', `decoded a non-finite value at index ${i}`);
  }
  return support;
}
