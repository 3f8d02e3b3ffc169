import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatorRole } from '../../client/roles/aggregator-role.ts';
import type { RoundEvent } from '../../client/roles/events.ts';
import { encodeTags, MODEL_START_OVER, senderTag } from '../../shared/protocol/frames.ts';
import { createRoleHarness, nextRound, NUM_PARAMS, type RoleHarness } from '../support/role-harness.ts';
import { waitFor } from '../support/session.ts';

/** This peer applied the term-1 aggregator's broadcasts of `rounds`, each counting self and w1. */
const applyOldBroadcasts = (h: RoleHarness, rounds: readonly number[]): void => {
  for (const round of rounds)
    h.state.noteBroadcast({
      round,
      term: 1,
      counted: [senderTag('self'), senderTag('w1')],
      payload: h.options.down.encode(new Float32Array(NUM_PARAMS), 1),
      sync: false,
    });
};

test('a resend is not counted twice; an upload after its round closed is folded exactly once', async (t) => {
  const h = createRoleHarness({ members: ['w1', 'w2'] });
  const role = new AggregatorRole(h.ctx, 1);
  t.after(() => role.stop()); // also when an assertion fails: no timer left running
  const round0 = nextRound(h, 0);
  role.start();
  role.onFrame('w1', h.upload('w1', 0));
  role.onFrame('w1', h.upload('w1', 0)); // resent after a reconnection
  const closed = await round0; // at the deadline, with quorum (self + w1 of 3)
  assert.deepEqual(closed.participants.sort(), ['self', 'w1']);
  role.onFrame('w2', h.upload('w2', 0)); // late
  role.onFrame('w2', h.upload('w2', 0)); // late, resent
  role.onFrame('w1', h.upload('w1', 0)); // counted already
  const round1 = nextRound(h, 1);
  role.onFrame('w1', h.upload('w1', 1));
  role.onFrame('w2', h.upload('w2', 1));
  const next = await round1;
  assert.equal(next.counted, 3);
  assert.deepEqual(next.lateUploads, [{ peerId: 'w2', round: 0 }]);
  assert.equal(h.rejected.length, 0);
  role.stop();
});

test('a new aggregator resumes the round in flight: own cached upload, every ready member awaited', (t) => {
  const h = createRoleHarness({ members: ['w1', 'w2'], config: { roundDeadlineMs: 60_000 } });
  h.state.round = 5;
  h.state.prepareUpload(7); // its upload of round 5, sent to the old aggregator
  const role = new AggregatorRole(h.ctx, 2);
  t.after(() => role.stop()); // also when an assertion fails: no timer left running
  role.start();
  role.onFrame('w1', h.upload('w1', 5, 2));
  assert.equal(h.sentTo('w1', 'broadcast').length, 0, 'still waiting for w2');
  role.onFrame('w2', h.upload('w2', 5, 2));
  const [broadcast] = h.sentTo('w1', 'broadcast');
  assert.equal(broadcast?.round, 5);
  assert.equal(broadcast.term, 2);
  assert.equal(broadcast.meta.length / 4, 3, 'counted self, w1 and w2');
  role.stop();
});

test('a new aggregator drops resent uploads the old one counted and folds the others', async (t) => {
  const h = createRoleHarness({ members: ['w1', 'w2'], config: { roundDeadlineMs: 60_000 } });
  // This peer applied the old aggregator's broadcasts of rounds 3 and 4, each counting self and w1.
  applyOldBroadcasts(h, [3, 4]);
  h.state.round = 5;
  const role = new AggregatorRole(h.ctx, 2);
  t.after(() => role.stop()); // also when an assertion fails: no timer left running
  const round5 = nextRound(h, 5);
  role.start();
  role.onFrame('w1', h.upload('w1', 4, 2)); // counted by the old aggregator: dropped
  role.onFrame('w2', h.upload('w2', 4, 2)); // missed that broadcast: folded
  role.onFrame('w2', h.upload('w2', 3, 2)); // and the one before: folded too
  role.onFrame('w2', h.upload('w2', 3, 2)); // a resend of it: dropped
  role.onFrame('w2', h.upload('w2', 2, 2)); // before anything this aggregator knows
  role.onFrame('w1', h.upload('w1', 5, 1)); // the old term: not counted
  assert.deepEqual(
    h.rejected.map((r) => [r.peerId, r.code, r.strike]),
    [
      ['w2', 'STALE_ROUND', false],
      ['w1', 'STALE_TERM', false],
    ],
  );
  role.onFrame('w1', h.upload('w1', 5, 2));
  role.onFrame('w2', h.upload('w2', 5, 2));
  const closed = await round5;
  assert.equal(closed.counted, 3);
  assert.deepEqual(closed.lateUploads, [
    { peerId: 'w2', round: 4 },
    { peerId: 'w2', round: 3 },
  ]);
  role.stop();
});

