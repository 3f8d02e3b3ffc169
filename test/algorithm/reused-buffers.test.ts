/**
 * The aggregator's round and the running mean reuse their model-sized buffers from one round
 * to the next instead of allocating them. Nothing may change: the payloads and e are those
 * of the straightforward computation (fresh vectors every round, written out here), no value
 * of one round leaks into the next, and nothing a caller holds (its uploads, a payload it
 * keeps for a resend) is overwritten by a later round. Uploads are decoded into vectors the
 * aggregator role reuses (VectorPool; when it gives them back: test/roles/stand-ins-role.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RunningMean } from '../../client/roles/running-mean.ts';
import { VectorPool } from '../../client/roles/vector-pool.ts';
import {
  createAggregator,
  resolveAlgorithmOptions,
  sharedShare,
  syncFlushStep,
} from '../../shared/algorithm/index.ts';
import { decodeChecked, decodeCheckedInto } from '../../shared/algorithm/decode.ts';
import { encodeSyncPayload } from '../../shared/algorithm/sync-payload.ts';
import { mean, meanInto } from '../../shared/algorithm/vector.ts';
import { clampFloat32 } from '../../shared/compress/finite.ts';
import { CodecError, parseCompressor } from '../../shared/compress/index.ts';
import { createRng } from '../../shared/random.ts';

const DIM = 1_001;

function randomVector(seed: number, zeros = false): Float32Array {
  const rng = createRng(seed);
  const x = Float32Array.from({ length: DIM }, () => rng.normal());
  if (zeros) for (let i = 0; i < DIM; i += 5) x[i] = i % 10 === 0 ? 0 : -0;
  return x;
}

/** The same float32 bits (so -0 differs from +0). */
function assertSameBits(a: Float32Array, b: Float32Array, what: string): void {
  assert.deepEqual(
    new Uint32Array(a.buffer, a.byteOffset, a.length),
    new Uint32Array(b.buffer, b.byteOffset, b.length),
    what,
  );
}

/** Float64 sum in list order, divided once: the mean as the method defines it. */
function referenceMean(vectors: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) {
    let sum = 0;
    for (const v of vectors) sum += v[i] as number;
    out[i] = vectors.length === 0 ? 0 : sum / vectors.length;
  }
  return out;
}

