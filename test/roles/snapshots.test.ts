import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PeerEventEmitter, type Role, type RoundEvent } from '../../client/roles/events.ts';
import { PendingRollback } from '../../client/roles/aggregator-rollback.ts';
import { SnapshotKeeper, type SnapshotSource } from '../../client/roles/snapshots.ts';
import { modelSha256 } from '../../shared/model-hash.ts';

/** A peer stand-in whose model is its round number in every weight. */
function source(): SnapshotSource & {
  role: Role | null;
  round: number;
  evaluations: number;
  /** The first weight of each model evaluated. */
  evaluated: number[];
  rolledTo: Float32Array[];
} {
  const s = {
    events: new PeerEventEmitter(),
    role: 'aggregator' as Role | null,
    round: 0,
    evaluations: 0,
    evaluated: [] as number[],
    rolledTo: [] as Float32Array[],
    get currentRole() {
      return s.role;
    },
    model: () => new Float32Array(4).fill(s.round),
    evaluateModel: (model?: Float32Array) => {
      s.evaluations += 1;
      const weight = (model ?? s.model())[0] ?? 0;
      s.evaluated.push(weight);
      return { accuracy: 0.5, loss: 1.5 };
    },
    rollback: (model: Float32Array, continuesAtLeast = 0) => {
      if (s.role !== 'aggregator') return null;
      s.rolledTo.push(model);
      return Promise.resolve({ continuesAt: Math.max(s.round + 2, continuesAtLeast) });
    },
  };
  return s;
}

function closeRound(s: ReturnType<typeof source>, round: number, testAccuracy: number | null): void {
  s.round = round;
  const event: RoundEvent = {
    round,
    term: 1,
    counted: 2,
    expected: 2,
    participants: ['a', 'b'],
    standIns: [],
    late: 0,
    lateUploads: [],
    loss: 1,
    testAccuracy,
    testLoss: testAccuracy === null ? null : 0.9,
    bytesUp: 0,
    bytesDown: 0,
    fp32BytesUp: 0,
    fp32BytesDown: 0,
    durationMs: 1,
    computeMs: 1,
    evalMs: 0,
    closedAt: 0,
    sync: false,
    drift: null,
  };
  s.events.publish('round', event);
}

test('a snapshot every N rounds with that round accuracy; the newest `keep` stay', async () => {
  const s = source();
  const keeper = new SnapshotKeeper(s, { everyRounds: 10, keep: 3 });
  keeper.start();
  for (let round = 0; round < 60; round++) closeRound(s, round, (round + 1) % 5 === 0 ? round / 100 : null);
  const listed = await keeper.list();
  assert.deepEqual(
    listed.map((x) => [x.round, x.testAccuracy]),
    [
      [39, 0.39],
      [49, 0.49],
      [59, 0.59],
    ],
  );
  assert.equal(s.evaluations, 0, 'evaluated rounds need no evaluation of their own');
  assert.equal(listed[0]?.modelSha256, await modelSha256(new Float32Array(4).fill(39)));
  keeper.stop();
  closeRound(s, 69, 0.69);
  assert.equal((await keeper.list()).at(-1)?.round, 59, 'stopped: no more snapshots');
});

test('a snapshot of a round not evaluated is evaluated; rollback answers by role and round', async () => {
  const s = source();
  const keeper = new SnapshotKeeper(s, { everyRounds: 7 });
  keeper.start();
  for (let round = 0; round < 14; round++) closeRound(s, round, null);
  const answer = await keeper.snapshots();
  assert.ok(answer.ok);
  assert.deepEqual(
    answer.snapshots.map((x) => [x.round, x.testAccuracy, x.testLoss]),
    [
      [6, 0.5, 1.5],
      [13, 0.5, 1.5],
    ],
  );
  assert.equal(s.evaluations, 2);

  const unknown = await keeper.rollback({ sessionId: 'session01', term: 1, round: 7 });
  assert.ok(!unknown.ok && unknown.code === 'UNKNOWN_SNAPSHOT');
  const rolled = await keeper.rollback({ sessionId: 'session01', term: 1, round: 6 });
  assert.ok(rolled.ok && rolled.continuesAt === 15);
  assert.deepEqual([...(s.rolledTo[0] ?? [])], [6, 6, 6, 6]);

  s.role = 'worker';
  const notAggregator = await keeper.snapshots();
  assert.ok(!notAggregator.ok && notAggregator.code === 'NOT_AGGREGATOR');
  assert.throws(() => new SnapshotKeeper(s, { everyRounds: 0 }), RangeError);
});

test("an announced rollback is applied again from this peer's snapshot only by an aggregator that missed it", async () => {
  const s = source();
  const logged: string[] = [];
  const keeper = new SnapshotKeeper(s, { everyRounds: 5 }, (_level, message) => logged.push(message));
  keeper.start();
  for (let round = 0; round < 12; round++) closeRound(s, round, null);
  const announced = (peerId: string, continuesAt: number, round = 4) => ({
    sessionId: 'session01',
    peerId,
    term: 3,
    lastRound: 11,
    rollback: { round, continuesAt },
  });
  keeper.catchUp({ ...announced('me', 20), rollback: undefined }, 'me'); // no rollback
  keeper.catchUp(announced('other', 20), 'me'); // another peer aggregates
  keeper.catchUp(announced('me', 11), 'me'); // it already holds round 11: it had the model
  s.role = 'worker';
  keeper.catchUp(announced('me', 20), 'me'); // not (yet) in the role
  s.role = 'aggregator';
  keeper.catchUp(announced('me', 20, 7), 'me'); // no snapshot of round 7
  assert.equal(s.rolledTo.length, 0);
  assert.match(logged.join('\n'), /keeps no snapshot of it/);
  keeper.catchUp(announced('me', 20), 'me');
  keeper.catchUp(announced('me', 20), 'me'); // announced again while it is pending: once
  assert.deepEqual(
    s.rolledTo.map((m) => [...m]),
    [[4, 4, 4, 4]],
  );
  await new Promise((resolve) => setImmediate(resolve));
  assert.match(logged.at(-1) ?? '', /applied again: every peer continues at 20/);
  keeper.stop();
});

