/**
 * `npm start`'s session accuracy is the one the signaling server states on /status (the
 * members' own reports weighted by their sizes), followed while the peers train, not a mean
 * the demo computes itself. A real demo: its in-process server, two `liec join` processes over
 * real WebRTC, seattle-weather.csv of vega-datasets split between them. And the rule that picks
 * which /status figure to keep while members leave one by one.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { demoSummary, keepSessionAccuracy, main as demoMain } from '../../client/cli/demo.ts';
import type { PeerSummary } from '../../client/cli/join.ts';
import { sessionAccuracyText } from '../../client/cli/session-accuracy.ts';
import type { SessionAccuracy } from '../../shared/protocol/signaling-status.ts';
import { captureIo } from './capture.ts';

const WEATHER = 'node_modules/vega-datasets/data/seattle-weather.csv';

const figure = (value: number, peers: number, set: SessionAccuracy['set'] = 'validation') => ({
  value,
  set,
  samples: 100 * peers,
  peers,
});

test('the kept figure: the last over the most members, a test-set figure over a validation one', () => {
  let kept: SessionAccuracy | null = null;
  for (const seen of [undefined, figure(0.5, 1), figure(0.6, 2), figure(0.7, 2), figure(0.9, 1), undefined])
    kept = keepSessionAccuracy(kept, seen);
  assert.deepEqual(
    kept,
    figure(0.7, 2),
    'a member left: its report no longer counts, the figure before stays',
  );
  assert.deepEqual(keepSessionAccuracy(figure(0.7, 2), figure(0.4, 1, 'test')), figure(0.4, 1, 'test'));
  assert.deepEqual(keepSessionAccuracy(figure(0.4, 1, 'test'), figure(0.7, 2)), figure(0.4, 1, 'test'));
  // Without a followed figure (an mnist task), no session accuracy in the summary.
  const meta = {
    peerCount: 0,
    rounds: 1,
    algorithm: 'liec',
    up: 'identity',
    down: 'identity',
    wallSeconds: 1,
  };
  assert.equal('sessionAccuracy' in demoSummary([], meta, []).final, false);
  // A short run can end within one poll of /status: what each peer read at its end (once every
  // final report was in) counts too, the figure over the most members kept.
  const peer = (peerId: string, sessionAccuracy: SessionAccuracy): PeerSummary => ({
    peerId,
    role: 'worker',
    round: 39,
    finalTestAccuracy: null,
    modelSha256: 'ab',
    sessionTestAccuracy: null,
    sessionAccuracy,
    backend: 'wasm',
    aggregatorChanges: 0,
    frameBytes: { up: 0, down: 0 },
    wire: { sent: 0, received: 0 },
    rejections: {},
    timeline: { rounds: [], uploads: [], applied: [], models: [], roles: [], resentUploads: 0 },
    interrupted: false,
    cpuSeconds: 1.5,
  });
  const merged = demoSummary(
    [peer('a', figure(0.7, 2)), peer('b', figure(0.8, 1))],
    meta,
    [0, 0],
    figure(0.6, 1),
  );
  assert.deepEqual(merged.final.sessionAccuracy, figure(0.7, 2));
});

test(
  'npm start --task csv: the summary`s session accuracy is /status`s, over every peer`s validation part',
  { timeout: 120_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'liec-demo-accuracy-'));
    t.after(() => rm(dir, { recursive: true, force: true }));
    const out = join(dir, 'summary.json');
    const io = captureIo();
    const task = ['--task', 'csv', '--data', WEATHER, '--label', 'weather'];
    const settings = [
      '--features',
      'precipitation,temp_max,temp_min,wind',
      '--eval-every',
      '5',
      '--seed',
      '5',
    ];
    const code = await demoMain(
      [...task, ...settings, '--peers', '2', '--rounds', '40', '--port', '0', '--out', out],
      io,
    );
    assert.equal(code, 0, io.stderr());
    const summary = JSON.parse(await readFile(out, 'utf8')) as ReturnType<typeof demoSummary>;
    const accuracy = summary.final.sessionAccuracy;
    assert.ok(accuracy !== undefined, 'a csv demo has a session accuracy');
    const examples = summary.peers.reduce((sum, p) => sum + (p.validation?.examples ?? 0), 0);
    assert.deepEqual(
      { set: accuracy.set, peers: accuracy.peers, samples: accuracy.samples },
      {
        set: 'validation',
        peers: 2,
        samples: examples,
      },
    );
    assert.ok(accuracy.value >= 0 && accuracy.value <= 1);
    assert.ok(summary.final.testAccuracy !== null, 'final.testAccuracy: the held-back part, as before');
    // Each peer process's own CPU time: some, and no more than its wall time on every core.
    const cpuCeiling = 2 * summary.wallSeconds * availableParallelism();
    assert.ok(
      summary.peerCpuSeconds > 0 && summary.peerCpuSeconds <= cpuCeiling,
      `peers' CPU ${summary.peerCpuSeconds} s`,
    );
    assert.ok(io.stdout().includes(`${sessionAccuracyText(accuracy)}\n`), io.stdout());
    const own = summary.peers.map(
      (p) => `${p.validation?.accuracy?.toFixed(3)} on ${p.validation?.examples}`,
    );
    t.diagnostic(
      `session ${accuracy.value.toFixed(4)} (peers' final models: ${own.join(', ')}); held-back test ${summary.final.testAccuracy.toFixed(4)}`,
    );
  },
);
