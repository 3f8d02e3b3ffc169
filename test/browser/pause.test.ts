/**
 * A training tab's controls in headless Chromium, next to a headless peer: pause (the tab
 * leaves the session, training goes on without it, handing aggregation over if the tab held
 * it), resume (it joins again with the same peer id and is counted again), download (a model
 * file that decodes to the MLP's weights), leave.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { Peer } from '../../client/roles/peer.ts';
import { SignalingClient } from '../../client/signaling/index.ts';
import { decodeModelFile } from '../../client/ui/runtime/model-file.ts';
import { createAppServer } from '../../signaling/index.ts';
import { waitFor } from '../support/session.ts';
import {
  buildApp,
  chromiumSkipReason,
  collectPageErrors,
  launchChromium,
  PAGE_TIMEOUT_MS,
  pageState,
} from './helpers.ts';

const HEARTBEAT_INTERVAL_MS = 1000;
/** Parameters of the default MLP (784-128-10). */
const MLP_PARAMS = 784 * 128 + 128 + 128 * 10 + 10;
const TRAINING_TIMEOUT_MS = 30_000;

test(
  'pause leaves and resume rejoins with the same id; download saves the model; leave',
  { skip: chromiumSkipReason(), timeout: 90_000 },
  async (t) => {
    const server = await createAppServer({
      buildApp,
      logLevel: 'silent',
      heartbeatIntervalMs: HEARTBEAT_INTERVAL_MS,
      heartbeatTimeoutMs: 6 * HEARTBEAT_INTERVAL_MS,
    });
    const url = await server.start({ port: 0, host: '127.0.0.1' });
    t.after(() => server.stop());
    const creator = new SignalingClient();
    await creator.connect(url);
    const { sessionId, token } = await creator.create({ rounds: 2000, minPeers: 2, evalEvery: 20 });
    creator.close();
    const lastRound = () => server.status().sessions[0]?.aggregator.lastRound ?? 0;
    const untilRound = (round: number, what: string) =>
      waitFor<number>(
        (listener) => {
          const timer = setInterval(() => listener(lastRound()), 50);
          return () => clearInterval(timer);
        },
        (r) => r >= round,
        TRAINING_TIMEOUT_MS,
        what,
      );

    const context = await launchChromium(t);
    const tab = await context.newPage();
    const errors = collectPageErrors(tab);
    await tab.goto(`${url}/?session=${sessionId}&token=${token}`);
    const headless = new Peer({ serverUrl: url, sessionId, token, kind: 'headless' });
    t.after(() => headless.leave());
    await headless.start();
    await untilRound(10, 'round 10 with both peers');
    const tabId = (await pageState(tab, 'local')).peerId;
    assert.ok(tabId !== null);
    const members = () => server.status().sessions[0]?.peers.map((p) => p.peerId) ?? [];

    // Pause: the tab leaves; rounds go on with the headless peer alone.
    const pause = tab.locator('session-controls button[data-action="pause"]');
    await pause.click();
    await pause.filter({ hasText: 'Resume' }).waitFor({ timeout: PAGE_TIMEOUT_MS });
    await tab.locator('session-controls [data-field="paused"]').waitFor({ timeout: PAGE_TIMEOUT_MS });
    await waitFor<string[]>(
      (listener) => {
        const timer = setInterval(() => listener(members()), 50);
        return () => clearInterval(timer);
      },
      (ids) => !ids.includes(tabId),
      PAGE_TIMEOUT_MS,
      'the paused tab to leave the session',
    );
    const pausedAt = lastRound();
    await untilRound(pausedAt + 10, 'ten rounds without the paused tab');
    assert.equal(server.status().sessions[0]?.aggregator.peerId, headless.peerId);

    // Resume: same peer id, counted again.
    await pause.click();
    await pause.filter({ hasText: 'Pause' }).waitFor({ timeout: PAGE_TIMEOUT_MS });
    const resumedAt = lastRound();
    await tab.waitForFunction(
      (after) => (window.liecRuntime?.countedRounds.at(-1)?.round ?? -1) > after,
      resumedAt,
      { timeout: TRAINING_TIMEOUT_MS, polling: 50 },
    );
    assert.ok(members().includes(tabId), 'rejoined with the same peer id');
    assert.equal((await pageState(tab, 'local')).peerId, tabId);

    // Download: the model file of this tab's peer.
    const [download] = await Promise.all([
      tab.waitForEvent('download', { timeout: PAGE_TIMEOUT_MS }),
      tab.locator('session-controls button[data-action="download"]').click(),
    ]);
    const path = await download.path();
    const { header, weights } = decodeModelFile(new Uint8Array(await readFile(path)));
    assert.equal(header.peerId, tabId);
    assert.equal(header.sessionId, sessionId);
    assert.equal(header.arch, 'mlp');
    assert.equal(weights.length, MLP_PARAMS);
    assert.equal(header.layout.at(-1)?.offset, MLP_PARAMS - 10);
    assert.ok(header.round > resumedAt);
    assert.ok(weights.every(Number.isFinite));

    // Leave: back to the form, out of the session.
    await tab.locator('session-controls button[data-action="leave"]').click();
    await tab.locator('session-form button[data-action="create"]').waitFor({ timeout: PAGE_TIMEOUT_MS });
    await waitFor<string[]>(
      (listener) => {
        const timer = setInterval(() => listener(members()), 50);
        return () => clearInterval(timer);
      },
      (ids) => !ids.includes(tabId),
      PAGE_TIMEOUT_MS,
      'the tab to leave',
    );
    assert.deepEqual(errors, []);
  },
);
