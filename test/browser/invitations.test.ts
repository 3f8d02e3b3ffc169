/**
 * A session created by invitation from a tab, in headless Chromium against a real app
 * server: the tab keeps its host token to itself (no shareable link until it mints one),
 * each "New invitation" is a link with a token of its own, and a peer joining with one is
 * given the id it names while another id is refused. The tab joins without training (its
 * runtime factory is dropped).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SignalingClient } from '../../client/signaling/index.ts';
import { SignalingError } from '../../shared/protocol/signaling.ts';
import { createAppServer } from '../../signaling/index.ts';
import {
  PAGE_TIMEOUT_MS,
  buildApp,
  chromiumSkipReason,
  collectPageErrors,
  launchChromium,
} from './helpers.ts';

test(
  'a tab creates a session by invitation and mints one link per peer',
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
    await page.locator('session-form input[name="invitations"]').check();
    await create.click();

    const inviteButton = page.locator('session-form button[data-action="invite"]');
    await inviteButton.waitFor({ timeout: PAGE_TIMEOUT_MS });
    assert.equal(
      await page.locator('session-form [data-field="join-link"]').count(),
      0,
      'no link before an invitation',
    );
    const own = new URL(page.url());
    assert.match(own.searchParams.get('token') ?? '', /^h\./, "the tab's own address holds its host token");

    const links: string[] = [];
    for (let i = 0; i < 2; i++) {
      const previous = links.at(-1) ?? '';
      await inviteButton.click();
      await page.waitForFunction(
        (before) => {
          const input = document
            .querySelector('liec-app')
            ?.shadowRoot?.querySelector('session-form')
            ?.shadowRoot?.querySelector<HTMLInputElement>('[data-field="join-link"]');
          return input !== null && input !== undefined && input.value !== '' && input.value !== before;
        },
        previous,
        { timeout: PAGE_TIMEOUT_MS },
      );
      links.push(await page.locator('session-form [data-field="join-link"]').inputValue());
    }
    await page.locator('session-form [data-field="join-qr"]').waitFor({ timeout: PAGE_TIMEOUT_MS });

    const [first, second] = links.map((link) => new URL(link));
    assert.ok(first !== undefined && second !== undefined);
    const sessionId = first.searchParams.get('session') ?? '';
    assert.equal(sessionId, own.searchParams.get('session'));
    const tokens = [first, second].map((u) => u.searchParams.get('token') ?? '');
    const ids = tokens.map((token) => /^i\.([A-Za-z0-9_-]+)\./.exec(token)?.[1]);
    assert.ok(ids[0] !== undefined && ids[1] !== undefined && ids[0] !== ids[1], tokens.join(' '));

    const peer = new SignalingClient();
    t.after(() => peer.close());
    await peer.connect(url);
    const joined = await peer.join({ sessionId, token: tokens[0] ?? '', kind: 'headless' });
    assert.equal(joined.peerId, ids[0]);
    const impostor = new SignalingClient();
    t.after(() => impostor.close());
    await impostor.connect(url);
    await assert.rejects(
      impostor.join({ sessionId, token: tokens[1] ?? '', kind: 'headless', peerId: 'not-invited' }),
      (error: unknown) => error instanceof SignalingError && error.code === 'BAD_TOKEN',
    );
    assert.deepEqual(errors, []);
  },
);
