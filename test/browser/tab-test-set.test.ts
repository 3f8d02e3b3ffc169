/**
 * A tab holds the session's named test set of an images task: MNIST digits written as PNG
 * files into class folders, `liec create --task images --test-set DIR` (only the folder's
 * SHA-256 goes into the session), one Chromium tab that picks its own folder and then, in the
 * "Your data" panel's second picker (`<input webkitdirectory>`, Playwright's setInputFiles), a
 * folder as the test set. The tab hashes what it was handed with WebCrypto by the rule of
 * client/training/test-set.ts: the headless peer's folder is refused with both hashes; the
 * test folder (with a hidden file in it, which both sides count) is taken, and the tab's
 * report on it, `set: 'test'`, is /status's session accuracy beside the headless peer's
 * validation report. Stops once that is seen.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main as createMain } from '../../client/cli/create.ts';
import { Peer } from '../../client/roles/peer.ts';
import { reportEvaluations, type EvaluationReporting } from '../../client/training/evaluation-reporter.ts';
import { createTaskLearner, type TaskLearner } from '../../client/training/task-learner.ts';
import { testSetSha256 } from '../../client/training/test-set.ts';
import { createAppServer } from '../../signaling/index.ts';
import { captureIo } from '../cli/capture.ts';
import { writeMnistPngs } from '../support/mnist-png.ts';
import { pollUntil } from '../support/session.ts';
import {
  buildApp,
  chromiumSkipReason,
  collectPageErrors,
  launchChromium,
  PAGE_TIMEOUT_MS,
} from './helpers.ts';

/** Digits in the tab's and the peer's folders, and in the test set. */
const PER_PEER = 400;
const TEST_DIGITS = 200;
/** More than the test waits for: it ends once the tab's test-set report is seen. */
const ROUNDS = 2000;
const TRAINING_TIMEOUT_MS = 90_000;

test(
  'a tab picks the named test set folder: another folder is refused, its report is the session accuracy',
  { skip: chromiumSkipReason(), timeout: 180_000 },
  async (t) => {
    const root = await mkdtemp(join(tmpdir(), 'liec-tab-test-set-'));
    t.after(() => rm(root, { recursive: true, force: true }));
    const [tabFolder, peerFolder, testFolder] = ['tab', 'peer', 'holdout'].map((name) => join(root, name));
    assert.ok(tabFolder !== undefined && peerFolder !== undefined && testFolder !== undefined);
    await writeMnistPngs(tabFolder, { first: 0, limit: PER_PEER, trainOnly: true });
    await writeMnistPngs(peerFolder, { first: PER_PEER, limit: PER_PEER, trainOnly: true });
    await writeMnistPngs(testFolder, { first: 2 * PER_PEER, limit: TEST_DIGITS, trainOnly: true });
    // Not an image, but part of the folder: the listing hashes every file, in the tab as in Node.
    await writeFile(join(testFolder, '.notes'), 'digits 800-999 of the package');
    const wanted = await testSetSha256(testFolder);

    const server = await createAppServer({ buildApp, logLevel: 'silent', heartbeatIntervalMs: 200 });
    const url = await server.start({ port: 0, host: '127.0.0.1' });
    t.after(() => server.stop());
    const io = captureIo();
    const flags = ['--rounds', ROUNDS, '--min-peers', 2, '--eval-every', 5, '--deadline-ms', 10_000]
      .concat(['--seed', 5])
      .map(String);
    const args = ['--server', url, '--task', 'images', '--data', tabFolder, '--test-set', testFolder];
    assert.equal(await createMain([...args, ...flags, '--json'], io), 0, io.stderr());
    const created = JSON.parse(io.stdout()) as { sessionId: string; token: string };
    const session = () => server.status().sessions.find((s) => s.sessionId === created.sessionId);
    assert.equal(session()?.config.taskSpec?.testSet?.sha256, wanted);

    const context = await launchChromium(t);
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${url}/?session=${created.sessionId}&token=${created.token}`);
    const picker = page.locator('local-data input[data-input="folder"]');
    await picker.waitFor({ timeout: PAGE_TIMEOUT_MS });
    await picker.setInputFiles(tabFolder);
    await page.locator('local-data [data-field="examples"]').waitFor({ timeout: 60_000 });

    let reporting: EvaluationReporting<TaskLearner> | null = null;
    const peer: Peer = new Peer({
      serverUrl: url,
      sessionId: created.sessionId,
      token: created.token,
      kind: 'headless',
      createLearner: async (config) => {
        const task = await createTaskLearner({ config, dataPath: peerFolder, log: () => {} });
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

    // Another folder: refused with both hashes; the panel offers the picker again.
    const testPicker = page.locator('local-data input[data-input="test-set"]');
    await testPicker.setInputFiles(peerFolder);
    const refusal = page.locator('local-data [data-field="test-set-error"]');
    await refusal.waitFor({ timeout: PAGE_TIMEOUT_MS });
    assert.equal(
      await refusal.textContent(),
      `peer: SHA-256 ${await testSetSha256(peerFolder)} is not the session's test set (${wanted})`,
    );
    await testPicker.setInputFiles(testFolder);
    const held = page.locator('local-data [data-field="test-set-examples"]');
    await held.waitFor({ timeout: PAGE_TIMEOUT_MS });
    assert.equal(await held.textContent(), String(TEST_DIGITS));

    const tested = await pollUntil(
      () => {
        const current = session();
        const tab = current?.peers.find((p) => p.kind === 'browser')?.evaluation;
        const headless = current?.peers.find((p) => p.kind === 'headless')?.evaluation;
        return tab?.set === 'test' && headless !== undefined ? current : undefined;
      },
      TRAINING_TIMEOUT_MS,
      "the tab's test-set report beside the headless peer's on /status",
    );
    const tab = tested.peers.find((p) => p.kind === 'browser')?.evaluation;
    assert.equal(tab?.samples, TEST_DIGITS);
    assert.equal(typeof tab?.round, 'number', 'the report carries its round');
    assert.equal(tested.peers.find((p) => p.kind === 'headless')?.evaluation?.set, 'validation');
    assert.deepEqual(tested.accuracy, { value: tab?.accuracy, set: 'test', samples: TEST_DIGITS, peers: 1 });
    t.diagnostic(
      `round ${tab?.round}: the tab's accuracy on the ${TEST_DIGITS} test digits ${tab?.accuracy}`,
    );
    await page
      .locator('local-data [data-field="session-accuracy-basis"]', { hasText: 'test, 1 peer' })
      .waitFor({ timeout: PAGE_TIMEOUT_MS });
    assert.deepEqual(errors, []);
  },
);
