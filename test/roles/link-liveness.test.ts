/**
 * Failure detection on the data path, piece by piece, without a network: LinkLiveness on a
 * fake clock (pings due, silence limits, this peer's own stalls), the aggregator's handling
 * of silent workers (not waited for, still counted when they come back, no racing ahead
 * alone), and the rule that nothing an aggregator sends under an older term changes a
 * worker's or another aggregator's state, for every frame type and control message.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatorRole } from '../../client/roles/aggregator-role.ts';
import { busyAllowanceMs, LinkLiveness } from '../../client/roles/link-liveness.ts';
import { resolvePeerSettings } from '../../client/roles/settings.ts';
import { WorkerRole } from '../../client/roles/worker-role.ts';
import { encodeControl, type ControlMessage } from '../../shared/protocol/control.ts';
import { encodeTags, FRAME_TYPES, senderTag, type Frame } from '../../shared/protocol/frames.ts';
import { DEFAULT_SESSION_CONFIG } from '../../shared/protocol/session-config.ts';
import { createRoleHarness, nextRound, NUM_PARAMS, type RoleHarness } from '../support/role-harness.ts';

const SETTINGS = resolvePeerSettings(DEFAULT_SESSION_CONFIG);

test('default settings: a ping after 500 ms of nothing sent, silence after 1500 ms', () => {
  assert.equal(SETTINGS.aggregatorPingIntervalMs, 500);
  assert.equal(SETTINGS.aggregatorSilenceMs, 1500);
  assert.ok(SETTINGS.aggregatorSilenceMs >= 3 * SETTINGS.aggregatorPingIntervalMs);
});

test('LinkLiveness: pings due on idle links, silence counted from the last byte heard', () => {
  let clock = 10_000;
  const liveness = new LinkLiveness(SETTINGS, () => clock);
  const step = (ms: number): void => {
    // Ticks as the runtime runs them, so no stall is seen.
    for (let t = 0; t < ms; t += 100) {
      clock += Math.min(100, ms - t);
      liveness.observe();
    }
  };
  assert.equal(liveness.tickMs, 100);
  assert.equal(liveness.pingDue('w'), true, 'never sent anything');
  liveness.noteSent('w');
  step(400);
  assert.equal(liveness.pingDue('w'), false);
  step(100);
  assert.equal(liveness.pingDue('w'), true);

  const roleStart = clock;
  liveness.noteHeard('agg');
  step(1500);
  assert.equal(liveness.silence('agg', roleStart, false).silent, false, 'exactly the limit');
  step(100);
  assert.deepEqual(liveness.silence('agg', roleStart, false), { ms: 1600, limitMs: 1500, silent: true });
  liveness.noteHeard('agg');
  assert.equal(liveness.silence('agg', roleStart, false).silent, false);

  // Never heard: the time a link may take to open (aggregatorConnectTimeoutMs), from `since`.
  assert.deepEqual(liveness.silence('new', roleStart, false), { ms: 1600, limitMs: 5000, silent: false });
  step(3500);
  assert.equal(liveness.silence('new', roleStart, false).silent, true);

  // Heard before `since`: a worker gives its new aggregator a fresh start; an aggregator
  // taking over counts it (the old aggregator it heard last as a worker went quiet).
  const old = clock;
  liveness.noteHeard('old');
  step(1600);
  const since = clock;
  assert.deepEqual(liveness.silence('old', since, false), { ms: 0, limitMs: 5000, silent: false });
  assert.deepEqual(liveness.silence('old', since, true), { ms: clock - old, limitMs: 1500, silent: true });
});

test("LinkLiveness: this peer's own stall (SIGSTOP, a blocked event loop) accuses nobody", () => {
  let clock = 0;
  const liveness = new LinkLiveness(SETTINGS, () => clock);
  liveness.noteHeard('agg');
  clock += 700;
  assert.equal(liveness.observe(), false, 'a late tick is not a stall');
  clock += 5000; // stopped: nothing was read from the sockets meanwhile
  assert.deepEqual(liveness.silence('agg', 0, true), { ms: 0, limitMs: 1500, silent: false });
  assert.equal(liveness.settling, true, 'sends wait a moment: links closed meanwhile close first');
  clock += liveness.settleMs;
  assert.equal(liveness.settling, false);
  for (let i = 0; i < 15; i++) {
    clock += 100;
    liveness.observe();
  }
  assert.equal(liveness.silence('agg', 0, true).silent, true, 'silent 1500 ms after waking up');
});

test('a peer busy with a large model is allowed its work on top of the silence limit', () => {
  // Before its first gradient: an estimate from the model size; after, twice its own time.
  assert.equal(busyAllowanceMs(0, 10_000_000, 0.0015), 15_000);
  assert.equal(busyAllowanceMs(30, 101_770, 0.0015), 60);
  let clock = 0;
  let allowance = 5000;
  const liveness = new LinkLiveness(
    SETTINGS,
    () => clock,
    () => allowance,
  );
  liveness.noteHeard('agg');
  for (let i = 0; i < 60; i++) {
    clock += 100;
    liveness.observe();
  }
  assert.deepEqual(liveness.silence('agg', 0, true), { ms: 6000, limitMs: 6500, silent: false });
  allowance = 60;
  assert.equal(liveness.silence('agg', 0, true).silent, true, 'a small model: the usual limit');
});

test('an aggregator taking over does not wait for a silent worker (the old aggregator); its upload still counts', async (t) => {
  const silent = new Set(['old']);
  const h = createRoleHarness({ members: ['old', 'w1'], config: { roundDeadlineMs: 60_000 } });
  h.ctx.isSilent = (id) => silent.has(id);
  h.state.round = 5;
  const role = new AggregatorRole(h.ctx, 2);
  t.after(() => role.stop());
  const round5 = nextRound(h, 5);
  role.start();
  role.onFrame('w1', h.upload('w1', 5, 2));
  const closed = await round5; // long before the deadline
  assert.deepEqual(closed.participants.sort(), ['self', 'w1']);
  assert.equal(closed.expected, 2, 'expected itself and w1');
  // It stays in step: it gets the broadcasts, and once heard again is expected as before
  // (from the next round on: round 6 opened while it was silent).
  assert.equal(h.sentTo('old', 'broadcast').length, 1);
  silent.clear();
  const round6 = nextRound(h, 6);
  const round7 = nextRound(h, 7);
  role.onFrame('w1', h.upload('w1', 6, 2));
  assert.deepEqual((await round6).participants.sort(), ['self', 'w1']);
  role.onFrame('w1', h.upload('w1', 7, 2));
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(h.sentTo('w1', 'broadcast').length, 2, 'round 7 waits for old again');
  role.onFrame('old', h.upload('old', 7, 2));
  assert.deepEqual((await round7).participants.sort(), ['old', 'self', 'w1']);
});

test('a worker going silent mid-round stops being expected; alone, the aggregator waits for the deadline', async (t) => {
  const silent = new Set<string>();
  const h = createRoleHarness({ members: ['w1', 'w2'], config: { roundDeadlineMs: 400 } });
  h.ctx.isSilent = (id) => silent.has(id);
  const role = new AggregatorRole(h.ctx, 1);
  t.after(() => role.stop());
  const round0 = nextRound(h, 0);
  role.start();
  role.onFrame('w1', h.upload('w1', 0));
  role.dropSilentWorkers();
  assert.equal(h.sentTo('w1', 'broadcast').length, 0, 'w2 is not silent yet');
  silent.add('w2');
  const dropped = performance.now();
  role.dropSilentWorkers();
  const first = await round0;
  assert.deepEqual(first.participants.sort(), ['self', 'w1']);
  assert.ok(performance.now() - dropped < 200, 'closed when w2 went silent, not at the deadline');

  // Every worker silent while they are still members: one round per deadline, not a race.
  silent.add('w1');
  const opened = performance.now();
  const round1 = nextRound(h, 1);
  const round2 = nextRound(h, 2);
  const alone = await round1;
  assert.deepEqual(alone.participants, ['self']);
  assert.ok(performance.now() - opened >= 380, `closed after ${(performance.now() - opened).toFixed(0)} ms`);
  // A worker back (its upload) ends the wait at once.
  silent.clear();
  role.onFrame('w1', h.upload('w1', 2));
  await new Promise((resolve) => setImmediate(resolve));
  const started = performance.now();
  assert.deepEqual((await round2).participants.sort(), ['self', 'w1']);
  assert.ok(performance.now() - started < 350);

  // No other member at all (a session of one): rounds follow each other at once.
  h.members.length = 0;
  role.onWorkerLeft('w1');
  role.onWorkerLeft('w2');
  const at = performance.now();
  await nextRound(h, 8);
  assert.ok(performance.now() - at < 1000, 'alone in its session, it trains alone');
});

const AGG = 'agg';

/** A frame of `type` from the aggregator `from`, of `term`, for round 0, with a plausible body. */
function frameOf(
  h: RoleHarness,
  type: Frame['type'],
  from: string,
  term: number,
  control?: ControlMessage,
): Frame {
  const vector = new Float32Array(NUM_PARAMS).fill(0.5);
  const bodies: Record<Frame['type'], { meta: Uint8Array; payload: Uint8Array; aux?: number }> = {
    model: { meta: new Uint8Array(0), payload: new Uint8Array(vector.buffer.slice(0)) },
    broadcast: {
      meta: encodeTags([senderTag(from), senderTag('self')]),
      payload: h.options.down.encode(vector, 1),
    },
    syncBroadcast: { meta: encodeTags([senderTag('self')]), payload: h.options.down.encode(vector, 1) },
    sliceBroadcast: { meta: encodeTags([senderTag('self')]), payload: h.options.down.encode(vector, 1) },
    upload: { meta: new Uint8Array(0), payload: h.options.up.encode(vector, 1) },
    syncUpload: { meta: new Uint8Array(0), payload: h.options.up.encode(vector, 1) },
    sliceUpload: { meta: new Uint8Array(0), payload: h.options.up.encode(vector, 1) },
    control: { meta: encodeControl(control ?? { kind: 'ping' }), payload: new Uint8Array(0) },
  };
  const body = bodies[type];
  return {
    type,
    term,
    round: 0,
    sender: senderTag(from),
    aux: body.aux ?? 0,
    meta: body.meta,
    payload: body.payload,
  };
}

