/**
 * WebAssembly SIMD kernels for the encoders' hot loops, assembled at first use by wasm.ts
 * (under 2 KiB, compiled synchronously: fine on a browser's main thread). Where
 * WebAssembly or its SIMD is missing (or a page's CSP forbids compiling it) every caller
 * falls back to plain JS that computes the same bytes; tests run both.
 *
 * Input goes through a 64 KiB window in the module's own memory (the caller's vector is
 * copied in chunk by chunk, which costs about half a plain copy of the vector), so each
 * chunk is processed from L1/L2.
 *
 * signs: sign bits and the per-block (even, odd) sums of |x| of the scaled sign codec,
 * bit-identical to sign.ts's sequential double-precision sums. Two accumulators (even and
 * odd positions) must add their terms one by one in order, a chain of dependent adds the
 * CPU cannot overlap. The kernel sums each group of 32 values as a tree instead and adds
 * that to the accumulators, which gives the very same double whenever no addition rounds:
 * when the accumulator and all 16 terms are multiples of 2^e and the new sum stays below
 * 2^(e + 53), every partial sum in any order is exact. The kernel checks that with integer
 * ops on the exponents (the smallest term's float32 exponent, the accumulator's lowest set
 * bit, the new sum's exponent) and redoes the group one value at a time otherwise (tiny
 * values next to a large sum, NaN/Inf), so results never depend on the check passing.
 *
 * collect: top-k's candidate scan, the positions and bits of the values with |x| at or
 * above a bound, branch-free (see collectFunction).
 *
 * @example
 * const k = simdKernels();
 * if (k !== undefined) k.signs(x, signBytes, groups, groupsPerBlock, sums);
 */
import { Code, F64, I32, V128, wasmModule, type ValueType } from './wasm.ts';

/** Floats per chunk copied into the module's memory (64 KiB). */
export const CHUNK = 16384;
const GROUPS_PER_CHUNK = CHUNK / 32;
/** Memory layout (bytes). */
const IN = 0;
const WORDS = IN + 4 * CHUNK; // one sign word per group
const SUMS = WORDS + 4 * GROUPS_PER_CHUNK; // (even, odd) f64 pairs of the blocks completed in a call
const STATE = SUMS + 16 * GROUPS_PER_CHUNK; // (even, odd) f64 of the open block, then its i32 group count
const COMPACT = STATE + 32; // collect(): 16 byte shuffles, one per 4-bit mask
const HITS = COMPACT + 256; // collect(): a bit per block of 16 floats with a find
const OUT_INDEX = HITS + CHUNK / 128; // collect(): positions of the values found (+ 4 spare lanes)
const OUT_BITS = OUT_INDEX + 4 * CHUNK + 16; // collect(): their float32 bits (+ 4 spare lanes)
const PAGES = Math.ceil((OUT_BITS + 4 * CHUNK + 16) / 65536);

/** Lanes 8..15 then 0..7: moves the high 64 bits of a vector to the low half. */
const HIGH_HALF = [8, 9, 10, 11, 12, 13, 14, 15, 0, 1, 2, 3, 4, 5, 6, 7];
/** Lanes 4..7 first: the second 32-bit lane to lane 0. */
const SECOND_LANE = [4, 5, 6, 7, 0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15];

/**
 * signs(groups, groupsPerBlock) -> blocks completed. For each group of 32 floats at IN:
 * its sign word to WORDS, its |x| added to the open block's (even, odd) sums; when a block
 * reaches groupsPerBlock groups (never if 0) its sums go to SUMS and the next one opens.
 */
