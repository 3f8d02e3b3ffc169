import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { UploadEvent } from '../../client/roles/events.ts';
import { WorkerRole } from '../../client/roles/worker-role.ts';
import { CATCH_UP_ROUNDS } from '../../client/roles/broadcast-catch-up.ts';
import { SAME_COUNTED_META } from '../../shared/protocol/broadcast-meta.ts';
import { encodeTags, MODEL_START_OVER, senderTag, type Frame } from '../../shared/protocol/frames.ts';
import { createRoleHarness, NUM_PARAMS, type RoleHarness } from '../support/role-harness.ts';
import { waitFor } from '../support/session.ts';
import { encodeSyncPayload } from '../../shared/algorithm/sync-payload.ts';
import { parseCompressor } from '../../shared/compress/index.ts';

const controlKinds = (h: RoleHarness, to: string): string[] =>
  h.sentTo(to, 'control').map((f) => {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(f.meta));
    return typeof parsed === 'object' && parsed !== null ? String(Reflect.get(parsed, 'kind')) : '';
  });

function broadcast(h: RoleHarness, round: number, term: number, sync: boolean, value = 0.01): Frame {
  const payload = h.options.down.encode(new Float32Array(NUM_PARAMS).fill(value), 1);
  return {
    type: 'broadcast',
    term,
    round,
    sender: senderTag('agg'),
    aux: sync ? 1 : 0,
    meta: encodeTags([senderTag('agg'), senderTag('self')]),
    payload,
  };
}

/** Connects `role` and waits for its first upload (computed on a later turn of the event loop). */
async function connectAndUpload(h: RoleHarness, role: WorkerRole): Promise<UploadEvent> {
  const uploaded = waitFor<UploadEvent>(
    (l) => h.ctx.events.on('uploaded', l),
    () => true,
    2000,
    'the first upload',
  );
  role.onConnected();
  return uploaded;
}

test('on every connection: hello, then the cached upload, flagged as a resend once it was sent before', async () => {
  const h = createRoleHarness();
  const uploads: UploadEvent[] = [];
  h.ctx.events.on('uploaded', (e) => uploads.push(e));
  const first = new WorkerRole(h.ctx, 'agg', 1);
  await connectAndUpload(h, first);
  assert.deepEqual(controlKinds(h, 'agg'), ['hello']);
  first.stop();
  // The aggregator died; the next one hears the same upload again, as a resend.
  const second = new WorkerRole(h.ctx, 'agg2', 2);
  second.onConnected();
  assert.deepEqual(controlKinds(h, 'agg2'), ['hello']);
  const [resent] = h.sentTo('agg2', 'upload');
  assert.equal(resent?.term, 2);
  assert.equal(resent.round, 0);
  assert.deepEqual(
    uploads.map((u) => [u.term, u.round, u.resent]),
    [
      [1, 0, false],
      [2, 0, true],
    ],
  );
  second.stop();
});

test("a broadcast for a round whose sync delta it already sent (a dead aggregator's broadcast) is not applied", async () => {
  const h = createRoleHarness();
  const old = new WorkerRole(h.ctx, 'agg', 1);
  await connectAndUpload(h, old);
  old.onFrame('agg', broadcast(h, 0, 1, true)); // applied, and asks for a sync
  assert.equal(h.state.cached?.type, 'syncUpload');
  old.stop();
  const model = Float32Array.from(h.state.requireWorker().model);
  const next = new WorkerRole(h.ctx, 'agg2', 2);
  next.onConnected();
  // First the broadcast it applied (in case agg2 missed it), then hello, then its sync delta.
  assert.deepEqual(
    h.sent.filter((s) => s.to === 'agg2').map((s) => s.frame.type),
    ['broadcast', 'control', 'syncUpload'],
  );
  const [relayed] = h.sentTo('agg2', 'broadcast');
  assert.equal(relayed?.term, 2);
  assert.equal(relayed.round, 0);
  assert.equal(relayed.aux, 1);
  next.onFrame('agg2', broadcast(h, 0, 2, true)); // the same broadcast, sent on: ignored
  assert.deepEqual(controlKinds(h, 'agg2'), ['hello']);
  next.onFrame('agg2', broadcast(h, 0, 2, false, 0.02)); // agg2 closed round 0 itself
  assert.deepEqual(h.state.requireWorker().model, model, 'model untouched');
  assert.deepEqual(controlKinds(h, 'agg2'), ['hello', 'modelRequest']);
  next.stop();
});

