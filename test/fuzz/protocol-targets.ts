/**
 * Fuzz targets for the peer protocol: binary frames (decodeFrame, decodeTags, encodeFrame's
 * field checks, broadcast metas) and control messages (decodeControl). Valid messages are mutated at the
 * byte level and at the JSON level, random bytes and random JSON are thrown at them.
 *
 * decodeFrame either returns a frame that re-encodes to the same bytes (reserved bytes
 * aside) or throws FrameError with a FrameErrorCode; decodeControl either returns a message
 * that passes the schema again or throws ControlError('CONTROL_INVALID').
 *
 * @example
 * for (const t of protocolTargets) await checkTarget(t);
 */
import fc from 'fast-check';
import {
  ControlError,
  MAX_CONTROL_BYTES,
  controlMessageSchema,
  decodeControl,
  encodeControl,
  type ControlMessage,
} from '../../shared/protocol/control.ts';
import {
  FRAME_HEADER_BYTES,
  FRAME_TYPES,
  FrameError,
  decodeFrame,
  decodeTags,
  encodeFrame,
  encodeTags,
  type Frame,
  type FrameErrorCode,
} from '../../shared/protocol/frames.ts';
import { decodeBroadcastMeta, encodeBroadcastMeta } from '../../shared/protocol/broadcast-meta.ts';
import { parseCompressor } from '../../shared/compress/index.ts';
import { coded, FuzzCrash, invariant, target, type FuzzTarget } from './harness.ts';
import { applyMutations, mutationsArb, u32Arb } from './mutations.ts';
import { vectorArb } from './codec-targets.ts';

const FRAME_CODES = {
  FRAME_TRUNCATED: true,
  FRAME_VERSION: true,
  FRAME_TYPE: true,
  FRAME_LENGTH: true,
  FRAME_FIELD: true,
} as const satisfies Record<FrameErrorCode, true>;
export const FRAME_ERROR_CODES: readonly string[] = Object.keys(FRAME_CODES);

const u32 = fc.oneof(fc.integer({ min: 0, max: 20 }), fc.nat({ max: 0xffffffff }));

/** Valid frames: any type, fields across their ranges, a codec payload or raw bytes. */
export const frameArb: fc.Arbitrary<Frame> = fc.record({
  type: fc.constantFrom(...FRAME_TYPES),
  term: u32,
  round: u32,
  sender: u32,
  aux: fc.float({ noNaN: true, noDefaultInfinity: true }),
  meta: fc.oneof(
    fc.uint8Array({ maxLength: 48 }),
    fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 12 }).map((tags) => encodeTags(tags)),
  ),
  payload: fc.oneof(
    fc.uint8Array({ maxLength: 64 }),
    fc
      .tuple(fc.constantFrom('identity', 'fp16', 'topk:0.1', 'q8'), vectorArb(40))
      .map(([spec, x]) => parseCompressor(spec).encode(x, 1)),
  ),
});

/** What an accepted frame must satisfy: it re-encodes to the same bytes but for the reserved ones. */
function checkFrame(frame: Frame, bytes: Uint8Array): void {
  invariant(FRAME_TYPES.includes(frame.type), 'known type');
  invariant(Number.isFinite(frame.aux), 'finite aux');
  const again = encodeFrame(frame);
  invariant(again.length === bytes.length, 're-encodes to the same length');
  for (let i = 0; i < bytes.length; i++) {
    if (i === 3 || i === 22 || i === 23) continue; // flags and reserved: ignored by the decoder
    // aux: -0 and NaN payload bits aside, a finite float32 re-encodes to its own bits.
    invariant(again[i] === bytes[i], `byte ${i} re-encodes the same`);
  }
}

function frameOutcome(bytes: Uint8Array): string {
  return coded(() => checkFrame(decodeFrame(bytes), bytes), FrameError, FRAME_ERROR_CODES);
}

