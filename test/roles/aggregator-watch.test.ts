/**
 * AggregatorWatch on a fake clock: which reason it reports (faulty before silent before
 * stalled), nothing while the aggregator is fine or merely slow, a report again only every
 * aggregatorSilenceMs while the cause lasts, at once after reset(); before the first round a
 * silence counts only past waitingSilenceMs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AggregatorWatch,
  type AggregatorReport,
  type AggregatorView,
} from '../../client/roles/aggregator-watch.ts';

const SETTINGS = { aggregatorSilenceMs: 1500, aggregatorStallMs: 10_000, waitingSilenceMs: 15_000 };
const heard = { ms: 100, limitMs: 1500, silent: false };
const quiet = { ms: 1600, limitMs: 1500, silent: true };
const view = (over: Partial<AggregatorView>): AggregatorView => ({
  aggregatorId: 'agg',
  term: 3,
  silence: heard,
  faulty: false,
  uploadWaitMs: null,
  trainingStarted: true,
  ...over,
});

test('AggregatorWatch reports faulty, silent or stalled, and repeats only every aggregatorSilenceMs', () => {
  let now = 0;
  const reports: AggregatorReport[] = [];
  const watch = new AggregatorWatch({ settings: SETTINGS, report: (r) => reports.push(r), now: () => now });

  watch.check(view({}));
  watch.check(view({ uploadWaitMs: 9_999 })); // slow, not stalled
  assert.deepEqual(reports, []);

  watch.check(view({ uploadWaitMs: 10_001 }));
  assert.deepEqual(reports.at(-1), { aggregatorId: 'agg', term: 3, reason: 'stalled', forMs: 10_001 });
  now += 1000;
  watch.check(view({ silence: quiet, uploadWaitMs: 11_001 }));
  assert.equal(reports.length, 1, 'not again within aggregatorSilenceMs');
  now += 600;
  watch.check(view({ silence: quiet, uploadWaitMs: 11_601 }));
  assert.deepEqual(reports.at(-1), { aggregatorId: 'agg', term: 3, reason: 'silent', forMs: 1600 });

  now += 100;
  watch.check(view({}));
  watch.check(view({ faulty: true, silence: quiet }));
  assert.deepEqual(
    reports.at(-1),
    { aggregatorId: 'agg', term: 3, reason: 'faulty', forMs: 0 },
    'the cause ended: at once',
  );
  watch.check(view({ faulty: true }));
  assert.equal(reports.length, 3);
  watch.reset();
  watch.check(view({ faulty: true }));
  assert.equal(reports.length, 4, 'reset: at once');
});

test('before the first round an aggregator is silent only past waitingSilenceMs', () => {
  const reports: AggregatorReport[] = [];
  const watch = new AggregatorWatch({ settings: SETTINGS, report: (r) => reports.push(r), now: () => 0 });
  const waiting = (ms: number) =>
    view({ trainingStarted: false, silence: { ms, limitMs: 1500, silent: ms > 1500 } });
  watch.check(waiting(1600));
  watch.check(waiting(15_000));
  assert.equal(reports.length, 0, 'waiting for peers: a few seconds of silence are no fault');
  watch.check(waiting(15_001));
  assert.equal(reports.length, 1);
  assert.deepEqual(reports.at(-1), { aggregatorId: 'agg', term: 3, reason: 'silent', forMs: 15_001 });
  watch.reset();
  watch.check(view({ trainingStarted: false, faulty: true }));
  assert.equal(reports.at(-1)?.reason, 'faulty', 'invalid frames count at once, training or not');
});