test('a sync broadcast for a round whose broadcast never reached it is not applied', () => {
  const h = createRoleHarness();
  h.state.round = 4;
  const role = new WorkerRole(h.ctx, 'agg', 3);
  const model = Float32Array.from(h.state.requireWorker().model);
  const codec = h.options.sync?.codec;
  assert.ok(codec !== undefined);
  role.onFrame('agg', {
    type: 'syncBroadcast',
    term: 3,
    round: 4,
    sender: senderTag('agg'),
    aux: 0,
    meta: encodeTags([senderTag('agg')]),
    payload: encodeSyncPayload(null, codec.encode(new Float32Array(NUM_PARAMS).fill(1), 1)),
  });
  assert.deepEqual(h.state.requireWorker().model, model);
  assert.deepEqual(controlKinds(h, 'agg'), ['modelRequest']);
  assert.equal(h.state.round, 4);
  role.stop();
});

test('frames from another aggregator or term are dropped without a strike', () => {
  const h = createRoleHarness();
  const role = new WorkerRole(h.ctx, 'agg', 3);
  role.onFrame('agg', broadcast(h, 0, 2, false));
  role.onFrame('other', broadcast(h, 0, 3, false));
  assert.deepEqual(
    h.rejected.map((r) => [r.peerId, r.code, r.strike]),
    [
      ['agg', 'STALE_TERM', false],
      ['other', 'STALE_TERM', false],
    ],
  );
  assert.equal(h.state.round, 0);
  role.stop();
});

test('a "same counted list" broadcast means the last full list: counted stays known, relays carry the list', () => {
  const h = createRoleHarness();
  const applied: boolean[] = [];
  h.ctx.events.on('applied', (e) => applied.push(e.counted));
  const role = new WorkerRole(h.ctx, 'agg', 3);
  // Before any full list, the marker cannot be read: the model is asked for. No strike: an
  // honest aggregator sends it to a worker it counted in step before their link was up; more
  // of them than maxBadAggregatorFrames once banned that aggregator for the whole term.
  const unknownLists = h.ctx.settings.maxBadAggregatorFrames + 1;
  for (let i = 0; i < unknownLists; i++)
    role.onFrame('agg', { ...broadcast(h, 0, 3, false), meta: Uint8Array.from(SAME_COUNTED_META) });
  assert.deepEqual(
    h.rejected.map((r) => [r.code, r.strike]),
    Array.from({ length: unknownLists }, () => ['COUNTED_LIST_UNKNOWN', false]),
  );
  assert.deepEqual(
    controlKinds(h, 'agg'),
    Array.from({ length: unknownLists }, () => 'modelRequest'),
  );
  assert.equal(h.state.round, 0);
  role.onFrame('agg', broadcast(h, 0, 3, false)); // full list: agg and self
  role.onFrame('agg', { ...broadcast(h, 1, 3, false), meta: Uint8Array.from(SAME_COUNTED_META) });
  assert.deepEqual(applied, [true, true]);
  assert.equal(h.state.round, 2);
  assert.deepEqual(h.state.lastBroadcast?.counted, [senderTag('agg'), senderTag('self')]);
  // Passed on to the next aggregator with the list in full.
  role.stop();
  const next = new WorkerRole(h.ctx, 'agg2', 4);
  next.onConnected();
  const [relay] = h.sentTo('agg2', 'broadcast');
  assert.deepEqual(relay?.meta, encodeTags([senderTag('agg'), senderTag('self')]));
  next.stop();
});

const catchUpRounds = (h: RoleHarness, to: string): number[] =>
  h.sentTo(to, 'control').flatMap((f) => {
    const parsed: unknown = JSON.parse(new TextDecoder().decode(f.meta));
    return typeof parsed === 'object' && parsed !== null && Reflect.get(parsed, 'kind') === 'catchUp'
      ? [Number(Reflect.get(parsed, 'round'))]
      : [];
  });

test('a lost broadcast is asked for again: those ahead are held, then all applied in order, as if none was lost', async () => {
  const h = createRoleHarness();
  const reference = createRoleHarness(); // the same worker, given every broadcast
  const applied: number[] = [];
  h.ctx.events.on('applied', (e) => applied.push(e.round));
  const role = new WorkerRole(h.ctx, 'agg', 1);
  const referenceRole = new WorkerRole(reference.ctx, 'agg', 1);
  for (const [harness, worker] of [
    [h, role],
    [reference, referenceRole],
  ] as const) {
    await connectAndUpload(harness, worker);
  }
  // Round 0's broadcast never arrives (garbled on the way); 1 and 2 do.
  role.onFrame('agg', broadcast(h, 1, 1, false, 0.02));
  role.onFrame('agg', broadcast(h, 2, 1, false, 0.03));
  assert.deepEqual(controlKinds(h, 'agg'), ['hello', 'catchUp'], 'asked once, not for the model');
  assert.deepEqual(catchUpRounds(h, 'agg'), [0]);
  assert.equal(h.state.round, 0);
  assert.deepEqual(applied, []);
  // The aggregator sends rounds 0 to 2 again.
  const values = [0.01, 0.02, 0.03];
  for (const [round, value] of values.entries()) role.onFrame('agg', broadcast(h, round, 1, false, value));
  for (const [round, value] of values.entries())
    referenceRole.onFrame('agg', broadcast(reference, round, 1, false, value));
  assert.deepEqual(applied, [0, 1, 2]);
  assert.equal(h.state.round, 3);
  assert.deepEqual(
    h.state.requireWorker().model,
    reference.state.requireWorker().model,
    'own deviation kept',
  );
  assert.deepEqual(controlKinds(h, 'agg'), ['hello', 'catchUp']);
  assert.equal(h.rejected.length, 0);
  role.stop();
  referenceRole.stop();
});

