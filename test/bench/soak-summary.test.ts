import assert from 'node:assert/strict';
import { test } from 'node:test';
import { slope, summarizeSoak, type SeriesSample } from '../../bench/soak-summary.ts';

const MIB = 1024 * 1024;

/** A sample every 10 s for `minutes`, each metric given as a function of the minute. */
function series(
  minutes: number,
  at: {
    heap?: (m: number) => number;
    tensors?: (m: number) => number;
    fds?: (m: number) => number;
  },
): SeriesSample[] {
  const samples: SeriesSample[] = [];
  for (let s = 0; s <= minutes * 60; s += 10) {
    const m = s / 60;
    samples.push({
      at: 1_700_000_000_000 + s * 1000,
      heapUsedBytes: at.heap?.(m) ?? 60 * MIB,
      tensors: at.tensors?.(m) ?? 4,
      fds: at.fds?.(m) ?? 53,
      rssBytes: 300 * MIB,
      arrayBuffersBytes: 20 * MIB,
    });
  }
  return samples;
}

test('slope: least squares, zero for a flat or degenerate series', () => {
  assert.equal(slope([0, 1, 2, 3], [1, 3, 5, 7]), 2);
  assert.equal(slope([0, 1, 2], [5, 5, 5]), 0);
  assert.equal(slope([1], [5]), 0);
  assert.equal(slope([2, 2, 2], [1, 2, 3]), 0);
});

test('flat processes with noise do not grow; the slopes are per minute', () => {
  // Mid-round samples: a few tensors and a MiB of heap come and go.
  const noisy = series(30, {
    heap: (m) => 60 * MIB + (Math.round(m * 6) % 3) * MIB,
    tensors: (m) => 4 + (Math.round(m * 6) % 2) * 3,
    fds: (m) => 53 + (Math.round(m * 6) % 2),
  });
  const summary = summarizeSoak(new Map([['p1', noisy]]));
  assert.deepEqual(summary.growing, []);
  const [p1] = summary.processes;
  assert.ok(p1 !== undefined && p1.judged);
  assert.ok(Math.abs(p1.judgedMinutes - 28) < 1e-9, `judged ${p1.judgedMinutes} min after a 2-min warm-up`);
  assert.ok(Math.abs(p1.metrics.tensors.perMinute) < 0.1);
});

test('a leak of one tensor a minute, a descriptor every 5 minutes, 300 KiB a minute: each grows', () => {
  const leaky = series(30, {
    heap: (m) => 60 * MIB + m * 300 * 1024,
    tensors: (m) => 4 + Math.floor(m),
    fds: (m) => 53 + Math.floor(m / 5),
  });
  const summary = summarizeSoak(new Map([['agg', leaky]]));
  assert.deepEqual(summary.growing, ['agg.heapUsedBytes', 'agg.tensors', 'agg.fds']);
  const agg = summary.processes[0];
  assert.ok(agg !== undefined);
  assert.ok(Math.abs(agg.metrics.heapUsedBytes.perMinute - 300 * 1024) < 1, 'heap slope in bytes/min');
});

test('the warm-up is left out, and a short-lived process is reported but not judged', () => {
  // Everything loads in the first minute, then nothing moves.
  const warming = series(20, { heap: (m) => (m < 1 ? 20 * MIB + m * 40 * MIB : 60 * MIB) });
  const churned = series(4, { tensors: (m) => 4 + Math.floor(m * 10) });
  const summary = summarizeSoak(
    new Map([
      ['p1', warming],
      ['c1', churned],
    ]),
  );
  assert.deepEqual(summary.growing, []);
  const c1 = summary.processes.find((p) => p.name === 'c1');
  assert.ok(c1 !== undefined && !c1.judged);
  assert.ok(c1.metrics.tensors.perMinute > 5, 'its slope is still reported');
});

test('a change of role is not growth: the longest stretch in one role is judged', () => {
  // A worker with 47 descriptors becomes the aggregator at minute 8 and holds 79 from then on.
  const promoted = series(30, { fds: (m) => (m < 8 ? 47 : 79) }).map((s) => ({
    ...s,
    role: (s.at - 1_700_000_000_000) / 60_000 < 8 ? 'worker' : 'aggregator',
  }));
  const summary = summarizeSoak(new Map([['p2', promoted]]));
  assert.deepEqual(summary.growing, []);
  const p2 = summary.processes[0];
  assert.ok(p2 !== undefined);
  assert.equal(p2.role, 'aggregator');
  assert.equal(p2.roleChanges, 1);
  assert.ok(Math.abs(p2.judgedMinutes - 22) < 1e-9);
  // Without the roles the same descriptors look like growth.
  const anonymous = promoted.map(({ role: _role, ...rest }) => rest);
  assert.deepEqual(summarizeSoak(new Map([['p2', anonymous]])).growing, ['p2.fds']);
});

test('ArrayBuffer memory is judged: a model copy (0.4 MB) kept every 10 s grows', () => {
  const leaky = series(30, {}).map((s, i) => ({ ...s, arrayBuffersBytes: 20 * MIB + i * 400_000 }));
  assert.deepEqual(summarizeSoak(new Map([['p1', leaky]])).growing, ['p1.arrayBuffersBytes']);
});