const frameMutatedTarget = target({
  name: 'frame.mutated',
  description: 'valid frames of every type, mutated (truncation, flips, length fields, NaN aux), decodeFrame',
  arbitrary: fc.record({ frame: frameArb, mutations: mutationsArb(3) }),
  run({ frame, mutations }) {
    const valid = encodeFrame(frame);
    const bytes = applyMutations(valid, mutations);
    const label = frameOutcome(bytes);
    if (mutations.length === 0 && label !== 'ok') throw new FuzzCrash(`a valid frame was rejected: ${label}`);
    return label;
  },
  fast: 1500,
  full: 8000,
  mustSee: ['ok', 'FRAME_TRUNCATED', 'FRAME_LENGTH', 'FRAME_VERSION', 'FRAME_TYPE', 'FRAME_FIELD'],
});

const frameRandomTarget = target({
  name: 'frame.random-bytes',
  description: 'random bytes, and a random header (version 1, small type) over random sections, decodeFrame',
  arbitrary: fc.oneof(
    fc.uint8Array({ maxLength: 80 }),
    fc
      .record({
        type: fc.integer({ min: 0, max: 8 }),
        header: fc.uint8Array({ minLength: FRAME_HEADER_BYTES - 2, maxLength: FRAME_HEADER_BYTES - 2 }),
        metaLength: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.nat({ max: 0xffff })),
        payloadLength: u32Arb,
        rest: fc.uint8Array({ maxLength: 120 }),
      })
      .map(({ type, header, metaLength, payloadLength, rest }) => {
        const bytes = new Uint8Array(FRAME_HEADER_BYTES + rest.length);
        bytes.set(header, 2);
        bytes[0] = 1;
        bytes[1] = type;
        const view = new DataView(bytes.buffer);
        view.setUint16(20, metaLength, true);
        bytes.set(rest, FRAME_HEADER_BYTES);
        const at = FRAME_HEADER_BYTES + metaLength;
        if (at + 4 <= bytes.length) view.setUint32(at, payloadLength, true);
        return bytes;
      }),
  ),
  run: frameOutcome,
  fast: 1000,
  full: 6000,
  mustSee: ['FRAME_TRUNCATED', 'FRAME_LENGTH'],
});

const frameTagsTarget = target({
  name: 'frame.tags',
  description: 'meta sections of any length through decodeTags; tag lists round-trip',
  arbitrary: fc.oneof(
    fc.uint8Array({ maxLength: 70 }),
    fc.array(fc.nat({ max: 0xffffffff }), { maxLength: 20 }).map((tags) => encodeTags(tags)),
  ),
  run(meta) {
    return coded(
      () => {
        const tags = decodeTags(meta);
        invariant(tags.length * 4 === meta.length, 'one tag per 4 bytes');
        invariant(
          tags.every((t) => Number.isInteger(t) && t >= 0 && t <= 0xffffffff),
          'u32 tags',
        );
        const again = encodeTags(tags);
        invariant(
          again.every((b, i) => b === meta[i]),
          'round trip',
        );
      },
      FrameError,
      ['FRAME_LENGTH'],
    );
  },
  fast: 500,
  full: 3000,
  mustSee: ['ok', 'FRAME_LENGTH'],
});

const broadcastMetaTarget = target({
  name: 'frame.broadcast-meta',
  description: 'broadcast meta sections of any length and trailing byte through decodeBroadcastMeta',
  arbitrary: fc.oneof(
    fc.uint8Array({ maxLength: 70 }),
    fc
      .record({
        tags: fc.oneof(fc.constant('same' as const), fc.array(u32Arb, { maxLength: 16 })),
        slack: fc.option(fc.double({ min: -5, max: 5, noNaN: true }), { nil: undefined }),
      })
      .map(({ tags, slack }) => encodeBroadcastMeta(tags, slack)),
  ),
  run(meta) {
    return coded(
      () => {
        const { tags, slackSeconds } = decodeBroadcastMeta(meta);
        if (tags !== 'same')
          invariant(
            tags.every((t) => Number.isInteger(t) && t >= 0 && t <= 0xffffffff),
            'u32 tags',
          );
        invariant(
          slackSeconds === null || (Number.isFinite(slackSeconds) && Math.abs(slackSeconds) <= 3.2769),
          'a bounded, finite slack',
        );
      },
      FrameError,
      ['FRAME_LENGTH', 'FRAME_FIELD'],
    );
  },
  fast: 500,
  full: 3000,
  mustSee: ['ok', 'FRAME_LENGTH', 'FRAME_FIELD'],
});