test('a worker whose catch-up got lost too asks for the model once it holds CATCH_UP_ROUNDS broadcasts ahead', () => {
  const h = createRoleHarness();
  const role = new WorkerRole(h.ctx, 'agg', 1);
  for (let round = 1; round <= CATCH_UP_ROUNDS; round++) role.onFrame('agg', broadcast(h, round, 1, false));
  assert.deepEqual(controlKinds(h, 'agg'), ['catchUp']);
  role.onFrame('agg', broadcast(h, CATCH_UP_ROUNDS + 1, 1, false));
  assert.deepEqual(controlKinds(h, 'agg'), ['catchUp', 'modelRequest']);
  assert.equal(h.state.round, 0);
  role.stop();
});

test('a broadcast ahead that asks for a sync is not held: the worker asks for the model', () => {
  const h = createRoleHarness();
  const role = new WorkerRole(h.ctx, 'agg', 1);
  role.onFrame('agg', broadcast(h, 1, 1, true));
  assert.deepEqual(controlKinds(h, 'agg'), ['modelRequest']);
  role.stop();
});

test('a model for the round of an upload already sent keeps that upload: none computed again for the round', async () => {
  const h = createRoleHarness();
  const uploads: UploadEvent[] = [];
  h.ctx.events.on('uploaded', (e) => uploads.push(e));
  const role = new WorkerRole(h.ctx, 'agg', 1);
  await connectAndUpload(h, role);
  const sent = h.state.cached;
  const weights = new Float32Array(NUM_PARAMS).fill(0.5);
  role.onFrame('agg', {
    type: 'model',
    term: 1,
    round: 0,
    sender: senderTag('agg'),
    aux: 0,
    meta: new Uint8Array(0),
    payload: parseCompressor('identity').encode(weights),
  });
  assert.deepEqual(h.state.requireWorker().model, weights, 'the model is adopted');
  assert.equal(h.state.cached, sent, 'the sent upload is kept');
  // A model of a later round: the upload is of a round gone, a new one is computed.
  const next = waitFor<UploadEvent>(
    (l) => h.ctx.events.on('uploaded', l),
    (e) => e.round === 3,
    2000,
    'upload of round 3',
  );
  role.onFrame('agg', {
    type: 'model',
    term: 1,
    round: 3,
    sender: senderTag('agg'),
    aux: 0,
    meta: new Uint8Array(0),
    payload: parseCompressor('identity').encode(weights),
  });
  await next;
  assert.deepEqual(
    uploads.map((u) => u.round),
    [0, 3],
  );
  role.stop();
});

test("a model sent mid-session keeps the worker's own unsynced gradients; a rollback's (MODEL_START_OVER) drops them", async () => {
  const h = createRoleHarness();
  const role = new WorkerRole(h.ctx, 'agg', 1);
  await connectAndUpload(h, role);
  role.onFrame('agg', broadcast(h, 0, 1, false));
  const worker = h.state.requireWorker();
  const syncCodec = h.options.sync?.codec;
  assert.ok(syncCodec !== undefined);
  // What its next sync would send: the gradient mass only this worker has.
  const owed = (): Float32Array => syncCodec.decode(worker.prepareSync(7), NUM_PARAMS);
  const before = owed();
  assert.ok(
    before.some((v) => v !== 0),
    'the worker owes something after a round',
  );
  const weights = new Float32Array(NUM_PARAMS).fill(0.5);
  const model = (round: number, aux: number): Frame => ({
    type: 'model',
    term: 1,
    round,
    sender: senderTag('agg'),
    aux,
    meta: new Uint8Array(0),
    payload: parseCompressor('identity').encode(weights),
  });
  // Out of step after a failover: sent the model, it keeps what it owes on top of it.
  role.onFrame('agg', model(5, 0));
  assert.deepEqual(worker.commonModel(), weights);
  assert.deepEqual(owed(), before);
  // An operator's rollback: everyone starts over from the model alone.
  role.onFrame('agg', model(9, MODEL_START_OVER));
  assert.deepEqual(worker.model, weights);
  assert.ok(
    owed().every((v) => v === 0),
    'nothing owed after a rollback',
  );
  role.stop();
});
