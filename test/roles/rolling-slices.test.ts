/**
 * RollingSlices, the aggregator's bookkeeping of a rolling sync's slices: a round's slices
 * are still taken after the next round opened (they are sent when the round closes), the
 * round is complete once every worker told to send one did, and anything older is dropped.
 * And, over the aggregator role: the model a joiner gets holds every block delta.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAggregator, resolveAlgorithmOptions, syncBlock } from '../../shared/algorithm/index.ts';
import { parseCompressor } from '../../shared/compress/index.ts';
import { AggregatorRole } from '../../client/roles/aggregator-role.ts';
import { RollingSlices } from '../../client/roles/rolling-sync.ts';
import { encodeTags, senderTag, type Frame } from '../../shared/protocol/frames.ts';
import { createRoleHarness, NUM_PARAMS as HARNESS_PARAMS } from '../support/role-harness.ts';
import { decodeSyncPayload } from '../../shared/algorithm/sync-payload.ts';

const NUM_PARAMS = 100;
const PERIOD = 4;

function setup() {
  const options = resolveAlgorithmOptions({
    algorithm: 'liec',
    up: 'topk:0.1',
    learningRate: 0.1,
    down: 'topk:0.1',
    syncMode: 'rolling',
    syncPeriod: PERIOD,
    syncCodec: 'identity',
  });
  const aggregator = createAggregator(options, NUM_PARAMS);
  const slices = new RollingSlices(aggregator, { period: PERIOD, numParams: NUM_PARAMS });
  /** A slice of round `round` whose every value is `value` (identity sync codec). */
  const slice = (round: number, value: number): Uint8Array => {
    const { start, end } = syncBlock(round, PERIOD, NUM_PARAMS);
    return parseCompressor('identity').encode(new Float32Array(end - start).fill(value), 1);
  };
  return { aggregator, slices, slice };
}

test('a round takes its slices after the next one opened, and is complete once every worker told did', () => {
  const { aggregator, slices, slice } = setup();
  slices.open(1);
  slices.expect(1, ['w1', 'w2']);
  slices.open(2); // the next round opens before round 1's slices are in
  assert.equal(slices.complete(1), false);
  assert.equal(slices.add('w1', 1, slice(1, 1)), true);
  assert.equal(slices.add('w1', 1, slice(1, 9)), false, 'a second slice from the same worker');
  assert.equal(slices.complete(1), false);
  assert.equal(slices.add('w2', 1, slice(1, 3)), true);
  assert.equal(slices.complete(1), true);
  assert.equal(slices.complete(2), true, 'nobody was told to send a slice of round 2 yet');

  const closed = slices.close(1, 7, 42);
  assert.ok(closed !== null);
  assert.deepEqual(closed.counted, ['w1', 'w2']);
  assert.equal(closed.expected, 3, 'the two workers told, and the aggregator itself');
  assert.deepEqual(closed.block, syncBlock(1, PERIOD, NUM_PARAMS));
  assert.equal(closed.frame.type, 'sliceBroadcast');
  assert.equal(closed.frame.round, 1);
  // The payload starts with the measured share (sync-payload.ts), then the delta.
  const mean = aggregator.decodeSync(decodeSyncPayload(closed.payload).body, closed.block);
  assert.ok(
    mean.every((v) => Math.abs(v - 2) < 1e-6),
    'the synced delta is the slices’ mean',
  );
  assert.equal(slices.add('w1', 1, slice(1, 1)), false, 'a slice after its round closed');
  assert.equal(slices.close(1, 7, 42), null, 'a round closes once');
});

test('slices of rounds older than the previous one are dropped; a bad slice throws', () => {
  const { slices, slice } = setup();
  slices.open(1);
  slices.open(2);
  slices.open(3); // round 1 was never closed: dropped
  assert.equal(slices.add('w1', 1, slice(1, 1)), false);
  assert.equal(slices.close(1, 1, 1), null);
  assert.equal(slices.add('w1', 2, slice(2, 1)), true, 'the previous round still takes slices');
  assert.equal(slices.add('w1', 4, slice(4, 1)), false, 'a round not opened yet');
  assert.throws(() => slices.add('w2', 3, new Uint8Array(5)), 'a slice of the wrong size');
});

test('a worker that left is no longer waited for', () => {
  const { slices, slice } = setup();
  slices.open(1);
  slices.expect(1, ['w1', 'w2']);
  assert.equal(slices.add('w1', 1, slice(1, 1)), true);
  assert.equal(slices.complete(1), false);
  assert.equal(slices.forget('w2'), true);
  assert.equal(slices.complete(1), true);
  assert.equal(slices.forget('w2'), false, 'waited for nowhere any more');
});

test('a joiner admitted while a block delta is pending close gets a model that holds it', async (t) => {
  const h = createRoleHarness({
    selfId: 'agg',
    members: ['w1', 'w2'],
    config: {
      algorithm: 'liec',
      syncMode: 'rolling',
      syncPeriod: PERIOD,
      syncCodec: 'identity',
      roundDeadlineMs: 60_000,
    },
  });
  // Past round 0 (no slices: its broadcast starts the first block's deviations).
  h.state.round = 1;
  h.state.lastBroadcast = { round: 0, term: 1, counted: [], payload: new Uint8Array(0), sync: false };
  const role = new AggregatorRole(h.ctx, 1);
  t.after(() => role.stop());
  const closed = new Promise<void>((resolve) => h.ctx.events.on('round', () => resolve()));
  role.start();
  role.onFrame('w1', h.upload('w1', 1));
  role.onFrame('w2', h.upload('w2', 1));
  await closed; // round 1 closed: both told to send their slice of its block, round 2 open
  assert.equal(h.sentTo('w1', 'control').length, 1, 'roundClosed');
  const { start, end } = syncBlock(1, PERIOD, HARNESS_PARAMS);
  const sliceUpload = (from: string): Frame => ({
    type: 'sliceUpload',
    term: 1,
    round: 1,
    sender: senderTag(from),
    aux: 0,
    meta: encodeTags([]),
    payload: parseCompressor('identity').encode(new Float32Array(end - start).fill(0.5), 1),
  });
  role.onFrame('w1', sliceUpload('w1')); // w2's is still on its way: the block's delta is pending
  assert.deepEqual(h.sentTo('w1', 'sliceBroadcast'), []);
  role.onControl('w3', { kind: 'hello', round: 0, hasModel: false, pendingUpload: false });
  role.onFrame('w2', sliceUpload('w2'));
  assert.deepEqual(h.rejected, []);
  const [model] = h.sentTo('w3', 'model');
  assert.ok(model !== undefined, 'the joiner got the model');
  assert.deepEqual(
    h.sentTo('w1', 'sliceBroadcast').map((f) => f.round),
    [1],
    'the delta was closed, once',
  );
  assert.deepEqual(
    parseCompressor('identity').decode(model.payload, HARNESS_PARAMS),
    h.state.requireWorker().commonModel(),
    "the joiner's model is this peer's common model, block delta included",
  );
});