const CONTROLS: ControlMessage[] = [
  { kind: 'hello', round: 0, hasModel: true, pendingUpload: false },
  { kind: 'modelRequest' },
  { kind: 'metrics', round: 0, testAccuracy: 0.9, testLoss: 0.1 },
  { kind: 'done', round: 0, testAccuracy: 0.9 },
  { kind: 'roundClosed', round: 0 },
  { kind: 'ping' },
];

test('a worker drops every frame and control message of an older term, even from its current aggregator', () => {
  const h = createRoleHarness();
  const role = new WorkerRole(h.ctx, AGG, 3);
  const done: unknown[] = [];
  h.ctx.events.on('done', (e) => done.push(e));
  h.ctx.events.on('model', (e) => done.push(e));
  const before = Float32Array.from(h.state.requireWorker().model);
  const frames = [
    ...FRAME_TYPES.filter((type) => type !== 'control').map((type) => frameOf(h, type, AGG, 2)),
    ...CONTROLS.map((c) => frameOf(h, 'control', AGG, 2, c)),
    // The old aggregator woken up, still believing in its term.
    ...FRAME_TYPES.filter((type) => type !== 'control').map((type) => frameOf(h, type, 'old', 2)),
    ...CONTROLS.map((c) => frameOf(h, 'control', 'old', 2, c)),
  ];
  for (const frame of frames) role.onFrame(frame.sender === senderTag(AGG) ? AGG : 'old', frame);
  assert.deepEqual(Array.from(h.state.requireWorker().model), Array.from(before));
  assert.equal(h.state.round, 0);
  assert.equal(h.state.lastBroadcast, null);
  assert.deepEqual(done, []);
  assert.equal(role.active, true, "an old term's done does not stop it");
  assert.equal(h.sent.length, 0, 'not even a modelRequest');
  assert.equal(h.rejected.length, frames.length);
  assert.ok(h.rejected.every((r) => r.code === 'STALE_TERM' && !r.strike));
  // A ping of its own term is no rejection.
  role.onFrame(AGG, frameOf(h, 'control', AGG, 3));
  assert.equal(h.rejected.length, frames.length);
  role.stop();
});

test('an aggregator drops every frame and control message of an older term', (t) => {
  const h = createRoleHarness({ members: ['w1'], config: { roundDeadlineMs: 60_000 } });
  const role = new AggregatorRole(h.ctx, 3);
  t.after(() => role.stop());
  role.start();
  const before = Float32Array.from(h.state.requireWorker().model);
  const sentBefore = h.sent.length;
  const frames = [
    ...FRAME_TYPES.filter((type) => type !== 'control').map((type) => frameOf(h, type, 'w1', 2)),
    ...CONTROLS.map((c) => frameOf(h, 'control', 'w1', 2, c)),
  ];
  for (const frame of frames) role.onFrame('w1', frame);
  assert.deepEqual(Array.from(h.state.requireWorker().model), Array.from(before));
  assert.equal(h.sent.length, sentBefore);
  assert.equal(h.rejected.length, frames.length);
  assert.ok(h.rejected.every((r) => r.code === 'STALE_TERM' && !r.strike));
  assert.equal(h.reports.length, 0);
});
