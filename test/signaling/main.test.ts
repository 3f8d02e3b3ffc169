import { test } from 'node:test';
import assert from 'node:assert/strict';
import { main } from '../../signaling/main.ts';

test('main(argv) starts a server on the given host and port, with the secret from env', async (t) => {
  const server = await main(['--port', '0', '--host', '127.0.0.1', '--log-level', 'silent'], {
    LIEC_SIGNALING_SECRET: 'a secret that is long enough',
  });
  t.after(() => server.stop());
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(Buffer.from(server.options.secret).toString(), 'a secret that is long enough');
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
});

test('main(argv) refuses bad arguments', async () => {
  await assert.rejects(main(['--port', 'eighty']), RangeError);
  await assert.rejects(main(['--log-level', 'loud']), RangeError);
  await assert.rejects(main(['--what']), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
});
