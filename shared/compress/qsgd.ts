/**
 * qsgd:S: QSGD with S levels. With n = ||x||_2, each |x_i| / n * S is rounded down or up
 * to a neighbouring integer level l_i at random (up with probability equal to the
 * fractional part), so E[sign(x_i) l_i n / S] = x_i: unbiased.
 * Body: u32 S, f64 norm (float64 because ||x|| of float32 values can exceed float32's
 * range), then per value a field of bits(S) level bits and a sign bit above them,
 * packed least significant bit first, zero padded. bits(S) = ceil(log2(S + 1)).
 * Bytes: 17 + ceil(d (bits(S) + 1) / 8). Decoded values are clamped to the float32 range.
 *
 * @example
 * const c = createQsgd({ levels: 4 });
 * c.decode(c.encode(g, 3), g.length); // unbiased, 4 bits a value
 */
import { createRng, mixSeed } from '../random.ts';
import { ByteWriter, HEADER_BYTES, bitsOf, decodeFresh, readHeader, writeHeader } from './bytes.ts';
import { FLOAT32_MAX, checkScale, clampFloat32, throwNonFinite } from './finite.ts';
import { CodecError, CodecId, type Compressor } from './types.ts';

export interface QsgdInit {
  /** Number of nonzero levels S, 1..MAX_QSGD_LEVELS. */
  levels: number;
}

/** Largest S accepted (16 level bits + 1 sign bit per value). */
export const MAX_QSGD_LEVELS = 65535;

/** Bits for a level in 0..S. */
export function levelBits(levels: number): number {
  return 32 - Math.clz32(levels);
}

export function createQsgd(init: QsgdInit): Compressor {
  const { levels } = init;
  const lb = levelBits(levels);
  const decodeInto = (payload: Uint8Array, out: Float32Array): Float32Array => {
    const { length: d, reader } = readHeader(payload, CodecId.qsgd, out.length);
    const wireLevels = reader.u32();
    if (wireLevels < 1 || wireLevels > MAX_QSGD_LEVELS) {
      throw new CodecError('MALFORMED', `QSGD level count ${wireLevels}`);
    }
    const norm = checkScale(reader.f64(), 'norm');
    const wireLb = levelBits(wireLevels);
    const width = wireLb + 1;
    reader.expectRemaining(Math.ceil((d * width) / 8));
    const unit = norm / wireLevels;
    const levelMask = (1 << wireLb) - 1;
    const fieldMask = (1 << width) - 1;
    const clamp = wireLevels * unit > FLOAT32_MAX;
    let p = reader.pos;
    let acc = 0;
    let n = 0;
    let maxLevel = 0;
    for (let i = 0; i < d; i++) {
      while (n < width) {
        acc |= payload[p++]! << n; // n < width <= 17: stays below 2^31
        n += 8;
      }
      const field = acc & fieldMask;
      acc >>>= width;
      n -= width;
      const level = field & levelMask;
      if (level > maxLevel) maxLevel = level;
      out[i] = level * unit * (1 - 2 * (field >>> wireLb)); // no branch on the sign
    }
    if (maxLevel > wireLevels) throw new CodecError('MALFORMED', `level ${maxLevel} above ${wireLevels}`);
    if (acc !== 0) throw new CodecError('MALFORMED', 'non-zero padding bits');
    if (clamp) for (let i = 0; i < d; i++) out[i] = clampFloat32(out[i]!);
    return out;
  };
  return {
    spec: `qsgd:${levels}`,
    unbiased: true,
    encode(x: Float32Array, seed = 0): Uint8Array {
      const d = x.length;
      let sumSquares = 0;
      for (let i = 0; i < d; i++) sumSquares += x[i]! * x[i]!;
      if (!Number.isFinite(sumSquares)) throwNonFinite(x);
      const norm = Math.sqrt(sumSquares);
      const perNorm = norm > 0 ? levels / norm : 0;
      const width = lb + 1;
      const w = new ByteWriter(HEADER_BYTES + 12 + Math.ceil((d * width) / 8));
      writeHeader(w, CodecId.qsgd, d);
      w.u32(levels);
      w.f64(norm);
      const out = w.bytes;
      let p = w.pos;
      const u = bitsOf(x);
      // The rounding coins: mulberry32 inlined (a closure call per value costs 3x more),
      // its state drawn from the project's seeded RNG.
      let state = createRng(mixSeed(seed >>> 0, CodecId.qsgd)).int(2 ** 32) | 0;
      let acc = 0;
      let n = 0;
      for (let i = 0; i < d; i++) {
        state = (state + 0x6d2b79f5) | 0;
        let z = Math.imul(state ^ (state >>> 15), state | 1);
        z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
        const coin = ((z ^ (z >>> 14)) >>> 0) * 2 ** -32;
        // floor(r + coin) is floor(r) + 1 with probability frac(r): stochastic rounding
        // without a data-dependent branch.
        let level = (Math.abs(x[i]!) * perNorm + coin) | 0;
        if (level > levels) level = levels; // only float noise can get here
        // sign bit only on nonzero levels: (0 - level) >>> 31 is 1 exactly when level > 0
        acc |= (level | (((u[i]! >>> 31) & ((0 - level) >>> 31)) << lb)) << n;
        n += width;
        while (n >= 8) {
          out[p++] = acc & 0xff;
          acc >>>= 8;
          n -= 8;
        }
      }
      if (n > 0) out[p++] = acc & 0xff;
      w.pos = p;
      return w.finish();
    },
    decode: (payload, expectedLength) => decodeFresh(payload, CodecId.qsgd, expectedLength, decodeInto),
    decodeInto,
  };
}
