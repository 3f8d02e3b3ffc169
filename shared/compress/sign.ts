/**
 * sign and sign:B: scaled sign. Each value becomes +s or -s (one bit, set for negative,
 * so -0 decodes to -s), where s is the mean |x| of its block: the whole vector for
 * `sign`, B values for `sign:B` (the last block may be shorter). With s = ||x||_1 / n
 * per block, ||C(x) - x||^2 = ||x||^2 - ||x||_1^2 / n <= (1 - 1/n) ||x||^2.
 * Body: u32 B (0 = whole vector), one f32 scale per block, then ceil(d / 8) bytes of
 * sign bits, least significant bit first, zero padded. Bytes: 9 + 4 ceil(d / B) + ceil(d / 8)
 * (one scale when B = 0 and d > 0).
 * Encoding runs kernels.ts's WebAssembly SIMD kernel where it can (the same bytes as the
 * plain JS below, which sums |x| strictly in order: two accumulators, even and odd
 * positions, per block).
 *
 * @example
 * const c = createSign({ blockSize: 256 });
 * c.decode(c.encode(g), g.length); // entries +-(mean |g| of their block)
 */
import {
  ByteWriter,
  HEADER_BYTES,
  bitsOf,
  decodeFresh,
  float32View,
  readHeader,
  writeHeader,
} from './bytes.ts';
import { checkScale, throwNonFinite } from './finite.ts';
import { simdKernels } from './kernels.ts';
import { Slot, scratch } from './scratch.ts';
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
 * What kernels.ts's signs() computes, in plain JS: the sign bits of the first 32 * groups
 * values into signs (4 bytes a group), and per block of groupsPerBlock groups (0 = one
 * block) the sums of |x| over even and odd positions, each added in order (two
 * accumulators hide float add latency).
 */
function packSigns(
  x: Float32Array,
  signs: Uint8Array,
  groups: number,
  groupsPerBlock: number,
  sums: Float64Array,
): void {
  const u = bitsOf(x);
  const words = new Uint32Array(groups);
  let even = 0;
  let odd = 0;
  let g = 0;
  let b = 0;
  for (let k = 0; k < groups; k++) {
    const base = 32 * k;
    let word = 0;
    for (let j = 0; j < 32; j += 2) {
      const i = base + j;
      word |= ((u[i]! >>> 31) << j) | ((u[i + 1]! >>> 31) << (j + 1));
      even += Math.abs(x[i]!);
      odd += Math.abs(x[i + 1]!);
    }
    words[k] = word;
    if (++g === groupsPerBlock) {
      sums[2 * b] = even;
      sums[2 * b + 1] = odd;
      b++;
      even = 0;
      odd = 0;
      g = 0;
    }
  }
  if (g !== 0) {
    sums[2 * b] = even;
    sums[2 * b + 1] = odd;
  }
  signs.set(new Uint8Array(words.buffer));
}

export function createSign(init: SignInit = {}): Compressor {
  const blockSize = init.blockSize ?? 0;
  const decodeInto = (payload: Uint8Array, out: Float32Array): Float32Array => {
    const { length: d, reader } = readHeader(payload, CodecId.sign, out.length);
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
    for (let b = 0; b < blocks; b++) {
      const s = checkScale(scales[b]!, `scale of block ${b}`);
      const twice = 2 * s;
      const end = Math.min(d, (b + 1) * block);
      for (let i = b * block; i < end; i++) out[i] = s - twice * ((signs[i >>> 3]! >>> (i & 7)) & 1);
    }
    return out;
  };
  return {
    spec: blockSize === 0 ? 'sign' : `sign:${blockSize}`,
    unbiased: false,
    encode(x: Float32Array): Uint8Array {
      const d = x.length;
      const block = blockSize === 0 ? Math.max(d, 1) : blockSize;
      const blocks = blockCount(d, blockSize);
      const scales = new Float32Array(scratch(Slot.scales, blocks).buffer, 0, blocks);
      const u = bitsOf(x);
      const signBytes = (d + 7) >>> 3;
      const w = new ByteWriter(HEADER_BYTES + 4 + 4 * blocks + signBytes);
      writeHeader(w, CodecId.sign, d);
      w.u32(blockSize);
      const scalesAt = w.pos;
      const signs = w.bytes.subarray(scalesAt + 4 * blocks);
      const groups = Math.floor(d / 32);
      const full = 32 * groups;
      const kernels = groups > 0 ? simdKernels() : undefined;
      if (block % 32 === 0 || blocks === 1) {
        // Blocks start on word boundaries: one pass gives the sign bits and each block's
        // even and odd sums; values past the last full word (last block only) go to its
        // even sum, one by one.
        const sums = new Float64Array(scratch(Slot.blockSums, 4 * blocks).buffer, 0, 2 * blocks).fill(0);
        const groupsPerBlock = blocks === 1 ? 0 : block / 32;
        if (kernels !== undefined) kernels.signs(x, signs, groups, groupsPerBlock, sums);
        else packSigns(x, signs, groups, groupsPerBlock, sums);
        if (full < d) {
          let even = sums[2 * blocks - 2]!;
          for (let i = full; i < d; i++) even += Math.abs(x[i]!);
          sums[2 * blocks - 2] = even;
        }
        for (let b = 0; b < blocks; b++) {
          const sum = sums[2 * b]! + sums[2 * b + 1]!;
          // A sum of finite float32 magnitudes cannot overflow a double: NaN/Inf show here.
          if (!Number.isFinite(sum)) throwNonFinite(x);
          scales[b] = sum / (Math.min(d, (b + 1) * block) - b * block);
        }
      } else {
        // Blocks straddle words: sign bits first, then each block's sum in one order.
        const unused = new Float64Array(2);
        if (kernels !== undefined) kernels.signs(x, signs, groups, 0, unused);
        else packSigns(x, signs, groups, 0, unused);
        for (let b = 0; b < blocks; b++) {
          const start = b * block;
          const end = Math.min(d, start + block);
          let sum = 0;
          for (let i = start; i < end; i++) sum += Math.abs(x[i]!);
          if (!Number.isFinite(sum)) throwNonFinite(x);
          scales[b] = sum / (end - start);
        }
      }
      // The last, partial word: its bytes (zero padded).
      let word = 0;
      for (let i = full; i < d; i++) word |= (u[i]! >>> 31) << (i & 31);
      for (let at = 4 * groups; at < signBytes; at++, word >>>= 8) signs[at] = word & 0xff;

      w.array(scales);
      w.pos += signBytes;
      return w.finish();
    },
    decode: (payload, expectedLength) => decodeFresh(payload, CodecId.sign, expectedLength, decodeInto),
    decodeInto,
  };
}
