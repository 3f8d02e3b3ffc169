/**
 * `liec join` expelled from its session: it stops (no attempt to join again) and exits 1
 * with one line saying it was expelled and why. A real signaling server with maxOffences 1
 * (so the aggregator's single `peer:report` expels), a real socket as the aggregator, and
 * the command run in-process.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../../client/cli/main.ts';
import { SignalingClient } from '../../client/signaling/index.ts';
import { createSignalingServer } from '../../signaling/index.ts';
import { pollUntil } from '../support/session.ts';
import { captureIo } from './capture.ts';

test('liec join, expelled: exit 1 and one line with the reason', { timeout: 60_000 }, async (t) => {
  const server = createSignalingServer({ logLevel: 'silent', maxOffences: 1 });
  const url = await server.start({ port: 0 });
  const aggregator = new SignalingClient();
  t.after(async () => {
    aggregator.close();
    await server.stop();
  });
  await aggregator.connect(url);
  const { sessionId, token } = await aggregator.create({ rounds: 1000 });
  await aggregator.join({ sessionId, token, kind: 'headless', peerId: 'agg', ready: true });

  const io = captureIo();
  const argv = [
    'join',
    '--server',
    url,
    '--session',
    sessionId,
    '--token',
    token,
    '--peer-id',
    'w',
    '--quiet',
  ];
  const exit = main(argv, io);
  // Ready once it holds the model: its events are wired by then.
  await pollUntil(
    () => server.status().sessions[0]?.peers.find((p) => p.peerId === 'w' && p.ready),
    40_000,
    'the worker to be ready',
  );
  assert.deepEqual(await aggregator.reportPeer(1, 'w', 21), { offences: 1, limit: 1, expelled: true });
  assert.equal(await exit, 1);
  const last = io.errorLines().at(-1) ?? '';
  assert.equal(
    last,
    'liec join: expelled from the session: 1 offence: dropped by aggregator agg for invalid frames',
  );
  assert.doesNotMatch(io.stderr(), /joined the session again|rejoin attempt/, 'no attempt to join again');
  assert.equal(server.status().sessions[0]?.peers.length, 1);
});