test('hellos during a sync: a pending sync delta is awaited, a joiner gets the model when the next round opens', async (t) => {
  const h = createRoleHarness({ members: ['w1'], config: { roundDeadlineMs: 60_000 } });
  h.state.round = 3;
  h.state.prepareSync(1); // this peer was syncing round 3 when it took over
  const role = new AggregatorRole(h.ctx, 2);
  t.after(() => role.stop()); // also when an assertion fails: no timer left running
  role.start();
  const joiner = { kind: 'hello', round: 0, hasModel: false, pendingUpload: false } as const;
  role.onControl('w2', joiner);
  role.onControl('w1', { kind: 'hello', round: 3, hasModel: true, pendingUpload: true });
  assert.equal(h.sentTo('w1', 'syncBroadcast').length, 0, 'waiting for the sync delta of w1');
  role.onFrame('w1', h.syncUpload('w1', 3, 2));
  assert.equal(h.sentTo('w1', 'syncBroadcast').length, 1);
  assert.equal(h.sentTo('w2', 'syncBroadcast').length, 0, 'the joiner has no model to sync');
  await new Promise<void>((resolve) => setImmediate(resolve)); // the next round opens
  const [model] = h.sentTo('w2', 'model');
  assert.equal(model?.round, 4);
  assert.equal(h.state.round, 4);
  role.stop();
});

test('a sync delta for the round being collected: the worker is ahead, gets the model at once and is not awaited', (t) => {
  const h = createRoleHarness({ members: ['w1', 'w2'], config: { roundDeadlineMs: 60_000 } });
  const role = new AggregatorRole(h.ctx, 2);
  t.after(() => role.stop()); // also when an assertion fails: no timer left running
  role.start();
  role.onFrame('w1', h.syncUpload('w1', 0, 2));
  assert.equal(h.sentTo('w1', 'model').length, 1);
  role.onFrame('w2', h.upload('w2', 0, 2));
  assert.equal(h.sentTo('w2', 'broadcast').length, 1, 'closed without waiting for w1');
  role.stop();
});

test('a worker that leaves mid-round is not waited for', (t) => {
  const h = createRoleHarness({ members: ['w1', 'w2'], config: { roundDeadlineMs: 60_000 } });
  const role = new AggregatorRole(h.ctx, 1);
  t.after(() => role.stop()); // also when an assertion fails: no timer left running
  role.start();
  role.onFrame('w1', h.upload('w1', 0));
  assert.equal(h.sentTo('w1', 'broadcast').length, 0);
  role.onWorkerLeft('w2');
  assert.equal(h.sentTo('w1', 'broadcast').length, 1);
  assert.equal(h.sentTo('w2', 'broadcast').length, 0);
  role.stop();
});

test('an upload that arrives before round 0 opens (waiting for minPeers) is counted in it', (t) => {
  const h = createRoleHarness({ config: { minPeers: 3, roundDeadlineMs: 60_000 } });
  const role = new AggregatorRole(h.ctx, 1);
  t.after(() => role.stop()); // also when an assertion fails: no timer left running
  role.start();
  const hello = { kind: 'hello', round: 0, hasModel: true, pendingUpload: false } as const;
  role.onControl('w1', hello);
  role.onFrame('w1', h.upload('w1', 0));
  assert.equal(h.rejected.length, 0);
  role.onControl('w2', hello); // the third peer: round 0 opens
  role.onFrame('w2', h.upload('w2', 0));
  const [broadcast] = h.sentTo('w1', 'broadcast');
  assert.equal(broadcast?.meta.length, 12, 'counted self, w1 and w2');
  role.stop();
});

