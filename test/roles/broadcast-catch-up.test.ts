import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AheadBroadcasts, RecentBroadcasts } from '../../client/roles/broadcast-catch-up.ts';
import type { AppliedBroadcast } from '../../client/roles/local-state.ts';

const applied = (round: number, sync = false): AppliedBroadcast => ({
  round,
  term: 1,
  counted: [1, 2],
  payload: Uint8Array.of(round),
  sync,
});
const ahead = (round: number) => ({
  round,
  meta: { tags: [1], slackSeconds: null },
  payload: Uint8Array.of(round),
});

test('RecentBroadcasts: a range of kept plain rounds, in order; null across a gap, a sync or past the limit', () => {
  const recent = new RecentBroadcasts(4);
  for (const round of [3, 4, 5, 6, 7]) recent.add(applied(round, round === 6));
  assert.deepEqual(
    recent.range(4, 6)?.map((b) => b.round),
    [4, 5],
  );
  assert.equal(recent.range(3, 5), null, 'round 3 is no longer kept');
  assert.equal(recent.range(5, 7), null, 'round 6 asked for a sync');
  assert.equal(recent.range(5, 5), null, 'no round');
  recent.clear();
  assert.equal(recent.range(4, 5), null);
});

test('AheadBroadcasts: asks once per gap, hands back what it holds in order, gives up past the limit', () => {
  const held = new AheadBroadcasts(3);
  assert.equal(held.hold(10, ahead(11)), 'ask');
  assert.equal(held.hold(10, ahead(12)), 'held');
  assert.equal(held.take(10), undefined, 'round 10 itself was lost');
  assert.equal(held.take(11)?.round, 11);
  assert.equal(held.take(12)?.round, 12);
  assert.equal(held.size, 0);
  // A new gap later: asked for again.
  assert.equal(held.hold(20, ahead(21)), 'ask');
  assert.equal(held.hold(20, ahead(22)), 'held');
  assert.equal(held.hold(20, ahead(23)), 'held');
  assert.equal(held.hold(20, ahead(24)), 'full');
  assert.equal(held.size, 0, 'nothing held once it gives up');
  assert.equal(held.hold(30, ahead(34)), 'full', 'too far ahead to catch up');
});
