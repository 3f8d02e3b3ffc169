/**
 * randk:R: k = max(1, ceil(R d)) positions drawn uniformly without replacement from the
 * seed, values scaled by d / k, so E[decode(encode(x))] = x. The positions are not sent:
 * the payload carries the seed and the receiver draws the same ones.
 * Body: u32 seed, u32 k, k x f32 raw values x_i (the decoder multiplies by d / k and
 * clamps to the float32 range). Bytes: 13 + 4k.
 *
 * @example
 * const c = createRandK({ ratio: 0.01 });
 * const approx = c.decode(c.encode(g, 7), g.length); // unbiased estimate of g
 */
import { mixSeed } from '../random.ts';
import { ByteWriter, HEADER_BYTES, decodeFresh, float32View, readHeader, writeHeader } from './bytes.ts';
import { assertFinite, clampFloat32 } from './finite.ts';
import { sampleIndices } from './sample.ts';
import { sparseCount } from './select.ts';
import { CodecError, CodecId, type Compressor } from './types.ts';

export interface RandKInit {
  /** Fraction of entries kept, in (0, 1]. */
  ratio: number;
}

/** The positions a payload with this seed covers (mixed with the codec id, so a seed reused elsewhere differs). */
function positions(d: number, k: number, seed: number): Uint32Array {
  return sampleIndices(d, k, mixSeed(seed, CodecId.randk));
}

export function createRandK(init: RandKInit): Compressor {
  const { ratio } = init;
  const decodeInto = (payload: Uint8Array, out: Float32Array): Float32Array => {
    const { length: d, reader } = readHeader(payload, CodecId.randk, out.length);
    const seed = reader.u32();
    const k = reader.u32();
    if (k > d || (k === 0 && d > 0)) throw new CodecError('MALFORMED', `k = ${k} for d = ${d}`);
    reader.expectRemaining(4 * k);
    const values = float32View(reader.take(4 * k));
    const at = positions(d, k, seed);
    const gain = d / k;
    out.fill(0); // a sparse payload: what it does not set is zero
    let acc = 0;
    for (let j = 0; j < k; j++) {
      const v = values[j]!;
      acc += v - v;
      out[at[j]!] = clampFloat32(v * gain);
    }
    if (acc !== 0) throw new CodecError('MALFORMED', 'non-finite value');
    return out;
  };
  return {
    spec: `randk:${ratio}`,
    unbiased: true,
    encode(x: Float32Array, seed = 0): Uint8Array {
      assertFinite(x);
      const d = x.length;
      const k = sparseCount(ratio, d);
      const wireSeed = seed >>> 0;
      const at = positions(d, k, wireSeed);
      const values = new Float32Array(k);
      for (let j = 0; j < k; j++) values[j] = x[at[j]!]!;
      const w = new ByteWriter(HEADER_BYTES + 8 + 4 * k);
      writeHeader(w, CodecId.randk, d);
      w.u32(wireSeed);
      w.u32(k);
      w.array(values);
      return w.finish();
    },
    decode: (payload, expectedLength) => decodeFresh(payload, CodecId.randk, expectedLength, decodeInto),
    decodeInto,
  };
}
