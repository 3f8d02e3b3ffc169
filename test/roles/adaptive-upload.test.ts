/**
 * topk:auto in the roles: the worker starts at minRatio and sizes each next upload from the
 * slack the broadcast reports for it (shared/algorithm/adaptive-ratio.ts); the aggregator
 * puts each counted upload's slack in its broadcast.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerRole } from '../../client/roles/worker-role.ts';
import type { UploadEvent } from '../../client/roles/events.ts';
import { decodePayload } from '../../shared/compress/index.ts';
import { encodeBroadcastMeta } from '../../shared/protocol/broadcast-meta.ts';
import { senderTag } from '../../shared/protocol/frames.ts';
import { createRoleHarness, NUM_PARAMS, type RoleHarness } from '../support/role-harness.ts';
import { waitFor } from '../support/session.ts';

const nextUpload = (h: RoleHarness) =>
  waitFor<UploadEvent>(
    (l) => h.ctx.events.on('uploaded', l),
    () => true,
    2000,
    'upload',
  );

const kept = (h: RoleHarness, index: number): number => {
  const upload = h.sentTo('agg', 'upload')[index];
  assert.ok(upload !== undefined);
  return decodePayload(upload.payload, NUM_PARAMS).filter((v) => v !== 0).length;
};

/** Values kept in the first and second uploads, the broadcast between them counting `self` with `slack`. */
async function twoUploads(rate: number | undefined, slack: number | null): Promise<[number, number]> {
  const h = createRoleHarness({ config: { up: 'topk:auto', down: 'topk:0.5' } });
  h.ctx.uplinkBytesPerSecond = () => rate;
  const role = new WorkerRole(h.ctx, 'agg', 1);
  const first = nextUpload(h);
  role.onConnected();
  await first;
  const second = nextUpload(h);
  const tags = slack === null ? [senderTag('agg')] : [senderTag('agg'), senderTag('self')];
  role.onFrame('agg', {
    type: 'broadcast',
    term: 1,
    round: 0,
    sender: senderTag('agg'),
    aux: 0,
    meta: encodeBroadcastMeta(tags, slack === null ? undefined : slack),
    payload: h.options.down.encode(new Float32Array(NUM_PARAMS).fill(0.01), 1),
  });
  await second;
  role.stop();
  return [kept(h, 0), kept(h, 1)];
}

test('topk:auto: the first upload at minRatio whatever the link, then it grows into reported slack', async () => {
  // minRatio 0.001 of 16 values: 1; maxRatio 0.25: 4.
  assert.deepEqual(await twoUploads(1e9, 0.01), [1, 4], 'a fast link with slack: up to maxRatio');
  assert.deepEqual(await twoUploads(1e9, -0.01), [1, 1], 'after the round close: it stays at minRatio');
  assert.deepEqual(await twoUploads(1e9, null), [1, 1], 'not counted (late): it stays at minRatio');
  assert.deepEqual(await twoUploads(undefined, 0.01), [1, 1], 'no measured rate: it holds');
});
