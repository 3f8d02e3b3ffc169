/**
 * The web app in headless Chromium against a real app server on port 0, without training
 * (the tabs drop their training runtime, so they join as members that do not train; the
 * training itself is tested in training.test.ts): load the page, create a session through
 * the form, join it by pasting the link in a second tab, see both peers on both dashboards
 * and on a third tab that only watches (`&watch=1`, not a member); then drive a stand-in
 * runtime through `attachRuntime` (rounds with the overview's accuracy and loss, the QR code,
 * the event list and live regions; pause, download, a failed download's banner) and leave
 * from the second tab.
 * Reports the page's load time and the asset sizes as test diagnostics.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { createAppServer } from '../../signaling/index.ts';
import {
  buildApp,
  chromiumSkipReason,
  collectPageErrors,
  launchChromium,
  PAGE_TIMEOUT_MS,
} from './helpers.ts';

const FAKE_RUNTIME = fileURLToPath(new URL('./fixtures/fake-runtime.js', import.meta.url));
const HEARTBEAT_INTERVAL_MS = 500;

/** Waits until the page's peer table lists `count` live peers. */
async function waitForLivePeers(page: Page, count: number): Promise<void> {
  await page
    .locator('peer-table [data-field="peer-count"]')
    .filter({ hasText: `${count} connected` })
    .waitFor({ timeout: PAGE_TIMEOUT_MS });
}

