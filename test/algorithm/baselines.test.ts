import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createAggregator, createWorker, resolveAlgorithmOptions } from '../../shared/algorithm/index.ts';
import { createOptimizer } from '../../shared/algorithm/optimizer.ts';
import { mean } from '../../shared/algorithm/vector.ts';
import { quadraticProblem } from './fixtures.ts';

const DIM = 150;
const WORKERS = 3;

function run(algorithm: string, up: string, down: string, rounds: number) {
  const options = resolveAlgorithmOptions({ algorithm, up, down, learningRate: 0.05 });
  const problem = quadraticProblem(DIM, WORKERS, 3);
  const workers = Array.from({ length: WORKERS }, () => createWorker(options, problem.initialModel()));
  const aggregator = createAggregator(options, DIM);
  for (let t = 0; t < rounds; t++) {
    const uploads = workers.map((w, i) => w.prepareUpload(problem.gradient(i, w.model, t), t * 10 + i));
    const payload = aggregator.aggregate(
      uploads.map((u) => aggregator.decodeUpload(u)),
      t,
    );
    for (const w of workers) w.applyBroadcast(payload);
  }
  return { workers, problem, options };
}

for (const algorithm of ['sgd', 'ef-sgd', 'doublesqueeze'] as const) {
  test(`${algorithm} with identity compressors is exactly synchronous SGD`, () => {
    const { workers, problem, options } = run(algorithm, 'identity', 'identity', 25);
    const reference = problem.initialModel();
    const opt = createOptimizer(options, DIM);
    for (let t = 0; t < 25; t++) {
      opt.step(
        reference,
        mean(
          workers.map((_, i) => problem.gradient(i, reference, t)),
          DIM,
        ),
      );
    }
    for (const w of workers) assert.deepEqual(w.model, reference);
  });
}

for (const [algorithm, down] of [
  ['ef-sgd', 'identity'],
  ['doublesqueeze', 'topk:0.1'],
] as const) {
  test(`${algorithm} keeps every worker on one model and converges with top-k up`, () => {
    const { workers, problem } = run(algorithm, 'topk:0.1', down, 300);
    const first = workers[0]!.model;
    for (const w of workers) assert.deepEqual(w.model, first);
    // Gradient norm at the end is far below the start: error feedback delivered the dropped mass.
    const norm = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0));
    const start = mean(
      workers.map((_, i) => problem.gradient(i, problem.initialModel(), 0)),
      DIM,
    );
    const end = mean(
      workers.map((_, i) => problem.gradient(i, first, 0)),
      DIM,
    );
    assert.ok(norm(end) < norm(start) / 3, `${norm(start)} -> ${norm(end)}`);
  });
}

test('ef-sgd refuses a compressed downlink with a clear error', () => {
  assert.throws(
    () => resolveAlgorithmOptions({ algorithm: 'ef-sgd', up: 'topk:0.1', down: 'sign', learningRate: 0.1 }),
    /ef-sgd sends full precision down/,
  );
  assert.throws(
    () => resolveAlgorithmOptions({ algorithm: 'adam', up: 'identity', down: 'identity', learningRate: 0.1 }),
    /unknown algorithm/,
  );
});
