import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SignalingError } from '../../shared/protocol/signaling.ts';
import type { SignalEvent } from '../../shared/protocol/signaling.ts';
import { createSession, joinedClient, nextEvent, startServer } from './helpers.ts';

test('signals reach the addressed peer of the same session and nobody else', async (t) => {
  const { url } = await startServer(t);
  const sessionA = await createSession(t, url);
  const sessionB = await createSession(t, url);
  const a1 = await joinedClient(t, url, sessionA, { peerId: 'one' });
  const a2 = await joinedClient(t, url, sessionA, { peerId: 'two' });
  const a3 = await joinedClient(t, url, sessionA, { peerId: 'three' });
  // Same peerId in another session: must never receive session A's signals.
  const b2 = await joinedClient(t, url, sessionB, { peerId: 'two' });
  const b1 = await joinedClient(t, url, sessionB, { peerId: 'uno' });
  const strays: SignalEvent[] = [];
  b2.onSignal((from, data) => strays.push({ from, data }));
  a3.onSignal((from, data) => strays.push({ from, data }));

  const offer = { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' };
  const received = nextEvent(a2, 'signal');
  await a1.sendSignal('two', offer);
  assert.deepEqual(await received, { from: 'one', data: offer });

  const answer = nextEvent(a1, 'signal');
  await a2.sendSignal('one', { type: 'answer', sdp: 'x' });
  assert.deepEqual((await answer).from, 'two');

  // b2 cannot reach session A's peers, even by name.
  await assert.rejects(b2.sendSignal('three', { type: 'offer' }), (err) => {
    return err instanceof SignalingError && err.code === 'UNKNOWN_PEER' && !err.fatal;
  });
  // Markers on the same connections after everything above: a leak would have arrived first.
  const markerA3 = nextEvent(a3, 'signal');
  const markerB2 = nextEvent(b2, 'signal');
  await a2.sendSignal('three', 'marker-a');
  await b1.sendSignal('two', 'marker-b');
  assert.deepEqual(await markerA3, { from: 'two', data: 'marker-a' });
  assert.deepEqual(await markerB2, { from: 'uno', data: 'marker-b' });
  assert.deepEqual(strays, [
    { from: 'two', data: 'marker-a' },
    { from: 'uno', data: 'marker-b' },
  ]);
  assert.equal(b2.connected, true);
});

test('signal to self, to an unknown peer, and oversize data are refused without closing', async (t) => {
  const { url } = await startServer(t, { maxSignalBytes: 1024 });
  const session = await createSession(t, url);
  const a = await joinedClient(t, url, session, { peerId: 'a' });
  const b = await joinedClient(t, url, session, { peerId: 'b' });
  const code = (expected: string) => (err: unknown) => err instanceof SignalingError && err.code === expected;
  await assert.rejects(a.sendSignal('a', {}), code('UNKNOWN_PEER'));
  await assert.rejects(a.sendSignal('ghost', {}), code('UNKNOWN_PEER'));
  await assert.rejects(a.sendSignal('b', { sdp: 'x'.repeat(2000) }), code('PAYLOAD_TOO_LARGE'));
  const got = nextEvent(b, 'signal');
  await a.sendSignal('b', { sdp: 'x'.repeat(900) });
  assert.equal((await got).from, 'a');
  assert.equal(a.connected, true);
});