test(
  'dashboard: create, join by pasted link, watch link, both peers live, runtime hook, leave',
  { skip: chromiumSkipReason() },
  async (t) => {
    const server = await createAppServer({
      buildApp,
      logLevel: 'silent',
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
      heartbeatTimeoutMs: 6 * HEARTBEAT_INTERVAL_MS,
    });
    const url = await server.start({ port: 0 });
    t.after(() => server.stop());
    const context = await launchChromium(t);

    // 1. Load the page; measure until the form is usable.
    const creator = await context.newPage();
    const creatorErrors = collectPageErrors(creator);
    await creator.goto(url);
    const createButton = creator.locator('session-form button[data-action="create"]');
    await createButton.waitFor({ timeout: PAGE_TIMEOUT_MS });
    const load = await creator.evaluate(() => {
      const [nav] = performance.getEntriesByType('navigation');
      const timing = nav instanceof PerformanceNavigationTiming ? nav : undefined;
      return {
        domContentLoadedMs: timing?.domContentLoadedEventEnd ?? -1,
        loadEventMs: timing?.loadEventEnd ?? -1,
        formReadyMs: performance.now(),
      };
    });
    t.diagnostic(
      `page load: DOMContentLoaded ${load.domContentLoadedMs.toFixed(0)} ms, load ${load.loadEventMs.toFixed(0)} ms, form ready by ${load.formReadyMs.toFixed(0)} ms`,
    );

    // 2. Create a session through the form; the creator joins it (not training) and shows the link.
    await creator.evaluate(() => {
      if (window.liecApp !== undefined) window.liecApp.runtimeFactory = undefined;
    });
    await creator.locator('session-form select[name="algorithm"]').selectOption('liec');
    await creator.locator('session-form input[name="up"]').fill('topk:0.01');
    await creator.locator('session-form input[name="down"]').fill('sign');
    await creator.locator('session-form input[name="rounds"]').fill('50');
    await creator.locator('session-form input[name="roundDeadlineMs"]').fill('3000');
    await creator.locator('session-form input[name="quorum"]').fill('0.5');
    await createButton.click();
    const linkField = creator.locator('session-form [data-field="join-link"]');
    await linkField.waitFor({ timeout: PAGE_TIMEOUT_MS });
    const link = await linkField.inputValue();
    const sessionId = new URL(link).searchParams.get('session');
    assert.ok(sessionId !== null && link.startsWith(url), `unexpected join link ${link}`);
    const [created] = server.status().sessions;
    assert.equal(created?.sessionId, sessionId);
    assert.equal(created?.config.down, 'sign');
    assert.equal(created?.config.rounds, 50);

    // 3. A second tab pastes the link into the join form; both dashboards show both peers.
    const joiner = await context.newPage();
    const joinerErrors = collectPageErrors(joiner);
    await joiner.goto(url);
    await joiner.evaluate(() => {
      if (window.liecApp !== undefined) window.liecApp.runtimeFactory = undefined;
    });
    const joinedAt = performance.now();
    await joiner.locator('session-form input[name="link"]').fill(link);
    await joiner.locator('session-form button[data-action="join"]').click();
    await waitForLivePeers(joiner, 2);
    await waitForLivePeers(creator, 2);
    t.diagnostic(
      `second tab listed on both dashboards ${(performance.now() - joinedAt).toFixed(0)} ms after joining`,
    );
    for (const page of [creator, joiner]) {
      assert.equal(await page.locator('peer-table tr[data-peer]').count(), 2);
      const field = async (name: string) =>
        (await page.locator(`session-overview [data-field="${name}"]`).textContent())?.trim();
      assert.equal(await field('session'), sessionId);
      assert.equal(await field('round'), '0 / 50');
      assert.equal(await field('live-peers'), '2');
    }
    const peers = server.status().sessions[0]?.peers ?? [];
    assert.deepEqual(
      peers.map((p) => p.kind),
      ['browser', 'browser'],
    );

    // A watch link: the tab follows /status, lists both peers, and is no member itself.
    const watcher = await context.newPage();
    const watcherErrors = collectPageErrors(watcher);
    await watcher.goto(`${link}&watch=1`);
    await waitForLivePeers(watcher, 2);
    assert.equal(await watcher.evaluate(() => window.liecApp?.store.state.local.peerId ?? null), null);
    assert.equal(server.status().sessions[0]?.peers.length, 2, 'watching is not joining');

    // 4. A stand-in runtime: rounds reach the overview and charts; pause and download reach it.
    await creator.addScriptTag({ path: FAKE_RUNTIME });
    await creator.evaluate('window.testRuntime.emitRounds(30)');
    await creator
      .locator('session-overview [data-field="round"]')
      .filter({ hasText: '31 / 50' })
      .waitFor({ timeout: PAGE_TIMEOUT_MS });
    assert.equal(await creator.locator('training-charts .empty').count(), 0);
    // The latest accuracy and loss as numbers, the time since creation, the QR code of the
    // link, the event list and the live regions.
    const overview = (name: string) => creator.locator(`session-overview [data-field="${name}"]`);
    assert.match((await overview('accuracy').textContent()) ?? '', /97\.9 %\s+round 30/);
    assert.match((await overview('loss').textContent()) ?? '', /0\.3145\s+round 30/);
    await overview('elapsed').filter({ hasText: /\d/ }).waitFor({ timeout: PAGE_TIMEOUT_MS });
    assert.match(
      (await creator.locator('session-form img[data-field="join-qr"]').getAttribute('src')) ?? '',
      /^data:image\/svg\+xml/,
    );
    const joinedEvent = creator
      .locator('event-log [data-event="join"]')
      .filter({ hasText: 'joined (browser)' });
    assert.equal(await joinedEvent.count(), 1, 'the second tab joining is in the event list');
    for (const [region, text] of [
      ['round', /^Round \d+ of 50$/],
      ['peers', /joined \(browser\)$/],
    ] as const) {
      const live = creator.locator(`live-regions [data-live="${region}"]`);
      assert.equal(await live.getAttribute('aria-live'), 'polite');
      assert.match((await live.textContent())?.trim() ?? '', text, `live region ${region}`);
    }
    // LIEC_DEBUG_SHOT=<file.png> saves the dashboard with the stand-in's (synthetic) charts, to look at.
    if (process.env['LIEC_DEBUG_SHOT'] !== undefined)
      await creator.screenshot({ path: process.env['LIEC_DEBUG_SHOT'], fullPage: true });
    assert.equal(await creator.locator('training-charts .uplot').count(), 3);
    await creator.locator('session-controls button[data-action="pause"]').click();
    await creator
      .locator('session-controls button[data-action="pause"]')
      .filter({ hasText: 'Resume' })
      .waitFor({ timeout: PAGE_TIMEOUT_MS });
    assert.equal(await creator.evaluate('window.testRuntime.paused'), true);
    const [download] = await Promise.all([
      creator.waitForEvent('download', { timeout: PAGE_TIMEOUT_MS }),
      creator.locator('session-controls button[data-action="download"]').click(),
    ]);
    assert.match(download.suggestedFilename(), new RegExp(`^liec-model-${sessionId}-round-31\\.bin$`));
    // A failed download: a banner with its text, until dismissed.
    await creator.evaluate(
      "window.testRuntime.exportModel = async () => { throw new Error('no model yet'); }",
    );
    await creator.locator('session-controls button[data-action="download"]').click();
    const failed = creator.locator('status-banners [data-banner="error"][data-source="download"]');
    await failed.filter({ hasText: 'no model yet' }).waitFor({ timeout: PAGE_TIMEOUT_MS });
    await failed.locator('button').click();
    await failed.waitFor({ state: 'detached', timeout: PAGE_TIMEOUT_MS });

    // 5. The second tab leaves: its row turns dropped on the first dashboard.
    const joinerId = await joiner.evaluate(() => window.liecApp?.store.state.local.peerId ?? null);
    await joiner.locator('session-controls button[data-action="leave"]').click();
    for (const page of [creator, watcher]) {
      await page
        .locator(`peer-table tr[data-peer="${joinerId}"][data-state="dropped"]`)
        .waitFor({ timeout: PAGE_TIMEOUT_MS });
    }
    await joiner.locator('session-form button[data-action="create"]').waitFor({ timeout: PAGE_TIMEOUT_MS });
    assert.equal(new URL(joiner.url()).search, '');

    // mnist.bin as the browser downloads it (gzip on the wire).
    const asset = await creator.evaluate(async () => {
      const started = performance.now();
      const response = await fetch('/mnist.bin');
      const bytes = (await response.arrayBuffer()).byteLength;
      return { bytes, ms: performance.now() - started, type: response.headers.get('content-type') };
    });
    assert.equal(asset.type, 'application/octet-stream');
    assert.equal(asset.bytes, 16 + 10_000 * (1 + 784));
    t.diagnostic(`mnist.bin: ${asset.bytes} bytes fetched in ${asset.ms.toFixed(0)} ms`);

    assert.deepEqual(creatorErrors, []);
    assert.deepEqual(joinerErrors, []);
    assert.deepEqual(watcherErrors, []);
  },
);
