/**
 * `liec join --link-mbps / --link-latency-ms`: out-of-range values are refused before any
 * connection (exit code 2). Shaped links themselves are tested in test/transport/shaping.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from '../../client/cli/join.ts';

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
