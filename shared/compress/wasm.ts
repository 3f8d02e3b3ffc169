/**
 * A minimal WebAssembly assembler, enough to write the codec kernels (kernels.ts) as
 * readable TypeScript and build their binary at run time: no toolchain, no binary blob in
 * the repository, the same code in Node and in browsers. Instructions are methods named
 * after their text-format mnemonics (i32.add -> i32_add); each returns the builder so they
 * chain in stack order. Only the instructions the kernels use are here.
 *
 * @example
 * const f = new Code();
 * f.local_get(0).local_get(1).i32_add(); // (i32.add (local.get 0) (local.get 1))
 * const bytes = wasmModule({ pages: 1, functions: [{ name: 'add', params: [I32, I32], results: [I32], locals: [], code: f }] });
 */

export const I32 = 0x7f;
export const I64 = 0x7e;
export const F32 = 0x7d;
export const F64 = 0x7c;
export const V128 = 0x7b;
export type ValueType = typeof I32 | typeof I64 | typeof F32 | typeof F64 | typeof V128;

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n !== 0) byte |= 0x80;
    out.push(byte);
  } while (n !== 0);
  return out;
}

/** Signed LEB128 of a value in the int32 range. */
export function sleb(n: number): number[] {
  const out: number[] = [];
  n |= 0;
  for (;;) {
    const byte = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (byte & 0x40) === 0) || (n === -1 && (byte & 0x40) !== 0)) {
      out.push(byte);
      return out;
    }
    out.push(byte | 0x80);
  }
}

/** A function body under construction. */
export class Code {
  readonly bytes: number[] = [];

  private op(...b: number[]): this {
    for (const x of b) this.bytes.push(x);
    return this;
  }
  private simd(opcode: number, ...immediates: number[]): this {
    return this.op(0xfd, ...uleb(opcode), ...immediates);
  }
  /** Memory argument: alignment as log2 bytes, then the static offset. */
  private mem(opcode: number, alignLog2: number, offset: number): this {
    return this.op(opcode, alignLog2, ...uleb(offset));
  }

  // Control
  block(): this {
    return this.op(0x02, 0x40);
  }
  loop(): this {
    return this.op(0x03, 0x40);
  }
  if_(): this {
    return this.op(0x04, 0x40);
  }
  else_(): this {
    return this.op(0x05);
  }
  end(): this {
    return this.op(0x0b);
  }
  br(depth: number): this {
    return this.op(0x0c, ...uleb(depth));
  }
  br_if(depth: number): this {
    return this.op(0x0d, ...uleb(depth));
  }
  call(functionIndex: number): this {
    return this.op(0x10, ...uleb(functionIndex));
  }
  drop(): this {
    return this.op(0x1a);
  }
  select(): this {
    return this.op(0x1b);
  }

  // Variables
  local_get(i: number): this {
    return this.op(0x20, ...uleb(i));
  }
  local_set(i: number): this {
    return this.op(0x21, ...uleb(i));
  }
  local_tee(i: number): this {
    return this.op(0x22, ...uleb(i));
  }

  // Memory
  i32_load(offset = 0): this {
    return this.mem(0x28, 2, offset);
  }
  f32_load(offset = 0): this {
    return this.mem(0x2a, 2, offset);
  }
  f64_load(offset = 0): this {
    return this.mem(0x2b, 3, offset);
  }
  i32_store(offset = 0): this {
    return this.mem(0x36, 2, offset);
  }
  f64_store(offset = 0): this {
    return this.mem(0x39, 3, offset);
  }
  v128_load(offset = 0): this {
    return this.simd(0x00, 4, ...uleb(offset));
  }
  v128_store(offset = 0): this {
    return this.simd(0x0b, 4, ...uleb(offset));
  }

  // Constants
  i32_const(v: number): this {
    return this.op(0x41, ...sleb(v));
  }
  i64_const(v: number): this {
    return this.op(0x42, ...sleb(v)); // small values only
  }
  /** v128.const with the same 32-bit value in all four lanes. */
  i32x4_const(v: number): this {
    return this.i32x4_const4([v, v, v, v]);
  }
  /** v128.const from four 32-bit lanes. */
  i32x4_const4(lanes: [number, number, number, number]): this {
    const bytes = lanes.flatMap((v) => [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff]);
    return this.simd(0x0c, ...bytes);
  }

  // i32
  i32_eqz(): this {
    return this.op(0x45);
  }
  i32_eq(): this {
    return this.op(0x46);
  }
  i32_lt_u(): this {
    return this.op(0x49);
  }
  i32_le_u(): this {
    return this.op(0x4d);
  }
  i32_ge_u(): this {
    return this.op(0x4f);
  }
  i32_ctz(): this {
    return this.op(0x68);
  }
  i32_popcnt(): this {
    return this.op(0x69);
  }
  i32_add(): this {
    return this.op(0x6a);
  }
  i32_sub(): this {
    return this.op(0x6b);
  }
  i32_mul(): this {
    return this.op(0x6c);
  }
  i32_and(): this {
    return this.op(0x71);
  }
  i32_or(): this {
    return this.op(0x72);
  }
  i32_shl(): this {
    return this.op(0x74);
  }
  i32_shr_u(): this {
    return this.op(0x76);
  }

