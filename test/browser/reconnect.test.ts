/**
 * The signaling server goes away under a training tab and comes back: a real app server
 * (sessions in Redis, so the restarted one still knows the session) serves the page; the tab
 * opens a join link and its training runtime joins (the session waits for a second peer, so
 * it loads its learner but does not train). The server stops: the dashboard stays and a
 * banner says the connection is lost, counting down to the next attempt. A new server on
 * the same port: the tab joins again with the same peer id, the banner goes, and the event
 * list says the connection is back. A server that comes back without the session (sessions
 * in memory): the tab gives up, an error banner says why, and leaving returns to the form.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignalingClient } from '../../client/signaling/index.ts';
import { createAppServer, type AppServerInit, type SignalingServer } from '../../signaling/index.ts';
import { REDIS_SKIP, SHARED_SECRET, startRedis } from '../scale/support.ts';
import { PAGE_TIMEOUT_MS, buildApp, chromiumSkipReason, launchChromium, pageState } from './helpers.ts';

const HEARTBEAT_INTERVAL_MS = 500;

test(
  'the reconnecting banner counts down while the signaling server is down and goes when it is back',
  { skip: chromiumSkipReason() ?? REDIS_SKIP, timeout: 120_000 },
  async (t) => {
    const context = await launchChromium(t); // closed first: its hook is registered first
    const redis = await startRedis(undefined);
    const init: AppServerInit = {
      buildApp,
      logLevel: 'silent',
      redisUrl: redis.url,
      secret: SHARED_SECRET,
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
      heartbeatTimeoutMs: 6 * HEARTBEAT_INTERVAL_MS,
    };
    let server: SignalingServer = await createAppServer(init);
    const url = await server.start({ port: 0, host: '127.0.0.1' });
    const port = Number(new URL(url).port);
    // After the browser: the server, then its Redis.
    t.after(async () => {
      await server.stop();
      await redis.stop();
    });

    const creator = new SignalingClient();
    await creator.connect(url);
    const { sessionId, token } = await creator.create({ rounds: 100, minPeers: 2 });
    creator.close();

    const tab = await context.newPage();
    const pageErrors: string[] = [];
    tab.on('pageerror', (error) => pageErrors.push(error.message));
    await tab.goto(`${url}/?session=${sessionId}&token=${token}`);
    await tab.locator('session-overview [data-field="session"]').filter({ hasText: sessionId }).waitFor({
      timeout: PAGE_TIMEOUT_MS,
    });
    const peerId = (await pageState(tab, 'local')).peerId;
    assert.ok(peerId !== null);
    const banner = tab.locator('status-banners [data-banner="reconnecting"]');
    assert.equal(await banner.count(), 0);

    // The server goes away: the banner comes, with a countdown that moves; the dashboard stays.
    await server.stop();
    await banner.waitFor({ timeout: PAGE_TIMEOUT_MS });
    const countdown = banner.locator('[data-field="countdown"]');
    const first = (await countdown.textContent())?.trim() ?? '';
    assert.match(first, /^\d+\.\d s$/, `countdown "${first}"`);
    await tab.waitForFunction(
      (shown) => {
        const banners = document.querySelector('liec-app')?.shadowRoot?.querySelector('status-banners');
        const text = banners?.shadowRoot?.querySelector('[data-field="countdown"]')?.textContent?.trim();
        return text !== undefined && text !== shown;
      },
      first,
      { timeout: PAGE_TIMEOUT_MS, polling: 50 },
    );
    assert.match((await banner.textContent()) ?? '', /Connection to the signaling server lost/);
    // LIEC_DEBUG_SHOT=<file.png> saves the page with the banner, to look at.
    if (process.env['LIEC_DEBUG_SHOT'] !== undefined)
      await tab.screenshot({ path: process.env['LIEC_DEBUG_SHOT'], fullPage: true });
    assert.equal((await pageState(tab, 'local')).connection, 'reconnecting');
    for (const part of ['session-overview', 'peer-table', 'training-charts', 'session-controls']) {
      assert.ok(await tab.locator(part).isVisible(), `${part} stays on screen`);
    }
    assert.equal(
      await tab.locator('session-controls button[data-action="leave"]').isEnabled(),
      true,
      'the tab can still leave',
    );

    // The same port again: the tab joins again with its peer id and the banner goes.
    server = await createAppServer(init);
    await server.start({ port, host: '127.0.0.1' });
    await banner.waitFor({ state: 'detached', timeout: PAGE_TIMEOUT_MS });
    const local = await pageState(tab, 'local');
    assert.equal(local.connection, 'joined');
    assert.equal(local.peerId, peerId, 'the same peer id');
    assert.equal(local.reconnect, null);
    await tab
      .locator('event-log [data-event="reconnect"]')
      .filter({ hasText: 'Signaling connection back' })
      .waitFor({ timeout: PAGE_TIMEOUT_MS });
    assert.equal(await tab.locator('event-log [data-event="disconnect"]').count(), 1);
    const members = (await server.readStatus()).sessions.find((s) => s.sessionId === sessionId)?.peers ?? [];
    assert.deepEqual(
      members.map((p) => p.peerId),
      [peerId],
      'the server lists the tab again',
    );
    assert.deepEqual(pageErrors, []);
  },
);

test(
  'a restarted server that forgot the session: the banner says the tab is no longer a member',
  { skip: chromiumSkipReason(), timeout: 120_000 },
  async (t) => {
    const context = await launchChromium(t);
    // Sessions in memory, the same secret: the token still verifies, the session is gone.
    const init: AppServerInit = {
      buildApp,
      logLevel: 'silent',
      secret: SHARED_SECRET,
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
      heartbeatTimeoutMs: 6 * HEARTBEAT_INTERVAL_MS,
    };
    let server: SignalingServer = await createAppServer(init);
    const url = await server.start({ port: 0, host: '127.0.0.1' });
    const port = Number(new URL(url).port);
    t.after(() => server.stop());
    const creator = new SignalingClient();
    await creator.connect(url);
    const { sessionId, token } = await creator.create({ rounds: 100, minPeers: 2 });
    creator.close();

    const tab = await context.newPage();
    const pageErrors: string[] = [];
    tab.on('pageerror', (error) => pageErrors.push(error.message));
    await tab.goto(`${url}/?session=${sessionId}&token=${token}`);
    await tab
      .locator('session-overview [data-field="session"]')
      .filter({ hasText: sessionId })
      .waitFor({ timeout: PAGE_TIMEOUT_MS });
    await server.stop();
    await tab.locator('status-banners [data-banner="reconnecting"]').waitFor({ timeout: PAGE_TIMEOUT_MS });
    server = await createAppServer(init);
    await server.start({ port, host: '127.0.0.1' });

    const lost = tab.locator('status-banners [data-banner="error"][data-source="signaling"]');
    await lost.filter({ hasText: 'UNKNOWN_SESSION' }).waitFor({ timeout: PAGE_TIMEOUT_MS });
    assert.equal(await tab.locator('status-banners [data-banner="reconnecting"]').count(), 0);
    assert.equal((await pageState(tab, 'local')).connection, 'closed');
    assert.ok(await tab.locator('session-overview').isVisible(), 'the session stays on screen');
    // Leaving goes back to the form.
    await tab.locator('session-controls button[data-action="leave"]').click();
    await tab.locator('session-form button[data-action="create"]').waitFor({ timeout: PAGE_TIMEOUT_MS });
    assert.equal(await lost.count(), 0, 'leaving clears the banner');
    assert.deepEqual(pageErrors, []);
  },
);
