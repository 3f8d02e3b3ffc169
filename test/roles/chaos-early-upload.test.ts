/**
 * Found by the chaos bench on a loaded machine (lostUploads 1 in a fault-free run): a fast
 * worker's upload of round t + 1 that reaches the aggregator after it closed round t but
 * before it opened t + 1 (a setImmediate later) must be kept for t + 1, not rejected as stale.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AggregatorRole } from '../../client/roles/aggregator-role.ts';
import type { RoundEvent } from '../../client/roles/events.ts';
import { createRoleHarness } from '../support/role-harness.ts';
import { waitFor } from '../support/session.ts';

test('an upload of the next round arriving between close and open is counted in that round', async (t) => {
  const h = createRoleHarness({ members: ['w1', 'w2'], config: { roundDeadlineMs: 300 } });
  const role = new AggregatorRole(h.ctx, 1);
  t.after(() => role.stop());
  const round1 = waitFor<RoundEvent>(
    (l) => h.ctx.events.on('round', l),
    (e) => e.round === 1,
    5000,
    'round 1',
  );
  role.start();
  role.onFrame('w1', h.upload('w1', 0));
  role.onFrame('w2', h.upload('w2', 0)); // all in: round 0 closes, its broadcast is sent now
  assert.equal(h.sentTo('w1', 'broadcast').length, 1);
  // w1 applied it and uploads round 1 before this aggregator's next turn of the event loop.
  role.onFrame('w1', h.upload('w1', 1));
  await new Promise((resolve) => setImmediate(resolve)); // round 1 opens
  role.onFrame('w2', h.upload('w2', 1));
  const closed = await round1;
  assert.deepEqual(closed.participants.sort(), ['self', 'w1', 'w2']);
  assert.deepEqual(h.rejected, []);
});
