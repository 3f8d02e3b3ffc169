/**
 * A short chaos session (the full one is `npm run chaos`): 4 peers as separate processes,
 * 40 rounds, one worker and the aggregator SIGKILLed and restarted with --resume, a worker
 * paused (SIGSTOP) for longer than the round deadline, a peer dropping its data channels.
 * Training finishes, nothing crashes, and every upload a live worker sent was counted or
 * folded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { accountUploads, finalAccuracy, roundRecords } from '../../bench/chaos/accounting.ts';
import type { PlannedFault } from '../../bench/chaos/plan.ts';
import { runChaosSession } from '../../bench/chaos/session.ts';
import { createSignalingServer } from '../../signaling/index.ts';

const ROUNDS = 40;
const DEADLINE_MS = 1000;

test(
  'chaos: kills, a failover, a straggler and dropped links; training finishes, no crash, no upload lost',
  // Generous caps: four peer processes restart TF.js on 2 cores; a loaded machine is slow, not wrong.
  { timeout: 420_000 },
  async (t) => {
    const server = createSignalingServer({ logLevel: 'silent' });
    await server.start({ port: 0, host: '127.0.0.1' });
    const workdir = await mkdtemp(joinPath(tmpdir(), 'liec-chaos-test-'));
    const plan: PlannedFault[] = [
      { atRound: 5, kind: 'pause' },
      { atRound: 10, kind: 'kill-worker' },
      { atRound: 16, kind: 'drop-links' },
      { atRound: 22, kind: 'kill-aggregator' },
    ];
    try {
      const run = await runChaosSession(
        server,
        {
          peers: 4,
          rounds: ROUNDS,
          deadlineMs: DEADLINE_MS,
          seed: 1,
          chaosSeed: 3,
          evalEvery: 1000,
          checkpointEvery: 2,
          restartDelayMs: 200,
          pauseMs: 1.5 * DEADLINE_MS,
          silentMs: 5000,
          slowDelayMs: 1.25 * DEADLINE_MS,
          slowRounds: 4,
          victimWaitMs: 20_000,
          drainMs: 3000,
          maxSeconds: 360,
          verbose: true,
          workdir,
          log: (line) => t.diagnostic(line),
        },
        plan,
      );
      assert.equal(run.timedOut, false, 'training finished within the cap');
      const rounds = roundRecords(run.logs);
      assert.equal(Math.max(...rounds.map((r) => r.round)), ROUNDS - 1, 'the last round closed');
      const accuracy = finalAccuracy(run.logs);
      assert.ok(accuracy !== null && accuracy > 0.1, `final accuracy ${accuracy}`);
      const crashed = run.processes.filter((p) => p.crashed);
      assert.deepEqual(crashed, [], 'no process died other than by an injected signal');
      assert.equal(run.hung, 0);
      for (const kind of ['pause', 'kill-worker', 'drop-links', 'kill-aggregator'])
        assert.ok(
          run.faults.some((f) => f.kind === kind && f.peerId !== null),
          `${kind} was carried out: ${JSON.stringify(run.faults)}`,
        );
      assert.ok(new Set(rounds.map((r) => r.term)).size >= 2, 'a new aggregator took over');
      const uploads = accountUploads(run.logs);
      assert.deepEqual(uploads.lost, [], 'every upload of a live worker was counted or folded');
      assert.ok(uploads.sent > 0);
      t.diagnostic(
        `${rounds.length} rounds in ${run.seconds.toFixed(0)} s, accuracy ${accuracy.toFixed(3)}, uploads ${uploads.sent} sent / ${uploads.counted} counted / ${uploads.folded} folded / ${uploads.lostWithAggregator.length} with a killed aggregator`,
      );
    } finally {
      await server.stop();
      await rm(workdir, { recursive: true, force: true });
    }
  },
);