function signsFunction(): { params: ValueType[]; locals: ValueType[]; code: Code } {
  // params
  const groups = 0;
  const groupsPerBlock = 1;
  // i32 locals
  const p = 2;
  const w = 3;
  const done = 4;
  const g = 5;
  const end = 6;
  const limit = 7;
  const xf = 8;
  const bound = 9;
  const ok = 10;
  const j = 11;
  // f64 locals
  const even = 12;
  const odd = 13;
  // v128 locals
  const acc = 14;
  const sum = 15;
  const low = 16;
  const mask = 17;
  const one = 18;
  const a = 19;
  const tree = 20;
  const v = [21, 22, 23, 24, 25, 26, 27, 28];
  const s = [29, 30, 31, 32, 33, 34, 35, 36];
  const locals: ValueType[] = [
    ...Array<ValueType>(10).fill(I32),
    F64,
    F64,
    ...Array<ValueType>(23).fill(V128),
  ];

  const c = new Code();
  c.i32x4_const(0x7fffffff).local_set(mask).i32x4_const(1).local_set(one);
  c.i32_const(0).v128_load(STATE).local_set(acc);
  c.i32_const(0)
    .i32_load(STATE + 16)
    .local_set(g);
  c.i32_const(IN).local_set(p).i32_const(WORDS).local_set(w).i32_const(0).local_set(done);
  c.local_get(groups).i32_const(7).i32_shl().i32_const(IN).i32_add().local_set(end);
  c.block().loop();
  c.local_get(p).local_get(end).i32_ge_u().br_if(1);
  for (let k = 0; k < 8; k++)
    c.local_get(p)
      .v128_load(16 * k)
      .local_set(v[k]!);

  // Sign word: saturating narrowing keeps each sign, bitmask collects 16 at a time.
  c.local_get(w);
  for (const half of [0, 4]) {
    c.local_get(v[half]!)
      .local_get(v[half + 1]!)
      .i16x8_narrow_i32x4_s();
    c.local_get(v[half + 2]!)
      .local_get(v[half + 3]!)
      .i16x8_narrow_i32x4_s();
    c.i8x16_narrow_i16x8_s().i8x16_bitmask();
  }
  c.i32_const(16).i32_shl().i32_or().i32_store();

  // |x| as (even, odd) f64 pairs summed as a tree; low = min over (|x| bits - 1), so a
  // zero (which never rounds) counts as 0xffffffff.
  for (let k = 0; k < 8; k++) {
    c.local_get(v[k]!).local_get(mask).v128_and().local_tee(a);
    c.local_get(one).i32x4_sub();
    if (k > 0) c.local_get(low).i32x4_min_u();
    c.local_set(low);
    c.local_get(a).f64x2_promote_low_f32x4();
    c.local_get(a).local_get(a).i8x16_shuffle(HIGH_HALF).f64x2_promote_low_f32x4();
    c.f64x2_add().local_set(s[k]!);
  }
  c.local_get(s[0]!).local_get(s[1]!).f64x2_add().local_get(s[2]!).local_get(s[3]!).f64x2_add().f64x2_add();
  c.local_get(s[4]!).local_get(s[5]!).f64x2_add().local_get(s[6]!).local_get(s[7]!).f64x2_add().f64x2_add();
  c.f64x2_add().local_set(tree);

  // Every term is a multiple of 2^(E - 150), E the smallest term's float32 exponent field
  // (of |x| - 1: conservative). The sum stays exact below 2^(E - 97): double exponent
  // field <= E + 925.
  c.local_get(low).local_get(low).local_get(low).i8x16_shuffle(HIGH_HALF).i32x4_min_u().local_tee(low);
  c.local_get(low).local_get(low).i8x16_shuffle(SECOND_LANE).i32x4_min_u().i32x4_extract_lane(0);
  c.i32_const(23).i32_shr_u().i32_const(0xff).i32_and().i32_const(925).i32_add().local_set(limit);
  c.local_get(acc).local_get(tree).f64x2_add().local_set(sum);
  c.i32_const(1).local_set(ok);
  for (const lane of [0, 1]) {
    c.local_get(sum).i64x2_extract_lane(lane).i64_const(52).i64_shr_u().i32_wrap_i64().local_set(xf);
    // The accumulator is a multiple of 2^(its exponent field + min(ctz of its bits, 52) - 1075):
    // the sum's exponent field may not exceed that (any, for a zero accumulator).
    c.i32_const(2047);
    c.local_get(acc).i64x2_extract_lane(lane).i64_const(52).i64_shr_u().i32_wrap_i64();
    c.local_get(acc).i64x2_extract_lane(lane).i64_ctz().i32_wrap_i64().local_tee(bound);
    c.i32_const(52).local_get(bound).i32_const(52).i32_lt_u().select().i32_add();
    c.local_get(acc).i64x2_extract_lane(lane).i64_eqz().select().local_set(bound);
    c.local_get(ok).local_get(xf).local_get(limit).i32_le_u().i32_and();
    c.local_get(xf).local_get(bound).i32_le_u().i32_and().local_set(ok);
  }
  c.local_get(ok).if_();
  c.local_get(sum).local_set(acc);
  c.else_();
  // Some addition might round: the group again, one value at a time, as sign.ts does.
  c.local_get(acc).f64x2_extract_lane(0).local_set(even);
  c.local_get(acc).f64x2_extract_lane(1).local_set(odd);
  c.i32_const(0).local_set(j);
  c.block().loop();
  c.local_get(j).i32_const(128).i32_ge_u().br_if(1);
  c.local_get(even).local_get(p).local_get(j).i32_add().f32_load(0).f32_abs().f64_promote_f32().f64_add();
  c.local_set(even);
  c.local_get(odd).local_get(p).local_get(j).i32_add().f32_load(4).f32_abs().f64_promote_f32().f64_add();
  c.local_set(odd);
  c.local_get(j).i32_const(8).i32_add().local_set(j).br(0);
  c.end().end();
  c.local_get(even).f64x2_splat().local_get(odd).f64x2_replace_lane(1).local_set(acc);
  c.end();

  // Block complete: its sums out, a fresh one in.
  c.local_get(g).i32_const(1).i32_add().local_tee(g).local_get(groupsPerBlock).i32_eq().if_();
  c.local_get(done).i32_const(4).i32_shl().local_get(acc).v128_store(SUMS);
  c.local_get(done).i32_const(1).i32_add().local_set(done);
  c.i32_const(0).local_set(g).i32x4_const(0).local_set(acc);
  c.end();
  c.local_get(p).i32_const(128).i32_add().local_set(p);
  c.local_get(w).i32_const(4).i32_add().local_set(w);
  c.br(0);
  c.end().end();
  c.i32_const(0).local_get(acc).v128_store(STATE);
  c.i32_const(0)
    .local_get(g)
    .i32_store(STATE + 16);
  c.local_get(done);
  return { params: [I32, I32], locals, code: c };
}