  // i64 / f32 / f64 scalars
  i64_eqz(): this {
    return this.op(0x50);
  }
  i64_ctz(): this {
    return this.op(0x7a);
  }
  i64_shr_u(): this {
    return this.op(0x88);
  }
  i32_wrap_i64(): this {
    return this.op(0xa7);
  }
  f32_abs(): this {
    return this.op(0x8b);
  }
  f64_add(): this {
    return this.op(0xa0);
  }
  f64_promote_f32(): this {
    return this.op(0xbb);
  }

  // SIMD
  i8x16_shuffle(lanes: number[]): this {
    return this.simd(0x0d, ...lanes);
  }
  i8x16_swizzle(): this {
    return this.simd(0x0e);
  }
  i32x4_splat(): this {
    return this.simd(0x11);
  }
  f64x2_splat(): this {
    return this.simd(0x14);
  }
  i32x4_extract_lane(lane: number): this {
    return this.simd(0x1b, lane);
  }
  i64x2_extract_lane(lane: number): this {
    return this.simd(0x1d, lane);
  }
  f64x2_extract_lane(lane: number): this {
    return this.simd(0x21, lane);
  }
  f64x2_replace_lane(lane: number): this {
    return this.simd(0x22, lane);
  }
  i32x4_eq(): this {
    return this.simd(0x37);
  }
  i32x4_ne(): this {
    return this.simd(0x38);
  }
  i32x4_gt_s(): this {
    return this.simd(0x3b);
  }
  i32x4_ge_u(): this {
    return this.simd(0x40);
  }
  v128_andnot(): this {
    return this.simd(0x4f);
  }
  f64x2_eq(): this {
    return this.simd(0x47);
  }
  v128_not(): this {
    return this.simd(0x4d);
  }
  v128_and(): this {
    return this.simd(0x4e);
  }
  v128_or(): this {
    return this.simd(0x50);
  }
  v128_any_true(): this {
    return this.simd(0x53);
  }
  f64x2_promote_low_f32x4(): this {
    return this.simd(0x5f);
  }
  i8x16_bitmask(): this {
    return this.simd(0x64);
  }
  i8x16_narrow_i16x8_s(): this {
    return this.simd(0x65);
  }
  i16x8_narrow_i32x4_s(): this {
    return this.simd(0x85);
  }
  i32x4_bitmask(): this {
    return this.simd(0xa4);
  }
  i32x4_shr_u(): this {
    return this.simd(0xad);
  }
  i32x4_add(): this {
    return this.simd(0xae);
  }
  i32x4_sub(): this {
    return this.simd(0xb1);
  }
  i64x2_all_true(): this {
    return this.simd(0xc3);
  }
  i64x2_extend_low_i32x4_u(): this {
    return this.simd(0xc9);
  }
  i64x2_shr_u(): this {
    return this.simd(0xcd);
  }
  i64x2_eq(): this {
    return this.simd(0xd6);
  }
  i64x2_le_s(): this {
    return this.simd(0xda);
  }
  i32x4_min_u(): this {
    return this.simd(0xb7);
  }
  f64x2_floor(): this {
    return this.simd(0x75);
  }
  i64x2_shl(): this {
    return this.simd(0xcb);
  }
  i64x2_sub(): this {
    return this.simd(0xd1);
  }
  f64x2_add(): this {
    return this.simd(0xf0);
  }
  f64x2_mul(): this {
    return this.simd(0xf2);
  }
  /** v128.const with the same 64-bit value (below 2^53) in both lanes. */
  i64x2_const(v: number): this {
    const lane: number[] = [];
    for (let i = 0, rest = v; i < 8; i++, rest = Math.floor(rest / 256)) lane.push(rest % 256);
    return this.simd(0x0c, ...lane, ...lane);
  }
}

export interface WasmFunction {
  /** Export name. */
  name: string;
  params: ValueType[];
  results: ValueType[];
  /** Declared locals after the parameters, in index order. */
  locals: ValueType[];
  code: Code;
}

function section(id: number, body: number[]): number[] {
  return [id, ...uleb(body.length), ...body];
}

function vector(items: number[][]): number[] {
  return [...uleb(items.length), ...items.flat()];
}

function name(s: string): number[] {
  return [...uleb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
}

/** Locals as the binary format wants them: runs of equal types. */
function localRuns(locals: ValueType[]): number[][] {
  const runs: number[][] = [];
  let i = 0;
  while (i < locals.length) {
    let j = i;
    while (j < locals.length && locals[j] === locals[i]) j++;
    runs.push([...uleb(j - i), locals[i]!]);
    i = j;
  }
  return runs;
}

/** A module with one exported memory ("memory", `pages` x 64 KiB) and the given functions. */
export function wasmModule(spec: { pages: number; functions: WasmFunction[] }): Uint8Array<ArrayBuffer> {
  const { pages, functions } = spec;
  const types = functions.map((f) => [
    0x60,
    ...vector(f.params.map((t) => [t])),
    ...vector(f.results.map((t) => [t])),
  ]);
  const bodies = functions.map((f) => {
    const body = [...vector(localRuns(f.locals)), ...f.code.bytes, 0x0b];
    return [...uleb(body.length), ...body];
  });
  return new Uint8Array([
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    ...section(3, vector(functions.map((_, i) => uleb(i)))),
    ...section(5, vector([[0x00, ...uleb(pages)]])),
    ...section(
      7,
      vector([
        [...name('memory'), 0x02, 0x00],
        ...functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]),
      ]),
    ),
    ...section(10, vector(bodies)),
  ]);
}