test("meanInto: the bits of mean() for 0-3 vectors, over a buffer holding last round's values", () => {
  const out = new Float32Array(DIM).fill(Number.NaN);
  for (const count of [3, 1, 0, 2, 1]) {
    const vectors = Array.from({ length: count }, (_, k) => randomVector(10 * count + k, true));
    meanInto(vectors, out);
    assertSameBits(out, referenceMean(vectors), `${count} vectors`);
    assertSameBits(mean(vectors, DIM), out, `mean() of ${count}`);
  }
  // A list that decodes on each access is read once per vector, in one pass.
  let reads = 0;
  const vectors = [randomVector(1), randomVector(2), randomVector(3)];
  const counting = new Proxy(vectors, {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  meanInto(counting, out);
  assert.equal(reads, 3);
});

test('the aggregator over 8 rounds: payloads and e bit for bit those of fresh vectors every round', () => {
  for (const down of ['topk:0.05', 'topk:0.02:sign', 'q8', 'identity']) {
    const options = resolveAlgorithmOptions({ algorithm: 'liec', up: 'topk:0.1', down, learningRate: 0.1 });
    const aggregator = createAggregator(options, DIM);
    const e = new Float32Array(DIM);
    const kept: { payload: Uint8Array; copy: Uint8Array }[] = [];
    // Full rounds, a round of one upload, an empty one: every path of the mean.
    for (const [round, count] of [3, 3, 1, 0, 2, 3, 1, 2].entries()) {
      const uploads = Array.from({ length: count }, (_, k) =>
        randomVector(1000 * round + k, round % 2 === 0),
      );
      const copies = uploads.map((u) => u.slice());
      const payload = aggregator.aggregate(uploads, round);
      // What the method says, each vector fresh.
      const v = referenceMean(uploads);
      for (let i = 0; i < DIM; i++) v[i] = clampFloat32((v[i] as number) + (e[i] as number));
      const expected = options.down.encode(v, round);
      const sent = options.down.decode(expected, DIM);
      for (let i = 0; i < DIM; i++) e[i] = (v[i] as number) - (sent[i] as number);
      assert.deepEqual(payload, expected, `${down} round ${round}: payload`);
      assertSameBits(aggregator.error, e, `${down} round ${round}: e`);
      uploads.forEach((u, k) =>
        assertSameBits(u, copies[k] as Float32Array, `${down} round ${round}: upload ${k} untouched`),
      );
      kept.push({ payload, copy: payload.slice() });
    }
    // A broadcast kept for a resend is never written over by a later round.
    for (const [round, { payload, copy }] of kept.entries())
      assert.deepEqual(payload, copy, `${down}: payload of round ${round}`);
  }
});

test('one upload a round (a running mean) near the float32 limit: v and e clamped as the method says', () => {
  for (const down of ['topk:0.05', 'q8']) {
    const options = resolveAlgorithmOptions({ algorithm: 'liec', up: 'topk:0.1', down, learningRate: 0.1 });
    const aggregator = createAggregator(options, DIM);
    const e = new Float32Array(DIM);
    for (let round = 0; round < 4; round++) {
      // Every other entry near +-3.4e38, so mean + e passes the range in some rounds.
      const upload = randomVector(77 + round).map((x, i) => (i % 2 === 0 ? Math.sign(x) * 3.3e38 : x));
      const payload = aggregator.aggregate([upload], round);
      const v = new Float32Array(DIM);
      for (let i = 0; i < DIM; i++) v[i] = clampFloat32(0 + (upload[i] as number) + (e[i] as number));
      const expected = options.down.encode(v, round);
      const sent = options.down.decode(expected, DIM);
      for (let i = 0; i < DIM; i++) e[i] = clampFloat32(Math.fround((v[i] as number) - (sent[i] as number)));
      assert.deepEqual(payload, expected, `${down} round ${round}: payload`);
      assertSameBits(aggregator.error, e, `${down} round ${round}: e`);
      assert.ok(aggregator.error.every(Number.isFinite), `${down} round ${round}: e finite`);
    }
  }
});

test('syncs between rounds: the synced delta and e as with fresh vectors, full and by block', () => {
  const options = resolveAlgorithmOptions({
    algorithm: 'liec',
    up: 'topk:0.1',
    down: 'topk:0.05',
    learningRate: 0.1,
    momentum: 0.9,
    syncCodec: 'sign:64',
  });
  const codec = options.sync?.codec;
  assert.ok(codec !== undefined);
  const step = syncFlushStep(options);
  const aggregator = createAggregator(options, DIM);
  const e = new Float32Array(DIM);
  const roundOf = (round: number): void => {
    const uploads = [randomVector(round), randomVector(round + 500)];
    aggregator.aggregate(uploads, round);
    const v = referenceMean(uploads);
    for (let i = 0; i < DIM; i++) v[i] = clampFloat32((v[i] as number) + (e[i] as number));
    const sent = options.down.decode(options.down.encode(v, round), DIM);
    for (let i = 0; i < DIM; i++) e[i] = (v[i] as number) - (sent[i] as number);
  };
  const syncOf = (seed: number, start: number, end: number): void => {
    const deltas = [0, 1, 2].map((k) => randomVector(seed + k).subarray(start, end));
    const block = start === 0 && end === DIM ? undefined : { start, end };
    const payload = aggregator.aggregateSync(deltas, seed, block);
    const v = new Float32Array(end - start);
    for (let i = 0; i < v.length; i++) {
      const sum = (deltas[0]![i] as number) + (deltas[1]![i] as number) + (deltas[2]![i] as number);
      // The mean is a float32 vector first, as combine() gives it.
      v[i] = clampFloat32(Math.fround(sum / 3) - step * (e[start + i] as number));
    }
    const body = codec.encode(v, seed);
    const sent = codec.decode(body, v.length);
    for (let i = 0; i < v.length; i++)
      e[start + i] = clampFloat32(-((v[i] as number) - (sent[i] as number)) / step);
    assert.deepEqual(payload, encodeSyncPayload(sharedShare(deltas), body), `sync ${seed}: payload`);
    assertSameBits(aggregator.error, e, `sync ${seed}: e`);
  };
  roundOf(1);
  roundOf(2);
  syncOf(3, 0, DIM);
  roundOf(4);
  syncOf(5, 100, 433); // a rolling sync's block: e changes there only
  roundOf(6);
  syncOf(7, 900, DIM);
  roundOf(8);
});

test('RunningMean: the bits of mean() round after round, its sum handed on with nothing left in it', () => {
  for (const [round, count] of [3, 2, 0, 1, 4].entries()) {
    const vectors = Array.from({ length: count }, (_, k) => randomVector(77 * round + k, true));
    const sum = new RunningMean(DIM);
    for (const v of vectors) sum.add(v);
    const result = sum.mean();
    assertSameBits(result, referenceMean(vectors), `round ${round} of ${count} uploads`);
    assert.throws(() => sum.add(randomVector(1)), /after mean/);
    assert.throws(() => sum.mean(), /after mean/);
  }
});

test('RunningMean: two alive at once (and other lengths) never share a sum', () => {
  const a = new RunningMean(DIM);
  a.add(randomVector(1));
  a.mean(); // its sum is now spare
  const b = new RunningMean(DIM); // takes it
  const c = new RunningMean(DIM); // must not: b is using it
  const short = new RunningMean(10);
  b.add(randomVector(2));
  c.add(randomVector(3));
  c.add(randomVector(4));
  short.add(new Float32Array(10).fill(5));
  assertSameBits(c.mean(), referenceMean([randomVector(3), randomVector(4)]), 'c');
  assertSameBits(b.mean(), referenceMean([randomVector(2)]), 'b');
  assert.deepEqual(
    [...short.mean()],
    Array.from({ length: 10 }, () => 5),
  );
  assert.throws(() => new RunningMean(DIM).add(new Float32Array(DIM + 1)), RangeError);
});

test('decodeCheckedInto: decodeChecked into a reused vector, refusing what it refuses', () => {
  const out = new Float32Array(DIM).fill(Number.NaN);
  for (const spec of ['topk:0.01', 'sign:256', 'identity']) {
    const c = parseCompressor(spec);
    for (const seed of [1, 2]) {
      const payload = c.encode(randomVector(seed, true), seed);
      assertSameBits(decodeCheckedInto(c, payload, out), decodeChecked(c, payload, DIM), `${spec} ${seed}`);
    }
    const payload = c.encode(randomVector(3), 3);
    assert.throws(
      () => decodeCheckedInto(c, payload, new Float32Array(DIM - 1)),
      (error: unknown) => error instanceof CodecError && error.code === 'LENGTH_MISMATCH',
    );
  }
});

test("the aggregator's decodeUpload into a reused vector: the bits of a fresh decode, the same errors", () => {
  const options = resolveAlgorithmOptions({
    algorithm: 'liec',
    up: 'topk:0.05',
    down: 'topk:0.05',
    learningRate: 0.1,
  });
  const aggregator = createAggregator(options, DIM);
  const into = new Float32Array(DIM).fill(Number.NaN);
  for (const seed of [1, 2, 3]) {
    const payload = options.up.encode(randomVector(seed, true), seed);
    const reused = aggregator.decodeUpload(payload, into);
    assert.equal(reused, into, 'decoded where asked');
    assertSameBits(reused, aggregator.decodeUpload(payload), `seed ${seed}`);
  }
  const foreign = parseCompressor('sign:256').encode(randomVector(4), 4);
  for (const target of [undefined, into])
    assert.throws(
      () => aggregator.decodeUpload(foreign, target),
      (error: unknown) => error instanceof CodecError && error.code === 'WRONG_CODEC',
    );
  assert.throws(
    () => aggregator.decodeUpload(options.up.encode(randomVector(5), 5), new Float32Array(DIM + 1)),
    RangeError,
  );
});

test("the aggregator's decodeUploadSparse: decodeUpload's bits, with top-k's positions; null for a dense codec", () => {
  for (const up of ['topk:0.05', 'topk:0.05:sign', 'identity']) {
    const options = resolveAlgorithmOptions({ algorithm: 'liec', up, down: 'topk:0.05', learningRate: 0.1 });
    const aggregator = createAggregator(options, DIM);
    const into = new Float32Array(DIM).fill(Number.NaN);
    for (const seed of [1, 2]) {
      const payload = options.up.encode(randomVector(seed, true), seed);
      const support = aggregator.decodeUploadSparse(payload, into);
      assertSameBits(into, aggregator.decodeUpload(payload), `${up} seed ${seed}`);
      if (up === 'identity') {
        assert.equal(support, null, 'dense: no positions');
        continue;
      }
      assert.ok(support !== null, `${up}: positions`);
      const nonzero = [...into.keys()].filter((i) => into[i] !== 0);
      assert.ok(
        nonzero.every((i) => support.includes(i)),
        `${up}: every nonzero entry listed`,
      );
      assert.equal(support.length, Math.ceil(0.05 * DIM), `${up}: k positions`);
    }
    const foreign = parseCompressor('sign:256').encode(randomVector(4), 4);
    assert.throws(
      () => aggregator.decodeUploadSparse(foreign, into),
      (error: unknown) => error instanceof CodecError && error.code === 'WRONG_CODEC',
    );
    assert.throws(
      () => aggregator.decodeUploadSparse(options.up.encode(randomVector(5), 5), new Float32Array(DIM + 1)),
      RangeError,
    );
  }
});

test('VectorPool: a vector given back is taken again, once; other lengths and a full pool are left to the GC', () => {
  const pool = new VectorPool(DIM, 2);
  const a = pool.take();
  const b = pool.take();
  assert.notEqual(a, b);
  assert.equal(a.length, DIM);
  pool.give(a);
  pool.give(a); // twice: kept once
  pool.give(new Float32Array(DIM - 1));
  assert.equal(pool.size, 1);
  assert.equal(pool.take(), a);
  assert.notEqual(pool.take(), a, 'taken already: a fresh one');
  pool.give(a);
  pool.give(b);
  pool.give(new Float32Array(DIM)); // over maxFree
  assert.equal(pool.size, 2);
});
