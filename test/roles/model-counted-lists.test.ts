/**
 * A model frame carries whom the recent broadcasts behind it counted (model-meta.ts), so a
 * peer that was given the model instead of those broadcasts, elected aggregator later, folds
 * an upload of such a round that nobody counted instead of refusing it as of a round it never
 * saw closed (the upload the chaos bench lost in 1 of 14 runs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatorRole } from '../../client/roles/aggregator-role.ts';
import { WorkerRole } from '../../client/roles/worker-role.ts';
import { parseCompressor } from '../../shared/compress/index.ts';
import { senderTag, type Frame } from '../../shared/protocol/frames.ts';
import { decodeModelMeta, encodeModelMeta } from '../../shared/protocol/model-meta.ts';
import { createRoleHarness, nextRound, NUM_PARAMS } from '../support/role-harness.ts';

const countedSelfAndW1 = [senderTag('agg'), senderTag('w1')];

test("an aggregator's model frame lists whom its recent broadcasts counted", (t) => {
  const h = createRoleHarness({ members: ['w1'], config: { roundDeadlineMs: 60_000 } });
  for (const round of [3, 4])
    h.state.noteBroadcast({
      round,
      term: 1,
      counted: countedSelfAndW1,
      payload: h.options.down.encode(new Float32Array(NUM_PARAMS), 1),
      sync: false,
    });
  h.state.round = 5;
  const role = new AggregatorRole(h.ctx, 2);
  t.after(() => role.stop());
  role.start();
  role.onControl('w2', { kind: 'hello', round: 0, hasModel: false, pendingUpload: false });
  const [model] = h.sentTo('w2', 'model');
  assert.ok(model !== undefined, 'the joiner was sent the model');
  assert.deepEqual(decodeModelMeta(model.meta), [
    { round: 3, counted: countedSelfAndW1 },
    { round: 4, counted: countedSelfAndW1 },
  ]);
});

test('a peer given the model, aggregator later, folds an upload of a round before it that nobody counted', async (t) => {
  const h = createRoleHarness({ members: ['w1', 'w2'], config: { roundDeadlineMs: 60_000 } });
  const worker = new WorkerRole(h.ctx, 'agg', 1);
  const model: Frame = {
    type: 'model',
    term: 1,
    round: 5,
    sender: senderTag('agg'),
    aux: 0,
    meta: encodeModelMeta([
      { round: 3, counted: countedSelfAndW1 },
      { round: 4, counted: countedSelfAndW1 },
    ]),
    payload: parseCompressor('identity').encode(new Float32Array(NUM_PARAMS).fill(0.5)),
  };
  worker.onFrame('agg', model);
  worker.stop();
  assert.deepEqual(
    h.state.recentCountedLists().map((l) => l.round),
    [3, 4],
  );
  // agg is gone; this peer aggregates term 2 from round 5.
  const role = new AggregatorRole(h.ctx, 2);
  t.after(() => role.stop());
  const round5 = nextRound(h, 5);
  role.start();
  role.onFrame('w2', h.upload('w2', 4, 2)); // nobody counted it: folded
  role.onFrame('w1', h.upload('w1', 4, 2)); // counted by agg: dropped
  role.onFrame('w1', h.upload('w1', 5, 2));
  role.onFrame('w2', h.upload('w2', 5, 2));
  const closed = await round5;
  assert.deepEqual(h.rejected, [], 'nothing refused as of a round never closed');
  assert.deepEqual(closed.lateUploads, [{ peerId: 'w2', round: 4 }]);
});

test('a malformed model meta is refused as a bad frame and changes nothing', () => {
  const h = createRoleHarness();
  const worker = new WorkerRole(h.ctx, 'agg', 1);
  const before = Float32Array.from(h.state.requireWorker().model);
  worker.onFrame('agg', {
    type: 'model',
    term: 1,
    round: 5,
    sender: senderTag('agg'),
    aux: 0,
    meta: Uint8Array.of(1, 0, 0, 0, 9, 0), // round 1 announces 9 tags, carries none
    payload: parseCompressor('identity').encode(new Float32Array(NUM_PARAMS).fill(0.5)),
  });
  worker.stop();
  assert.deepEqual(
    h.rejected.map((r) => [r.peerId, r.code, r.strike]),
    [['agg', 'BAD_FRAME', true]],
  );
  assert.deepEqual(h.state.requireWorker().model, before);
});
