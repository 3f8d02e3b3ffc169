/**
 * The session's live accuracy on a csv task, end to end: the real seattle-weather.csv of
 * vega-datasets cut into three files, one per peer (`liec create --task csv`, three
 * `liec join --data FILE` over real WebRTC on loopback, a real signaling server). While they
 * train, /status shows each peer's accuracy of its own model on its own validation part and
 * the session's accuracy, which equals their mean weighted by the validation sizes; each
 * peer's summary carries the session accuracy /status gave once it had reported its final one.
 * With a test set the creator names (`liec create --test-set FILE`, only its SHA-256 goes
 * into the session), the peer that holds it (`liec join --test-data FILE`) reports on it and
 * that is the session's accuracy; a file with another hash is refused.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { main as createMain } from '../../client/cli/create.ts';
import { main as joinMain, type PeerSummary } from '../../client/cli/join.ts';
import { signalingStatusSchema, type SessionStatus } from '../../shared/protocol/signaling-status.ts';
import { createSignalingServer } from '../../signaling/index.ts';
import { captureIo } from '../cli/capture.ts';
import { pollUntil, withTimeout } from '../support/session.ts';

const WEATHER = 'node_modules/vega-datasets/data/seattle-weather.csv';
const PEERS = 3;
const ROUNDS = 150;
/** Checked once every peer has reported a model of this round or later (trained, not the seed's). */
const LIVE_ROUND = 50;
const FEATURES = 'precipitation,temp_max,temp_min,wind';

/** The file's rows dealt round-robin into `count` files with its header. */
async function dealRows(dir: string, count: number): Promise<string[]> {
  const [header, ...rows] = (await readFile(WEATHER, 'utf8')).trim().split('\n');
  assert.ok(header !== undefined);
  return Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const file = join(dir, `weather-${i}.csv`);
      await writeFile(file, [header, ...rows.filter((_, r) => r % count === i)].join('\n'));
      return file;
    }),
  );
}

/** The weighted mean as the test computes it from one snapshot's per-peer reports. */
function weightedMean(session: SessionStatus): { value: number; samples: number } {
  const reports = session.peers.flatMap((p) => (p.evaluation === undefined ? [] : [p.evaluation]));
  const samples = reports.reduce((sum, r) => sum + r.samples, 0);
  return { value: reports.reduce((sum, r) => sum + r.accuracy * r.samples, 0) / samples, samples };
}

test(
  'csv task: /status shows the session accuracy as the validation-size-weighted mean of the peers',
  { timeout: 120_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'liec-acc-'));
    // Heartbeats every 100 ms so the reports reach /status while training runs.
    const server = createSignalingServer({ logLevel: 'silent', heartbeatIntervalMs: 100 });
    const url = await server.start({ port: 0 });
    try {
      const files = await dealRows(dir, PEERS);
      const created = captureIo();
      const createArgs = ['--server', url, '--task', 'csv', '--data', WEATHER, '--label', 'weather'];
      const settings = ['--features', FEATURES, '--rounds', String(ROUNDS), '--min-peers', String(PEERS)];
      const more = ['--eval-every', '5', '--seed', '5', '--json'];
      assert.equal(await createMain([...createArgs, ...settings, ...more], created), 0, created.stderr());
      const { sessionId, token } = JSON.parse(created.stdout()) as { sessionId: string; token: string };

      const ios = files.map(() => captureIo());
      const joined = files.map((file, i) =>
        joinMain(
          [
            ...['--server', url, '--session', sessionId, '--token', token],
            ...['--data', file, '--summary-out', join(dir, `summary-${i}.json`)],
            // One peer logs (its summary lines are checked); the others stay quiet.
            ...(i === 0 ? [] : ['--quiet']),
          ],
          ios[i] ?? captureIo(),
        ),
      );
      // A snapshot while every peer has reported (the peers leave once training ends).
      const live = await pollUntil(
        () => {
          const session = server.status().sessions.find((s) => s.sessionId === sessionId);
          const reported =
            session?.peers.filter((p) => (p.evaluation?.round ?? -1) >= LIVE_ROUND).length ?? 0;
          return session !== undefined && reported === PEERS ? session : undefined;
        },
        90_000,
        `all three peers reporting their validation accuracy after round ${LIVE_ROUND}`,
      );
      // The same on the wire, through the schema a dashboard validates with.
      const wire = signalingStatusSchema.parse(await (await fetch(`${url}/status`)).json());
      assert.ok(wire.sessions.some((s) => s.sessionId === sessionId && s.accuracy !== undefined));

      const expected = weightedMean(live);
      assert.ok(live.accuracy !== undefined);
      assert.equal(live.accuracy.set, 'validation');
      assert.equal(live.accuracy.peers, PEERS);
      assert.equal(live.accuracy.samples, expected.samples);
      assert.ok(
        Math.abs(live.accuracy.value - expected.value) < 1e-12,
        `${live.accuracy.value} vs ${expected.value}`,
      );
      t.diagnostic(
        `live: ${live.peers.map((p) => `${p.peerId} ${p.evaluation?.accuracy.toFixed(3)} on ${p.evaluation?.samples} at round ${p.evaluation?.round}`).join(', ')}; session ${live.accuracy.value.toFixed(4)}`,
      );

      const codes = await withTimeout(Promise.all(joined), 100_000, 'the three liec join to finish');
      codes.forEach((code, i) => assert.equal(code, 0, ios[i]?.stderr()));
      const summaries = await Promise.all(
        files.map(
          async (_, i) => JSON.parse(await readFile(join(dir, `summary-${i}.json`), 'utf8')) as PeerSummary,
        ),
      );
      const sizes = new Map(live.peers.map((p) => [p.peerId, p.evaluation?.samples]));
      for (const [i, summary] of summaries.entries()) {
        assert.equal(summary.round, ROUNDS, 'every round trained');
        assert.equal(
          sizes.get(summary.peerId),
          summary.validation?.examples,
          'reported on its validation part',
        );
        assert.ok(summary.sessionAccuracy != null, `peer ${i} read the session's accuracy`);
        if (i === 0)
          assert.match(
            ios[i]?.stderr() ?? '',
            /session accuracy \d+\.\d\d% \(validation, [1-3] peers, \d+ examples\)/,
          );
      }
      // Every peer read /status after its own final report; trained well past the seed's ~5%.
      const finals = summaries.map((s) => s.sessionAccuracy?.value ?? 0);
      t.diagnostic(
        `final session accuracies as each peer read them: ${finals.map((v) => v.toFixed(4)).join(', ')}`,
      );
      assert.ok(Math.max(...finals) > 0.6, `session accuracy ${finals.join(', ')}`);
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
);

