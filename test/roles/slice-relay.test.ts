/**
 * Rolling sync across a failover: a block's synced delta that the old aggregator sent to only
 * some workers before it died. Each peer applies it once (LocalState.applySlice, whatever its
 * role object); a worker passes it on to the new aggregator, which applies it if it missed it
 * and sends it on to the other workers, and resends it to a worker that reconnects one round
 * behind. Role units over the role harness (no network).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatorRole } from '../../client/roles/aggregator-role.ts';
import { WorkerRole } from '../../client/roles/worker-role.ts';
import { syncBlock } from '../../shared/algorithm/index.ts';
import { encodeSyncPayload } from '../../shared/algorithm/sync-payload.ts';
import { encodeTags, senderTag, type Frame } from '../../shared/protocol/frames.ts';
import { createRoleHarness, NUM_PARAMS, type RoleHarness } from '../support/role-harness.ts';

const PERIOD = 4;
const ROUND = 5; // the round whose broadcast the block's delta follows (block 5 mod 4 = 1)

function rollingHarness(selfId: string, members: string[] = []): RoleHarness {
  const h = createRoleHarness({
    selfId,
    members,
    config: { algorithm: 'liec', syncMode: 'rolling', syncPeriod: PERIOD, syncCodec: 'identity' },
  });
  // Past broadcast ROUND of term 1 (the old aggregator's), with a deviation of its own.
  h.state.round = ROUND + 1;
  h.state.lastBroadcast = { round: ROUND, term: 1, counted: [], payload: new Uint8Array(0), sync: false };
  const model = h.state.requireWorker().model;
  for (let i = 0; i < NUM_PARAMS; i++) model[i] = (model[i] ?? 0) + 0.5;
  return h;
}

const block = syncBlock(ROUND, PERIOD, NUM_PARAMS);
/** The block's delta of `round`: +0.25 on each of its coordinates, counting w1 and w2. */
function sliceFrame(h: RoleHarness, from: string, term: number, round = ROUND): Frame {
  const { start, end } = syncBlock(round, PERIOD, NUM_PARAMS);
  const body = h.options.sync?.codec.encode(new Float32Array(end - start).fill(0.25), 1);
  assert.ok(body !== undefined);
  // A sync broadcast's payload: the measured share (none here), then the delta.
  const payload = encodeSyncPayload(null, body);
  return {
    type: 'sliceBroadcast',
    term,
    round,
    sender: senderTag(from),
    aux: 0,
    meta: encodeTags([senderTag('w1'), senderTag('w2')]),
    payload,
  };
}

/** How far each coordinate of the block moved, to 6 decimals (float32 sums). */
const moved = (before: number[], after: number[]): number[] =>
  after.map((v, i) => Math.round((v - (before[i] ?? 0)) * 1e6) / 1e6);
const blockValues = (h: RoleHarness): number[] =>
  Array.from(h.state.requireWorker().commonModel().subarray(block.start, block.end));

test('a worker applies a block delta once, also when a new term resends it, and passes it on to a new aggregator', () => {
  const h = rollingHarness('w1');
  const before = blockValues(h);
  const worker = new WorkerRole(h.ctx, 'agg2', 2);
  worker.onFrame('agg2', sliceFrame(h, 'agg2', 2)); // from the new aggregator, after broadcast ROUND of term 1
  const after = blockValues(h);
  assert.deepEqual(
    moved(before, after),
    after.map(() => 0.25),
    'x_common moved by the delta',
  );
  assert.equal(h.state.lastSlice?.round, ROUND);
  new WorkerRole(h.ctx, 'agg3', 3).onFrame('agg3', sliceFrame(h, 'agg3', 3)); // again, another term
  assert.deepEqual(blockValues(h), after, 'applied once');
  // On connecting to a new aggregator: the last broadcast, then its block delta, then hello.
  const next = new WorkerRole(h.ctx, 'agg4', 4);
  next.onConnected();
  assert.deepEqual(
    h.sent.filter((s) => s.to === 'agg4').map((s) => [s.frame.type, s.frame.term, s.frame.round]),
    [
      ['broadcast', 4, ROUND],
      ['sliceBroadcast', 4, ROUND],
      ['control', 4, ROUND + 1],
    ],
  );
  next.stop();
});

test('a new aggregator applies a relayed block delta it missed, sends it on to the other workers, resends it on a hello', (t) => {
  const h = rollingHarness('agg2', ['w1', 'w2']);
  const role = new AggregatorRole(h.ctx, 2);
  t.after(() => role.stop());
  role.start();
  const before = blockValues(h);
  role.onFrame('w1', sliceFrame(h, 'w1', 2));
  assert.deepEqual(h.rejected, []);
  assert.deepEqual(
    moved(before, blockValues(h)),
    before.map(() => 0.25),
  );
  const forwarded = (to: string) => h.sentTo(to, 'sliceBroadcast').map((f) => [f.term, f.round]);
  assert.deepEqual(forwarded('w2'), [[2, ROUND]], 'sent on to the worker that may have missed it');
  assert.deepEqual(forwarded('w1'), [], 'not back to the worker that relayed it');
  role.onFrame('w2', sliceFrame(h, 'w2', 2)); // w2 had it too: nothing more to do
  assert.deepEqual(forwarded('w1'), []);
  assert.equal(h.sentTo('w2', 'sliceBroadcast').length, 1);
  // w1 reconnects one round behind the delta: it gets it again (it applies a block once).
  role.onControl('w1', { kind: 'hello', round: ROUND + 1, hasModel: true, pendingUpload: false });
  assert.deepEqual(forwarded('w1'), [[2, ROUND]]);
});

