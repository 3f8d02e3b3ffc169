/**
 * The create form in headless Chromium against a real app server: a value out of range is
 * refused next to the form (and no session is created); then every setting filled with a
 * value other than its default (task has one choice; local steps stay 1, which doublesqueeze
 * requires; the drift threshold stays 0, which a rolling sync requires) creates a session
 * whose config, as the server reports it on /status and as the page's configuration panel
 * shows it, carries every value. The tab joins without training (its runtime factory is
 * dropped).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Page } from 'playwright-core';
import { DEFAULT_SESSION_CONFIG, parseSessionConfig } from '../../shared/protocol/session-config.ts';
import { signalingStatusSchema } from '../../shared/protocol/signaling-status.ts';
import { createAppServer } from '../../signaling/index.ts';
import {
  PAGE_TIMEOUT_MS,
  buildApp,
  chromiumSkipReason,
  collectPageErrors,
  launchChromium,
} from './helpers.ts';

/** Every field of the form and what the test types or picks (as text). */
const FILLED = {
  task: 'mnist',
  model: 'cnn',
  algorithm: 'doublesqueeze',
  localSteps: '1',
  rounds: '123',
  learningRate: '0.05',
  momentum: '0.9',
  weightDecay: '0.0005',
  batchSize: '16',
  up: 'q8',
  down: 'fp16',
  syncMode: 'rolling',
  syncPeriod: '8',
  syncCodec: 'q4',
  compensation: '0.25',
  syncDriftThreshold: '0',
  roundDeadlineMs: '2500',
  quorum: '0.75',
  minPeers: '3',
  evalEvery: '7',
  aggregation: 'trimmed:0.2',
  partition: 'shards:2',
  dataShards: '6',
  standInRounds: '40',
  seed: '4242',
} as const;
/** Settings left at their default (see above). */
const KEPT_DEFAULT = new Set(['task', 'syncDriftThreshold']);
const SELECTS = new Set(['task', 'model', 'algorithm', 'syncMode']);

async function fill(page: Page, name: string, value: string): Promise<void> {
  const field = page.locator(`session-form [name="${name}"]`);
  if (SELECTS.has(name)) await field.selectOption(value);
  else await field.fill(value);
}

test(
  'the create form sets every session setting; what is invalid is shown, not sent',
  { skip: chromiumSkipReason() },
  async (t) => {
    const server = await createAppServer({ buildApp, logLevel: 'silent' });
    const url = await server.start({ port: 0, host: '127.0.0.1' });
    t.after(() => server.stop());
    const context = await launchChromium(t);
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(url);
    await page.evaluate(() => {
      if (window.liecApp !== undefined) window.liecApp.runtimeFactory = undefined;
    });
    const create = page.locator('session-form button[data-action="create"]');
    await create.waitFor({ timeout: PAGE_TIMEOUT_MS });

    // Every field shows its recommended default first.
    // (The learning settings and the stand-ins show "auto": they follow the model and the
    // algorithm unless set, learningDefaultsOf, defaultStandInRounds.)
    const followsModel = new Set(['learningRate', 'localSteps', 'up', 'down', 'standInRounds']);
    for (const [name, value] of Object.entries(DEFAULT_SESSION_CONFIG)) {
      const shown = followsModel.has(name) ? 'auto' : String(value);
      assert.equal(await page.locator(`session-form [name="${name}"]`).inputValue(), shown, name);
    }

    // Out of range: the schema's message next to the form and under the field; nothing sent.
    await fill(page, 'momentum', '1.5');
    await create.click();
    const issues = page.locator('session-form [data-field="form-issues"]');
    await issues.filter({ hasText: 'Momentum' }).waitFor({ timeout: PAGE_TIMEOUT_MS });
    assert.equal(await page.locator('session-form [name="momentum"]').getAttribute('aria-invalid'), 'true');
    assert.equal(server.status().sessions.length, 0, 'no session for an invalid form');

    // Every setting other than its default.
    for (const [name, value] of Object.entries(FILLED)) {
      if (!KEPT_DEFAULT.has(name))
        assert.notEqual(
          value,
          String(DEFAULT_SESSION_CONFIG[name as keyof typeof FILLED]),
          `${name} differs from its default`,
        );
      await fill(page, name, value);
    }
    await create.click();
    await page.locator('session-form [data-field="join-link"]').waitFor({ timeout: PAGE_TIMEOUT_MS });

    const expected = parseSessionConfig({
      ...Object.fromEntries(
        Object.entries(FILLED).map(([name, value]) => [
          name,
          SELECTS.has(name) || Number.isNaN(Number(value)) ? value : Number(value),
        ]),
      ),
    });
    assert.equal(expected.aggregation, 'trimmed:0.2');
    const [session] = server.status().sessions;
    assert.deepEqual(session?.config, expected, 'the server holds every value');
    const fromStatus = signalingStatusSchema.parse(
      await page.evaluate(async (): Promise<unknown> => (await fetch('/status')).json()),
    );
    assert.deepEqual(fromStatus.sessions[0]?.config, expected, 'and reports it on /status');

    // The page's configuration panel shows the running session's values.
    await page.locator('session-config [data-config="seed"]').waitFor({ timeout: PAGE_TIMEOUT_MS });
    for (const [name, value] of Object.entries(expected)) {
      assert.equal(
        (await page.locator(`session-config [data-config="${name}"]`).textContent())?.trim(),
        String(value),
        `${name} on the page`,
      );
    }
    assert.deepEqual(errors, []);
  },
);
