import { test } from 'node:test';
import assert from 'node:assert/strict';
import { io } from 'socket.io-client';
import { errorEventSchema } from '../../shared/protocol/signaling.ts';
import { createSession, joinedClient, onceSocket, rawSocket, startServer } from './helpers.ts';

test('connections per address beyond maxConnectionsPerAddress are refused with RATE_LIMITED', async (t) => {
  const { url } = await startServer(t, { maxConnectionsPerAddress: 3 });
  const open = [await rawSocket(t, url), await rawSocket(t, url), await rawSocket(t, url)];
  const refused = io(url, { transports: ['websocket'], forceNew: true, reconnection: false });
  t.after(() => {
    refused.disconnect();
  });
  const error = await new Promise<unknown>((resolve) => refused.once('connect_error', resolve));
  assert.ok(error instanceof Error && 'data' in error);
  assert.equal(errorEventSchema.omit({ event: true }).parse(error.data).code, 'RATE_LIMITED');
  // A closed connection frees its place.
  const gone = onceSocket(open[0]!, 'disconnect');
  open[0]?.disconnect();
  await gone;
  const again = await rawSocket(t, url);
  assert.equal(again.connected, true);
});

test('a socket that joins no session within joinTimeoutMs is closed with NOT_JOINED', async (t) => {
  const { url } = await startServer(t, { joinTimeoutMs: 300 });
  const session = await createSession(t, url);
  // Joined first, so its timer runs out before the idle socket's.
  const member = await joinedClient(t, url, session);
  const idle = await rawSocket(t, url);
  const errorEvent = onceSocket(idle, 'error');
  const closed = onceSocket(idle, 'disconnect');
  const ev = errorEventSchema.parse(await errorEvent);
  assert.equal(ev.code, 'NOT_JOINED');
  assert.equal(ev.fatal, true);
  assert.equal(await closed, 'io server disconnect');
  assert.equal(member.connected, true);
});