/**
 * collect(n, bound, first) -> count. Finds the floats at IN (n a multiple of 16) with |x|
 * bits >= bound (any NaN/Inf too) and appends their positions (first + offset) to
 * OUT_INDEX and their bits to OUT_BITS, in order. At 1% a branch per block of 16 would be
 * mispredicted at about every find, so the scan is branch-free: one bit per block of 16
 * into HITS; then each set bit's block has, per 4 values, its finds packed to the front by
 * a byte shuffle from COMPACT (chosen by their 4-bit mask), all 4 lanes stored and the
 * output advanced by the count found.
 */
function collectFunction(): { params: ValueType[]; locals: ValueType[]; code: Code } {
  // params
  const n = 0;
  const bound = 1;
  const first = 2;
  // i32 locals
  const p = 3;
  const end = 4;
  const q = 5; // byte offset of the next output
  const m = 6;
  const word = 7;
  const h = 8; // byte offset into HITS
  const blocks = 9;
  // v128 locals
  const limit = 10;
  const positions = 11; // first + offset of a block's values, lanes 0..3
  const v = 12;
  const locals: ValueType[] = [I32, I32, I32, I32, I32, I32, I32, V128, V128, V128];

  const c = new Code();
  c.local_get(bound).i32x4_splat().local_set(limit);
  const reaches = (offset: number): void => {
    c.local_get(p).v128_load(offset).i32x4_const(0x7fffffff).v128_and().local_get(limit).i32x4_ge_u();
  };
  // Scan: bit b of HITS word w set when block 32 w + b has a find.
  c.i32_const(IN).local_set(p);
  c.local_get(n).i32_const(2).i32_shl().i32_const(IN).i32_add().local_set(end);
  c.i32_const(0).local_set(h);
  c.block().loop();
  c.local_get(p).local_get(end).i32_ge_u().br_if(1);
  c.i32_const(0).local_set(word);
  c.i32_const(0).local_set(m); // bit position
  c.block().loop();
  c.local_get(m).i32_const(32).i32_ge_u().local_get(p).local_get(end).i32_ge_u().i32_or().br_if(1);
  reaches(0);
  reaches(16);
  c.v128_or();
  reaches(32);
  reaches(48);
  c.v128_or().v128_or().v128_any_true().local_get(m).i32_shl().local_get(word).i32_or().local_set(word);
  c.local_get(p).i32_const(64).i32_add().local_set(p);
  c.local_get(m).i32_const(1).i32_add().local_set(m);
  c.br(0);
  c.end().end();
  c.local_get(h).local_get(word).i32_store(HITS);
  c.local_get(h).i32_const(4).i32_add().local_set(h);
  c.br(0);
  c.end().end();

  // Gather: the blocks with finds, in order.
  c.i32_const(0).local_set(q);
  c.i32_const(0).local_set(blocks); // block number of bit 0 of the current word
  c.i32_const(0).local_set(end); // now: byte offset into HITS
  c.block().loop();
  c.local_get(end).local_get(h).i32_ge_u().br_if(1);
  c.local_get(end).i32_load(HITS).local_set(word);
  c.block().loop();
  c.local_get(word).i32_eqz().br_if(1);
  c.local_get(blocks).local_get(word).i32_ctz().i32_add().local_tee(m);
  c.i32_const(6).i32_shl().i32_const(IN).i32_add().local_set(p);
  c.local_get(word).local_get(word).i32_const(1).i32_sub().i32_and().local_set(word);
  c.local_get(first).local_get(m).i32_const(4).i32_shl().i32_add();
  c.i32x4_splat().i32x4_const4([0, 1, 2, 3]).i32x4_add().local_set(positions);
  for (let k = 0; k < 4; k++) {
    c.local_get(p)
      .v128_load(16 * k)
      .local_tee(v);
    c.i32x4_const(0x7fffffff).v128_and().local_get(limit).i32x4_ge_u().i32x4_bitmask().local_set(m);
    c.local_get(q).local_get(positions).local_get(m).i32_const(4).i32_shl().v128_load(COMPACT);
    c.i8x16_swizzle().v128_store(OUT_INDEX);
    c.local_get(q).local_get(v).local_get(m).i32_const(4).i32_shl().v128_load(COMPACT);
    c.i8x16_swizzle().v128_store(OUT_BITS);
    c.local_get(q).local_get(m).i32_popcnt().i32_const(2).i32_shl().i32_add().local_set(q);
    if (k < 3) c.local_get(positions).i32x4_const(4).i32x4_add().local_set(positions);
  }
  c.br(0);
  c.end().end();
  c.local_get(blocks).i32_const(32).i32_add().local_set(blocks);
  c.local_get(end).i32_const(4).i32_add().local_set(end);
  c.br(0);
  c.end().end();
  c.local_get(q).i32_const(2).i32_shr_u();
  return { params: [I32, I32, I32], locals, code: c };
}

