/**
 * topk:auto in the worker role: each upload is encoded with the ratio picked from the peer's
 * measured uplink (RoleContext.uplinkBytesPerSecond) and the session's deadline.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { WorkerRole } from '../../client/roles/worker-role.ts';
import type { UploadEvent } from '../../client/roles/events.ts';
import { decodePayload } from '../../shared/compress/index.ts';
import { createRoleHarness, NUM_PARAMS } from '../support/role-harness.ts';
import { waitFor } from '../support/session.ts';

async function keptValues(rate: number | undefined): Promise<number> {
  const h = createRoleHarness({ config: { up: 'topk:auto', down: 'topk:0.5' } });
  h.ctx.uplinkBytesPerSecond = () => rate;
  const uploaded = waitFor<UploadEvent>(
    (l) => h.ctx.events.on('uploaded', l),
    () => true,
    2000,
    'upload',
  );
  const role = new WorkerRole(h.ctx, 'agg', 1);
  role.onConnected();
  await uploaded;
  role.stop();
  const upload = h.sentTo('agg', 'upload')[0];
  assert.ok(upload !== undefined);
  return decodePayload(upload.payload, NUM_PARAMS).filter((v) => v !== 0).length;
}

test('topk:auto: the smallest ratio before a measurement, the largest on a fast uplink', async () => {
  assert.equal(await keptValues(undefined), 1); // minRatio 0.001 of 16 values: 1
  assert.equal(await keptValues(1e9), 4); // maxRatio 0.25 of 16 values: 4
});
