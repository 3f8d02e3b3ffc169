/**
 * Helpers for tests in headless Chromium (Debian's /usr/bin/chromium driven by
 * playwright-core): the skip reason when it is absent, a persistent context in a fresh
 * profile folder with the flags DESIGN.md section 4 lists, and everything closed by t.after.
 *
 * @example
 * test('page', { skip: chromiumSkipReason() }, async (t) => {
 *   const context = await launchChromium(t);
 *   const page = await context.newPage();
 * });
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** Debian's Chromium; LIEC_CHROMIUM_PATH overrides it (e.g. to check the skip path). */
export const CHROMIUM_PATH = process.env['LIEC_CHROMIUM_PATH'] ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  // Host candidates instead of mDNS names: deterministic on loopback.
  '--disable-features=WebRtcHideLocalIpsWithMdns',
];

/** Upper bound for a page condition to become true; generous for a loaded 2-core machine. */
export const PAGE_TIMEOUT_MS = 15_000;

/** The reason to skip browser tests, or undefined when Chromium is installed. */
export function chromiumSkipReason(): string | undefined {
  return existsSync(CHROMIUM_PATH)
    ? undefined
    : `SKIPPED: Chromium not found at ${CHROMIUM_PATH}; install it with: apt-get install chromium`;
}

export async function launchChromium(t: TestContext): Promise<BrowserContext> {
  const profile = await mkdtemp(join(tmpdir(), 'liec-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 900 },
  });
  t.after(async () => {
    await context.close();
    await rm(profile, { recursive: true, force: true });
  });
  return context;
}

/** Collects the page's uncaught errors and console errors, to assert there were none. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(`console: ${message.text()}`);
  });
  return errors;
}
