/**
 * `npm run bench:tab-memory [-- --models mlp-large,mlp --rounds 30 --headless 1 --tab-role both]`:
 * how much memory a browser tab needs to train each model. Per model and tab role: a session
 * of that model (created through the signaling API on an app server; round 0 waits for the tab
 * and the headless peers), one headless Chromium tab opening its join link (a fresh browser and
 * profile per run, one browser at a time) and `--headless` headless peers as processes from the
 * build (`liec join`, their peak RSS reported too). The first peer to join aggregates: the tab
 * joins first for `--tab-role aggregator`, after the headless peers for `worker`.
 * From before the page loads until the session ends, every `--sample-ms` the bench reads:
 * - each Chromium process of that browser (the browser process's descendants, found through
 *   /proc by its profile folder): VmRSS and VmHWM from /proc/PID/status, Pss from
 *   /proc/PID/smaps_rollup, summed by type (renderer, gpu-process, utility, zygote, browser).
 *   The tab's renderer is the renderer with the largest RSS (the only one doing work);
 * - through CDP: the page's JS heap (Performance.getMetrics JSHeapUsedSize, JSHeapTotalSize)
 *   and its ArrayBuffer backing stores (Runtime.getHeapUsage backingStorageSize: the digits,
 *   weight and gradient vectors, TF.js's WebAssembly.Memory), which live outside the JS heap.
 * Reported per run: peak and final of each, again after a forced GC at the end, the tab's
 * backend and role, how often it was counted, the session's rounds per second and the tab's
 * last test accuracy. Prints and writes JSON (bench/results/tab-memory.json).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { SignalingClient } from '../client/signaling/index.ts';
import { architecture, sizeOf, type ArchName } from '../client/training/architectures.ts';
import { createAppServer, type SignalingServer } from '../signaling/index.ts';
import { buildApp, CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/browser/helpers.ts';
import { spawnWatchedPeer, type WatchedPeer } from './peer-process.ts';
import { browserProcesses } from './process-tree-memory.ts';
import { writeResult } from './rounds.ts';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'mlp-large,mlp' },
    rounds: { type: 'string', default: '30' },
    headless: { type: 'string', default: '1' },
    'sample-ms': { type: 'string', default: '250' },
    /** Session seed (the tab's test accuracy is reported on seeds 5-8; settings chosen on 1-4). */
    seed: { type: 'string', default: '5' },
    /** Seconds one session may take (join, learner, the rounds) before it is reported as timed out. */
    'timeout-s': { type: 'string', default: '600' },
    /** Passed to the tab as `&backend=` (webgl, wasm or cpu); default: the tab's own choice. */
    backend: { type: 'string' },
    /** Leave out --disable-gpu (headless Chromium then may offer WebGL on SwiftShader). */
    gpu: { type: 'boolean', default: false },
    /** Force a GC once this round is reached and report memory before and after it (a diagnosis). */
    'gc-at-round': { type: 'string' },
    /** V8 flags for the browser (a diagnosis, e.g. --max-semi-space-size=1; pages cannot set them). */
    'js-flags': { type: 'string' },
    /** The tab's role: it joins first to aggregate, after the headless peers to be a worker. */
    'tab-role': { type: 'string', default: 'both' },
    out: { type: 'string', default: 'bench/results/tab-memory.json' },
  },
});
const ROUNDS = Number(values.rounds);
const HEADLESS = Number(values.headless);
const SAMPLE_MS = Number(values['sample-ms']);
const GC_AT_ROUND = values['gc-at-round'] === undefined ? null : Number(values['gc-at-round']);
/** Upper bound for one session (join, learner, N rounds). */
const SESSION_TIMEOUT_MS = Number(values['timeout-s']) * 1000;
const MB = 2 ** 20;
/** Interval between reads of the session's last round from the server's status. */
const ROUND_POLL_MS = 100;
/** Console warnings and errors of the tab kept for the result. */
const MAX_PAGE_WARNINGS = 20;
/** Upper bound for the first peer to join (page load and TF.js set-up included). */
const JOIN_TIMEOUT_MS = 120_000;

type TabRole = 'aggregator' | 'worker';
if (!['aggregator', 'worker', 'both'].includes(values['tab-role'] ?? ''))
  throw new Error('--tab-role is aggregator, worker or both');

