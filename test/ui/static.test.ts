/**
 * The app server's static files (signaling/static.ts through createAppServer) on a real
 * server on port 0: content types, `/` as index.html, caching headers and ETags, gzip twins,
 * HEAD and 405, and no way out of the served folder (dot segments raw and percent-encoded,
 * encoded slashes, backslashes, NUL, symlinks, hidden and unlisted files). socket.io and
 * /status keep working next to it.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { gzipSync, gunzipSync } from 'node:zlib';
import { createAppServer } from '../../signaling/index.ts';
import { safeRequestPath } from '../../signaling/static.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** An HTTP request with the path sent exactly as given (no client-side normalization). */
function raw(
  base: string,
  path: string,
  init: { method?: string; headers?: Record<string, string> } = {},
): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request(
      { hostname, port, path, method: init.method ?? 'GET', headers: init.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const APP_JS = 'console.log("app");\n'.repeat(50);

async function appServer(t: TestContext): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'liec-static-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const app = join(root, 'app');
  await mkdir(join(app, 'sub'), { recursive: true });
  await writeFile(join(root, 'secret.txt'), 'outside the served folder');
  await writeFile(join(app, 'index.html'), '<!doctype html><title>t</title>');
  await writeFile(join(app, 'app.js'), APP_JS);
  await writeFile(join(app, 'app.js.gz'), gzipSync(APP_JS));
  await writeFile(join(app, 'mnist.bin'), Buffer.from([1, 2, 3]));
  await writeFile(join(app, 'tfjs-backend-wasm.wasm'), Buffer.from([0, 0x61, 0x73, 0x6d]));
  await writeFile(join(app, 'build-manifest.json'), '{"inputs":{"/home/me/src":"1"}}');
  await writeFile(join(app, '.hidden.txt'), 'hidden');
  await writeFile(join(app, 'sub', 'page.html'), '<p>sub</p>');
  await symlink(join(root, 'secret.txt'), join(app, 'link.txt'));
  const server = await createAppServer({ logLevel: 'silent', appDir: app, build: false });
  t.after(() => server.stop());
  return server.start({ port: 0 });
}

test('serves the app with content types and caching headers', async (t) => {
  const url = await appServer(t);
  const index = await raw(url, '/?session=abcdefgh&token=x');
  assert.equal(index.status, 200);
  assert.equal(index.headers['content-type'], 'text/html; charset=utf-8');
  assert.equal(index.headers['cache-control'], 'no-cache');
  assert.equal(index.headers['x-content-type-options'], 'nosniff');
  assert.match(index.body.toString(), /<title>t<\/title>/);

  const js = await raw(url, '/app.js');
  assert.equal(js.headers['content-type'], 'text/javascript; charset=utf-8');
  assert.equal(js.body.toString(), APP_JS);
  assert.equal(js.headers['content-encoding'], undefined, 'no gzip unless asked for');

  const bin = await raw(url, '/mnist.bin');
  assert.equal(bin.headers['content-type'], 'application/octet-stream');
  assert.equal(bin.headers['cache-control'], 'public, max-age=86400');
  assert.deepEqual([...bin.body], [1, 2, 3]);

  const wasm = await raw(url, '/tfjs-backend-wasm.wasm');
  assert.equal(wasm.headers['content-type'], 'application/wasm');
  assert.equal(wasm.headers['cache-control'], 'public, max-age=86400');

  assert.equal((await raw(url, '/sub/page.html')).status, 200);
  assert.equal((await raw(url, '/sub/')).status, 404, 'no index in subfolders, no listings');
});

test('ETag revalidation, gzip twins, HEAD and 405', async (t) => {
  const url = await appServer(t);
  const first = await raw(url, '/mnist.bin');
  const etag = first.headers['etag'];
  assert.equal(typeof etag, 'string');
  const again = await raw(url, '/mnist.bin', { headers: { 'if-none-match': String(etag) } });
  assert.equal(again.status, 304);
  assert.equal(again.body.length, 0);

  const gz = await raw(url, '/app.js', { headers: { 'accept-encoding': 'gzip, deflate, br' } });
  assert.equal(gz.headers['content-encoding'], 'gzip');
  assert.equal(gz.headers['vary'], 'accept-encoding');
  assert.equal(Number(gz.headers['content-length']), gz.body.length);
  assert.equal(gunzipSync(gz.body).toString(), APP_JS);

  const head = await raw(url, '/app.js', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(Number(head.headers['content-length']), APP_JS.length);
  assert.equal(head.body.length, 0);

  const post = await raw(url, '/app.js', { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers['allow'], 'GET, HEAD');
});

test('no request reaches a file outside the folder, hidden or of an unlisted type', async (t) => {
  const url = await appServer(t);
  const attempts = [
    '/../secret.txt',
    '/%2e%2e/secret.txt',
    '/%2E%2E%2Fsecret.txt',
    '/..%2fsecret.txt',
    '/sub/../../secret.txt',
    '/sub/%2e%2e/%2e%2e/secret.txt',
    '/..\\secret.txt',
    '/%5c..%5csecret.txt',
    '/app.js%00.html',
    '/%ZZ',
    '/link.txt', // a symlink pointing outside
    '/.hidden.txt',
    '/build-manifest.json', // .json is not served: the manifest lists local paths
    '/app.js.gz', // twins are served only through content negotiation
    '//etc/passwd',
  ];
  for (const path of attempts) {
    const response = await raw(url, path);
    assert.ok(response.status === 404 || response.status === 400, `${path}: status ${response.status}`);
    assert.doesNotMatch(response.body.toString(), /outside the served folder|inputs|hidden/, path);
  }
});

test('socket.io, /status and /healthz still answer next to the static files', async (t) => {
  const url = await appServer(t);
  const status = await raw(url, '/status');
  assert.equal(status.status, 200);
  assert.deepEqual(JSON.parse(status.body.toString()).sessions, []);
  assert.equal((await raw(url, '/healthz')).status, 200);
  const handshake = await raw(url, '/socket.io/?EIO=4&transport=polling');
  assert.equal(handshake.status, 200);
  assert.match(handshake.body.toString(), /"sid"/);
});

test('safeRequestPath decodes and refuses what could escape', () => {
  assert.equal(safeRequestPath('/app.js?x=1'), '/app.js');
  assert.equal(safeRequestPath('/a%20b.js'), '/a b.js');
  assert.equal(safeRequestPath(undefined), '/');
  for (const bad of ['/%2e%2e/x', '/a/../b', '/.env', '/%00', '/a\\b', 'relative', '/%E0%A4%A']) {
    assert.equal(safeRequestPath(bad), null, bad);
  }
});
