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
import { ensureWebApp } from '../../client/ui/build.ts';
import type { DashboardState } from '../../client/ui/state.ts';

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

/**
 * For createAppServer's `buildApp`: the app server serves client/ui/dist as it is, so the
 * tests build it first when it is missing or older than its sources.
 */
export async function buildApp(appDir: string): Promise<string> {
  await ensureWebApp(appDir);
  return appDir;
}

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

/** One part of the dashboard's store in `page` (a serialized copy). */
export async function pageState<K extends keyof DashboardState>(
  page: Page,
  part: K,
): Promise<DashboardState[K]> {
  const state = await page.evaluate(() => window.liecApp?.store.state);
  if (state === undefined) throw new Error('the page has no liec-app');
  return state[part];
}

/** Waits until the peer table of `page` shows `peerId` in `state`. */
export async function waitForPeerRow(page: Page, peerId: string, state: string): Promise<void> {
  await page
    .locator(`peer-table tr[data-peer="${peerId}"][data-state="${state}"]`)
    .waitFor({ timeout: PAGE_TIMEOUT_MS });
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

export interface RuntimeFigures {
  backend: string;
  /** Times since the page started loading (its join link was opened), in ms. */
  joinedMs: number;
  learnerReadyMs: number;
  firstCountedMs: number;
  /** Counted rounds per minute over the span of this tab's counted rounds. */
  countedPerMinute: number;
  /** Median time of one gradient (with its compression), in ms. */
  computeMedianMs: number;
}

/** What the tab's training runtime measured (window.liecRuntime, see client/ui/runtime/). */
export async function runtimeFigures(page: Page): Promise<RuntimeFigures> {
  const raw = await page.evaluate(() => {
    const runtime = window.liecRuntime;
    if (runtime === undefined) return undefined;
    const counted = runtime.countedRounds;
    return {
      backend: runtime.backend ?? 'unknown',
      milestones: runtime.milestones,
      countedTimes: counted.map((c) => c.at),
      computeMs: [...runtime.computeTimes],
    };
  });
  if (raw === undefined) throw new Error('the page has no training runtime');
  const times = raw.countedTimes;
  const span = (times.at(-1) ?? 0) - (times[0] ?? 0);
  return {
    backend: raw.backend,
    joinedMs: raw.milestones.joinedAt ?? Number.NaN,
    learnerReadyMs: raw.milestones.learnerReadyAt ?? Number.NaN,
    firstCountedMs: raw.milestones.firstCountedAt ?? Number.NaN,
    countedPerMinute: span > 0 ? ((times.length - 1) / span) * 60_000 : 0,
    computeMedianMs: median(raw.computeMs),
  };
}