test('a pending rollback is taken once, and a newer one or the end drops the older', async () => {
  const pending = new PendingRollback();
  const first = pending.request(Float32Array.of(1));
  const second = pending.request(Float32Array.of(2));
  await assert.rejects(first);
  const taken = pending.take();
  assert.deepEqual([...(taken?.model ?? [])], [2]);
  assert.equal(pending.take(), null);
  taken?.applied(42);
  assert.deepEqual(await second, { continuesAt: 42 });
  const third = pending.request(Float32Array.of(3));
  pending.drop();
  await assert.rejects(third);
});

test('a worker copies its model every N rounds without evaluating; once it aggregates, they are listed evaluated', async () => {
  const s = source();
  s.role = 'worker';
  const keeper = new SnapshotKeeper(s, { everyRounds: 5, keep: 3 });
  keeper.start();
  for (let round = 0; round < 20; round++) {
    s.round = round;
    s.events.publish('applied', { round, term: 1, counted: true });
  }
  assert.equal(s.evaluations, 0, 'a worker only copies the weights');
  const asWorker = await keeper.snapshots();
  assert.ok(!asWorker.ok && asWorker.code === 'NOT_AGGREGATOR');
  assert.equal(s.evaluations, 0);

  // The aggregator leaves; this peer takes over at term 2 and closes rounds 20-24 itself.
  s.role = 'aggregator';
  for (let round = 20; round < 25; round++) closeRound(s, round, null);
  const answer = await keeper.snapshots();
  assert.ok(answer.ok);
  assert.deepEqual(
    answer.snapshots.map((x) => [x.round, x.testAccuracy, x.testLoss]),
    [
      [14, 0.5, 1.5],
      [19, 0.5, 1.5],
      [24, 0.5, 1.5],
    ],
  );
  assert.deepEqual(
    s.evaluated.sort((a, b) => a - b),
    [14, 19, 24],
    'each snapshot evaluated once, on its own weights',
  );
  assert.equal(answer.snapshots[0]?.modelSha256, await modelSha256(new Float32Array(4).fill(14)));
  await keeper.list();
  assert.equal(s.evaluations, 3, 'evaluated once');

  const rolled = await keeper.rollback({ sessionId: 'session01', term: 2, round: 14 });
  assert.ok(rolled.ok);
  assert.deepEqual([...(s.rolledTo[0] ?? [])], [14, 14, 14, 14]);
  keeper.stop();
});

test('two reads at once evaluate each pending snapshot once; a round taken again replaces the older', async () => {
  const s = source();
  s.role = 'worker';
  const keeper = new SnapshotKeeper(s, { everyRounds: 2, keep: 10 });
  keeper.start();
  for (let round = 0; round < 6; round++) {
    s.round = round;
    s.events.publish('applied', { round, term: 1, counted: true });
  }
  s.role = 'aggregator';
  // Another model for round 5, as a new aggregator closing that round again would hold.
  s.model = () => new Float32Array(4).fill(100);
  closeRound(s, 5, 0.7);
  const [a, b] = await Promise.all([keeper.list(), keeper.list()]);
  assert.deepEqual(a, b);
  assert.deepEqual(
    a.map((x) => [x.round, x.testAccuracy]),
    [
      [1, 0.5],
      [3, 0.5],
      [5, 0.7],
    ],
  );
  assert.equal(s.evaluations, 2);
  assert.equal(a[2]?.modelSha256, await modelSha256(new Float32Array(4).fill(100)));
  keeper.stop();
});

test('after a takeover, one snapshot a worker took is evaluated after each round the session did not evaluate', async () => {
  const s = source();
  s.role = 'worker';
  const keeper = new SnapshotKeeper(s, { everyRounds: 2, keep: 10 });
  keeper.start();
  for (let round = 0; round < 6; round++) {
    s.round = round;
    s.events.publish('applied', { round, term: 1, counted: true });
  }
  s.role = 'aggregator';
  const macrotask = () => new Promise((resolve) => setTimeout(resolve, 0));
  closeRound(s, 6, 0.8); // evaluated by the session: no snapshot evaluation after it
  await macrotask();
  assert.equal(s.evaluations, 0);
  closeRound(s, 7, null); // round 7 is a snapshot round itself: evaluated at once
  await macrotask();
  assert.deepEqual(s.evaluated, [7, 1], 'its own, then the oldest a worker took');
  closeRound(s, 8, null);
  closeRound(s, 9, 0.9);
  await macrotask();
  assert.deepEqual(s.evaluated, [7, 1, 3], 'one per round at most');
  closeRound(s, 10, null);
  await macrotask();
  closeRound(s, 12, null);
  await macrotask();
  assert.deepEqual(s.evaluated, [7, 1, 3, 5], 'none left to evaluate');
  assert.deepEqual(
    (await keeper.list()).map((x) => [x.round, x.testAccuracy]),
    [
      [1, 0.5],
      [3, 0.5],
      [5, 0.5],
      [7, 0.5],
      [9, 0.9],
    ],
  );
  assert.equal(s.evaluations, 4, 'the list found nothing left to evaluate');
  keeper.stop();
});
