/**
 * Arbitraries for untrusted signaling payloads: anything socket.io can deliver (JSON values
 * and binary Buffers, nested), plus the values JSON cannot carry (NaN, Infinity, undefined)
 * for direct schema calls, and near-valid messages of every client -> server event, where
 * each field is either valid or replaced by such a value.
 *
 * @example
 * fc.sample(clientMessageArb('session:join'), 3);
 */
import fc from 'fast-check';
import type { ClientEventName } from '../../shared/protocol/signaling.ts';

const keyArb = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom('__proto__', 'constructor', 'toString', 'kind', 'to', 'data', 'round', 'ok', 'config'),
);

const primitiveArb = fc.oneof(
  fc.constantFrom(null, true, false, 0, -1, 1.5, 2 ** 31, 2 ** 32, 2 ** 53 + 2, 1e308, -1e308, ''),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** Values socket.io's parser can produce: JSON values and Buffers (binary attachments), nested. */
export const wireValueArb: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { maxDepth: 3, depthIdentifier: 'wire' },
    primitiveArb,
    fc.uint8Array({ maxLength: 16 }).map((bytes) => Buffer.from(bytes)),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(keyArb, tie('value'), { maxKeys: 5 }),
  ),
})).value;

/** What only a direct call can pass: values that JSON turns into null or drops. */
export const untransmittableArb: fc.Arbitrary<unknown> = fc.constantFrom(
  undefined,
  NaN,
  Infinity,
  -Infinity,
  -0,
);

/** Big values: long strings, many keys, long arrays. */
export const bulkyArb: fc.Arbitrary<unknown> = fc.oneof(
  fc.integer({ min: 500, max: 70_000 }).map((n) => 'x'.repeat(n)),
  fc
    .integer({ min: 30, max: 200 })
    .map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]))),
  fc.integer({ min: 4000, max: 6000 }).map((n) => Array.from({ length: n }, (_, i) => `p${i}`)),
);

function field<T>(valid: fc.Arbitrary<T>, untransmittable: boolean): fc.Arbitrary<unknown> {
  const bad = untransmittable
    ? fc.oneof(wireValueArb, untransmittableArb, bulkyArb)
    : fc.oneof(wireValueArb, bulkyArb);
  return fc.oneof({ weight: 5, arbitrary: valid.map((v): unknown => v) }, { weight: 1, arbitrary: bad });
}

/** Mostly `valid`, sometimes `other`: keeps a good share of whole messages valid. */
function mostly<T>(valid: fc.Arbitrary<T>, other: fc.Arbitrary<T>): fc.Arbitrary<T> {
  return fc.oneof({ weight: 4, arbitrary: valid }, { weight: 1, arbitrary: other });
}

const sessionIdArb = mostly(fc.stringMatching(/^[A-Za-z0-9_-]{8,64}$/), fc.string({ maxLength: 70 }));
const peerIdArb = mostly(fc.stringMatching(/^[A-Za-z0-9_-]{1,64}$/), fc.string({ maxLength: 70 }));
const tokenArb = fc.oneof(
  fc.stringMatching(/^\d{1,16}\.[A-Za-z0-9_-]{43}$/),
  // Host tokens and invitations (signaling/token.ts).
  fc.stringMatching(/^(h|i\.[A-Za-z0-9_-]{1,64})\.\d{1,16}\.[A-Za-z0-9_-]{43}$/),
  fc.string({ maxLength: 40 }),
  fc.integer({ min: 500, max: 2000 }).map((n) => 'A'.repeat(n)),
);
const countArb = mostly(fc.nat({ max: 1000 }), fc.oneof(fc.integer(), fc.double()));
const sizeArb = mostly(fc.double({ min: 0, max: 1e12, noNaN: true }), fc.double());
const statsArb = mostly(
  fc.dictionary(fc.string({ maxLength: 10 }), fc.double({ noNaN: true, noDefaultInfinity: true }), {
    maxKeys: 8,
  }),
  fc.dictionary(fc.string({ maxLength: 70 }), fc.oneof(fc.double(), fc.integer()), { maxKeys: 40 }),
);
const capabilitiesArb = mostly(
  fc.dictionary(
    fc.string({ maxLength: 10 }),
    fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean()),
    {
      maxKeys: 6,
    },
  ),
  fc.dictionary(
    fc.string({ maxLength: 70 }),
    fc.oneof(fc.string({ maxLength: 300 }), fc.double(), wireValueArb),
    {
      maxKeys: 40,
    },
  ),
);
const specArb = fc.oneof(
  fc.constantFrom(
    'identity',
    'fp16',
    'topk:0.01',
    'topk:2',
    'sign:0',
    'qsgd:16',
    'q8',
    'q4:7',
    'randk:1e-3',
    'nope',
  ),
  fc.string({ maxLength: 70 }),
);