/** Resolves once `condition()` holds, polled every ROUND_POLL_MS; throws after JOIN_TIMEOUT_MS. */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = performance.now() + JOIN_TIMEOUT_MS;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, ROUND_POLL_MS));
  }
}

interface MemoryPoint {
  at: number;
  round: number;
  rendererRssBytes: number;
  rendererHwmBytes: number;
  rendererPssBytes: number | null;
  gpuRssBytes: number | null;
  /** Sum of the Pss of every process of the browser (shared pages counted once). */
  browserPssBytes: number | null;
  browserRssSumBytes: number;
  jsHeapUsedBytes: number | null;
  jsHeapTotalBytes: number | null;
  /** Bytes of ArrayBuffer backing stores (CDP Runtime.getHeapUsage), WebAssembly memory included. */
  backingStorageBytes: number | null;
  /** RSS and Pss summed per process type (renderer, gpu-process, utility, zygote, browser). */
  byType: Record<string, { rssBytes: number; pssBytes: number | null; count: number }>;
}

async function jsHeap(cdp: CDPSession) {
  const { metrics } = await cdp.send('Performance.getMetrics');
  const value = (name: string) => metrics.find((m) => m.name === name)?.value ?? null;
  // ArrayBuffer backing stores (typed arrays, TF.js's WebAssembly.Memory) live outside the heap.
  const usage = await cdp.send('Runtime.getHeapUsage');
  return {
    used: value('JSHeapUsedSize'),
    total: value('JSHeapTotalSize'),
    backingStorage: usage.backingStorageSize,
  };
}

async function sample(profile: string, cdp: CDPSession, round: number): Promise<MemoryPoint | null> {
  const processes = await browserProcesses(profile);
  const renderer = processes.filter((p) => p.type === 'renderer').sort((a, b) => b.rssBytes - a.rssBytes)[0];
  if (renderer === undefined) return null;
  const gpu = processes.find((p) => p.type === 'gpu-process');
  const pss = processes.map((p) => p.pssBytes);
  const heap = await jsHeap(cdp).catch(() => ({ used: null, total: null, backingStorage: null }));
  const byType: MemoryPoint['byType'] = {};
  for (const p of processes) {
    const entry = (byType[p.type] ??= { rssBytes: 0, pssBytes: 0, count: 0 });
    entry.rssBytes += p.rssBytes;
    entry.pssBytes = entry.pssBytes === null || p.pssBytes === null ? null : entry.pssBytes + p.pssBytes;
    entry.count++;
  }
  return {
    at: performance.now(),
    round,
    rendererRssBytes: renderer.rssBytes,
    rendererHwmBytes: renderer.hwmBytes,
    rendererPssBytes: renderer.pssBytes,
    gpuRssBytes: gpu?.rssBytes ?? null,
    browserPssBytes: pss.every((p): p is number => p !== null) ? pss.reduce((a, b) => a + b, 0) : null,
    browserRssSumBytes: processes.reduce((a, p) => a + p.rssBytes, 0),
    jsHeapUsedBytes: heap.used,
    jsHeapTotalBytes: heap.total,
    backingStorageBytes: heap.backingStorage,
    byType,
  };
}

/** Peak and final of one figure over the samples, in MiB (null when never read). */
function peakFinal(points: readonly MemoryPoint[], pick: (p: MemoryPoint) => number | null) {
  const read = points.map(pick).filter((v): v is number => v !== null && Number.isFinite(v));
  if (read.length === 0) return null;
  const mib = (v: number) => Math.round((v / MB) * 10) / 10;
  return { peakMiB: mib(Math.max(...read)), finalMiB: mib(read.at(-1) ?? NaN) };
}

interface MidRunGc {
  before: MemoryPoint;
  after: MemoryPoint;
}

function midRunGcFigures(gc: MidRunGc | null) {
  if (gc === null) return null;
  const figures = (p: MemoryPoint) => ({
    round: p.round,
    rendererRssMiB: Math.round((p.rendererRssBytes / MB) * 10) / 10,
    backingStoresMiB:
      p.backingStorageBytes === null ? null : Math.round((p.backingStorageBytes / MB) * 10) / 10,
  });
  return { before: figures(gc.before), after: figures(gc.after) };
}