test('after the last round, a worker saying hello is told training is done', (t) => {
  const h = createRoleHarness({ config: { rounds: 3 } });
  h.state.round = 3;
  const role = new AggregatorRole(h.ctx, 4);
  t.after(() => role.stop()); // also when an assertion fails: no timer left running
  role.start();
  role.onControl('w1', { kind: 'hello', round: 2, hasModel: true, pendingUpload: true });
  const [control] = h.sentTo('w1', 'control');
  const done = new TextDecoder().decode(control?.meta);
  assert.match(done, /"kind":"done".*"modelDigest":"[0-9a-f]{16}"/);
  // A worker that holds another model asks for it: the final model, then done again.
  role.onControl('w1', { kind: 'modelRequest' });
  const [model] = h.sentTo('w1', 'model');
  assert.ok((model?.payload.length ?? 0) >= NUM_PARAMS * 4, 'the whole model');
  assert.equal(model?.round, 3);
  assert.equal(new TextDecoder().decode(h.sentTo('w1', 'control')[1]?.meta), done);
  role.stop();
});

test('a broadcast relayed by a worker ahead (the old aggregator died mid-broadcast) is adopted: that round is not closed again', async (t) => {
  const h = createRoleHarness({ members: ['w1', 'w2'], config: { roundDeadlineMs: 60_000 } });
  h.state.round = 5;
  h.state.prepareUpload(7); // its upload of round 5, sent to the old aggregator
  const role = new AggregatorRole(h.ctx, 2);
  t.after(() => role.stop()); // also when an assertion fails: no timer left running
  const rounds: RoundEvent[] = [];
  h.ctx.events.on('round', (e) => rounds.push(e));
  role.start();
  role.onControl('w2', { kind: 'hello', round: 5, hasModel: true, pendingUpload: true });
  role.onFrame('w2', h.upload('w2', 5, 2)); // w2 missed the old broadcast of round 5, like us
  // w1 got it (it counted self and w1, not w2) and passes it on before its hello.
  const payload = h.options.down.encode(new Float32Array(NUM_PARAMS).fill(0.02), 1);
  role.onFrame('w1', {
    type: 'broadcast',
    term: 2,
    round: 5,
    sender: senderTag('w1'),
    aux: 0,
    meta: encodeTags([senderTag('self'), senderTag('w1')]),
    payload,
  });
  const [forwarded] = h.sentTo('w2', 'broadcast');
  assert.equal(forwarded?.round, 5);
  assert.equal(forwarded.term, 2);
  assert.deepEqual(forwarded.payload, payload);
  assert.equal(h.sentTo('w1', 'broadcast').length, 0);
  role.onControl('w1', { kind: 'hello', round: 6, hasModel: true, pendingUpload: true });
  const round6 = nextRound(h, 6);
  await new Promise<void>((resolve) => setImmediate(resolve)); // round 6 opens
  assert.equal(h.state.round, 6);
  role.onFrame('w1', h.upload('w1', 6, 2));
  role.onFrame('w2', h.upload('w2', 6, 2));
  const closed = await round6;
  assert.equal(closed.counted, 3);
  assert.deepEqual(closed.lateUploads, [{ peerId: 'w2', round: 5 }], 'w2 was not counted in round 5: folded');
  assert.deepEqual(
    rounds.map((e) => e.round),
    [6],
    'round 5 was closed by the old aggregator only',
  );
  assert.equal(h.rejected.length, 0);
  role.stop();
});

test('a relayed broadcast of a round this aggregator closed itself: the worker applied another one, it gets the model', async (t) => {
  const h = createRoleHarness({ members: ['w1'], config: { roundDeadlineMs: 60_000 } });
  const role = new AggregatorRole(h.ctx, 2);
  t.after(() => role.stop()); // also when an assertion fails: no timer left running
  role.start();
  role.onFrame('w1', h.upload('w1', 0, 2)); // round 0 closes
  assert.equal(h.sentTo('w1', 'broadcast').length, 1);
  role.onFrame('w2', {
    type: 'broadcast',
    term: 2,
    round: 0,
    sender: senderTag('w2'),
    aux: 0,
    meta: encodeTags([senderTag('w2')]),
    payload: h.options.down.encode(new Float32Array(NUM_PARAMS).fill(0.5), 1),
  });
  await new Promise<void>((resolve) => setImmediate(resolve)); // round 1 opens: models go out
  assert.equal(h.sentTo('w2', 'model').length, 1);
  role.stop();
});

