import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ModelSyncPhase } from '../../client/roles/model-sync-phase.ts';
import { WorkerRoster } from '../../client/roles/worker-roster.ts';
import { createAggregator } from '../../shared/algorithm/index.ts';
import { decodeTags, senderTag } from '../../shared/protocol/frames.ts';
import type { SessionConfigInput } from '../../shared/protocol/session-config.ts';
import { createRoleHarness, NUM_PARAMS } from '../support/role-harness.ts';

function phase(config: SessionConfigInput, rolling = false) {
  const h = createRoleHarness({ config: { rounds: 10, ...config } });
  const workers = new WorkerRoster(h.ctx, 2, () => {});
  const aggregator = createAggregator(h.options, NUM_PARAMS);
  return { h, workers, sync: new ModelSyncPhase(h.ctx, aggregator, workers, { rolling }) };
}

test('a sync is due every H rounds, always after the last round, never in a rolling sync before it', () => {
  const { sync } = phase({ syncPeriod: 3 });
  sync.roundClosed();
  sync.roundClosed();
  assert.equal(sync.due(1, 0), false);
  sync.roundClosed();
  assert.equal(sync.due(2, 0), true);
  assert.equal(sync.due(9, 0), true, 'the last round ends on one shared model');
  const rolling = phase({ syncPeriod: 3, syncMode: 'rolling' }, true).sync;
  for (let i = 0; i < 5; i++) rolling.roundClosed();
  assert.equal(rolling.due(4, 0), false);
  assert.equal(rolling.due(9, 0), true);
  const sgd = phase({ algorithm: 'sgd', up: 'identity', down: 'identity' }).sync;
  assert.equal(sgd.due(9, 0), false, 'only LIEC syncs');
});

test('open counts the own delta; close sends the synced delta to the workers in step and applies it', () => {
  const { h, workers, sync } = phase({ syncPeriod: 3 });
  workers.markInStep('w1');
  workers.markInStep('w2');
  const collection = sync.open(4, false);
  assert.ok(collection !== null);
  assert.equal(h.state.round, 4);
  assert.deepEqual(collection.counted(), ['self']);
  assert.deepEqual([...collection.expected], ['w1', 'w2']);
  assert.throws(() => sync.add(collection, 'w2', Uint8Array.of(1, 2, 3)));
  sync.add(collection, 'w1', h.syncUpload('w1', 4).payload);
  sync.close(collection);
  const frames = h.sent.map((s) => s.frame);
  assert.deepEqual(
    h.sent.map((s) => [s.to, s.frame.type, s.frame.term, s.frame.round]),
    [
      ['w1', 'syncBroadcast', 2, 4],
      ['w2', 'syncBroadcast', 2, 4],
    ],
  );
  assert.deepEqual(decodeTags(frames[0]?.meta ?? new Uint8Array(0)), [senderTag('self'), senderTag('w1')]);
  assert.equal(h.state.round, 5);
  assert.equal(h.state.cached, null);
  assert.equal(sync.resendFor(4)?.type, 'syncBroadcast');
  assert.equal(sync.resendFor(3), null);
});

test('open after the role stopped keeps the own sync delta cached for the next aggregator', () => {
  const { h, sync } = phase({ syncPeriod: 3 });
  assert.equal(sync.open(6, true), null);
  assert.equal(h.state.cached?.type, 'syncUpload');
  assert.equal(h.state.cached?.round, 6);
});