/** The first sample taken in each round. */
function firstPerRound(points: readonly MemoryPoint[]): MemoryPoint[] {
  const seen = new Set<number>();
  return points.filter((p) => !seen.has(p.round) && seen.add(p.round) !== undefined);
}

async function tabFigures(page: Page) {
  return page.evaluate(() => {
    const runtime = window.liecRuntime;
    const history = window.liecApp?.store.state.history ?? [];
    const accuracy = history.filter((r) => r.testAccuracy !== null).at(-1);
    return {
      backend: runtime?.backend ?? null,
      peerId: runtime?.peer?.peerId ?? null,
      round: runtime?.peer?.round ?? null,
      countedRounds: runtime?.countedRounds.map((c) => c.round) ?? [],
      milestones: runtime?.milestones ?? null,
      lastTestAccuracy:
        accuracy === undefined ? null : { round: accuracy.round, value: accuracy.testAccuracy },
    };
  });
}

async function runModel(model: ArchName, role: TabRole, server: SignalingServer, url: string) {
  const params = architecture(model).params.reduce((n, p) => n + sizeOf(p.shape), 0);
  const client = new SignalingClient();
  await client.connect(url);
  const { sessionId, token } = await client.create({
    model,
    rounds: ROUNDS,
    minPeers: 1 + HEADLESS,
    dataShards: 1 + HEADLESS,
    seed: Number(values.seed),
  });
  client.close();
  const profile = await mkdtemp(join(tmpdir(), 'liec-tab-memory-'));
  const args = [
    ...(values.gpu ? CHROMIUM_ARGS.filter((a) => a !== '--disable-gpu') : CHROMIUM_ARGS),
    ...(values['js-flags'] === undefined ? [] : [`--js-flags=${values['js-flags']}`]),
  ];
  let context: BrowserContext | undefined;
  const headless: WatchedPeer[] = [];
  const peerDir = await mkdtemp(join(tmpdir(), 'liec-tab-memory-peers-'));
  const loadBefore = loadavg()[0] ?? 0;
  let sampling = true;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // The tab's warnings (e.g. its peer reporting an aggregator silent), the last few kept.
    const pageWarnings: string[] = [];
    page.on('console', (message) => {
      if (message.type() !== 'warning' && message.type() !== 'error') return;
      pageWarnings.push(message.text().slice(0, 300));
      if (pageWarnings.length > MAX_PAGE_WARNINGS) pageWarnings.shift();
    });
    // Sampled from before the page loads: the learner's set-up (digits, TF.js, model) counts.
    const roundTimes = new Map<number, number>();
    let lastRound = -1;
    const status = server.status.bind(server);
    /** Each aggregator term as the server's status showed it, with the round it began after. */
    const terms: { term: number; peerId: string | null; afterRound: number }[] = [];
    const roundWatch = setInterval(() => {
      const aggregator = status().sessions.find((x) => x.sessionId === sessionId)?.aggregator;
      const round = aggregator?.lastRound ?? -1;
      if (round > lastRound) {
        lastRound = round;
        roundTimes.set(round, performance.now());
      }
      if (aggregator !== undefined && aggregator.term !== terms.at(-1)?.term)
        terms.push({ term: aggregator.term, peerId: aggregator.peerId, afterRound: round });
    }, ROUND_POLL_MS);
    const points: MemoryPoint[] = [];
    /** With --gc-at-round: a sample before and after a forced GC in the middle of training. */
    let midRunGc: MidRunGc | null = null as MidRunGc | null;
    const sampler = (async () => {
      while (sampling) {
        const point = await sample(profile, cdp, lastRound);
        if (point !== null) points.push(point);
        if (point !== null && midRunGc === null && GC_AT_ROUND !== null && lastRound >= GC_AT_ROUND) {
          await cdp.send('HeapProfiler.collectGarbage');
          const after = await sample(profile, cdp, lastRound);
          if (after !== null) midRunGc = { before: point, after };
        }
        await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
      }
    })();
    const session = () => status().sessions.find((x) => x.sessionId === sessionId);
    const openTab = () => {
      const backendParam = values.backend === undefined ? '' : `&backend=${values.backend}`;
      return page.goto(`${url}/?session=${sessionId}&token=${token}${backendParam}`);
    };
    // Headless peers as processes from the build (as bench:sizes runs them), so their
    // gradients neither block this process's sampling nor count in its memory.
    const spawnHeadless = () => {
      for (let i = 0; i < HEADLESS; i++) {
        headless.push(
          spawnWatchedPeer({ server: url, sessionId, token, peerId: `headless-${i}`, dir: peerDir }),
        );
      }
    };
    // The first peer to join aggregates: the tab joins first to aggregate, last to be a worker.
    if (role === 'aggregator') {
      await openTab();
      await until(() => session()?.aggregator.peerId != null, 'the tab to join');
      spawnHeadless();
    } else {
      spawnHeadless();
      await until(() => session()?.aggregator.peerId != null, 'a headless peer to join');
      await openTab();
    }
    const finished = Promise.all(headless.map((p) => p.done));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), SESSION_TIMEOUT_MS);
    });
    const outcome = await Promise.race([finished.then(() => 'done' as const), timedOut]);
    clearTimeout(timer);
    sampling = false;
    clearInterval(roundWatch);
    await sampler;
    // Timed out: the headless peers are stopped (their peaks so far are kept).
    if (outcome === 'timeout') for (const peer of headless) peer.process.kill();
    const ends = await finished;
    const tab = await tabFigures(page);
    const aggregatorAtEnd = session()?.aggregator;
    // After the run, with a full GC: what the tab keeps holding once training stopped.
    await cdp.send('HeapProfiler.collectGarbage').catch(() => undefined);
    const afterGc = await sample(profile, cdp, lastRound);
    const loadAfter = loadavg()[0] ?? 0;

    // Round 0 is the status's value before any round closed: rates from round 1 on.
    const rounds = [...roundTimes].filter(([round]) => round >= 1).sort((a, b) => a[0] - b[0]);
    const span = (rounds.at(-1)?.[1] ?? 0) - (rounds[0]?.[1] ?? 0);
    return {
      model,
      params,
      outcome,
      rounds: ROUNDS,
      /** The last round the server's status showed. */
      lastRound,
      headlessPeers: HEADLESS,
      headlessPeakRssMiB: ends.map((e) =>
        e.peakRssBytes === null ? null : Math.round((e.peakRssBytes / MB) * 10) / 10,
      ),
      tabBackend: tab.backend,
      chromiumArgs: args,
      roundsPerSecond: span > 0 ? Math.round(((rounds.length - 1) * 1000 * 100) / span) / 100 : null,
      tab: {
        peerId: tab.peerId,
        /** The role asked for (by join order) and whether the tab aggregated at the end. */
        role,
        /** Whether the tab aggregated any of the rounds (a takeover after the last one does not count). */
        aggregated: terms.some(
          (t) => t.peerId !== null && t.peerId === tab.peerId && t.afterRound < ROUNDS - 1,
        ),
        /** Aggregator terms after the first (a failover changes the tab's role). */
        aggregatorChanges: Math.max(0, (aggregatorAtEnd?.term ?? 1) - 1),
        terms: terms.map((t) => ({ ...t, tab: t.peerId !== null && t.peerId === tab.peerId })),
        counted: tab.countedRounds.length > 0,
        countedRounds: tab.countedRounds.length,
        firstCountedRound: tab.countedRounds[0] ?? null,
        lastTestAccuracy: tab.lastTestAccuracy,
        /** ms since the page started loading. */
        milestones: tab.milestones,
        pageErrors,
        pageWarnings,
      },
      memory: {
        samples: points.length,
        rendererRss: peakFinal(points, (p) => p.rendererRssBytes),
        /** The kernel's high-water mark of the renderer's RSS (catches peaks between samples). */
        rendererHwm: peakFinal(points, (p) => p.rendererHwmBytes),
        rendererPss: peakFinal(points, (p) => p.rendererPssBytes),
        gpuProcessRss: peakFinal(points, (p) => p.gpuRssBytes),
        browserPssSum: peakFinal(points, (p) => p.browserPssBytes),
        browserRssSum: peakFinal(points, (p) => p.browserRssSumBytes),
        jsHeapUsed: peakFinal(points, (p) => p.jsHeapUsedBytes),
        jsHeapTotal: peakFinal(points, (p) => p.jsHeapTotalBytes),
        arrayBufferBackingStores: peakFinal(points, (p) => p.backingStorageBytes),
        /** Per process type: peak RSS and Pss summed over its processes, and how many there were. */
        byType: Object.fromEntries(
          [...new Set(points.flatMap((p) => Object.keys(p.byType)))].map((type) => [
            type,
            {
              processes: Math.max(...points.map((p) => p.byType[type]?.count ?? 0)),
              rss: peakFinal(points, (p) => p.byType[type]?.rssBytes ?? null),
              pss: peakFinal(points, (p) => p.byType[type]?.pssBytes ?? null),
            },
          ]),
        ),
        midRunGc: midRunGcFigures(midRunGc),
        afterGc:
          afterGc === null
            ? null
            : {
                rendererRssMiB: Math.round((afterGc.rendererRssBytes / MB) * 10) / 10,
                jsHeapUsedMiB:
                  afterGc.jsHeapUsedBytes === null
                    ? null
                    : Math.round((afterGc.jsHeapUsedBytes / MB) * 10) / 10,
                backingStoresMiB:
                  afterGc.backingStorageBytes === null
                    ? null
                    : Math.round((afterGc.backingStorageBytes / MB) * 10) / 10,
              },
        /** Renderer RSS and JS heap used (MiB) per round seen, the first sample of each. */
        byRound: firstPerRound(points).map((p) => ({
          round: p.round,
          rendererRssMiB: Math.round((p.rendererRssBytes / MB) * 10) / 10,
          jsHeapUsedMiB: p.jsHeapUsedBytes === null ? null : Math.round((p.jsHeapUsedBytes / MB) * 10) / 10,
          backingStoresMiB:
            p.backingStorageBytes === null ? null : Math.round((p.backingStorageBytes / MB) * 10) / 10,
        })),
      },
      loadAverage: { before: loadBefore, after: loadAfter, cpus: cpus().length },
    };
  } finally {
    sampling = false;
    for (const peer of headless) peer.process.kill();
    await Promise.all(headless.map((p) => p.done));
    await context?.close();
    await rm(profile, { recursive: true, force: true });
    await rm(peerDir, { recursive: true, force: true });
  }
}

