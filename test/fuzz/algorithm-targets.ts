/**
 * Fuzz targets at the algorithm's boundary: what arrives from other peers before it may
 * touch a model. The aggregator's decodeUpload and decodeSync get payloads of other codecs,
 * other vector sizes, mutated bytes and NaN/Inf patterns; a worker's applyBroadcast gets the
 * same and must leave its model untouched when it refuses; and aggregate / foldLate /
 * aggregateSync get accepted but extreme uploads (±3.4e38, denormals) round after round,
 * and must neither throw nor let the error e or the broadcast become non-finite.
 *
 * @example
 * for (const t of algorithmTargets) await checkTarget(t);
 */
import fc from 'fast-check';
import { decodeSyncPayload } from '../../shared/algorithm/sync-payload.ts';
import {
  createAggregator,
  createWorker,
  resolveAlgorithmOptions,
  type AlgorithmOptions,
  type AlgorithmSpec,
} from '../../shared/algorithm/index.ts';
import { CodecError, parseCompressor, type Compressor } from '../../shared/compress/index.ts';
import { coded, describeError, FuzzCrash, invariant, target, type FuzzTarget } from './harness.ts';
import { DECODE_CODES, checkDecoded, vectorArb } from './codec-targets.ts';
import { applyMutations, mutationsArb, type Mutation } from './mutations.ts';

const UP_SPECS = ['identity', 'fp16', 'topk:0.1', 'topk:0.5:f32', 'randk:0.5', 'sign', 'qsgd:4', 'q8'];
const SYNC_SPECS = ['identity', 'q8', 'q4', 'fp16'];
const specArb: fc.Arbitrary<AlgorithmSpec> = fc.record({
  aggregation: fc.constantFrom('mean', 'mean', 'median', 'trimmed:0.2', 'trimmed:0.4'),
  algorithm: fc.constantFrom('sgd', 'ef-sgd', 'doublesqueeze', 'liec'),
  up: fc.constantFrom(...UP_SPECS),
  down: fc.constantFrom(...UP_SPECS),
  syncCodec: fc.constantFrom(...SYNC_SPECS),
  learningRate: fc.constantFrom(0.1, 1, 1e-3),
  momentum: fc.constantFrom(0, 0.9),
});

function resolve(spec: AlgorithmSpec): AlgorithmOptions {
  // Rules of the methods, not bad input: ef-sgd sends full precision down, robust
  // aggregation needs dense uploads.
  const down = spec.algorithm === 'ef-sgd' ? 'identity' : spec.down;
  const sparse = /^(topk|randk)/.test(spec.up);
  const up = sparse && (spec.aggregation ?? 'mean') !== 'mean' ? 'fp16' : spec.up;
  return resolveAlgorithmOptions({ ...spec, up, down });
}

interface Incoming {
  /** Written by the codec the receiver expects (most inputs) or by another one. */
  sameCodec: boolean;
  spec: string;
  lengthDelta: number;
  values: Float32Array;
  mutations: Mutation[];
  random: Uint8Array | null;
}

/** A payload arriving from a peer: a valid one of some codec and size, mutated or not, or random bytes. */
const incomingArb: fc.Arbitrary<Incoming> = fc.record({
  sameCodec: fc.boolean(),
  spec: fc.constantFrom(...UP_SPECS, ...SYNC_SPECS, 'q4:7', 'sign:5'),
  lengthDelta: fc.oneof(
    { weight: 4, arbitrary: fc.constant(0) },
    { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) },
  ),
  values: vectorArb(64),
  mutations: mutationsArb(3),
  random: fc.oneof(
    { weight: 6, arbitrary: fc.constant(null) },
    { weight: 1, arbitrary: fc.uint8Array({ maxLength: 100 }) },
  ),
});

/** Repeats `values` to length n (zeros when empty). */
function fill(values: Float32Array, n: number): Float32Array {
  const x = new Float32Array(n);
  if (values.length > 0) for (let i = 0; i < n; i++) x[i] = values[i % values.length] ?? 0;
  return x;
}

function incomingPayload(input: Incoming, d: number, expected: Compressor): Uint8Array {
  if (input.random !== null) return input.random;
  const x = fill(input.values, Math.max(0, d + input.lengthDelta));
  const codec = input.sameCodec ? expected : parseCompressor(input.spec);
  return applyMutations(codec.encode(x, 9), input.mutations);
}

const dimensionArb = fc.integer({ min: 1, max: 48 });

const decodeUploadTarget = target({
  name: 'algorithm.decodeUpload',
  description: "uploads of any codec, size and corruption through the aggregator's decodeUpload",
  arbitrary: fc.record({ spec: specArb, d: dimensionArb, incoming: incomingArb }),
  run({ spec, d, incoming }) {
    const options = resolve(spec);
    const aggregator = createAggregator(options, d);
    const payload = incomingPayload(incoming, d, options.up);
    return coded(() => checkDecoded(aggregator.decodeUpload(payload), payload, d), CodecError, DECODE_CODES);
  },
  fast: 1000,
  full: 6000,
  mustSee: ['ok', 'WRONG_CODEC', 'LENGTH_MISMATCH', 'TRUNCATED', 'MALFORMED'],
});

