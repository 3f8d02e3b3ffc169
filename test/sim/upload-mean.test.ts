/**
 * The simulator's one-at-a-time upload mean (client/sim/upload-mean.ts) gives the aggregator's
 * broadcast bit for bit, round after round (its error e evolving the same), for top-k uploads.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAggregator, resolveAlgorithmOptions } from '../../shared/algorithm/index.ts';
import { encodeFrame, decodeFrame } from '../../shared/protocol/frames.ts';
import { createRng } from '../../shared/random.ts';
import { aggregateFrames, decodedOnAccess } from '../../client/sim/upload-mean.ts';
import { sameBits } from '../../client/sim/model-checks.ts';

test('aggregateFrames = aggregate(decoded uploads), bit for bit, over 5 rounds of 7 top-k uploads', () => {
  const d = 5000;
  const options = resolveAlgorithmOptions({
    algorithm: 'liec',
    up: 'topk:0.01',
    down: 'topk:0.01',
    learningRate: 0.3,
  });
  const streamed = createAggregator(options, d);
  const listed = createAggregator(options, d);
  const rng = createRng(42);
  for (let round = 0; round < 5; round++) {
    const frames = Array.from({ length: 7 }, (_, i) => {
      const g = Float32Array.from({ length: d }, () => rng.normal() * (1 + i));
      return encodeFrame({
        type: 'upload',
        term: 1,
        round,
        sender: i,
        aux: 0,
        meta: new Uint8Array(0),
        payload: options.up.encode(g, round * 10 + i),
      });
    });
    const a = aggregateFrames(streamed, options.aggregation, frames, round);
    const b = listed.aggregate(
      frames.map((f) => listed.decodeUpload(decodeFrame(f).payload)),
      round,
    );
    assert.deepEqual(a, b, `round ${round}`);
    assert.ok(sameBits(streamed.error, listed.error), `error after round ${round}`);
  }
  // One upload and none take the aggregator's own path.
  assert.deepEqual(aggregateFrames(streamed, 'mean', [], 9), listed.aggregate([], 9));
});

test('decodedOnAccess: a LIEC sync from deltas decoded on access = from the decoded list, bit for bit', () => {
  const d = 3000;
  const options = resolveAlgorithmOptions({
    algorithm: 'liec',
    up: 'topk:0.01',
    down: 'topk:0.01',
    learningRate: 0.3,
  });
  const codec = options.sync?.codec;
  assert.ok(codec !== undefined);
  const rng = createRng(7);
  const payloads = Array.from({ length: 5 }, (_, i) =>
    codec.encode(
      Float32Array.from({ length: d }, () => rng.normal() + i),
      i,
    ),
  );
  const lazy = createAggregator(options, d);
  const listed = createAggregator(options, d);
  let decodes = 0;
  const deltas = decodedOnAccess(payloads.length, (k) => {
    decodes++;
    return lazy.decodeSync(payloads[k] as Uint8Array);
  });
  assert.equal(deltas.length, 5);
  const a = lazy.aggregateSync(deltas, 3);
  const b = listed.aggregateSync(
    payloads.map((p) => listed.decodeSync(p)),
    3,
  );
  assert.deepEqual(a, b);
  assert.ok(sameBits(lazy.error, listed.error));
  assert.ok(decodes >= 5, `${decodes} decodes`);
});