test('a relayed block delta is refused when malformed, and ignored once this aggregator closed a round itself', async (t) => {
  const h = rollingHarness('agg2', ['w1']);
  const role = new AggregatorRole(h.ctx, 2);
  t.after(() => role.stop());
  role.start();
  role.onFrame('w1', { ...sliceFrame(h, 'w1', 2), payload: new Uint8Array([1, 2, 3]) });
  assert.deepEqual(
    h.rejected.map((r) => r.code),
    ['BAD_RELAY'],
  );
  assert.equal(h.state.lastSlice, null);
  // Round ROUND + 1 closes here (w1's upload): from then on a relay of round ROUND is stale.
  const closed = new Promise<void>((resolve) => h.ctx.events.on('round', () => resolve()));
  role.onFrame('w1', h.upload('w1', ROUND + 1, 2));
  await closed;
  const before = blockValues(h);
  role.onFrame('w1', sliceFrame(h, 'w1', 2));
  assert.deepEqual(blockValues(h), before);
});

/** [type, round] of every broadcast and block delta sent to `to`, in order. */
const broadcastsTo = (h: RoleHarness, to: string): [string, number][] =>
  h.sent
    .filter((s) => s.to === to && (s.frame.type === 'broadcast' || s.frame.type === 'sliceBroadcast'))
    .map((s) => [s.frame.type, s.frame.round]);

test('a worker passes on the block delta of the round before its last broadcast ahead of that broadcast', () => {
  const h = rollingHarness('w1');
  // Applied in this order from the old aggregator: delta ROUND - 1, then broadcast ROUND.
  h.state.lastSlice = {
    round: ROUND - 1,
    counted: [senderTag('w1')],
    payload: sliceFrame(h, 'a', 1, ROUND - 1).payload,
  };
  const worker = new WorkerRole(h.ctx, 'agg2', 2);
  worker.onConnected();
  assert.deepEqual(
    h.sent.filter((s) => s.to === 'agg2').map((s) => [s.frame.type, s.frame.round]),
    [
      ['sliceBroadcast', ROUND - 1],
      ['broadcast', ROUND],
      ['control', ROUND + 1],
    ],
  );
  worker.stop();
});

test('a new aggregator that missed the last block delta and broadcast applies both relayed, in order, and sends them on in order', (t) => {
  const h = rollingHarness('agg2', ['w1', 'w2']);
  const role = new AggregatorRole(h.ctx, 2);
  t.after(() => role.stop());
  role.start(); // collecting round ROUND + 1: it never got the delta of ROUND nor broadcast ROUND + 1
  const before = blockValues(h);
  role.onFrame('w1', sliceFrame(h, 'w1', 2));
  role.onFrame('w1', {
    type: 'broadcast',
    term: 2,
    round: ROUND + 1,
    sender: senderTag('w1'),
    aux: 0,
    meta: encodeTags([senderTag('w1'), senderTag('w2')]),
    payload: h.options.down.encode(new Float32Array(NUM_PARAMS), 1), // a zero update: the block moves by the delta only
  });
  assert.deepEqual(h.rejected, []);
  assert.equal(h.state.lastSlice?.round, ROUND);
  assert.equal(h.state.lastBroadcast?.round, ROUND + 1);
  assert.deepEqual(
    moved(before, blockValues(h)),
    before.map(() => 0.25),
  );
  assert.deepEqual(broadcastsTo(h, 'w2'), [
    ['sliceBroadcast', ROUND],
    ['broadcast', ROUND + 1],
  ]);
  assert.deepEqual(broadcastsTo(h, 'w1'), [], 'nothing back to the worker that relayed them');
});

for (const [lastSliceRound, expected] of [
  [
    ROUND - 1,
    [
      ['sliceBroadcast', ROUND - 1],
      ['broadcast', ROUND],
    ],
  ],
  [
    ROUND,
    [
      ['broadcast', ROUND],
      ['sliceBroadcast', ROUND],
    ],
  ],
] as const) {
  test(`a worker that missed broadcast ${ROUND} gets it again, and the block delta of round ${lastSliceRound} in the order applied`, (t) => {
    // This aggregator applied broadcast ROUND and the delta of round lastSliceRound; w1 reconnects
    // at round ROUND: it applied broadcast ROUND - 1 and maybe not that delta.
    const h = rollingHarness('agg2', ['w1']);
    const payload = sliceFrame(h, 'agg2', 2, lastSliceRound).payload;
    h.state.lastSlice = { round: lastSliceRound, counted: [senderTag('w1')], payload };
    const role = new AggregatorRole(h.ctx, 2);
    t.after(() => role.stop());
    role.start();
    role.onControl('w1', { kind: 'hello', round: ROUND, hasModel: true, pendingUpload: false });
    assert.deepEqual(broadcastsTo(h, 'w1'), expected);
    assert.deepEqual(h.sentTo('w1', 'model'), [], 'not the whole model');
  });
}