test('a relayed sync broadcast in a session without model syncs is refused (BAD_RELAY), not applied', async (t) => {
  const h = createRoleHarness({
    members: ['w1', 'w2'],
    config: { algorithm: 'doublesqueeze', roundDeadlineMs: 60_000 },
  });
  h.state.round = 5;
  const before = Float32Array.from(h.state.requireWorker().model);
  const role = new AggregatorRole(h.ctx, 2);
  t.after(() => role.stop());
  role.start();
  role.onFrame('w1', {
    type: 'broadcast',
    term: 2,
    round: 5,
    sender: senderTag('w1'),
    aux: 1, // marked as a model sync, which doublesqueeze never runs
    meta: encodeTags([senderTag('self'), senderTag('w1')]),
    payload: h.options.down.encode(new Float32Array(NUM_PARAMS).fill(0.02), 1),
  });
  assert.deepEqual(
    h.rejected.map((r) => [r.peerId, r.code]),
    [['w1', 'BAD_RELAY']],
  );
  assert.deepEqual(h.state.requireWorker().model, before, 'the model did not move');
  assert.equal(h.sentTo('w2', 'broadcast').length, 0, 'nothing sent on');
  // The round goes on: w2's upload is still collected for round 5.
  role.onFrame('w2', h.upload('w2', 5, 2));
  assert.equal(h.state.round, 5);
});

test('a worker one broadcast behind gets that broadcast again, not the whole model', async (t) => {
  const h = createRoleHarness({ members: ['w1', 'w2'], config: { roundDeadlineMs: 60_000 } });
  const role = new AggregatorRole(h.ctx, 1);
  t.after(() => role.stop()); // also when an assertion fails: no timer left running
  role.start();
  role.onFrame('w1', h.upload('w1', 0));
  role.onFrame('w2', h.upload('w2', 0));
  await new Promise<void>((resolve) => setImmediate(resolve)); // round 1 opens
  // w2's link dropped before the broadcast of round 0 reached it; it reconnects.
  role.onControl('w2', { kind: 'hello', round: 0, hasModel: true, pendingUpload: true });
  role.onFrame('w2', h.upload('w2', 0)); // its resend: counted already
  const broadcasts = h.sentTo('w2', 'broadcast');
  assert.equal(broadcasts.length, 2);
  assert.deepEqual(broadcasts[1]?.payload, broadcasts[0]?.payload);
  assert.equal(h.sentTo('w2', 'model').length, 0);
  const round1 = nextRound(h, 1);
  role.onFrame('w1', h.upload('w1', 1));
  role.onFrame('w2', h.upload('w2', 1));
  const closed = await round1;
  assert.equal(closed.counted, 3);
  assert.equal(closed.late, 0);
  role.stop();
});

test('a worker whose link dropped during a sync gets the sync again and keeps its deviation, not the model', async (t) => {
  const h = createRoleHarness({ members: ['w1', 'w2'], config: { roundDeadlineMs: 60_000 } });
  h.state.round = 3;
  h.state.prepareSync(1);
  const role = new AggregatorRole(h.ctx, 2);
  t.after(() => role.stop());
  role.start(); // syncing round 3, waiting for the deltas of w1 and w2
  role.onFrame('w2', h.syncUpload('w2', 3, 2));
  role.onWorkerLeft('w1'); // its link dropped: the sync closes without it
  assert.equal(h.sentTo('w2', 'syncBroadcast').length, 1);
  assert.equal(h.sentTo('w1', 'syncBroadcast').length, 0);
  await new Promise<void>((resolve) => setImmediate(resolve)); // round 4 opens
  role.onControl('w1', { kind: 'hello', round: 3, hasModel: true, pendingUpload: true });
  role.onFrame('w1', h.syncUpload('w1', 3, 2)); // its resent delta: too late, it keeps it
  const [sync] = h.sentTo('w1', 'syncBroadcast');
  assert.equal(sync?.round, 3);
  assert.equal(h.sentTo('w1', 'model').length, 0);
  role.onFrame('w2', h.upload('w2', 4, 2));
  assert.equal(h.sentTo('w2', 'broadcast').length, 0, 'round 4 waits for w1 too');
  role.onFrame('w1', h.upload('w1', 4, 2));
  assert.equal(h.sentTo('w1', 'broadcast').length, 1);
});

