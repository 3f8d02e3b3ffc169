/**
 * `liec join --link-mbps / --link-latency-ms / --ice-servers / --relay-only`: bad values are refused before any
 * connection (exit code 2). Shaped links themselves are tested in test/transport/shaping.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join, linkOptionsFromFlags } from '../../client/cli/join.ts';

const base = ['--server', 'http://127.0.0.1:9', '--session', 's', '--token', 't', '--quiet'];

test('join refuses a link rate that is not positive and a latency that is not a number', async () => {
  const errors: unknown[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(args);
  try {
    assert.equal(await join([...base, '--link-mbps', '0']), 2);
    assert.equal(await join([...base, '--link-mbps', 'fast']), 2);
    assert.equal(await join([...base, '--link-latency-ms', 'soon']), 2);
  } finally {
    console.error = original;
  }
  assert.equal(errors.length, 3);
});

test('join refuses ICE servers that are not a JSON list of {urls}, and --relay-only without TURN', async () => {
  const errors: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => errors.push(args.map(String).join(' '));
  try {
    assert.equal(await join([...base, '--ice-servers', 'turn:host:3478']), 2);
    assert.equal(await join([...base, '--ice-servers', '[{"url":"stun:host"}]']), 2);
    assert.equal(await join([...base, '--relay-only']), 2);
    assert.equal(await join([...base, '--relay-only', '--ice-servers', '[{"urls":"stun:host:3478"}]']), 2);
  } finally {
    console.error = original;
  }
  assert.match(errors[0] ?? '', /--ice-servers must be a JSON array/);
  assert.match(errors[1] ?? '', /--ice-servers/);
  assert.match(errors[2] ?? '', /turn: or turns: URL/);
  assert.match(errors[3] ?? '', /turn: or turns: URL/);
});

test('linkOptionsFromFlags passes TURN servers and the relay policy through to the transport', () => {
  const servers = [{ urls: ['turn:10.0.0.1:3478', 'turns:10.0.0.1:5349'], username: 'u', credential: 'p' }];
  assert.deepEqual(
    linkOptionsFromFlags({
      linkMbps: 2,
      linkLatencyMs: undefined,
      iceServersJson: JSON.stringify(servers),
      relayOnly: true,
    }),
    { linkMbps: 2, iceTransportPolicy: 'relay', iceServers: servers },
  );
  assert.deepEqual(
    linkOptionsFromFlags({
      linkMbps: undefined,
      linkLatencyMs: undefined,
      iceServersJson: undefined,
      relayOnly: false,
    }),
    {},
  );
});