const positiveArb = mostly(fc.integer({ min: 1, max: 1000 }), countArb);
const configArb = fc.record(
  {
    task: mostly(fc.constant('mnist'), fc.constant('cifar')),
    model: mostly(fc.constantFrom('mlp', 'cnn'), fc.constant('resnet')),
    algorithm: mostly(fc.constantFrom('sgd', 'ef-sgd', 'doublesqueeze', 'liec'), fc.constant('adam')),
    up: specArb,
    down: specArb,
    learningRate: mostly(fc.double({ min: 1e-4, max: 1, noNaN: true }), fc.double()),
    momentum: mostly(fc.double({ min: 0, max: 0.99, noNaN: true }), fc.double()),
    batchSize: positiveArb,
    rounds: positiveArb,
    roundDeadlineMs: positiveArb,
    quorum: mostly(fc.double({ min: 0.01, max: 1, noNaN: true }), fc.double()),
    syncPeriod: positiveArb,
    syncCodec: specArb,
    partition: fc.constantFrom('iid', 'dirichlet:0.5', 'shards:2', 'shards:0', 'dirichlet:'),
    seed: countArb,
    aggregation: fc.constantFrom('mean', 'median', 'trimmed:0.2', 'trimmed:0.5', 'max'),
  },
  { requiredKeys: [] },
);

function record(shape: Record<string, fc.Arbitrary<unknown>>, required: string[], direct: boolean) {
  const fields = Object.fromEntries(Object.entries(shape).map(([k, v]) => [k, field(v, direct)]));
  return fc.record(fields, { requiredKeys: required });
}

/** Near-valid payloads of one client event; `direct` adds values JSON cannot carry. */
export function clientMessageArb(event: ClientEventName, direct = false): fc.Arbitrary<unknown> {
  const join = {
    sessionId: sessionIdArb,
    token: tokenArb,
    peerId: peerIdArb,
    kind: fc.constantFrom('browser', 'headless'),
    capabilities: capabilitiesArb,
    ready: fc.boolean(),
  };
  const shaped: Record<ClientEventName, fc.Arbitrary<unknown>> = {
    'session:create': record({ config: configArb, invitations: fc.boolean() }, [], direct),
    'session:join': record(join, ['sessionId', 'token', 'kind'], direct),
    'session:invite': record(
      {
        sessionId: sessionIdArb,
        token: tokenArb,
        count: countArb,
        peerIds: fc.array(peerIdArb, { maxLength: 4 }),
      },
      ['sessionId', 'token'],
      direct,
    ),
    signal: record({ to: peerIdArb, data: wireValueArb }, ['to', 'data'], direct),
    heartbeat: record({ round: countArb, stats: statsArb }, [], direct),
    'peer:ready': record({ ready: fc.boolean() }, ['ready'], direct),
    'round:report': record(
      {
        term: countArb,
        round: countArb,
        participants: fc.array(peerIdArb, { maxLength: 8 }),
        bytes: fc.record({ up: sizeArb, down: sizeArb }),
        durationMs: sizeArb,
        metrics: statsArb,
      },
      ['term', 'round', 'participants', 'bytes'],
      direct,
    ),
    'aggregator:unreachable': record({ term: countArb, peerId: peerIdArb }, ['term', 'peerId'], direct),
    'peer:report': record(
      { term: countArb, peerId: peerIdArb, reason: fc.constant('invalid-frames'), count: countArb },
      ['term', 'peerId', 'reason', 'count'],
      direct,
    ),
    'snapshots:list': record({ sessionId: sessionIdArb }, ['sessionId'], direct),
    'session:rollback': record({ sessionId: sessionIdArb, round: countArb }, ['sessionId', 'round'], direct),
  };
  const whole = direct ? fc.oneof(wireValueArb, untransmittableArb) : wireValueArb;
  return fc.oneof({ weight: 6, arbitrary: shaped[event] }, { weight: 1, arbitrary: whole });
}
