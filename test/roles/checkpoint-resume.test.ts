/**
 * `liec join --checkpoint-dir DIR --resume` end to end, with real processes: a worker that
 * checkpoints every round is SIGKILLed (possibly mid-write), its checkpoint is valid and not
 * the seed model, and the restarted process continues from it and is counted again. A file
 * cut short makes `--resume` fail with a coded error and exit 1, not crash.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEventLog, resumeReports } from '../../bench/chaos/accounting.ts';
import { checkpointDirOf, spawnJoin, type JoinProcess } from '../../bench/chaos/processes.ts';
import {
  CHECKPOINT_FILE,
  readCheckpointFile,
  writeCheckpointFile,
} from '../../client/roles/checkpoint-file.ts';
import { architecture, initialWeights } from '../../client/training/architectures.ts';
import { parseSessionConfig } from '../../shared/protocol/session-config.ts';
import { explainedBy, type ExplainableChild } from '../support/children.ts';
import { recordPeer } from '../support/recorder.ts';
import { startTestSession, withTimeout } from '../support/session.ts';

const CLI_MAIN = fileURLToPath(new URL('../../client/cli/main.ts', import.meta.url));

test(
  'a worker killed with SIGKILL while checkpointing every round resumes and is counted again, not from the seed',
  { timeout: 150_000 },
  async (t) => {
    const seed = 3;
    const session = await startTestSession({
      rounds: 1000,
      minPeers: 2,
      roundDeadlineMs: 1500,
      evalEvery: 1000,
      seed,
    });
    const workdir = await mkdtemp(joinPath(tmpdir(), 'liec-resume-'));
    const children: JoinProcess[] = [];
    const common = { server: session.url, sessionId: session.sessionId, token: session.token, workdir };
    try {
      const aggregator = await session.addPeer({ peerId: 'agg' });
      const log = recordPeer(aggregator);
      const first = spawnJoin({ ...common, peerId: 'w-ckpt', checkpointEvery: 1, verbose: true });
      children.push(first);
      // A failure says what the children did and what the server and the aggregator saw.
      const explain = <T>(promise: Promise<T>): Promise<T> =>
        explainedBy(promise, children.map(explainable), () =>
          JSON.stringify({ status: session.status(), rounds: log.events.round.slice(-3) }),
        );
      await explain(
        log.next('round', (e) => e.participants.includes('w-ckpt') && e.round >= 8, 90_000, 'w-ckpt counted'),
      );
      first.signal('SIGKILL');
      await withTimeout(first.exited, 10_000, 'w-ckpt to die');
      const killedAt = performance.timeOrigin + performance.now();

      const saved = await readCheckpointFile(checkpointDirOf(workdir, 'w-ckpt'));
      assert.equal(saved.peerId, 'w-ckpt');
      assert.equal(saved.sessionId, session.sessionId);
      assert.ok(saved.round >= 1, `checkpoint of round ${saved.round}`);
      const seedModel = initialWeights(architecture('mlp', 128), seed);
      assert.equal(saved.model.length, seedModel.length);
      assert.ok(
        saved.model.some((x, i) => x !== seedModel[i]),
        'the checkpointed model has trained past the seed',
      );

      const resumed = spawnJoin({ ...common, peerId: 'w-ckpt', resume: true, incarnation: 1 });
      children.push(resumed);
      assert.ok(resumed.resumed);
      const again = await explain(
        log.next(
          'round',
          (e) => e.at > killedAt && e.participants.includes('w-ckpt'),
          90_000,
          'w-ckpt counted again',
        ),
      );
      const events = parseEventLog(await readFile(resumed.eventsPath, 'utf8'));
      const restored = events.find((e) => e.type === 'model');
      assert.deepEqual(
        restored?.type === 'model' ? { source: restored.source, round: restored.round } : null,
        { source: 'checkpoint', round: saved.round },
        'its first model is the checkpoint',
      );
      const [report] = resumeReports([{ peerId: 'w-ckpt', incarnation: 1, killedAt: null, events }]);
      assert.ok(report !== undefined && report.outcome !== 'never taken back', JSON.stringify(report));
      t.diagnostic(
        `checkpoint of round ${saved.round}; resumed: ${report.outcome}; counted again in round ${again.round}`,
      );
      log.stop();
    } finally {
      for (const c of children) c.signal('SIGKILL');
      await Promise.all(children.map((c) => c.exited));
      await session.close();
      await rm(workdir, { recursive: true, force: true });
    }
  },
);

test('--resume from a truncated checkpoint exits 1 with CHECKPOINT_TRUNCATED, from none with CHECKPOINT_NOT_FOUND', async () => {
  const workdir = await mkdtemp(joinPath(tmpdir(), 'liec-resume-bad-'));
  const dir = joinPath(workdir, 'ckpt');
  const run = async () => {
    const args = ['--import', 'tsx', CLI_MAIN, 'join', '--server', 'http://127.0.0.1:9', '--token', 't'];
    const child = spawn(process.execPath, [...args, '--checkpoint-dir', dir, '--resume'], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    return { code, stderr };
  };
  try {
    const missing = await run();
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /CHECKPOINT_NOT_FOUND/);
    await mkdir(dir, { recursive: true });
    const model = new Float32Array(1000).fill(0.5);
    await writeCheckpointFile(dir, {
      sessionId: 'session-0001',
      peerId: 'w1',
      config: parseSessionConfig({}),
      round: 4,
      term: 1,
      shard: 0,
      savedAt: Date.now(),
      reason: 'periodic',
      model,
      common: model,
    });
    await truncate(joinPath(dir, CHECKPOINT_FILE), 3000);
    const truncated = await run();
    assert.equal(truncated.code, 1);
    assert.match(truncated.stderr, /cannot resume: CHECKPOINT_TRUNCATED/);
    assert.doesNotMatch(truncated.stderr, /at .*\.ts:\d+/, 'no stack trace');
  } finally {
    await rm(workdir, { recursive: true, force: true });
  }
});

function explainable(join: JoinProcess): ExplainableChild {
  return { peerId: join.peerId, child: join.child, stderr: () => join.stderrTail() };
}
