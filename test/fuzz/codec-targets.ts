/**
 * Fuzz targets for every compressor's decoder: valid payloads of random vectors (extreme
 * finite values included) put through truncations, byte flips, overwrites, NaN/Inf bit
 * patterns and rewritten length fields, decoded with and without the expected length;
 * structured random bytes; oversized declared lengths; and non-finite encoder input.
 *
 * A decode either returns a finite vector of the declared (and expected) length or throws
 * CodecError with TRUNCATED, WRONG_CODEC, LENGTH_MISMATCH or MALFORMED.
 *
 * @example
 * for (const t of codecTargets) await checkTarget(t);
 */
import fc from 'fast-check';
import { ByteWriter, HEADER_BYTES, MAX_DECODE_LENGTH, writeHeader } from '../../shared/compress/bytes.ts';
import {
  CodecError,
  CodecId,
  decodePayload,
  describePayload,
  parseCompressor,
  type CodecErrorCode,
  type CodecName,
} from '../../shared/compress/index.ts';
import { coded, FuzzCrash, invariant, target, type FuzzTarget } from './harness.ts';
import { applyMutations, mutationsArb, SPECIAL_PATTERNS } from './mutations.ts';

const ALL_CODES = {
  NON_FINITE_INPUT: true,
  TRUNCATED: true,
  WRONG_CODEC: true,
  LENGTH_MISMATCH: true,
  MALFORMED: true,
  BAD_SPEC: true,
} as const satisfies Record<CodecErrorCode, true>;
/** The codes a decoder may throw (encoder and spec codes excluded). */
export const DECODE_CODES: readonly CodecErrorCode[] = [
  'TRUNCATED',
  'WRONG_CODEC',
  'LENGTH_MISMATCH',
  'MALFORMED',
];
export const CODEC_ERROR_CODES = Object.keys(ALL_CODES);

/** Specs per codec family, parameters chosen to reach every body layout. */
export const SPECS_BY_CODEC: Record<CodecName, readonly string[]> = {
  identity: ['identity'],
  fp16: ['fp16'],
  topk: ['topk:0.01', 'topk:0.3', 'topk:1', 'topk:0.1:f32', 'topk:0.05:sign'],
  randk: ['randk:0.05', 'randk:0.5', 'randk:1'],
  sign: ['sign', 'sign:1', 'sign:7', 'sign:32', 'sign:256'],
  qsgd: ['qsgd:1', 'qsgd:4', 'qsgd:255', 'qsgd:65535'],
  q8: ['q8', 'q8:1', 'q8:3', 'q8:64'],
  q4: ['q4', 'q4:1', 'q4:5', 'q4:100'],
};
const CODEC_NAMES = Object.keys(CodecId).filter((n): n is CodecName => Object.hasOwn(CodecId, n));

/** Float32 vectors from tame to extreme (±3.4e38, denormals, -0), finite only. */
export function vectorArb(maxLength = 300): fc.Arbitrary<Float32Array> {
  return fc.oneof(
    fc.float32Array({ noNaN: true, noDefaultInfinity: true, maxLength }),
    fc.float32Array({ min: -4, max: 4, noNaN: true, maxLength }),
    fc
      .array(
        fc.constantFrom(0, -0, 1e-45, -1e-40, 1, -1, 3.4028234663852886e38, -3.4028234663852886e38, 65504),
        {
          maxLength,
        },
      )
      .map((a) => Float32Array.from(a)),
  );
}

/** What the decoded vector must satisfy when a decode succeeds. */
export function checkDecoded(
  out: Float32Array,
  payload: Uint8Array,
  expectedLength: number | undefined,
): void {
  invariant(out instanceof Float32Array, 'decode returns a Float32Array');
  const declared = describePayload(payload).length;
  invariant(out.length === declared, `length ${out.length} is the declared ${declared}`);
  invariant(expectedLength === undefined || out.length === expectedLength, 'length is the expected one');
  for (let i = 0; i < out.length; i++)
    invariant(Number.isFinite(out[i]), `decoded[${i}] = ${out[i]} is finite`);
}

/** Decodes with `decode` and checks the outcome: 'ok' or a decode code. */
export function decodeOutcome(
  decode: (payload: Uint8Array, expectedLength?: number) => Float32Array,
  payload: Uint8Array,
  expectedLength: number | undefined,
): string {
  return coded(
    () => checkDecoded(decode(payload, expectedLength), payload, expectedLength),
    CodecError,
    DECODE_CODES,
  );
}

