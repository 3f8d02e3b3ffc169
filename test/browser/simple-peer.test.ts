/**
 * The bundle settings the web app uses, checked where they matter: a page built with them
 * runs simple-peer 9 in headless Chromium, two peers exchange 8 MiB over a real data channel
 * with every byte arriving, and the Node shims behave (process.nextTick runs before timers,
 * `global` is globalThis, Buffer works).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { browserBundleOptions } from '../../client/ui/tooling/esbuild-options.ts';
import { createStaticHandler } from '../../signaling/static.ts';
import type { SimplePeerReport } from './fixtures/simple-peer-page.ts';
import { PAGE_TIMEOUT_MS, chromiumSkipReason, collectPageErrors, launchChromium } from './helpers.ts';

const PAGE_ENTRY = fileURLToPath(new URL('./fixtures/simple-peer-page.ts', import.meta.url));
const TOTAL_BYTES = 8 * 1024 * 1024;
const CHUNK_BYTES = 64 * 1024;

test(
  'simple-peer 9 in the browser bundle: 8 MiB over a data channel, shims in place',
  { skip: chromiumSkipReason() },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'liec-simple-peer-page-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    await build({
      ...browserBundleOptions({ entryPoints: { page: PAGE_ENTRY }, outDir: dir, sourcemap: false }),
      write: true,
    });
    await writeFile(
      join(dir, 'index.html'),
      '<!doctype html><link rel="icon" href="data:,"><script type="module" src="/page.js"></script>',
    );
    const serve = createStaticHandler({ root: dir });
    const server = createServer((req, res) => {
      void serve(req, res).then((served) => {
        if (!served) res.writeHead(404).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.after(
      () =>
        new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections(); // Chromium keeps its connections alive
        }),
    );
    const address = server.address();
    assert.ok(address !== null && typeof address === 'object');

    const context = await launchChromium(t);
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`http://127.0.0.1:${address.port}/`);
    await page.waitForFunction(() => typeof window.runSimplePeer === 'function', undefined, {
      timeout: PAGE_TIMEOUT_MS,
    });
    const report: SimplePeerReport = await page.evaluate(
      ([total, chunk]) => {
        const run = window.runSimplePeer;
        if (run === undefined) throw new Error('page not ready');
        return run(total, chunk);
      },
      [TOTAL_BYTES, CHUNK_BYTES] as const,
    );
    t.diagnostic(
      `8 MiB in ${report.ms.toFixed(0)} ms (${(TOTAL_BYTES / 1e6 / (report.ms / 1000)).toFixed(1)} MB/s)`,
    );
    assert.equal(report.received, TOTAL_BYTES);
    assert.ok(report.checksumsEqual, 'every byte arrived in order');
    assert.deepEqual(report.tickOrder, ['nextTick', 'promise', 'timer']);
    assert.ok(report.globalIsGlobalThis);
    assert.ok(report.bufferWorks);
    assert.deepEqual(errors, []);
  },
);
