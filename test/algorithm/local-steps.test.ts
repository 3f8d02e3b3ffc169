import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createAggregator,
  createWorker,
  resolveAlgorithmOptions,
  type AlgorithmSpec,
  type WorkerAlgorithm,
} from '../../shared/algorithm/index.ts';
import { createOptimizer } from '../../shared/algorithm/optimizer.ts';
import { parseCompressor } from '../../shared/compress/index.ts';
import { mean } from '../../shared/algorithm/vector.ts';
import { quadraticProblem } from './fixtures.ts';

const DIM = 120;
const WORKERS = 3;

/** Runs the engine as the callers do: H - 1 localStep calls, then prepareUpload. */
function run(spec: AlgorithmSpec, rounds: number, participates = (_i: number, _t: number) => true) {
  const options = resolveAlgorithmOptions(spec);
  const problem = quadraticProblem(DIM, WORKERS, 5);
  const workers = Array.from({ length: WORKERS }, () => createWorker(options, problem.initialModel()));
  const aggregator = createAggregator(options, DIM);
  for (let t = 0; t < rounds; t++) {
    const uploads: Float32Array[] = [];
    workers.forEach((w, i) => {
      if (!participates(i, t)) return;
      for (let h = 1; h < w.localSteps; h++) w.localStep(problem.gradient(i, w.model, t * 100 + h));
      const payload = w.prepareUpload(problem.gradient(i, w.model, t * 100 + w.localSteps), t * 10 + i);
      uploads.push(aggregator.decodeUpload(payload));
    });
    const broadcast = aggregator.aggregate(uploads, t);
    for (const w of workers) w.applyBroadcast(broadcast);
  }
  return { workers, problem, options };
}

/** The same rounds written out by hand: inner SGD per worker, outer step by the formulas. */
function reference(
  problem: ReturnType<typeof quadraticProblem>,
  rounds: number,
  h: number,
  outer: { lr: number; momentum: number },
  innerLr: number,
): Float32Array {
  const x = problem.initialModel();
  const velocity = new Float32Array(DIM);
  const inner = Array.from({ length: WORKERS }, () => createOptimizer({ learningRate: innerLr }, DIM));
  for (let t = 0; t < rounds; t++) {
    const deltas = inner.map((opt, i) => {
      const local = Float32Array.from(x);
      for (let s = 1; s <= h; s++) opt.step(local, problem.gradient(i, local, t * 100 + s));
      return Float32Array.from(x, (v, j) => v - (local[j] as number));
    });
    const c = mean(deltas, DIM);
    for (let j = 0; j < DIM; j++) {
      const cj = c[j] as number;
      if (outer.momentum === 0) {
        x[j] = (x[j] as number) - outer.lr * cj;
        continue;
      }
      const m = outer.momentum * (velocity[j] as number) + cj;
      velocity[j] = m;
      x[j] = (x[j] as number) - outer.lr * (cj + outer.momentum * m);
    }
  }
  return x;
}

const fp32 = { up: 'identity', down: 'identity', learningRate: 0.05 };

test('fedavg with one local step is synchronous SGD, bit for bit as written out', () => {
  const { workers, problem } = run({ algorithm: 'fedavg', ...fp32 }, 20);
  const expected = reference(problem, 20, 1, { lr: 1, momentum: 0 }, 0.05);
  for (const w of workers) assert.deepEqual(w.model, expected);
});

test('fedavg with H = 4 averages the locally trained models', () => {
  const { workers, problem } = run({ algorithm: 'fedavg', ...fp32, localSteps: 4 }, 15);
  const expected = reference(problem, 15, 4, { lr: 1, momentum: 0 }, 0.05);
  for (const w of workers) {
    assert.deepEqual(w.model, expected);
    assert.deepEqual(w.commonModel(), expected);
    assert.equal(w.deviationSq(), 0);
  }
});

test('diloco applies the averaged pseudo-gradient with outer Nesterov momentum (0.7, 0.9)', () => {
  const { workers, problem, options } = run({ algorithm: 'diloco', ...fp32, localSteps: 5 }, 12);
  assert.deepEqual(options.local, { steps: 5, outerLearningRate: 0.7, outerMomentum: 0.9, feedbackDecay: 0 });
  const expected = reference(problem, 12, 5, { lr: 0.7, momentum: 0.9 }, 0.05);
  for (const w of workers) assert.deepEqual(w.model, expected);
  // And that is not what fedavg computes from the same deltas.
  assert.notDeepEqual(expected, reference(problem, 12, 5, { lr: 1, momentum: 0 }, 0.05));
});