const frameEncodeTarget = target({
  name: 'frame.encode-fields',
  description: 'encodeFrame with out-of-range terms, rounds, senders, non-finite aux, oversized meta',
  arbitrary: fc.record({
    frame: frameArb,
    term: fc.oneof(u32, fc.constantFrom(-1, 1.5, 2 ** 32, NaN, Infinity)),
    aux: fc.oneof(
      fc.float({ noNaN: true, noDefaultInfinity: true }),
      fc.constantFrom(NaN, Infinity, -Infinity),
    ),
    metaLength: fc.oneof(fc.constant(-1), fc.integer({ min: 65530, max: 65600 })),
  }),
  run({ frame, term, aux, metaLength }) {
    const meta = metaLength < 0 ? frame.meta : new Uint8Array(metaLength);
    const candidate = { ...frame, term, aux, meta };
    const valid =
      Number.isInteger(term) &&
      term >= 0 &&
      term <= 0xffffffff &&
      Number.isFinite(aux) &&
      meta.length <= 65535;
    const label = coded(
      () => {
        const bytes = encodeFrame(candidate);
        invariant(frameOutcome(bytes) === 'ok', 'what encodeFrame writes decodes');
      },
      FrameError,
      ['FRAME_FIELD', 'FRAME_LENGTH'],
    );
    invariant(
      valid === (label === 'ok'),
      `encodeFrame of ${valid ? 'a valid' : 'an invalid'} frame gave ${label}`,
    );
    return label;
  },
  fast: 300,
  full: 2000,
  mustSee: ['ok', 'FRAME_FIELD', 'FRAME_LENGTH'],
});

// ---------------------------------------------------------------------------- control

const roundArb = fc.oneof(fc.nat({ max: 1000 }), fc.nat({ max: 0xffffffff }));
const validControlArb: fc.Arbitrary<ControlMessage> = fc.oneof(
  fc.record({
    kind: fc.constant('hello' as const),
    round: roundArb,
    hasModel: fc.boolean(),
    pendingUpload: fc.boolean(),
  }),
  fc.constant({ kind: 'modelRequest' as const }),
  fc.record({ kind: fc.constant('catchUp' as const), round: roundArb }),
  fc.record({
    kind: fc.constant('metrics' as const),
    round: roundArb,
    testAccuracy: fc.double({ min: 0, max: 1, noNaN: true }),
    testLoss: fc.double({ min: 0, max: 1e6, noNaN: true }),
  }),
  fc.record({
    kind: fc.constant('done' as const),
    round: roundArb,
    testAccuracy: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null }),
  }),
);

/** JSON values that probe the schema's number checks and kinds. */
const trickyJsonArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(-1, -0, 0.5, 2 ** 32, 2 ** 53, 1e308, '12', 'hello', true, null, [], {}, 'NaN'),
);

/** A valid message with one field replaced, removed or added, or its kind changed. */
const mutatedControlArb: fc.Arbitrary<unknown> = fc
  .record({
    message: validControlArb,
    edit: fc.constantFrom('replace', 'delete', 'add', 'kind'),
    field: fc.constantFrom(
      'kind',
      'round',
      'hasModel',
      'pendingUpload',
      'testAccuracy',
      'testLoss',
      '__proto__',
      'x',
    ),
    value: trickyJsonArb,
    kind: fc.constantFrom('hello', 'modelRequest', 'metrics', 'done', 'Hello', '', 'model'),
  })
  .map(({ message, edit, field, value, kind }) => {
    const copy: Record<string, unknown> = { ...message };
    if (edit === 'replace' || edit === 'add') Object.defineProperty(copy, field, { value, enumerable: true });
    else if (edit === 'delete') delete copy[field];
    else copy['kind'] = kind;
    return copy;
  });