const decodeSyncTarget = target({
  name: 'algorithm.decodeSync',
  description: "sync uploads of any codec, size and corruption through the aggregator's decodeSync",
  arbitrary: fc.record({ spec: specArb, d: dimensionArb, incoming: incomingArb }),
  run({ spec, d, incoming }) {
    const options = resolve({ ...spec, algorithm: 'liec' });
    const aggregator = createAggregator(options, d);
    const payload = incomingPayload(incoming, d, options.sync?.codec ?? options.up);
    return coded(() => checkDecoded(aggregator.decodeSync(payload), payload, d), CodecError, DECODE_CODES);
  },
  fast: 600,
  full: 4000,
  mustSee: ['ok', 'WRONG_CODEC', 'LENGTH_MISMATCH'],
});

const applyBroadcastTarget = target({
  name: 'algorithm.applyBroadcast',
  description: "broadcasts of any codec, size and corruption through a worker's applyBroadcast",
  arbitrary: fc.record({ spec: specArb, d: dimensionArb, incoming: incomingArb, gradient: vectorArb(48) }),
  run({ spec, d, incoming, gradient }) {
    const options = resolve(spec);
    const worker = createWorker(options, fill(Float32Array.of(0.5, -0.25), d));
    worker.prepareUpload(
      fill(
        gradient.map((v) => Math.max(-1e3, Math.min(1e3, v))),
        d,
      ),
      3,
    );
    const before = Float32Array.from(worker.model);
    const payload = incomingPayload(incoming, d, options.down);
    const label = coded(() => worker.applyBroadcast(payload), CodecError, DECODE_CODES);
    if (label !== 'ok') {
      invariant(
        worker.model.every((v, i) => Object.is(v, before[i])),
        'a refused broadcast leaves the model untouched',
      );
      invariant(worker.hasPendingUpload, 'a refused broadcast leaves the upload pending');
    }
    return label;
  },
  fast: 600,
  full: 4000,
  mustSee: ['ok', 'WRONG_CODEC', 'LENGTH_MISMATCH'],
});

/** Values an honest or malicious worker can get accepted: finite, up to the float32 limit. */
const extremeVectorArb = (d: number): fc.Arbitrary<Float32Array> =>
  vectorArb(d).map((values) => fill(values, d));

interface RoundInput {
  uploads: Float32Array[];
  late: Float32Array | null;
  sync: Float32Array[] | null;
}

const aggregateTarget = target({
  name: 'algorithm.aggregate',
  description: 'rounds of accepted but extreme uploads through aggregate, foldLate and aggregateSync',
  arbitrary: fc.record({ spec: specArb, d: fc.integer({ min: 1, max: 24 }) }).chain(({ spec, d }) =>
    fc.record({
      spec: fc.constant(spec),
      d: fc.constant(d),
      rounds: fc.array(
        fc.record({
          uploads: fc.array(extremeVectorArb(d), { minLength: 1, maxLength: 5 }),
          late: fc.option(extremeVectorArb(d), { freq: 3 }),
          sync: fc.option(fc.array(extremeVectorArb(d), { minLength: 1, maxLength: 4 }), { freq: 3 }),
        }),
        { minLength: 1, maxLength: 6 },
      ),
    }),
  ),
  run({ spec, d, rounds }) {
    const options = resolve(spec);
    const aggregator = createAggregator(options, d);
    const checkError = (when: string): void => {
      invariant(aggregator.error.every(Number.isFinite), `error e stays finite after ${when}`);
    };
    const step = (what: string, fn: () => void): void => {
      try {
        fn();
      } catch (error) {
        if (error instanceof FuzzCrash) throw error;
        throw new FuzzCrash(`${what} threw ${describeError(error)}`, { cause: error });
      }
    };
    rounds.forEach((round: RoundInput, t) => {
      const vectors = round.uploads.map((x) => aggregator.decodeUpload(options.up.encode(x, t)));
      step('aggregate', () => {
        const payload = aggregator.aggregate(vectors, t);
        checkDecoded(options.down.decode(payload, d), payload, d);
      });
      checkError('aggregate');
      if (round.late !== null) {
        const late = aggregator.decodeUpload(options.up.encode(round.late, t));
        step('foldLate', () => aggregator.foldLate(late, vectors.length));
        checkError('foldLate');
      }
      if (round.sync !== null && options.algorithm === 'liec' && options.sync !== undefined) {
        const codec = options.sync.codec;
        const deltas = round.sync.map((x) => aggregator.decodeSync(codec.encode(x, t)));
        step('aggregateSync', () => {
          const { body } = decodeSyncPayload(aggregator.aggregateSync(deltas, t));
          checkDecoded(codec.decode(body, d), body, d);
        });
        checkError('aggregateSync');
      }
    });
    return 'ok';
  },
  fast: 500,
  full: 4000,
  mustSee: ['ok'],
});

export const algorithmTargets: readonly FuzzTarget[] = [
  decodeUploadTarget,
  decodeSyncTarget,
  applyBroadcastTarget,
  aggregateTarget,
];