const server = await createAppServer({ buildApp, logLevel: 'silent', heartbeatIntervalMs: 1000 });
const url = await server.start({ port: 0, host: '127.0.0.1' });
try {
  const results = [];
  const roles: TabRole[] =
    values['tab-role'] === 'both' ? ['worker', 'aggregator'] : [values['tab-role'] as TabRole];
  for (const name of (values.models ?? '').split(','))
    for (const role of roles) {
      if (!(['mlp', 'mlp-large', 'mlp-xlarge', 'cnn'] as const).some((m) => m === name))
        throw new Error(`unknown model ${name}`);
      const result = await runModel(name as ArchName, role, server, url);
      results.push(result);
      const m = result.memory;
      console.log(
        `${result.model} (${result.params} params, tab ${result.tabBackend} ${result.tab.aggregated ? 'aggregator' : 'worker'}, ${result.outcome}): ` +
          `renderer RSS peak ${m.rendererRss?.peakMiB} MiB (HWM ${m.rendererHwm?.peakMiB}), final ${m.rendererRss?.finalMiB}; ` +
          `JS heap used peak ${m.jsHeapUsed?.peakMiB} MiB, final ${m.jsHeapUsed?.finalMiB}; ` +
          `array buffers peak ${m.arrayBufferBackingStores?.peakMiB} MiB, final ${m.arrayBufferBackingStores?.finalMiB}; ` +
          `gpu process ${m.gpuProcessRss?.peakMiB ?? 'none'}; browser PSS sum peak ${m.browserPssSum?.peakMiB}; ` +
          `${result.roundsPerSecond} rounds/s; tab counted in ${result.tab.countedRounds} of ${result.rounds} rounds ` +
          `(load ${result.loadAverage.before.toFixed(1)} -> ${result.loadAverage.after.toFixed(1)})`,
      );
    }
  writeResult(values.out ?? 'bench/results/tab-memory.json', {
    bench: 'tab-memory',
    command: `npm run bench:tab-memory -- ${process.argv.slice(2).join(' ')}`.trim(),
    browser: 'headless Chromium (/usr/bin/chromium)',
    date: new Date().toISOString(),
    results,
  });
  console.log(`wrote ${values.out}`);
} finally {
  await server.stop();
}