test('a robust aggregation (median) sees every upload, not their running mean', (t) => {
  const h = createRoleHarness({
    members: ['w1', 'w2'],
    config: {
      algorithm: 'sgd',
      up: 'identity',
      down: 'identity',
      aggregation: 'median',
      roundDeadlineMs: 60_000,
    },
  });
  const role = new AggregatorRole(h.ctx, 1);
  t.after(() => role.stop());
  role.start(); // its own gradient is below 1 everywhere (tinyLearner)
  role.onFrame('w1', h.upload('w1', 0, 1, new Float32Array(NUM_PARAMS).fill(1)));
  role.onFrame('w2', h.upload('w2', 0, 1, new Float32Array(NUM_PARAMS).fill(100))); // an outlier
  const [broadcast] = h.sentTo('w1', 'broadcast');
  assert.ok(broadcast !== undefined);
  const c = h.options.down.decode(broadcast.payload, NUM_PARAMS);
  assert.deepEqual([...c], new Array<number>(NUM_PARAMS).fill(1), 'the median, not the mean (about 33.7)');
});

test("round reports to the server: each round's own bytes, the last evaluation repeated until the next", async (t) => {
  const h = createRoleHarness({ members: ['w1'], config: { evalEvery: 2, rounds: 4 } });
  const role = new AggregatorRole(h.ctx, 1);
  t.after(() => role.stop());
  const events: RoundEvent[] = [];
  h.ctx.events.on('round', (e) => events.push(e));
  const last = nextRound(h, 3);
  role.start();
  for (let round = 0; round < 4; round++) {
    const closed = nextRound(h, round);
    role.onFrame('w1', h.upload('w1', round));
    await closed;
  }
  await last;
  assert.deepEqual(
    h.reports.map((r) => [r.round, r.metrics?.evaluatedRound ?? null, r.metrics?.testAccuracy ?? null]),
    [
      [0, null, null],
      [1, 1, 0.5], // evaluated: reported once its accuracy is known
      [2, 1, 0.5], // not evaluated: round 1's accuracy again
      [3, 3, 0.5],
    ],
  );
  // Per-round bytes: their running sum is the aggregator's cumulative count at each round.
  let up = 0;
  let down = 0;
  for (const [i, report] of h.reports.entries()) {
    up += report.bytes.up;
    down += report.bytes.down;
    assert.ok(report.bytes.up > 0 && report.bytes.down > 0, `round ${i} moved bytes both ways`);
    assert.deepEqual({ up, down }, { up: events[i]?.bytesUp, down: events[i]?.bytesDown });
  }
});

test('a link closing while the broadcast goes out (onWorkerLeft inside the send) does not close the round again', async (t) => {
  const h = createRoleHarness({ members: ['w1', 'w2', 'w3'], config: { roundDeadlineMs: 60_000 } });
  const role = new AggregatorRole(h.ctx, 1);
  t.after(() => role.stop());
  const send = h.ctx.send;
  let left = false;
  h.ctx.send = (to, frame) => {
    send(to, frame);
    // A send that finds its data channel closed closes the link at once, and the runtime
    // tells the role the worker left, from inside this call.
    if (frame.type === 'broadcast' && !left) {
      left = true;
      h.members = h.members.filter((id) => id !== 'w3');
      role.onWorkerLeft('w3');
    }
  };
  const round0 = nextRound(h, 0);
  const round1 = nextRound(h, 1);
  role.start();
  for (const id of ['w1', 'w2', 'w3']) role.onFrame(id, h.upload(id, 0));
  assert.equal((await round0).counted, 4);
  assert.ok(left, 'the link closed during the broadcast');
  assert.equal(h.sentTo('w1', 'broadcast').length, 1, 'round 0 broadcast once');
  for (const id of ['w1', 'w2']) role.onFrame(id, h.upload(id, 1));
  assert.equal((await round1).counted, 3);
  role.stop();
});

/** Closes `rounds` in order, each with an upload of it from every one of `uploaders`; the last round's event. */
async function closeRounds(
  h: RoleHarness,
  role: AggregatorRole,
  rounds: readonly number[],
  uploaders: readonly string[],
): Promise<RoundEvent> {
  let last: RoundEvent | undefined;
  for (const round of rounds) {
    const closed = nextRound(h, round);
    for (const id of uploaders) role.onFrame(id, h.upload(id, round));
    last = await closed;
  }
  if (last === undefined) throw new Error('no round to close');
  return last;
}

