/**
 * What a peer restored from a checkpoint does when it says hello: counted directly when its
 * round is the round in flight; otherwise given the aggregator's model, on top of which a
 * LIEC peer re-applies its own checkpointed deviation x_i - x_common.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatorRole } from '../../client/roles/aggregator-role.ts';
import type { RoundEvent } from '../../client/roles/events.ts';
import { WorkerRole } from '../../client/roles/worker-role.ts';
import { decodeControl } from '../../shared/protocol/control.ts';
import { createRoleHarness, NUM_PARAMS, type RoleHarness } from '../support/role-harness.ts';
import { waitFor } from '../support/session.ts';

const checkpointed = {
  model: Float32Array.from({ length: NUM_PARAMS }, (_, i) => 0.3 + i / 50),
  common: Float32Array.from({ length: NUM_PARAMS }, (_, i) => 0.2 + i / 50),
};

/** Hands what the worker sent so far to the aggregator, as the peer runtime would. */
function deliver(from: RoleHarness, fromId: string, to: AggregatorRole): void {
  for (const { frame } of from.sent.splice(0)) {
    to.onFrame(fromId, frame);
    if (frame.type === 'control' && frame.term === to.term) to.onControl(fromId, decodeControl(frame.meta));
  }
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

test('resumed at the round in flight: counted directly, from its checkpointed model', async (t) => {
  const agg = createRoleHarness({ selfId: 'agg', members: ['w2'], config: { roundDeadlineMs: 60_000 } });
  agg.state.round = 5;
  const role = new AggregatorRole(agg.ctx, 1);
  t.after(() => role.stop());
  role.start(); // round 5 open, w2 awaited
  const w1 = createRoleHarness({ selfId: 'w1' });
  w1.state.restore(checkpointed.model, checkpointed.common, 5);
  const worker = new WorkerRole(w1.ctx, 'agg', 1);
  t.after(() => worker.stop());
  const closed = waitFor<RoundEvent>(
    (l) => agg.ctx.events.on('round', l),
    (e) => e.round === 5,
    5000,
    'round 5',
  );
  worker.onConnected(); // hello (round 5, has a model); its upload follows on the next turn
  deliver(w1, 'w1', role);
  await tick();
  assert.equal(w1.sent.filter((s) => s.frame.type === 'upload').length, 1);
  deliver(w1, 'w1', role);
  role.onFrame('w2', agg.upload('w2', 5));
  const event = await closed;
  assert.deepEqual(event.participants.sort(), ['agg', 'w1', 'w2']);
  assert.equal(agg.sentTo('w1', 'model').length, 0, 'no model sent: it was in step');
});

test('resumed after the session passed its round: no upload, it gets the model and keeps its LIEC deviation', async (t) => {
  const agg = createRoleHarness({ selfId: 'agg', members: ['w2'], config: { roundDeadlineMs: 60_000 } });
  agg.state.round = 9;
  const role = new AggregatorRole(agg.ctx, 1);
  t.after(() => role.stop());
  role.start();
  const w1 = createRoleHarness({ selfId: 'w1' });
  w1.state.restore(checkpointed.model, checkpointed.common, 5, true);
  assert.equal(w1.state.hasModel, false);
  const worker = new WorkerRole(w1.ctx, 'agg', 1);
  t.after(() => worker.stop());
  worker.onConnected(); // hello: round 5, no model
  await tick();
  assert.deepEqual(
    w1.sent.map((s) => s.frame.type),
    ['control'],
    'a hello, no upload for a round long gone',
  );
  deliver(w1, 'w1', role);
  const [model] = agg.sentTo('w1', 'model');
  assert.ok(model !== undefined, 'the aggregator sent its model');
  worker.onFrame('agg', model);
  const common = agg.state.requireWorker().commonModel();
  const own = w1.state.requireWorker();
  assert.deepEqual(own.commonModel(), common);
  for (let i = 0; i < NUM_PARAMS; i++) {
    const deviation = (checkpointed.model[i] as number) - (checkpointed.common[i] as number);
    assert.ok(Math.abs((own.model[i] as number) - ((common[i] as number) + deviation)) < 1e-6, `value ${i}`);
  }
  assert.equal(w1.state.round, model.round);
});

test('the deviation is re-applied only to the first model after a restore, not after a broadcast', () => {
  const h = createRoleHarness({ selfId: 'w1' });
  h.state.restore(checkpointed.model, checkpointed.common, 5);
  const restoredModel = Float32Array.from(h.state.requireWorker().model);
  assert.deepEqual(restoredModel, checkpointed.model);
  assert.deepEqual(h.state.requireWorker().commonModel(), checkpointed.common);
  h.state.lastBroadcast = { round: 5, term: 1, counted: [], payload: new Uint8Array(0), sync: false };
  const fresh = new Float32Array(NUM_PARAMS).fill(1);
  h.state.adopt(fresh, 9);
  assert.deepEqual(Float32Array.from(h.state.requireWorker().model), fresh);
});
