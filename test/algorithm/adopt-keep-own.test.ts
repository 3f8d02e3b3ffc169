/**
 * adoptModel with keepOwn: a LIEC worker that is sent a model (out of step after a failover)
 * keeps its own gradient mass that x_common lacks (deviation, error-feedback memory, a
 * residual waiting for its broadcast) on top of it, so what its next sync delivers is the
 * same as without the re-adoption; without keepOwn (a rollback, the final model) it holds the
 * model alone.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createWorker, resolveAlgorithmOptions, type AlgorithmSpec } from '../../shared/algorithm/index.ts';
import { liecOnQuadratic, quadraticProblem } from './fixtures.ts';

const DIM = 300;
const WORKERS = 3;

function setup(spec: Partial<AlgorithmSpec>) {
  const { problem, workers, aggregator } = liecOnQuadratic(
    { syncCodec: 'identity', ...spec },
    DIM,
    WORKERS,
    11,
  );
  const uploadAll = (t: number): Uint8Array[] =>
    workers.map((w, i) => w.prepareUpload(problem.gradient(i, w.model, t), t * 100 + i));
  const broadcastAll = (t: number, uploads: Uint8Array[]): void => {
    const broadcast = aggregator.aggregate(
      uploads.map((u) => aggregator.decodeUpload(u)),
      t,
    );
    for (const w of workers) w.applyBroadcast(broadcast);
  };
  for (let t = 0; t < 6; t++) broadcastAll(t, uploadAll(t));
  return { workers, aggregator, uploadAll, broadcastAll };
}

/** What worker `w`'s full sync would send, decoded (identity codec: exact). */
function owedBySync(s: ReturnType<typeof setup>, w: number): Float32Array {
  const worker = s.workers[w];
  assert.ok(worker !== undefined);
  return s.aggregator.decodeSync(worker.prepareSync(w));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs((a[i] as number) - (b[i] as number)));
  return max;
}

for (const [label, spec] of [
  ['alpha 1', { compensation: 1 }],
  ['alpha 0.5 (a memory keeps the rest)', { compensation: 0.5 }],
] as const) {
  test(`keepOwn: the worker's next sync sends what it owed before the re-adoption (${label})`, () => {
    const s = setup(spec);
    const worker = s.workers[0];
    assert.ok(worker !== undefined);
    const before = owedBySync(s, 0);
    assert.ok(
      before.some((v) => Math.abs(v) > 1e-4),
      'the worker owes something (its residuals since the start)',
    );
    // Another model, as a new aggregator would send: the common model moved on without it.
    const other = s.workers[1]?.commonModel() as Float32Array;
    for (let i = 0; i < DIM; i++) other[i] = (other[i] as number) + 0.01 * Math.sin(i);
    worker.adoptModel(other, { keepOwn: true });
    assert.deepEqual(worker.commonModel(), other, 'x_common is the model sent');
    assert.ok(maxAbsDiff(owedBySync(s, 0), before) < 1e-6, 'the same owed mass, on top of the new model');
  });
}

test('keepOwn: a residual waiting for its broadcast is kept too', () => {
  const s = setup({ compensation: 1 });
  const reference = setup({ compensation: 1 });
  // Both compute round 6's uploads; one worker re-adopts its own x_common before the broadcast.
  const uploads = s.uploadAll(6);
  const referenceUploads = reference.uploadAll(6);
  const worker = s.workers[0];
  assert.ok(worker !== undefined);
  worker.adoptModel(worker.commonModel(), { keepOwn: true });
  s.broadcastAll(6, uploads);
  reference.broadcastAll(6, referenceUploads);
  // Plain SGD steps: the residual's step moved in at the adoption instead of with the broadcast.
  assert.ok(maxAbsDiff(worker.model, reference.workers[0]?.model as Float32Array) < 1e-6);
  assert.ok(maxAbsDiff(owedBySync(s, 0), owedBySync(reference, 0)) < 1e-6);
});

test('without keepOwn (a rollback, the final model) the worker holds the model alone', () => {
  const s = setup({ compensation: 0.5 });
  const worker = s.workers[0];
  assert.ok(worker !== undefined);
  const model = s.workers[2]?.commonModel() as Float32Array;
  worker.adoptModel(model);
  assert.deepEqual(worker.model, model);
  assert.equal(worker.deviationSq(), 0);
  assert.ok(
    owedBySync(s, 0).every((v) => v === 0),
    'nothing owed',
  );
});

test('keepOwn changes nothing for the other algorithms (they keep no own model)', () => {
  const options = resolveAlgorithmOptions({
    algorithm: 'doublesqueeze',
    up: 'topk:0.05',
    down: 'topk:0.05',
    learningRate: 0.05,
  });
  const problem = quadraticProblem(DIM, 1, 5);
  const worker = createWorker(options, problem.initialModel());
  worker.prepareUpload(problem.gradient(0, worker.model, 0), 1);
  const model = problem.initialModel().map((v) => v + 1);
  worker.adoptModel(model, { keepOwn: true });
  assert.deepEqual(worker.model, model);
});