test('a worker that lost a broadcast gets the broadcasts since again, in order; one too far back gets the model', async (t) => {
  const h = createRoleHarness({ members: ['w1', 'w2'], config: { roundDeadlineMs: 60_000 } });
  const role = new AggregatorRole(h.ctx, 1);
  t.after(() => role.stop()); // also when an assertion fails: no timer left running
  role.start();
  for (const id of ['w1', 'w2'])
    role.onControl(id, { kind: 'hello', round: 0, hasModel: true, pendingUpload: true });
  await closeRounds(h, role, [0, 1, 2, 3], ['w1', 'w2']);
  assert.equal(role.round, 4);
  const sentBefore = h.sentTo('w2', 'broadcast');
  role.onControl('w2', { kind: 'catchUp', round: 1 });
  const resent = h.sentTo('w2', 'broadcast').slice(sentBefore.length);
  assert.deepEqual(
    resent.map((f) => f.round),
    [1, 2, 3],
  );
  for (const [i, frame] of resent.entries())
    assert.deepEqual(frame.payload, sentBefore[i + 1]?.payload, `round ${i + 1}: the same broadcast`);
  assert.equal(resent[0]?.meta.length, 12, 'the first with its counted list in full');
  assert.equal(h.sentTo('w2', 'model').length, 0);
  // Its upload of round 4 still counts: round 4 closes with every peer.
  assert.equal((await closeRounds(h, role, [4], ['w1', 'w2'])).counted, 3);
  // A round the aggregator never closed in this term: the model instead.
  role.onControl('w1', { kind: 'catchUp', round: 0 });
  assert.equal(h.sentTo('w1', 'model').length, 0, 'round 0 is still kept');
  role.onControl('w1', { kind: 'catchUp', round: 6 });
  assert.equal(h.sentTo('w1', 'model').length, 1);
  role.stop();
});

test('a worker that reconnects a few rounds behind gets the broadcasts it missed, not the model', async (t) => {
  const h = createRoleHarness({ members: ['w1', 'w2'], config: { roundDeadlineMs: 60_000 } });
  const role = new AggregatorRole(h.ctx, 1);
  t.after(() => role.stop()); // also when an assertion fails: no timer left running
  role.start();
  for (const id of ['w1', 'w2'])
    role.onControl(id, { kind: 'hello', round: 0, hasModel: true, pendingUpload: true });
  await closeRounds(h, role, [0, 1], ['w1', 'w2']);
  role.onWorkerLeft('w2'); // its link drops: rounds 2-4 close without it
  await closeRounds(h, role, [2, 3, 4], ['w1']);
  const before = h.sentTo('w2', 'broadcast').length;
  role.onControl('w2', { kind: 'hello', round: 2, hasModel: true, pendingUpload: true });
  assert.deepEqual(
    h
      .sentTo('w2', 'broadcast')
      .slice(before)
      .map((f) => f.round),
    [2, 3, 4],
  );
  assert.equal(h.sentTo('w2', 'model').length, 0);
  // Back in step: round 5 waits for it.
  assert.equal((await closeRounds(h, role, [5], ['w1', 'w2'])).counted, 3);
  role.stop();
});

test('an upload of the round after a sync, sent during the sync by a worker that skipped it, counts in that round', async (t) => {
  const h = createRoleHarness({ members: ['w1', 'w2'], config: { roundDeadlineMs: 60_000 } });
  h.state.round = 3;
  h.state.prepareSync(1); // this peer was syncing round 3 when it took over
  const role = new AggregatorRole(h.ctx, 2);
  t.after(() => role.stop()); // also when an assertion fails: no timer left running
  role.start();
  role.onControl('w1', { kind: 'hello', round: 3, hasModel: true, pendingUpload: true });
  // w2, the deposed aggregator, closed round 3 itself and went on to round 4 without the sync.
  role.onControl('w2', { kind: 'hello', round: 4, hasModel: true, pendingUpload: true });
  role.onFrame('w2', h.upload('w2', 4, 2));
  assert.deepEqual(h.rejected, [], 'kept for round 4, not refused as stale');
  const round4 = nextRound(h, 4);
  role.onFrame('w1', h.syncUpload('w1', 3, 2)); // the sync closes
  await new Promise<void>((resolve) => setImmediate(resolve)); // the next round opens
  const [model] = h.sentTo('w2', 'model');
  assert.equal(model?.round, 4, 'w2 gets the synced model');
  role.onFrame('w1', h.upload('w1', 4, 2));
  const closed = await round4;
  assert.deepEqual(closed.participants.sort(), ['self', 'w1', 'w2']);
  role.stop();
});

