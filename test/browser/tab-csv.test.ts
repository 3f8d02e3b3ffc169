/**
 * A tab trains on a CSV file the user picks: the real seattle-weather.csv of vega-datasets,
 * every 4th row the session's named test set (`liec create --test-set`), the rest cut in two
 * (for the tab and a headless peer), a csv session (`liec create --task csv`), one Chromium tab
 * that picks its file in the "Your data" panel (Playwright's setInputFiles). The panel shows
 * the file's row count and class balance; the tab trains, measures its own model on its
 * validation part and sends that, with the round it was measured in, with its heartbeats:
 * /status shows it beside the headless peer's, and their size-weighted mean is the session
 * accuracy the panel shows beside the tab's own. Then the tab picks the test set in the
 * panel's second picker: its own file is refused (both SHA-256s named), the holdout is taken,
 * and /status's session accuracy becomes the tab's test-set report, as with `liec join
 * --test-data`. Stops once that is seen (no need to wait for the last round).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main as createMain } from '../../client/cli/create.ts';
import { Peer } from '../../client/roles/peer.ts';
import { reportEvaluations, type EvaluationReporting } from '../../client/training/evaluation-reporter.ts';
import { createTaskLearner, type TaskLearner } from '../../client/training/task-learner.ts';
import type { SessionStatus } from '../../shared/protocol/signaling-status.ts';
import { createAppServer } from '../../signaling/index.ts';
import { captureIo } from '../cli/capture.ts';
import { pollUntil } from '../support/session.ts';
import {
  buildApp,
  chromiumSkipReason,
  collectPageErrors,
  launchChromium,
  PAGE_TIMEOUT_MS,
} from './helpers.ts';

const WEATHER = 'node_modules/vega-datasets/data/seattle-weather.csv';
const CLASSES = ['drizzle', 'fog', 'rain', 'snow', 'sun'];
/** More than the test waits for: it ends once the tab's reports are seen. */
const ROUNDS = 2000;
const TRAINING_TIMEOUT_MS = 90_000;

