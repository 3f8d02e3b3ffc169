/**
 * `liec join --link-mbps / --link-latency-ms / --ice-servers / --relay-only`: bad values are refused before any
 * connection (exit code 2). Shaped links themselves are tested in test/transport/shaping.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main as join, linkOptionsFromFlags } from '../../client/cli/join.ts';
import { captureIo } from './capture.ts';

const base = ['--server', 'http://127.0.0.1:9', '--session', 's', '--token', 't', '--quiet'];

test('join refuses a link rate that is not positive and a latency that is not a number', async () => {
  const io = captureIo();
  assert.equal(await join([...base, '--link-mbps', '0'], io), 2);
  assert.equal(await join([...base, '--link-mbps', 'fast'], io), 2);
  assert.equal(await join([...base, '--link-latency-ms', 'soon'], io), 2);
  const errors = io.errorLines();
  assert.equal(errors.length, 3, 'one line each');
  assert.match(errors[0] ?? '', /--link-mbps.*'0'/);
  assert.match(errors[1] ?? '', /--link-mbps.*'fast'/);
  assert.match(errors[2] ?? '', /--link-latency-ms.*'soon'/);
});

test('join refuses ICE servers that are not a JSON list of {urls}, and --relay-only without TURN', async () => {
  const io = captureIo();
  assert.equal(await join([...base, '--ice-servers', 'turn:host:3478'], io), 2);
  assert.equal(await join([...base, '--ice-servers', '[{"url":"stun:host"}]'], io), 2);
  assert.equal(await join([...base, '--relay-only'], io), 2);
  assert.equal(await join([...base, '--relay-only', '--ice-servers', '[{"urls":"stun:host:3478"}]'], io), 2);
  const errors = io.errorLines();
  assert.equal(errors.length, 4, 'one line each');
  assert.match(errors[0] ?? '', /--ice-servers must be a JSON array/);
  assert.match(errors[1] ?? '', /--ice-servers/);
  assert.match(errors[2] ?? '', /turn: or turns: URL/);
  assert.match(errors[3] ?? '', /turn: or turns: URL/);
});

test('linkOptionsFromFlags passes TURN servers and the relay policy through to the transport', async () => {
  const servers = [{ urls: ['turn:10.0.0.1:3478', 'turns:10.0.0.1:5349'], username: 'u', credential: 'p' }];
  assert.deepEqual(
    await linkOptionsFromFlags({
      linkMbps: 2,
      linkLatencyMs: undefined,
      iceServersJson: JSON.stringify(servers),
      relayOnly: true,
    }),
    { linkMbps: 2, iceTransportPolicy: 'relay', iceServers: servers },
  );
  assert.deepEqual(
    await linkOptionsFromFlags({
      linkMbps: undefined,
      linkLatencyMs: undefined,
      iceServersJson: undefined,
      relayOnly: false,
    }),
    {},
  );
});