test('a sync delta that comes in before the sync opens (a fast worker, right after the broadcast) is counted in it', async (t) => {
  // A sync after every round; deadlines far away, so the sync can only close with every delta in.
  const h = createRoleHarness({ members: ['w1', 'w2'], config: { roundDeadlineMs: 60_000, syncPeriod: 1 } });
  const role = new AggregatorRole(h.ctx, 1);
  t.after(() => role.stop()); // also when an assertion fails: no timer left running
  const synced = waitFor<{ round: number; counted: readonly string[] }>(
    (l) => h.ctx.events.on('synced', l),
    (e) => e.round === 0,
    5000,
    'the sync of round 0',
  );
  role.start();
  role.onControl('w1', { kind: 'hello', round: 0, hasModel: true, pendingUpload: false });
  role.onControl('w2', { kind: 'hello', round: 0, hasModel: true, pendingUpload: false });
  role.onFrame('w1', h.upload('w1', 0));
  role.onFrame('w2', h.upload('w2', 0)); // round 0 closes: its broadcast announces the sync
  assert.equal(h.sentTo('w1', 'broadcast')[0]?.aux, 1, 'the broadcast asks for a sync');
  // Both answer before the aggregator has opened the sync (it does so a setImmediate later).
  role.onFrame('w1', h.syncUpload('w1', 0));
  role.onFrame('w2', h.syncUpload('w2', 0));
  const sync = await synced;
  assert.deepEqual([...sync.counted].sort(), ['self', 'w1', 'w2']);
  assert.deepEqual(h.rejected, []);
  role.stop();
});

test('a new aggregator folds an upload from as far back as the old one would have (a peer frozen for seconds)', async (t) => {
  const h = createRoleHarness({ members: ['w1', 'w2'], config: { roundDeadlineMs: 60_000 } });
  // The old aggregator closed rounds 0-39 counting self and w1; w2 was frozen from round 10.
  applyOldBroadcasts(
    h,
    Array.from({ length: 40 }, (_, round) => round),
  );
  h.state.round = 40;
  const role = new AggregatorRole(h.ctx, 2);
  t.after(() => role.stop()); // also when an assertion fails: no timer left running
  const round40 = nextRound(h, 40);
  role.start();
  role.onFrame('w2', h.upload('w2', 10, 2)); // computed before it froze, sent on waking
  role.onFrame('w1', h.upload('w1', 40, 2));
  role.onFrame('w2', h.upload('w2', 40, 2));
  const closed = await round40;
  assert.deepEqual(h.rejected, []);
  assert.deepEqual(closed.lateUploads, [{ peerId: 'w2', round: 10 }]);
});

test("a worker on a model a rollback abandoned (its hello's round is before the rollback's) is sent the model to start over", (t) => {
  const h = createRoleHarness({ members: ['w1', 'w2'], config: { roundDeadlineMs: 60_000 } });
  h.state.round = 42; // this peer had the rolled-back model of round 40
  h.ctx.lastRollback = () => ({ round: 19, continuesAt: 40 });
  const role = new AggregatorRole(h.ctx, 3);
  t.after(() => role.stop()); // also when an assertion fails: no timer left running
  role.start();
  role.onControl('w1', { kind: 'hello', round: 38, hasModel: true, pendingUpload: true }); // abandoned
  role.onControl('w2', { kind: 'hello', round: 41, hasModel: true, pendingUpload: true }); // behind, not abandoned
  assert.deepEqual(
    h.sent.filter((s) => s.frame.type === 'model').map((s) => [s.to, s.frame.round, s.frame.aux]),
    [
      ['w1', 42, MODEL_START_OVER],
      ['w2', 42, 0],
    ],
  );
  role.stop();
});
