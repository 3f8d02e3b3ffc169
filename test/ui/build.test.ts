/**
 * client/ui/build.ts into a temporary folder: every file the server serves is there, the
 * MNIST asset decodes to the package's 10,000 digits, the bundle carries the shims, and
 * ensureWebApp rebuilds only when an output is missing or an input changed.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { buildWebApp, ensureWebApp } from '../../client/ui/build.ts';
import { MANIFEST_NAME, isManifestFresh } from '../../client/ui/tooling/manifest.ts';
import { decodeImageSet } from '../../shared/data/mnist-binary.ts';

test('buildWebApp writes the app, the MNIST asset, the wasm files and a manifest; ensureWebApp rebuilds only when stale', async (t) => {
  const outDir = await mkdtemp(join(tmpdir(), 'liec-ui-build-'));
  t.after(() => rm(outDir, { recursive: true, force: true }));

  const result = await buildWebApp(outDir);
  const names = result.files.map((f) => f.name);
  for (const name of [
    'index.html',
    'app.css',
    'app.js',
    'app.js.gz',
    'app.js.map',
    'mnist.bin',
    'mnist.bin.gz',
    'tfjs-backend-wasm.wasm',
    'tfjs-backend-wasm-simd.wasm',
    'tfjs-backend-wasm-threaded-simd.wasm',
  ]) {
    assert.ok(names.includes(name), `missing ${name}`);
  }
  const size = (name: string): number => result.files.find((f) => f.name === name)?.bytes ?? 0;
  t.diagnostic(
    `app.js ${size('app.js')} B (gzip ${size('app.js.gz')} B), mnist.bin ${size('mnist.bin')} B (gzip ${size('mnist.bin.gz')} B), built in ${Math.round(result.durationMs)} ms`,
  );

  const mnist = decodeImageSet(new Uint8Array(await readFile(join(outDir, 'mnist.bin'))));
  assert.equal(mnist.labels.length, 10_000);
  assert.deepEqual([mnist.rows, mnist.cols, mnist.classes], [28, 28, 10]);
  const twin = gunzipSync(await readFile(join(outDir, 'mnist.bin.gz')));
  assert.equal(twin.length, size('mnist.bin'));

  const appJs = await readFile(join(outDir, 'app.js'), 'utf8');
  assert.match(appJs, /queueMicrotask/, 'the process shim schedules nextTick as a microtask');
  // tfjs-backend-wasm carries the bootstrap of its Node worker threads as a string that a
  // browser never runs; any other require() of a Node module would fail in the page.
  const withoutWasmWorker = appJs.replaceAll('var fs=require("fs");Object.assign(global', '');
  assert.doesNotMatch(
    withoutWasmWorker,
    /\brequire\(["'](events|buffer|process|fs|path)["']\)/,
    'no unresolved Node requires',
  );
  assert.match(appJs, /MessageChannel/, 'setImmediate comes from the MessageChannel shim');
  assert.match(appJs, /is not available in the browser/, 'node: imports are stubs that throw when called');
  const html = await readFile(join(outDir, 'index.html'), 'utf8');
  assert.match(html, /<script type="module" src="\/app\.js"><\/script>/);
  assert.match(html, /<liec-app><\/liec-app>/);

  assert.equal(await ensureWebApp(outDir), undefined, 'fresh: nothing rebuilt');

  // A changed input (its fingerprint no longer matches) makes the build stale.
  const manifestPath = join(outDir, MANIFEST_NAME);
  const manifest: unknown = JSON.parse(await readFile(manifestPath, 'utf8'));
  assert.ok(typeof manifest === 'object' && manifest !== null);
  const inputs: unknown = Reflect.get(manifest, 'inputs');
  assert.ok(typeof inputs === 'object' && inputs !== null);
  const entryInput = Object.keys(inputs).find((path) => path.endsWith('client/ui/entry.ts'));
  assert.ok(entryInput !== undefined, 'the entry is among the recorded inputs');
  Reflect.set(inputs, entryInput, '0:0');
  await writeFile(manifestPath, JSON.stringify(manifest));
  assert.equal(await isManifestFresh(outDir), false);

  // So does a missing output; one rebuild fixes both.
  await unlink(join(outDir, 'tfjs-backend-wasm-simd.wasm'));
  const rebuilt = await ensureWebApp(outDir);
  assert.ok(rebuilt !== undefined, 'stale: rebuilt');
  assert.equal(await isManifestFresh(outDir), true);
});