type Expectation = { kind: 'declared' } | { kind: 'none' } | { kind: 'other'; length: number };
const expectationArb: fc.Arbitrary<Expectation> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ kind: 'declared' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('other' as const), length: fc.nat({ max: 400 }) }) },
);

function expectedFor(e: Expectation, vectorLength: number): number | undefined {
  if (e.kind === 'none') return undefined;
  return e.kind === 'declared' ? vectorLength : e.length;
}

/** Decoding without an expected length accepts sizes up to MAX_DECODE_LENGTH by design; keep fuzz allocations small. */
const SMALL_DECLARED = 1 << 16;

function mutatedPayloadTarget(codec: CodecName): FuzzTarget {
  return target({
    name: `codec.${codec}`,
    description: `${codec} payloads of random vectors, mutated, decoded by ${codec} and by decodePayload`,
    arbitrary: fc.record({
      spec: fc.constantFrom(...SPECS_BY_CODEC[codec]),
      x: vectorArb(),
      seed: fc.nat(),
      mutations: mutationsArb(),
      expectation: expectationArb,
    }),
    run({ spec, x, seed, mutations, expectation }) {
      const compressor = parseCompressor(spec);
      const valid = compressor.encode(x, seed);
      const payload = applyMutations(valid, mutations);
      let expected = expectedFor(expectation, x.length);
      if (expected === undefined && payload.length >= HEADER_BYTES) {
        const declared = new DataView(payload.buffer, payload.byteOffset + 1, 4).getUint32(0, true);
        if (declared > SMALL_DECLARED) expected = x.length;
      }
      const own = decodeOutcome((p, n) => compressor.decode(p, n), payload, expected);
      const any = decodeOutcome(decodePayload, payload, expected);
      // Same codec byte: decodePayload picks a decoder of the same codec, so it must agree.
      if (payload[0] === valid[0] && own !== any) {
        throw new FuzzCrash(`${spec}.decode says ${own}, decodePayload says ${any}`);
      }
      if (mutations.length === 0 && expectation.kind === 'declared' && own !== 'ok') {
        throw new FuzzCrash(`${spec}: a valid payload was rejected with ${own}`);
      }
      return own;
    },
    fast: 1200,
    full: 8000,
    mustSee: ['ok', 'TRUNCATED', 'MALFORMED', 'LENGTH_MISMATCH'],
  });
}

/** A header (any codec id, a small or large declared length) followed by random bytes. */
const randomPayloadArb = fc.record({
  id: fc.integer({ min: 0, max: 10 }),
  length: fc.oneof(fc.nat({ max: 64 }), fc.constantFrom(0, 1, 31, 32, 33, 255, 256, 257)),
  body: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: 1200 })),
  expectation: expectationArb,
});

function headed(id: number, length: number, body: Uint8Array): Uint8Array {
  const w = new ByteWriter(HEADER_BYTES + body.length);
  writeHeader(w, id, length);
  w.array(body);
  return w.finish();
}

const randomBytesTarget = target({
  name: 'codec.random-bytes',
  description: 'a header of any codec id and a small length, then random bytes, through every decoder',
  arbitrary: fc.oneof(
    {
      weight: 4,
      arbitrary: randomPayloadArb.map((r) => ({ ...r, payload: headed(r.id, r.length, r.body) })),
    },
    {
      weight: 1,
      arbitrary: fc.uint8Array({ maxLength: 40 }).map((payload) => ({
        id: payload[0] ?? 0,
        length: 0,
        payload,
        expectation: { kind: 'none' as const },
      })),
    },
  ),
  run({ payload, length, expectation }) {
    const expected = expectedFor(expectation, length);
    let outcome = '';
    for (const codec of CODEC_NAMES) {
      const compressor = parseCompressor(SPECS_BY_CODEC[codec][0] ?? codec);
      const label = decodeOutcome((p, n) => compressor.decode(p, n), payload, expected);
      if (payload[0] === CodecId[codec]) outcome = label;
      else if (label === 'ok') throw new FuzzCrash(`${codec} decoded a payload with codec id ${payload[0]}`);
    }
    const any = decodeOutcome(decodePayload, payload, expected);
    return outcome === '' ? any : outcome;
  },
  fast: 1500,
  full: 8000,
  mustSee: ['ok', 'TRUNCATED', 'MALFORMED', 'WRONG_CODEC', 'LENGTH_MISMATCH'],
});

