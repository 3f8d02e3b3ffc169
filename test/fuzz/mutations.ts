/**
 * Byte-level mutations of valid messages, as fast-check arbitraries: truncation, extension,
 * bit flips, random overwrites, 32-bit field rewrites and IEEE special values (NaN, Inf,
 * float32 max, denormals, in f32, f16 and f64 encodings) written anywhere, aligned or not.
 *
 * @example
 * fc.tuple(validPayload, mutationsArb()).map(([p, ms]) => applyMutations(p, ms));
 */
import fc from 'fast-check';

/** Little-endian byte patterns of special floating-point values. */
export const SPECIAL_PATTERNS: Readonly<Record<string, readonly number[]>> = {
  f32NaN: [0x00, 0x00, 0xc0, 0x7f],
  f32NegNaN: [0x00, 0x00, 0xc0, 0xff],
  f32SignalingNaN: [0x01, 0x00, 0x80, 0x7f],
  f32Inf: [0x00, 0x00, 0x80, 0x7f],
  f32NegInf: [0x00, 0x00, 0x80, 0xff],
  f32Max: [0xff, 0xff, 0x7f, 0x7f],
  f32NegMax: [0xff, 0xff, 0x7f, 0xff],
  f32Denormal: [0x01, 0x00, 0x00, 0x00],
  f32NegZero: [0x00, 0x00, 0x00, 0x80],
  f16NaN: [0x00, 0x7e],
  f16Inf: [0x00, 0x7c],
  f16NegInf: [0x00, 0xfc],
  f16Max: [0xff, 0x7b],
  f64NaN: [0, 0, 0, 0, 0, 0, 0xf8, 0x7f],
  f64Inf: [0, 0, 0, 0, 0, 0, 0xf0, 0x7f],
  f64NegInf: [0, 0, 0, 0, 0, 0, 0xf0, 0xff],
  f64Max: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xef, 0x7f],
  u32Max: [0xff, 0xff, 0xff, 0xff],
  i16Min: [0x00, 0x80],
};
const PATTERN_NAMES = Object.keys(SPECIAL_PATTERNS);

export type Mutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'extend'; bytes: Uint8Array }
  | { kind: 'flip'; at: number; bit: number }
  | { kind: 'overwrite'; at: number; bytes: Uint8Array }
  | { kind: 'special'; at: number; aligned: boolean; pattern: string }
  | { kind: 'u32'; at: number; value: number };

/** Interesting u32 values for length and count fields. */
export const u32Arb = fc.oneof(
  fc.integer({ min: 0, max: 70 }),
  fc.constantFrom(255, 256, 65535, 65536, 2 ** 24, 2 ** 28, 2 ** 28 + 1, 2 ** 31, 2 ** 32 - 1),
  fc.nat({ max: 0xffffffff }),
);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({
    kind: fc.constant('overwrite' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('special' as const),
    at: fc.nat(),
    aligned: fc.boolean(),
    pattern: fc.constantFrom(...PATTERN_NAMES),
  }),
  fc.record({ kind: fc.constant('u32' as const), at: fc.nat(), value: u32Arb }),
);

export function mutationsArb(maxLength = 4): fc.Arbitrary<Mutation[]> {
  return fc.array(mutationArb, { minLength: 0, maxLength });
}

/** Applies the mutations in order to a copy of `bytes`. Positions wrap around the length. */
export function applyMutations(bytes: Uint8Array, mutations: readonly Mutation[]): Uint8Array {
  let out: Uint8Array = bytes.slice();
  for (const m of mutations) out = applyOne(out, m);
  return out;
}

function applyOne(bytes: Uint8Array, m: Mutation): Uint8Array {
  const n = bytes.length;
  switch (m.kind) {
    case 'truncate':
      return n === 0 ? bytes : bytes.slice(0, m.at % n);
    case 'extend': {
      const out = new Uint8Array(n + m.bytes.length);
      out.set(bytes);
      out.set(m.bytes, n);
      return out;
    }
    case 'flip':
      if (n > 0) bytes[m.at % n] = (bytes[m.at % n] ?? 0) ^ (1 << m.bit);
      return bytes;
    case 'overwrite':
      return write(bytes, m.at, m.bytes);
    case 'special': {
      const pattern = SPECIAL_PATTERNS[m.pattern] ?? [];
      const at = m.aligned ? m.at - (m.at % pattern.length) : m.at;
      return write(bytes, at, pattern);
    }
    case 'u32':
      return write(bytes, m.at, [
        m.value & 0xff,
        (m.value >>> 8) & 0xff,
        (m.value >>> 16) & 0xff,
        m.value >>> 24,
      ]);
    default: {
      const unreachable: never = m;
      throw new Error(`unknown mutation ${JSON.stringify(unreachable)}`);
    }
  }
}

/** Writes `pattern` at `at % n` (clipped at the end). */
function write(bytes: Uint8Array, at: number, pattern: ArrayLike<number>): Uint8Array {
  const n = bytes.length;
  if (n === 0) return bytes;
  const start = at % n;
  for (let i = 0; i < pattern.length && start + i < n; i++) bytes[start + i] = pattern[i] ?? 0;
  return bytes;
}
