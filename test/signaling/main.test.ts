import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../../signaling/main.ts';

test('main(argv) starts the server with the web app on the given host and port, secret from env', async (t) => {
  const appDir = await mkdtemp(join(tmpdir(), 'liec-main-app-'));
  t.after(() => rm(appDir, { recursive: true, force: true }));
  await writeFile(join(appDir, 'index.html'), '<!doctype html><title>app</title>');
  const server = await main(
    ['--port', '0', '--host', '127.0.0.1', '--log-level', 'silent', '--app-dir', appDir],
    { LIEC_SIGNALING_SECRET: 'a secret that is long enough' },
  );
  t.after(() => server.stop());
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(Buffer.from(server.options.secret).toString(), 'a secret that is long enough');
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  const page = await fetch(`${server.url}/`);
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /text\/html/);
});

test('main(argv, env, { buildApp }) builds into --app-dir before serving', async (t) => {
  const appDir = await mkdtemp(join(tmpdir(), 'liec-main-build-'));
  t.after(() => rm(appDir, { recursive: true, force: true }));
  const built: string[] = [];
  const server = await main(
    ['--port', '0', '--host', '127.0.0.1', '--log-level', 'silent', '--app-dir', appDir],
    {},
    {
      buildApp: async (dir) => {
        built.push(dir);
        await writeFile(join(dir, 'index.html'), '<!doctype html><title>built</title>');
        return dir;
      },
    },
  );
  t.after(() => server.stop());
  assert.deepEqual(built, [appDir]);
  assert.match(await (await fetch(`${server.url}/`)).text(), /<title>built<\/title>/);
});

test('main(argv) with --signaling-only serves no app, and takes the heartbeat, peer and offence limits', async (t) => {
  const server = await main(
    [
      ...['--port', '0', '--host', '127.0.0.1', '--log-level', 'silent', '--signaling-only'],
      ...['--heartbeat-timeout-ms', '9000', '--max-peers-per-session', '7', '--max-offences', '3'],
    ],
    {},
  );
  t.after(() => server.stop());
  assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  assert.equal((await fetch(`${server.url}/`)).status, 404);
  assert.equal(server.options.heartbeatTimeoutMs, 9000);
  assert.equal(server.options.heartbeatIntervalMs, 3000);
  assert.equal(server.options.maxPeersPerSession, 7);
  assert.equal(server.options.maxOffences, 3);
});

test('main(argv) refuses bad arguments', async () => {
  await assert.rejects(main(['--port', 'eighty']), RangeError);
  await assert.rejects(main(['--port', '70000']), RangeError);
  await assert.rejects(main(['--log-level', 'loud']), RangeError);
  await assert.rejects(main(['--max-offences', '0']), RangeError);
  await assert.rejects(main(['--signaling-only', '--app-dir', '/tmp']), RangeError);
  await assert.rejects(main(['--what']), { code: 'ERR_PARSE_ARGS_UNKNOWN_OPTION' });
});