const oversizedTarget = target({
  name: 'codec.oversized-length',
  description: 'valid-looking payloads declaring huge vector lengths (up to 2^32 - 1) with small bodies',
  arbitrary: fc.record({
    codec: fc.constantFrom(...CODEC_NAMES),
    declared: fc.oneof(
      fc.integer({ min: MAX_DECODE_LENGTH + 1, max: 0xffffffff }),
      fc.constantFrom(MAX_DECODE_LENGTH, MAX_DECODE_LENGTH + 1, 2 ** 31, 0xffffffff),
      fc.integer({ min: SMALL_DECLARED + 1, max: MAX_DECODE_LENGTH }),
    ),
    x: vectorArb(64),
    withExpected: fc.boolean(),
  }),
  run({ codec, declared, x, withExpected }) {
    const compressor = parseCompressor(SPECS_BY_CODEC[codec][0] ?? codec);
    const payload = compressor.encode(x, 1);
    new DataView(payload.buffer).setUint32(1, declared, true);
    // Sparse codecs may legitimately decode a short body into up to MAX_DECODE_LENGTH
    // values; without an expected length, such an allocation would be a valid result.
    const sparse = codec === 'topk' || codec === 'randk';
    const expected = withExpected || (sparse && declared <= MAX_DECODE_LENGTH) ? x.length : undefined;
    const label = decodeOutcome((p, n) => compressor.decode(p, n), payload, expected);
    if (label === 'ok') throw new FuzzCrash(`${codec} accepted a payload declaring ${declared} values`);
    return label;
  },
  fast: 1000,
  full: 5000,
  mustSee: ['MALFORMED', 'LENGTH_MISMATCH', 'TRUNCATED'],
});

const encodeNonFiniteTarget = target({
  name: 'codec.encode-non-finite',
  description: 'NaN and ±Inf at random positions of the encoder input: NON_FINITE_INPUT from every codec',
  arbitrary: fc.record({
    spec: fc.constantFrom(...Object.values(SPECS_BY_CODEC).flat()),
    x: vectorArb(200),
    bad: fc.array(fc.record({ at: fc.nat(), value: fc.constantFrom(NaN, Infinity, -Infinity) }), {
      maxLength: 3,
    }),
  }),
  run({ spec, x, bad }) {
    const input = x.slice();
    if (input.length > 0) for (const { at, value } of bad) input[at % input.length] = value;
    const finite = input.every((v) => Number.isFinite(v));
    const compressor = parseCompressor(spec);
    const label = coded(() => void compressor.encode(input, 7), CodecError, ['NON_FINITE_INPUT']);
    invariant(
      finite === (label === 'ok'),
      `encode of ${finite ? 'finite' : 'non-finite'} input gave ${label}`,
    );
    return label;
  },
  fast: 600,
  full: 4000,
  mustSee: ['ok', 'NON_FINITE_INPUT'],
});

const specialPatternTarget = target({
  name: 'codec.special-values',
  description: 'NaN/Inf/max/denormal bit patterns written at every aligned body offset of valid payloads',
  arbitrary: fc.record({
    spec: fc.constantFrom(...Object.values(SPECS_BY_CODEC).flat()),
    x: vectorArb(40),
    pattern: fc.constantFrom(...Object.keys(SPECIAL_PATTERNS)),
    offset: fc.nat(),
  }),
  run({ spec, x, pattern, offset }) {
    const compressor = parseCompressor(spec);
    const payload = compressor.encode(x, 3).slice();
    const bytes = SPECIAL_PATTERNS[pattern] ?? [];
    const bodyLength = payload.length - HEADER_BYTES;
    if (bodyLength <= 0) return decodeOutcome((p, n) => compressor.decode(p, n), payload, x.length);
    const at = HEADER_BYTES + (offset % bodyLength);
    for (let i = 0; i < bytes.length && at + i < payload.length; i++) payload[at + i] = bytes[i] ?? 0;
    return decodeOutcome((p, n) => compressor.decode(p, n), payload, x.length);
  },
  fast: 1000,
  full: 6000,
  mustSee: ['ok', 'MALFORMED'],
});

export const codecTargets: readonly FuzzTarget[] = [
  ...CODEC_NAMES.map(mutatedPayloadTarget),
  randomBytesTarget,
  oversizedTarget,
  encodeNonFiniteTarget,
  specialPatternTarget,
];