test(
  'csv task with a named test set: the peer holding it reports on it, and that is the session accuracy',
  { timeout: 120_000 },
  async (t) => {
    const dir = await mkdtemp(join(tmpdir(), 'liec-testset-'));
    const server = createSignalingServer({ logLevel: 'silent', heartbeatIntervalMs: 100 });
    const url = await server.start({ port: 0 });
    try {
      // Every 4th row is the test set; the rest dealt to two peers.
      const [header, ...rows] = (await readFile(WEATHER, 'utf8')).trim().split('\n');
      assert.ok(header !== undefined);
      const holdout = join(dir, 'holdout.csv');
      const testRows = rows.filter((_, r) => r % 4 === 3);
      await writeFile(holdout, [header, ...testRows].join('\n'));
      const files = [0, 1].map((i) => join(dir, `peer-${i}.csv`));
      const rest = rows.filter((_, r) => r % 4 !== 3);
      await Promise.all(
        files.map((file, i) => writeFile(file, [header, ...rest.filter((_, r) => r % 2 === i)].join('\n'))),
      );
      const created = captureIo();
      const createArgs = ['--server', url, '--task', 'csv', '--data', WEATHER, '--label', 'weather'];
      const settings = ['--features', FEATURES, '--rounds', '100', '--min-peers', '2', '--eval-every', '5'];
      assert.equal(
        await createMain(
          [...createArgs, ...settings, '--test-set', holdout, '--seed', '5', '--json'],
          created,
        ),
        0,
        created.stderr(),
      );
      const { sessionId, token } = JSON.parse(created.stdout()) as { sessionId: string; token: string };
      const config = server.status().sessions.find((s) => s.sessionId === sessionId)?.config;
      const sha256 = createHash('sha256')
        .update(await readFile(holdout))
        .digest('hex');
      assert.equal(config?.taskSpec?.testSet?.sha256, sha256, "only the file's SHA-256 is in the session");

      const joinArgs = ['--server', url, '--session', sessionId, '--token', token, '--quiet'];
      const ios = files.map(() => captureIo());
      const summaryFile = join(dir, 'summary-0.json');
      const joined = [
        joinMain(
          [...joinArgs, '--data', files[0] ?? '', '--test-data', holdout, '--summary-out', summaryFile],
          ios[0] ?? captureIo(),
        ),
        joinMain([...joinArgs, '--data', files[1] ?? ''], ios[1] ?? captureIo()),
      ];
      const live = await pollUntil(
        () => {
          const session = server.status().sessions.find((s) => s.sessionId === sessionId);
          const reported = session?.peers.filter((p) => (p.evaluation?.round ?? -1) >= 20).length ?? 0;
          return session !== undefined && reported === 2 ? session : undefined;
        },
        90_000,
        'both peers reporting after round 20',
      );
      const tested = live.peers.filter((p) => p.evaluation?.set === 'test');
      assert.equal(tested.length, 1, 'one peer holds the test set');
      assert.equal(tested[0]?.evaluation?.samples, testRows.length);
      assert.deepEqual(live.accuracy, {
        value: tested[0]?.evaluation?.accuracy,
        set: 'test',
        samples: testRows.length,
        peers: 1,
      });
      t.diagnostic(
        `round ${live.aggregator.lastRound}: ${live.peers.map((p) => `${p.evaluation?.set} ${p.evaluation?.accuracy.toFixed(3)} on ${p.evaluation?.samples}`).join(', ')}`,
      );

      const codes = await withTimeout(Promise.all(joined), 100_000, 'both liec join to finish');
      codes.forEach((code, i) => assert.equal(code, 0, ios[i]?.stderr()));
      const summary = JSON.parse(await readFile(summaryFile, 'utf8')) as PeerSummary;
      assert.equal(summary.testSet?.examples, testRows.length);
      assert.equal(summary.sessionAccuracy?.set, 'test');
      assert.equal(
        summary.sessionAccuracy?.value,
        summary.testSet?.accuracy,
        'its final model on the test set',
      );
      t.diagnostic(`final test-set accuracy ${summary.testSet?.accuracy}`);
      assert.ok((summary.testSet?.accuracy ?? 0) > 0.6);

      // A file that is not the named test set: refused, naming both hashes.
      const wrong = captureIo();
      assert.equal(
        await joinMain([...joinArgs, '--data', files[1] ?? '', '--test-data', files[0] ?? ''], wrong),
        1,
      );
      assert.match(
        wrong.stderr(),
        new RegExp(
          `--test-data .*peer-0\\.csv: SHA-256 [0-9a-f]{64} is not the session's test set \\(${sha256}\\)`,
        ),
      );
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
);