test('sparseloco sends top-k of its decayed memory and keeps the rest, exactly', () => {
  const up = 'topk:0.05:f32';
  const spec = { algorithm: 'sparseloco', up, down: 'identity', learningRate: 0.05, localSteps: 3 };
  const { workers, problem, options } = run(spec, 10);
  assert.equal(options.local?.feedbackDecay, 0.95);
  // By hand: m <- 0.95 m + delta, c_i = topk(m), m -= c_i, x <- x - mean(c_i).
  const codec = parseCompressor(up);
  const x = problem.initialModel();
  const memories = Array.from({ length: WORKERS }, () => new Float32Array(DIM));
  const inner = Array.from({ length: WORKERS }, () => createOptimizer({ learningRate: 0.05 }, DIM));
  for (let t = 0; t < 10; t++) {
    const sent = inner.map((opt, i) => {
      const local = Float32Array.from(x);
      for (let s = 1; s <= 3; s++) opt.step(local, problem.gradient(i, local, t * 100 + s));
      const m = memories[i] as Float32Array;
      // The pseudo-gradient is a float32 vector before it enters the memory.
      const delta = Float32Array.from(x, (v, j) => v - (local[j] as number));
      for (let j = 0; j < DIM; j++) m[j] = 0.95 * (m[j] as number) + (delta[j] as number);
      const c = codec.decode(codec.encode(m, t * 10 + i), DIM);
      for (let j = 0; j < DIM; j++) m[j] = (m[j] as number) - (c[j] as number);
      assert.equal(c.filter((v) => v !== 0).length, 6, 'top 5% of 120 values');
      return c;
    });
    const c = mean(sent, DIM);
    for (let j = 0; j < DIM; j++) x[j] = (x[j] as number) - (c[j] as number);
  }
  for (const w of workers) assert.deepEqual(w.model, x);
});

test('sparseloco with top-k both ways converges and keeps every worker on one model', () => {
  const spec = {
    algorithm: 'sparseloco',
    up: 'topk:0.05',
    down: 'topk:0.15',
    learningRate: 0.05,
    localSteps: 4,
  };
  const { workers, problem } = run(spec, 300);
  const first = (workers[0] as WorkerAlgorithm).model;
  for (const w of workers) assert.deepEqual(w.model, first);
  const norm = (v: Float32Array) => Math.sqrt(v.reduce((s, a) => s + a * a, 0));
  const gradientAt = (x: Float32Array) =>
    mean(
      workers.map((_, i) => problem.gradient(i, x, 0)),
      DIM,
    );
  // 0.22 measured (fedavg on fp32: 0.05): the decayed memory drops 5% of what waits each
  // round, a bias on workers with different optima.
  assert.ok(norm(gradientAt(first)) < 0.3 * norm(gradientAt(problem.initialModel())));
});

test('partial participation: a worker that sat a round out still ends on the common model', () => {
  const sitsOut = (i: number, t: number) => !(i === 2 && t % 3 === 0);
  const { workers } = run({ algorithm: 'diloco', ...fp32, localSteps: 3 }, 9, sitsOut);
  const first = (workers[0] as WorkerAlgorithm).model;
  for (const w of workers) assert.deepEqual(w.model, first);
});

test('between prepareUpload and applyBroadcast the model is the common one and no step is taken', () => {
  const options = resolveAlgorithmOptions({ algorithm: 'fedavg', ...fp32, localSteps: 2 });
  const problem = quadraticProblem(DIM, 1, 2);
  const w = createWorker(options, problem.initialModel());
  w.localStep(problem.gradient(0, w.model, 0));
  assert.notDeepEqual(w.model, problem.initialModel());
  w.prepareUpload(problem.gradient(0, w.model, 1), 0);
  assert.deepEqual(w.model, problem.initialModel());
  assert.throws(() => w.localStep(problem.gradient(0, w.model, 2)), /between prepareUpload/);
  assert.throws(() => w.prepareSync(0), /only defined for liec/);
});

test('adoptModel starts over: no memory, no momentum', () => {
  const spec = { algorithm: 'sparseloco', up: 'topk:0.05:f32', down: 'identity', learningRate: 0.05 };
  const { workers, problem } = run({ ...spec, localSteps: 2 }, 5);
  const fresh = run({ ...spec, localSteps: 2 }, 0).workers[0] as WorkerAlgorithm;
  const w = workers[0] as WorkerAlgorithm;
  w.adoptModel(problem.initialModel());
  const [a, b] = [w, fresh].map((worker) => {
    worker.localStep(problem.gradient(0, worker.model, 7));
    return worker.prepareUpload(problem.gradient(0, worker.model, 8), 3);
  });
  // Same model, same gradients: the same upload only if the memory was dropped.
  assert.deepEqual(a, b);
});

test('resolveAlgorithmOptions checks the local-step settings', () => {
  const base = { up: 'identity', down: 'identity', learningRate: 0.1 };
  assert.equal(resolveAlgorithmOptions({ algorithm: 'sgd', ...base }).local, undefined);
  assert.deepEqual(resolveAlgorithmOptions({ algorithm: 'fedavg', ...base }).local, {
    steps: 1,
    outerLearningRate: 1,
    outerMomentum: 0,
    feedbackDecay: 0,
  });
  assert.throws(() => resolveAlgorithmOptions({ algorithm: 'sgd', ...base, localSteps: 4 }), /local steps/);
  assert.throws(() => resolveAlgorithmOptions({ algorithm: 'diloco', ...base, localSteps: 0 }), /localSteps/);
  assert.throws(
    () => resolveAlgorithmOptions({ algorithm: 'diloco', ...base, localSteps: 1.5 }),
    /localSteps/,
  );
  assert.throws(
    () => resolveAlgorithmOptions({ algorithm: 'diloco', ...base, outerMomentum: 1 }),
    /outerMomentum/,
  );
  assert.throws(
    () => resolveAlgorithmOptions({ algorithm: 'fedavg', ...base, feedbackDecay: 0.9 }),
    /feedbackDecay/,
  );
});