function checkControl(message: ControlMessage): void {
  const again = controlMessageSchema.safeParse(JSON.parse(JSON.stringify(message)));
  invariant(again.success, 'an accepted message passes the schema again');
  invariant(JSON.stringify(again.data) === JSON.stringify(message), 'parsing is idempotent');
  invariant(encodeControl(message).length <= MAX_CONTROL_BYTES, 'fits the size limit');
  if ('round' in message)
    invariant(Number.isSafeInteger(message.round) && message.round >= 0, 'round is a u32');
}

function controlOutcome(bytes: Uint8Array): string {
  return coded(() => checkControl(decodeControl(bytes)), ControlError, ['CONTROL_INVALID']);
}

const encoder = new TextEncoder();

const controlJsonTarget = target({
  name: 'control.json',
  description: 'valid control messages, edited (fields replaced/removed/added, kinds changed), random JSON',
  arbitrary: fc.oneof(
    { weight: 2, arbitrary: validControlArb.map((m): unknown => m) },
    { weight: 5, arbitrary: mutatedControlArb },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 4 }) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '{"kind":"hello","round":1e400,"hasModel":true,"pendingUpload":false}',
        '{"kind":"hello","round":-0,"hasModel":true,"pendingUpload":false}',
        '{"kind":"metrics","round":1,"testAccuracy":1.0000001,"testLoss":0}',
        '{"kind":"done","round":1,"testAccuracy":null,"kind":"hello"}',
        '{"kind":"modelRequest","__proto__":{"polluted":true}}',
        '[{"kind":"modelRequest"}]',
      ),
    },
  ),
  run(value) {
    const text = typeof value === 'string' && value.startsWith('{') ? value : JSON.stringify(value);
    const label = controlOutcome(encoder.encode(text ?? 'undefined'));
    invariant(({} as Record<string, unknown>)['polluted'] === undefined, 'no prototype pollution');
    return label;
  },
  fast: 1500,
  full: 8000,
  mustSee: ['ok', 'CONTROL_INVALID'],
});

const controlBytesTarget = target({
  name: 'control.random-bytes',
  description: 'random bytes (invalid UTF-8 included), mutated encodings, oversized documents, decodeControl',
  arbitrary: fc.oneof(
    fc.uint8Array({ maxLength: 200 }),
    fc.tuple(validControlArb, mutationsArb(3)).map(([m, ms]) => applyMutations(encodeControl(m), ms)),
    fc.string({ maxLength: 100, unit: 'binary' }).map((s) => encoder.encode(s)),
    fc
      .tuple(validControlArb, fc.integer({ min: MAX_CONTROL_BYTES - 60, max: MAX_CONTROL_BYTES + 60 }))
      .map(([m, size]) => {
        const text = JSON.stringify(m);
        return encoder.encode(text.slice(0, -1) + ' '.repeat(Math.max(0, size - text.length)) + '}');
      }),
  ),
  run(bytes) {
    const label = controlOutcome(bytes);
    invariant(bytes.length <= MAX_CONTROL_BYTES || label !== 'ok', 'oversized documents are refused');
    return label;
  },
  fast: 1500,
  full: 8000,
  mustSee: ['ok', 'CONTROL_INVALID'],
});

export const protocolTargets: readonly FuzzTarget[] = [
  frameMutatedTarget,
  frameRandomTarget,
  frameTagsTarget,
  broadcastMetaTarget,
  frameEncodeTarget,
  controlJsonTarget,
  controlBytesTarget,
];