/** Byte shuffles moving the 32-bit lanes set in a 4-bit mask to the front (the rest: 0). */
function compactionTable(): Uint8Array {
  const table = new Uint8Array(16 * 16).fill(0x80);
  for (let mask = 0; mask < 16; mask++) {
    let out = 0;
    for (let lane = 0; lane < 4; lane++) {
      if ((mask & (1 << lane)) === 0) continue;
      for (let byte = 0; byte < 4; byte++) table[16 * mask + 4 * out + byte] = 4 * lane + byte;
      out++;
    }
  }
  return table;
}

export interface SimdKernels {
  /**
   * Sign bits of x's first 32 * groups values into signs[0..4 groups) (least significant bit
   * first), and the (even, odd)
   * sums of |x| (sign.ts's two accumulators) of each block of groupsPerBlock groups into
   * sums[2b], sums[2b + 1] (0 = one block); a last, unfinished block's sums so far go
   * after the finished ones.
   */
  signs(x: Float32Array, signs: Uint8Array, groups: number, groupsPerBlock: number, sums: Float64Array): void;
  /**
   * The positions i < 16 floor(x.length / 16), ascending, with |x[i]| bits >= bound (any
   * NaN/Inf too) into index[0..), their bits into bits[0..); the count, or -1 as soon as
   * more than index.length are found.
   */
  collect(x: Float32Array, bound: number, index: Uint32Array, bits: Uint32Array): number;
}

