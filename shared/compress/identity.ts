/**
 * identity: the vector as float32, little-endian. Body: d x f32. Bytes: 5 + 4d.
 *
 * @example
 * const c = createIdentity();
 * c.decode(c.encode(x), x.length); // equal to x, bit for bit
 */
import { ByteWriter, HEADER_BYTES, decodeFresh, readHeader, writeHeader } from './bytes.ts';
import { assertFinite } from './finite.ts';
import { CodecError, CodecId, type Compressor } from './types.ts';

export function createIdentity(): Compressor {
  const decodeInto = (payload: Uint8Array, out: Float32Array): Float32Array => {
    const { length, reader } = readHeader(payload, CodecId.identity, out.length);
    reader.expectRemaining(4 * length);
    new Uint8Array(out.buffer, out.byteOffset, 4 * length).set(reader.take(4 * length));
    let acc = 0;
    for (let i = 0; i < length; i++) {
      const v = out[i]!;
      acc += v - v; // NaN for NaN or Inf
    }
    if (acc !== 0) throw new CodecError('MALFORMED', 'payload holds a non-finite value');
    return out;
  };
  return {
    spec: 'identity',
    unbiased: true,
    encode(x: Float32Array): Uint8Array {
      assertFinite(x);
      const w = new ByteWriter(HEADER_BYTES + 4 * x.length);
      writeHeader(w, CodecId.identity, x.length);
      w.array(x);
      return w.finish();
    },
    decode: (payload, expectedLength) => decodeFresh(payload, CodecId.identity, expectedLength, decodeInto),
    decodeInto,
  };
}
