import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_SESSION_CONFIG,
  createSessionRequestSchema,
  parseSessionConfig,
  sessionConfigSchema,
} from '../../shared/protocol/signaling.ts';
import { sessionConfigFields } from '../../shared/protocol/session-config.ts';
import { SessionView } from '../../client/signaling/session-view.ts';

test('every config field has a default and the defaults are valid', () => {
  assert.deepEqual(parseSessionConfig({}), DEFAULT_SESSION_CONFIG);
  assert.deepEqual(createSessionRequestSchema.parse({}).config, DEFAULT_SESSION_CONFIG);
  assert.equal(Object.isFrozen(DEFAULT_SESSION_CONFIG), true);
  // Every field but the two a session has only for its task or its own model.
  const optional = new Set(['taskSpec', 'customModel']);
  assert.deepEqual(
    Object.keys(DEFAULT_SESSION_CONFIG).sort(),
    Object.keys(sessionConfigFields.shape)
      .filter((key) => !optional.has(key))
      .sort(),
  );
});

test('config validation accepts the documented forms and refuses the rest', () => {
  const ok = [
    { partition: 'iid' },
    { partition: 'dirichlet:0.1' },
    { partition: 'shards:2' },
    { up: 'identity', down: 'fp16' },
    { up: 'sign:256', down: 'topk:0.01:f32' },
    { algorithm: 'ef-sgd', down: 'identity' },
    { quorum: 1 },
    { algorithm: 'doublesqueeze' },
    { model: 'cnn' },
  ];
  for (const input of ok)
    assert.equal(sessionConfigSchema.safeParse(input).success, true, JSON.stringify(input));
  const bad = [
    { partition: 'shards:0' },
    { partition: 'random' },
    { quorum: 0 },
    { quorum: 1.5 },
    { learningRate: -1 },
    { batchSize: 0.5 },
    { rounds: 0 },
    { syncPeriod: 0 },
    { algorithm: 'adam' },
    { task: 'cifar' },
    { up: '' },
    { seed: -1 },
    { roundDeadlineMs: Number.POSITIVE_INFINITY },
    // Cross-field: what every peer would refuse to run is refused at creation.
    { up: 'sign:block=256' },
    { up: 'topk:2' },
    { algorithm: 'ef-sgd' },
    { aggregation: 'median' },
  ];
  for (const input of bad)
    assert.equal(sessionConfigSchema.safeParse(input).success, false, JSON.stringify(input));
  // Unknown fields are dropped, so newer clients can talk to older servers.
  assert.equal('extra' in parseSessionConfig({ extra: 1 }), false);
});

test('SessionView ignores stale aggregator announcements and keeps roles in step', () => {
  const view = new SessionView({
    ok: true,
    sessionId: 'session-1',
    peerId: 'me',
    config: DEFAULT_SESSION_CONFIG,
    peers: [
      { peerId: 'me', kind: 'browser', role: 'worker', ready: true, capabilities: {}, connectedAt: 1 },
      { peerId: 'agg', kind: 'headless', role: 'aggregator', ready: true, capabilities: {}, connectedAt: 0 },
    ],
    aggregator: { sessionId: 'session-1', peerId: 'agg', term: 4, lastRound: 9 },
    heartbeatIntervalMs: 1000,
    heartbeatTimeoutMs: 3000,
    serverTime: 2,
  });
  assert.equal(view.applyAggregator({ sessionId: 'session-1', peerId: 'me', term: 4, lastRound: 9 }), false);
  assert.equal(view.applyAggregator({ sessionId: 'other', peerId: 'me', term: 9, lastRound: 9 }), false);
  assert.equal(view.isAggregator, false);
  assert.equal(view.applyAggregator({ sessionId: 'session-1', peerId: 'me', term: 5, lastRound: 10 }), true);
  assert.equal(view.isAggregator, true);
  assert.equal(view.peers.get('me')?.role, 'aggregator');
  assert.equal(view.peers.get('agg')?.role, 'worker');
  assert.equal(
    view.applyLeft({ sessionId: 'session-1', peerId: 'agg', reason: 'disconnect', term: 5 }),
    true,
  );
  assert.equal(view.peers.size, 1);
  // The same term again only with a newer rollback (an aggregator elected before it was recorded).
  const rolledBack = { sessionId: 'session-1', peerId: 'me', term: 5, lastRound: 10 };
  const mark = (continuesAt: number) => ({ ...rolledBack, rollback: { round: 4, continuesAt } });
  assert.equal(view.applyAggregator(mark(12)), true);
  assert.equal(view.applyAggregator(mark(12)), false, 'the same rollback again');
  assert.equal(view.applyAggregator(rolledBack), false, 'no rollback is not newer');
  assert.equal(view.applyAggregator(mark(14)), true);
  assert.equal(view.applyAggregator({ ...mark(20), term: 4 }), false, 'an older term');
});