function instantiate(): SimdKernels {
  const signs = signsFunction();
  const collect = collectFunction();
  const bytes = wasmModule({
    pages: PAGES,
    functions: [
      { name: 'signs', params: signs.params, results: [I32], locals: signs.locals, code: signs.code },
      { name: 'collect', params: collect.params, results: [I32], locals: collect.locals, code: collect.code },
    ],
  });
  const instance = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const memory = instance.exports['memory'] as WebAssembly.Memory;
  const signsKernel = instance.exports['signs'] as (groups: number, groupsPerBlock: number) => number;
  const input = new Float32Array(memory.buffer, IN, CHUNK);
  const words = new Uint8Array(memory.buffer, WORDS, 4 * GROUPS_PER_CHUNK);
  const sums = new Float64Array(memory.buffer, SUMS, 2 * GROUPS_PER_CHUNK);
  const state = new Float64Array(memory.buffer, STATE, 2);
  const stateGroups = new Int32Array(memory.buffer, STATE + 16, 1);
  const collectKernel = instance.exports['collect'] as (n: number, bound: number, first: number) => number;
  new Uint8Array(memory.buffer, COMPACT, 256).set(compactionTable());
  const foundIndex = new Uint32Array(memory.buffer, OUT_INDEX, CHUNK);
  const foundBits = new Uint32Array(memory.buffer, OUT_BITS, CHUNK);
  return {
    signs(x, outSigns, groups, groupsPerBlock, outSums) {
      state[0] = 0;
      state[1] = 0;
      stateGroups[0] = 0;
      let blocks = 0;
      for (let first = 0; first < groups; first += GROUPS_PER_CHUNK) {
        const n = Math.min(GROUPS_PER_CHUNK, groups - first);
        input.set(x.subarray(32 * first, 32 * (first + n)));
        const done = signsKernel(n, groupsPerBlock);
        outSigns.set(words.subarray(0, 4 * n), 4 * first);
        outSums.set(sums.subarray(0, 2 * done), 2 * blocks);
        blocks += done;
      }
      if (stateGroups[0] !== 0) {
        outSums[2 * blocks] = state[0]!;
        outSums[2 * blocks + 1] = state[1]!;
      }
    },
    collect(x, bound, index, bits) {
      const full = x.length - (x.length % 16);
      let count = 0;
      for (let first = 0; first < full; first += CHUNK) {
        const n = Math.min(CHUNK, full - first);
        input.set(x.subarray(first, first + n));
        const found = collectKernel(n, bound, first);
        if (count + found > index.length) return -1;
        index.set(foundIndex.subarray(0, found), count);
        bits.set(foundBits.subarray(0, found), count);
        count += found;
      }
      return count;
    },
  };
}

let kernels: SimdKernels | null | undefined; // undefined: not tried yet; null: unavailable
let enabled = true;

/** The SIMD kernels, or undefined where WebAssembly SIMD cannot run (callers use JS then). */
export function simdKernels(): SimdKernels | undefined {
  if (!enabled) return undefined;
  if (kernels === undefined) {
    try {
      kernels = instantiate();
    } catch {
      kernels = null;
    }
  }
  return kernels ?? undefined;
}

/** Turns the SIMD kernels off (or back on), so tests can check the JS paths give the same bytes. */
export function setSimdKernels(on: boolean): void {
  enabled = on;
}
