/**
 * The evaluation reporter (client/training/evaluation-reporter.ts): every `everyRounds`
 * gradients it measures the weights the learner was asked to train from, after the gradient
 * has returned, and its report carries the round the peer was in; `switchTo` moves the
 * reports to another set (a tab picking the session's test set), dropping the last report of
 * the old set and measuring at the next gradient. A stub learner: this is a unit test of the
 * reporter alone.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { reportEvaluations } from '../../client/training/evaluation-reporter.ts';
import type { Learner } from '../../client/training/learner.ts';
import type { EvaluationReport } from '../../shared/protocol/signaling.ts';

const stub: Learner = {
  numParams: 1,
  initialWeights: () => new Float32Array(1),
  gradient: () => ({ gradient: new Float32Array(1), loss: 0 }),
  evaluate: () => ({ accuracy: 0, loss: 0 }),
};

test('reports carry the round, and switchTo moves them to another set from the next gradient', async () => {
  let round = 0;
  let next: ((report: EvaluationReport) => void) | null = null;
  const reported = () => new Promise<EvaluationReport>((resolve) => (next = resolve));
  const reporting = reportEvaluations(stub, {
    everyRounds: 3,
    samples: 40,
    // The weights' only value is the accuracy they score: what was measured is visible.
    evaluate: (weights) => ({ accuracy: weights[0] ?? -1 }),
    round: () => round,
    onReport: (report) => next?.(report),
  });
  assert.deepEqual(reporting.heartbeat(), {});

  round = 7;
  let report = reported();
  reporting.learner.gradient(0, Float32Array.of(0.25));
  assert.deepEqual(await report, { accuracy: 0.25, samples: 40, round: 7, set: 'validation' });
  assert.deepEqual(reporting.heartbeat(), { evaluation: await report });
  round = 8;
  reporting.learner.gradient(0, Float32Array.of(0.5)); // gradients 2 and 3: not measured
  reporting.learner.gradient(0, Float32Array.of(0.5));

  reporting.switchTo({
    samples: 365,
    set: 'test',
    evaluate: (weights) => ({ accuracy: 1 - (weights[0] ?? 2) }),
  });
  assert.deepEqual(reporting.heartbeat(), {}, "no validation figure under the test set's name");
  round = 9;
  report = reported();
  reporting.learner.gradient(0, Float32Array.of(0.125));
  assert.deepEqual(await report, { accuracy: 0.875, samples: 365, round: 9, set: 'test' });
  assert.deepEqual(reporting.measure(Float32Array.of(0.5)), {
    accuracy: 0.5,
    samples: 365,
    round: 9,
    set: 'test',
  });
  reporting.stop();
});

test('a round source with no round yet: the report has none', () => {
  const reporting = reportEvaluations(stub, {
    everyRounds: 1,
    samples: 10,
    evaluate: () => ({ accuracy: 0.5 }),
    round: () => undefined,
  });
  assert.deepEqual(reporting.measure(new Float32Array(1)), { accuracy: 0.5, samples: 10, set: 'validation' });
});
