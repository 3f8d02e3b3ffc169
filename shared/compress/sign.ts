/**
 * sign and sign:B: scaled sign. Each value becomes +s or -s (one bit, set for negative,
 * so -0 decodes to -s), where s is the mean |x| of its block: the whole vector for
 * `sign`, B values for `sign:B` (the last block may be shorter). With s = ||x||_1 / n
 * per block, ||C(x) - x||^2 = ||x||^2 - ||x||_1^2 / n <= (1 - 1/n) ||x||^2.
 * Body: u32 B (0 = whole vector), one f32 scale per block, then ceil(d / 8) bytes of
 * sign bits, least significant bit first, zero padded. Bytes: 9 + 4 ceil(d / B) + ceil(d / 8)
 * (one scale when B = 0 and d > 0).
 *
 * @example
 * const c = createSign({ blockSize: 256 });
 * c.decode(c.encode(g), g.length); // entries +-(mean |g| of their block)
 */
import { ByteWriter, HEADER_BYTES, bitsOf, float32View, readHeader, writeHeader } from './bytes.ts';
import { checkScale, throwNonFinite } from './finite.ts';
import { CodecError, CodecId, type Compressor } from './types.ts';

export interface SignInit {
  /** Values per scale; 0 means one scale for the whole vector. @default 0 */
  blockSize?: number;
}

/** Number of scales for d values with block size B (0 = whole vector). */
function blockCount(d: number, blockSize: number): number {
  if (d === 0) return 0;
  return blockSize === 0 ? 1 : Math.ceil(d / blockSize);
}

/**
 * Packs the sign bits of x[start..end) into words (start a multiple of 32) and returns
 * sum |x| over that range: one pass, two accumulators to hide float add latency.
 */
function packSigns(x: Float32Array, u: Uint32Array, words: Uint32Array, start: number, end: number): number {
  let even = 0;
  let odd = 0;
  const fullEnd = start + ((end - start) & ~31);
  for (let base = start; base < fullEnd; base += 32) {
    let word = 0;
    for (let j = 0; j < 32; j += 2) {
      const i = base + j;
      word |= ((u[i]! >>> 31) << j) | ((u[i + 1]! >>> 31) << (j + 1));
      even += Math.abs(x[i]!);
      odd += Math.abs(x[i + 1]!);
    }
    words[base >>> 5] = word;
  }
  let word = 0;
  for (let i = fullEnd; i < end; i++) {
    word |= (u[i]! >>> 31) << (i & 31);
    even += Math.abs(x[i]!);
  }
  if (fullEnd < end) words[fullEnd >>> 5] = word;
  return even + odd;
}

export function createSign(init: SignInit = {}): Compressor {
  const blockSize = init.blockSize ?? 0;
  return {
    spec: blockSize === 0 ? 'sign' : `sign:${blockSize}`,
    unbiased: false,
    encode(x: Float32Array): Uint8Array {
      const d = x.length;
      const block = blockSize === 0 ? Math.max(d, 1) : blockSize;
      const blocks = blockCount(d, blockSize);
      const scales = new Float32Array(blocks);
      const u = bitsOf(x);
      const words = new Uint32Array((d + 31) >>> 5);
      const fused = block % 32 === 0 || blocks === 1; // blocks start on word boundaries
      if (!fused) packSigns(x, u, words, 0, d);
      for (let b = 0; b < blocks; b++) {
        const start = b * block;
        const end = Math.min(d, start + block);
        let sum = 0;
        if (fused) sum = packSigns(x, u, words, start, end);
        else for (let i = start; i < end; i++) sum += Math.abs(x[i]!);
        // A sum of finite float32 magnitudes cannot overflow a double: NaN/Inf show here.
        if (!Number.isFinite(sum)) throwNonFinite(x);
        scales[b] = sum / (end - start);
      }

      const signBytes = (d + 7) >>> 3;
      const w = new ByteWriter(HEADER_BYTES + 4 + 4 * blocks + signBytes);
      writeHeader(w, CodecId.sign, d);
      w.u32(blockSize);
      w.array(scales);
      w.array(new Uint8Array(words.buffer, 0, signBytes));
      return w.finish();
    },
    decode(payload: Uint8Array, expectedLength?: number): Float32Array {
      const { length: d, reader } = readHeader(payload, CodecId.sign, expectedLength);
      const wireBlockSize = reader.u32();
      const block = wireBlockSize === 0 ? Math.max(d, 1) : wireBlockSize;
      const blocks = blockCount(d, wireBlockSize);
      const signBytes = (d + 7) >>> 3;
      reader.expectRemaining(4 * blocks + signBytes);
      const scales = float32View(reader.take(4 * blocks));
      const signs = reader.take(signBytes);
      if ((d & 7) !== 0 && signs[signBytes - 1]! >>> (d & 7) !== 0) {
        throw new CodecError('MALFORMED', 'non-zero padding bits');
      }
      const out = new Float32Array(d);
      for (let b = 0; b < blocks; b++) {
        const s = checkScale(scales[b]!, `scale of block ${b}`);
        const twice = 2 * s;
        const end = Math.min(d, (b + 1) * block);
        for (let i = b * block; i < end; i++) out[i] = s - twice * ((signs[i >>> 3]! >>> (i & 7)) & 1);
      }
      return out;
    },
  };
}
