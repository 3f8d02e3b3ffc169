/**
 * The aggregator's stand-ins for absent workers (shared/algorithm/stand-ins.ts) in its rounds:
 * a worker that left is stood in for by its average upload, one that is only late is not (its
 * upload will be folded), and with standInRounds 0 nothing changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatorRole } from '../../client/roles/aggregator-role.ts';
import { createRoleHarness, nextRound, NUM_PARAMS } from '../support/role-harness.ts';

const w2Vector = Float32Array.from({ length: NUM_PARAMS }, (_, i) => (i % 3) - 1);

const w1Vector = Float32Array.from({ length: NUM_PARAMS }, (_, i) => ((i * 7) % 5) - 2);

/**
 * Round 0 with w1 and w2, then w2 leaves and round 1 runs with w1: the two broadcasts to w1 and
 * round 1's event. `resendInBetween`: w1 resends its round-0 upload after the round closed and
 * before the aggregator folded the round's uploads into their averages; it must change nothing.
 */
async function workerLeaves(standInRounds: number, { resendInBetween = false } = {}) {
  const h = createRoleHarness({ members: ['w1', 'w2'], config: { standInRounds, roundDeadlineMs: 60_000 } });
  const role = new AggregatorRole(h.ctx, 1);
  try {
    const round0 = nextRound(h, 0);
    role.start();
    role.onFrame('w1', h.upload('w1', 0, 1, w1Vector));
    role.onFrame('w2', h.upload('w2', 0, 1, w2Vector)); // the last one: round 0 closes here
    if (resendInBetween) role.onFrame('w1', h.upload('w1', 0, 1, w1Vector));
    assert.deepEqual((await round0).standIns, []);
    const round1 = nextRound(h, 1);
    h.members = ['w1'];
    role.onWorkerLeft('w2');
    role.onFrame('w1', h.upload('w1', 1));
    const event = await round1;
    const broadcasts = h.sentTo('w1', 'broadcast').map((b) => [...b.payload]);
    return { event, broadcasts };
  } finally {
    role.stop();
  }
}

test('a worker that left is stood in for by its average; with standInRounds 0 the round is as before', async () => {
  const on = await workerLeaves(100);
  const off = await workerLeaves(0);
  assert.deepEqual(on.event.standIns, ['w2']);
  assert.deepEqual(off.event.standIns, []);
  assert.deepEqual(on.event.participants.sort(), ['self', 'w1']);
  assert.equal(on.broadcasts.length, 2);
  assert.deepEqual(on.broadcasts[0], off.broadcasts[0], 'round 0: everyone counted, the same broadcast');
  assert.notDeepEqual(on.broadcasts[1], off.broadcasts[1], "round 1: w2's average is in the mean");
});

// The aggregator decodes uploads into vectors it reuses (vector-pool.ts): one given back before
// the round's uploads went into their averages would be overwritten by the next decode.
test("an upload decoded while a closed round's uploads still wait for their averages does not overwrite them", async () => {
  const quiet = await workerLeaves(100);
  const resent = await workerLeaves(100, { resendInBetween: true });
  assert.deepEqual(resent.event.standIns, ['w2']);
  assert.deepEqual(resent.broadcasts, quiet.broadcasts);
});

test('a worker still expected when its round closes is late, not absent: no stand-in, its upload folded', async (t) => {
  const h = createRoleHarness({ members: ['w1', 'w2'], config: { standInRounds: 100 } });
  const role = new AggregatorRole(h.ctx, 1);
  t.after(() => role.stop());
  const round0 = nextRound(h, 0);
  role.start();
  role.onFrame('w1', h.upload('w1', 0));
  role.onFrame('w2', h.upload('w2', 0));
  await round0;
  const round1 = nextRound(h, 1);
  role.onFrame('w1', h.upload('w1', 1));
  const closed = await round1; // at the 50 ms deadline, with quorum, w2 still expected
  assert.deepEqual(closed.participants.sort(), ['self', 'w1']);
  assert.deepEqual(closed.standIns, []);
  const round2 = nextRound(h, 2);
  role.onFrame('w2', h.upload('w2', 1)); // late: folded
  role.onFrame('w1', h.upload('w1', 2));
  role.onFrame('w2', h.upload('w2', 2));
  const next = await round2;
  assert.deepEqual(next.lateUploads, [{ peerId: 'w2', round: 1 }]);
  assert.deepEqual(next.standIns, []);
});
