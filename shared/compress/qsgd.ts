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
import { BitReader, BitWriter } from './bits.ts';
import {
  ByteWriter,
  HEADER_BYTES,
  checkScale,
  clampFloat32,
  readHeader,
  throwNonFinite,
  writeHeader,
} from './bytes.ts';
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
      const rng = createRng(mixSeed(seed >>> 0, CodecId.qsgd));
      const width = lb + 1;
      const w = new ByteWriter(HEADER_BYTES + 12 + Math.ceil((d * width) / 8));
      writeHeader(w, CodecId.qsgd, d);
      w.u32(levels);
      w.f64(norm);
      const bits = new BitWriter(w.bytes, w.pos);
      const signBit = 1 << lb;
      for (let i = 0; i < d; i++) {
        const v = x[i]!;
        const r = Math.abs(v) * perNorm;
        let level = Math.floor(r);
        if (rng.next() < r - level) level++;
        if (level > levels) level = levels; // only float noise can get here
        bits.write(level === 0 ? 0 : v < 0 ? level | signBit : level, width);
      }
      bits.flush();
      w.pos = bits.pos;
      return w.finish();
    },
    decode(payload: Uint8Array, expectedLength?: number): Float32Array {
      const { length: d, reader } = readHeader(payload, CodecId.qsgd, expectedLength);
      const wireLevels = reader.u32();
      if (wireLevels < 1 || wireLevels > MAX_QSGD_LEVELS) {
        throw new CodecError('MALFORMED', `QSGD level count ${wireLevels}`);
      }
      const norm = checkScale(reader.f64(), 'norm');
      const wireLb = levelBits(wireLevels);
      const width = wireLb + 1;
      reader.expectRemaining(Math.ceil((d * width) / 8));
      const unit = norm / wireLevels;
      const bits = new BitReader(payload, reader.pos, payload.length);
      const levelMask = (1 << wireLb) - 1;
      const out = new Float32Array(d);
      for (let i = 0; i < d; i++) {
        const field = bits.read(width);
        const level = field & levelMask;
        if (level > wireLevels) throw new CodecError('MALFORMED', `level ${level} above ${wireLevels}`);
        const magnitude = level * unit;
        out[i] = clampFloat32(field > levelMask ? -magnitude : magnitude);
      }
      bits.finish();
      return out;
    },
  };
}