test(
  'a tab picks a CSV file: row count, class balance, its validation accuracy and the session accuracy, then the named test set',
  { skip: chromiumSkipReason(), timeout: 180_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'liec-tab-csv-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const [header, ...rows] = (await readFile(WEATHER, 'utf8')).trim().split('\n');
    assert.ok(header !== undefined);
    const testRows = rows.filter((_, i) => i % 4 === 3);
    const rest = rows.filter((_, i) => i % 4 !== 3);
    const tabRows = rest.filter((_, i) => i % 2 === 0);
    const tabFile = join(dir, 'tab-weather.csv');
    const peerFile = join(dir, 'peer-weather.csv');
    const holdout = join(dir, 'holdout.csv');
    await writeFile(tabFile, [header, ...tabRows].join('\n'));
    await writeFile(peerFile, [header, ...rest.filter((_, i) => i % 2 === 1)].join('\n'));
    await writeFile(holdout, [header, ...testRows].join('\n'));
    const sha256 = async (file: string) =>
      createHash('sha256')
        .update(await readFile(file))
        .digest('hex');
    const expectedBalance = CLASSES.map(
      (name) => `${name}: ${tabRows.filter((row) => row.endsWith(`,${name}`)).length}`,
    );

    // Heartbeats (and so the tab's /status polls) every 200 ms: reports show up while training runs.
    const server = await createAppServer({ buildApp, logLevel: 'silent', heartbeatIntervalMs: 200 });
    const url = await server.start({ port: 0, host: '127.0.0.1' });
    t.after(() => server.stop());
    const io = captureIo();
    const flags = [
      '--rounds',
      ROUNDS,
      '--min-peers',
      2,
      '--eval-every',
      5,
      '--deadline-ms',
      10_000,
      '--seed',
      5,
    ]
      .concat(['--label', 'weather', '--features', 'precipitation,temp_max,temp_min,wind'])
      .map(String);
    const args = ['--server', url, '--task', 'csv', '--data', WEATHER, '--test-set', holdout, '--json'];
    assert.equal(await createMain([...args, ...flags], io), 0, io.stderr());
    const created = JSON.parse(io.stdout()) as { sessionId: string; token: string };

    const context = await launchChromium(t);
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${url}/?session=${created.sessionId}&token=${created.token}`);
    const picker = page.locator('local-data input[data-input="csv"]');
    await picker.waitFor({ timeout: PAGE_TIMEOUT_MS });
    await picker.setInputFiles(tabFile);
    const examples = page.locator('local-data [data-field="examples"]');
    await examples.waitFor({ timeout: PAGE_TIMEOUT_MS });
    assert.equal(await examples.textContent(), String(tabRows.length));
    const balance = await page.locator('local-data [data-field="class-balance"] li').allTextContents();
    assert.deepEqual(
      balance.map((text) => text.trim()),
      expectedBalance,
    );
    const tabValidation = await page.evaluate(() => window.liecTabData?.summary?.validation ?? 0);
    assert.ok(
      tabValidation > 0.15 * tabRows.length && tabValidation < 0.25 * tabRows.length,
      `${tabValidation}`,
    );

    // The headless peer reports as `liec join --data` does (client/cli/join.ts).
    let reporting: EvaluationReporting<TaskLearner> | null = null;
    const peer: Peer = new Peer({
      serverUrl: url,
      sessionId: created.sessionId,
      token: created.token,
      kind: 'headless',
      createLearner: async (config) => {
        const task = await createTaskLearner({ config, dataPath: peerFile, log: () => {} });
        reporting = reportEvaluations(task, {
          everyRounds: config.evalEvery,
          samples: task.counts.validation,
          evaluate: (weights) => task.evaluate(weights),
          round: () => peer.round,
        });
        return reporting.learner;
      },
      onJoined: (client) => client.addToHeartbeats(() => reporting?.heartbeat() ?? {}),
    });
    t.after(() => peer.leave());
    await peer.start();

    // /status: the tab's report (kind browser, its validation size, the round it was measured
    // in) beside the peer's, trained a while.
    const live = await pollUntil(
      () => {
        const session = server.status().sessions.find((s) => s.sessionId === created.sessionId);
        const reporting = session?.peers.filter((p) => (p.evaluation?.round ?? -1) >= 20) ?? [];
        return reporting.length === 2 && reporting.some((p) => p.kind === 'browser') ? session : undefined;
      },
      TRAINING_TIMEOUT_MS,
      'both peers reporting their validation accuracy measured after round 20',
    );
    const tab = live.peers.find((p) => p.kind === 'browser');
    assert.equal(tab?.evaluation?.samples, tabValidation, "the tab's report weighs its validation part");
    assert.equal(tab?.evaluation?.set, 'validation', 'the tab has not picked the test set yet');
    assert.ok(
      (tab?.evaluation?.round ?? Infinity) <= live.aggregator.lastRound + 1,
      `the tab's round ${tab?.evaluation?.round} is one the session has reached (${live.aggregator.lastRound})`,
    );
    assertWeightedMean(live);
    t.diagnostic(
      `round ${live.aggregator.lastRound}: ${live.peers.map((p) => `${p.kind} ${p.evaluation?.accuracy.toFixed(3)} on ${p.evaluation?.samples}`).join(', ')}; session ${live.accuracy?.value.toFixed(4)}`,
    );

    // The panel: the tab's own figure beside the session's, over both peers.
    await page
      .locator('local-data [data-field="session-accuracy-basis"]', { hasText: '2 peers' })
      .waitFor({ timeout: PAGE_TIMEOUT_MS });
    assert.match(
      (await page.locator('local-data [data-field="local-accuracy"]').textContent()) ?? '',
      /^\d+\.\d%$/,
    );
    assert.match(
      (await page.locator('local-data [data-field="session-accuracy"]').textContent()) ?? '',
      /^\d+\.\d%$/,
    );
    assert.match(
      (await page.locator('local-data [data-field="session-accuracy-basis"]').textContent()) ?? '',
      /validation, 2 peers,\s+\d+ examples/,
    );
    // The overview shows it too (a watching tab has no data panel).
    assert.match(
      (await page.locator('session-overview [data-field="session-accuracy"]').textContent()) ?? '',
      /\d+\.\d %\s+validation, 2 of 2/,
    );
    const shown = await page.evaluate(() => window.liecTabData?.validationAccuracy ?? null);
    assert.ok(shown !== null && shown >= 0 && shown <= 1);

    // The session's test set: the panel's second picker names its hash; the tab's own file is refused.
    const wanted = await sha256(holdout);
    assert.equal(await page.locator('local-data [data-field="test-set-sha256"]').textContent(), wanted);
    const testPicker = page.locator('local-data input[data-input="test-set"]');
    await testPicker.setInputFiles(tabFile);
    const refusal = page.locator('local-data [data-field="test-set-error"]');
    await refusal.waitFor({ timeout: PAGE_TIMEOUT_MS });
    assert.equal(
      await refusal.textContent(),
      `tab-weather.csv: SHA-256 ${await sha256(tabFile)} is not the session's test set (${wanted})`,
    );
    await testPicker.setInputFiles(holdout);
    const held = page.locator('local-data [data-field="test-set-examples"]');
    await held.waitFor({ timeout: PAGE_TIMEOUT_MS });
    assert.equal(await held.textContent(), String(testRows.length));

    // /status: the tab's test-set report is the session's accuracy; the peer's validation one no longer counts.
    const tested = await pollUntil(
      () => {
        const session = server.status().sessions.find((s) => s.sessionId === created.sessionId);
        const report = session?.peers.find((p) => p.kind === 'browser')?.evaluation;
        return report?.set === 'test' ? session : undefined;
      },
      TRAINING_TIMEOUT_MS,
      "the tab's test-set report on /status",
    );
    const tabTest = tested.peers.find((p) => p.kind === 'browser')?.evaluation;
    assert.equal(tabTest?.samples, testRows.length);
    assert.ok((tabTest?.round ?? -1) >= (tab?.evaluation?.round ?? Infinity), 'measured after the switch');
    assert.equal(
      tested.peers.find((p) => p.kind === 'headless')?.evaluation?.set,
      'validation',
      'the headless peer still reports',
    );
    assert.deepEqual(tested.accuracy, {
      value: tabTest?.accuracy,
      set: 'test',
      samples: testRows.length,
      peers: 1,
    });
    t.diagnostic(
      `round ${tabTest?.round}: the tab's test-set accuracy ${tabTest?.accuracy.toFixed(3)} on ${tabTest?.samples} rows is the session's`,
    );
    await page
      .locator('local-data [data-field="session-accuracy-basis"]', { hasText: 'test, 1 peer' })
      .waitFor({ timeout: PAGE_TIMEOUT_MS });
    assert.match(
      (await page.locator('local-data [data-field="test-accuracy"]').textContent()) ?? '',
      /^\d+\.\d%$/,
    );
    assert.deepEqual(errors, []);
  },
);

function assertWeightedMean(session: SessionStatus): void {
  const reports = session.peers.flatMap((p) => (p.evaluation === undefined ? [] : [p.evaluation]));
  const samples = reports.reduce((sum, r) => sum + r.samples, 0);
  const mean = reports.reduce((sum, r) => sum + r.accuracy * r.samples, 0) / samples;
  assert.equal(session.accuracy?.samples, samples);
  assert.ok(
    Math.abs((session.accuracy?.value ?? -1) - mean) < 1e-12,
    `${session.accuracy?.value} vs ${mean}`,
  );
}
