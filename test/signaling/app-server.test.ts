/**
 * createAppServer serving a built app folder through sirv: index.html at `/`, an asset, caching
 * headers (hashed names immutable, index.html revalidated), 404 for unknown files and refused
 * traversal, `/status` and `/healthz` unchanged, a 503 naming `npm run build:ui` while the folder
 * is not built (served without a restart once it is), and the injected buildApp.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { BUILD_COMMAND, createAppServer, type AppServerInit } from '../../signaling/index.ts';
import { defaultCacheControl, isHashedName } from '../../signaling/static.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A GET with the path sent as given (fetch would normalize `..` away). */
function get(base: string, path: string, headers: Record<string, string> = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          body: Buffer.concat(chunks).toString(),
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

const INDEX = '<!doctype html><title>liec</title><script type="module" src="/app-5GZ7QK2M.js"></script>';
const APP_JS = 'console.log("hashed app");\n';

async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'liec-app-server-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function writeApp(app: string): Promise<void> {
  await mkdir(app, { recursive: true });
  await writeFile(join(app, 'index.html'), INDEX);
  await writeFile(join(app, 'app-5GZ7QK2M.js'), APP_JS);
  await writeFile(join(app, 'mnist.bin'), Buffer.from([7, 8, 9]));
}

async function start(t: TestContext, init: AppServerInit): Promise<string> {
  const server = await createAppServer({ logLevel: 'silent', ...init });
  t.after(() => server.stop());
  return server.start({ port: 0 });
}

test('sirv serves index.html at / and the assets, with caching for hashed names vs index.html', async (t) => {
  const root = await tempDir(t);
  const app = join(root, 'app');
  await writeApp(app);
  const url = await start(t, { appDir: app });

  const index = await get(url, '/?session=abc&token=x');
  assert.equal(index.status, 200);
  assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(index.headers['cache-control'], 'no-cache');
  assert.equal(index.body, INDEX);
  assert.equal(typeof index.headers['etag'], 'string');

  const js = await get(url, '/app-5GZ7QK2M.js');
  assert.equal(js.status, 200);
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(js.headers['cache-control'], 'public, max-age=31536000, immutable');
  assert.equal(js.headers['x-content-type-options'], 'nosniff');
  assert.equal(js.body, APP_JS);

  const revalidated = await get(url, '/', { 'if-none-match': String(index.headers['etag']) });
  assert.equal(revalidated.status, 304);
  assert.equal(revalidated.body, '');

  assert.equal((await get(url, '/mnist.bin')).headers['cache-control'], 'public, max-age=86400');
});

test('unknown files are 404, traversal and hidden files are refused, /status and /healthz unchanged', async (t) => {
  const root = await tempDir(t);
  const app = join(root, 'app');
  await writeApp(app);
  await writeFile(join(root, 'secret.txt'), 'outside the served folder');
  await writeFile(join(app, '.env'), 'hidden');
  const url = await start(t, { appDir: app });

  const missing = await get(url, '/nope.js');
  assert.equal(missing.status, 404);
  assert.equal(missing.headers['cache-control'], undefined, 'no static headers on a miss');
  for (const path of [
    '/../secret.txt',
    '/%2e%2e/secret.txt',
    '/..%2fsecret.txt',
    '/a/..%5c..%5csecret.txt',
    '/.env',
  ]) {
    const response = await get(url, path);
    assert.ok(response.status === 404 || response.status === 400, `${path}: ${response.status}`);
    assert.doesNotMatch(response.body, /outside the served folder|hidden/, path);
  }

  const healthz = await get(url, '/healthz');
  assert.equal(healthz.status, 200);
  assert.equal(healthz.headers['content-type'], 'application/json; charset=utf-8');
  const status = await get(url, '/status');
  assert.equal(status.status, 200);
  assert.equal(status.headers['cache-control'], 'no-store');
  assert.deepEqual(JSON.parse(status.body).sessions, []);
});

test('an app folder not built yet: / answers 503 naming npm run build:ui, then serves the build', async (t) => {
  const app = join(await tempDir(t), 'not-yet');
  const url = await start(t, { appDir: app });
  const before = await get(url, '/');
  assert.equal(before.status, 503);
  assert.ok(before.body.includes(BUILD_COMMAND), before.body);
  assert.equal(BUILD_COMMAND, 'npm run build:ui');
  assert.doesNotMatch(before.body, /not-yet/, 'no server path in the answer');
  assert.equal((await get(url, '/app.js')).status, 404, 'other paths stay 404');
  assert.equal((await get(url, '/healthz')).status, 200);

  await writeApp(app); // e.g. npm run build:ui while the server runs
  const after = await get(url, '/');
  assert.equal(after.status, 200);
  assert.equal(after.body, INDEX);
});

test('buildApp runs before serving, gets appDir, and its folder is served; build: false skips it', async (t) => {
  const root = await tempDir(t);
  const calls: string[] = [];
  const built = join(root, 'built');
  const url = await start(t, {
    appDir: join(root, 'configured'),
    buildApp: async (dir) => {
      calls.push(dir);
      await writeApp(built);
      return built;
    },
  });
  assert.deepEqual(calls, [join(root, 'configured')]);
  assert.equal((await get(url, '/')).body, INDEX);

  const skipped = await start(t, {
    appDir: join(root, 'configured'),
    build: false,
    buildApp: () => Promise.reject(new Error('must not run')),
  });
  assert.equal((await get(skipped, '/')).status, 503);
});

test('hashed names are recognized without catching plain words', () => {
  for (const name of ['/app-5GZ7QK2M.js', '/chunk.3f9a1c0d.js', '/assets/logo-0a1b2c3d4e.svg'])
    assert.ok(isHashedName(name), name);
  for (const name of ['/index.html', '/app.js', '/tfjs-backend-wasm-simd.wasm', '/component-dashboard.js'])
    assert.ok(!isHashedName(name), name);
  assert.equal(defaultCacheControl('/index.html'), 'no-cache');
  assert.equal(defaultCacheControl('/tfjs-backend-wasm.wasm'), 'public, max-age=86400');
});
