/**
 * npm start's pace figures (client/cli/round-stats.ts) and the CPU priority a co-located
 * peer takes by role (client/cli/role-priority.ts, `liec join --worker-niceness`).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { getPriority } from 'node:os';
import test from 'node:test';
import { promisify } from 'node:util';
import { RolePriority } from '../../client/cli/role-priority.ts';
import { roundStats } from '../../client/cli/round-stats.ts';
import type { ClosedRound, Timeline } from '../../client/cli/timeline.ts';

function closed(round: number, closedAt: number, counted: number, term = 1): ClosedRound {
  return {
    round,
    term,
    closedAt,
    durationMs: 500,
    computeMs: 10,
    evalMs: 0,
    testAccuracy: null,
    counted,
    participants: [],
    late: 0,
    sync: false,
  };
}

function timeline(rounds: ClosedRound[]): Timeline {
  return { rounds, uploads: [], applied: [], models: [], roles: [], resentUploads: 0 };
}

test('pace: rounds once each (the later close of a round closed twice), per second, counted per round', () => {
  const first = timeline([closed(0, 1_000, 64), closed(1, 1_500, 60), closed(2, 2_000, 30)]);
  // A new aggregator closed round 2 again, and went on.
  const second = timeline([closed(2, 2_500, 63, 2), closed(3, 3_000, 64, 2)]);
  const stats = roundStats([first, second]);
  assert.deepEqual(stats, {
    rounds: 4,
    trainingSeconds: 2.5, // from 500 (round 0 opened) to 3000
    roundsPerSecond: 4 / 2.5,
    countedPerRound: { min: 60, median: 64, max: 64 },
  });
  assert.equal(roundStats([timeline([])]), null);
});

test('a worker runs nicer than the aggregator; a process that may not lower its niceness says so once', async () => {
  const base = getPriority();
  const priority = new RolePriority(9, () => {});
  assert.equal(priority.target('aggregator'), base);
  assert.equal(priority.target('worker'), Math.min(19, base + 9));
  assert.equal(new RolePriority(30, () => {}).target('worker'), 19);
  // In a child process: this one's niceness stays as it is.
  const script = `
    import { getPriority } from 'node:os';
    import { RolePriority } from './client/cli/role-priority.ts';
    const warnings = [];
    const p = new RolePriority(9, (m) => warnings.push(m));
    const seen = [];
    for (const role of ['worker', 'aggregator', 'worker', 'aggregator']) { p.apply(role); seen.push(getPriority()); }
    console.log(JSON.stringify({ seen, warnings }));
  `;
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--input-type=module', '-e', script],
    { cwd: new URL('../..', import.meta.url).pathname },
  );
  const { seen, warnings } = JSON.parse(stdout) as { seen: number[]; warnings: string[] };
  const worker = Math.min(19, base + 9);
  assert.equal(seen[0], worker);
  assert.equal(seen[2], worker);
  if (warnings.length === 0) {
    // Allowed to lower it again (root, CAP_SYS_NICE): the aggregator is back at the start.
    assert.deepEqual(seen, [worker, base, worker, base]);
  } else {
    // Not allowed: the aggregator stays nicer, and the process said so once.
    assert.deepEqual(seen, [worker, worker, worker, worker]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0] ?? '', /could not set niceness/);
  }
});
