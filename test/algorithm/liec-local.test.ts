import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  createAggregator,
  createWorker,
  resolveAlgorithmOptions,
  syncFlushStep,
  type AlgorithmSpec,
  type WorkerAlgorithm,
} from '../../shared/algorithm/index.ts';
import { InnerSteps, lastStepDescent } from '../../shared/algorithm/liec-local.ts';
import { createOptimizer } from '../../shared/algorithm/optimizer.ts';
import { decodeSyncPayload } from '../../shared/algorithm/sync-payload.ts';
import { mean } from '../../shared/algorithm/vector.ts';
import { parseCompressor } from '../../shared/compress/index.ts';
import { quadraticProblem } from './fixtures.ts';

const DIM = 120;
const WORKERS = 3;
const LR = 0.05;

/** One exchange as the callers drive it: H - 1 localStep calls, then prepareUpload. */
function upload(w: WorkerAlgorithm, problem: ReturnType<typeof quadraticProblem>, i: number, t: number) {
  for (let h = 1; h < w.localSteps; h++) w.localStep(problem.gradient(i, w.model, t * 100 + h));
  return w.prepareUpload(problem.gradient(i, w.model, t * 100 + w.localSteps), t * 10 + i);
}

function setup(spec: AlgorithmSpec) {
  const options = resolveAlgorithmOptions(spec);
  const problem = quadraticProblem(DIM, WORKERS, 7);
  const workers = Array.from({ length: WORKERS }, () => createWorker(options, problem.initialModel()));
  const aggregator = createAggregator(options, DIM);
  return { options, problem, workers, aggregator };
}

function runRounds(setupResult: ReturnType<typeof setup>, rounds: number): void {
  const { problem, workers, aggregator } = setupResult;
  for (let t = 0; t < rounds; t++) {
    const uploads = workers.map((w, i) => aggregator.decodeUpload(upload(w, problem, i, t)));
    const broadcast = aggregator.aggregate(uploads, t);
    for (const w of workers) w.applyBroadcast(broadcast);
  }
}

test('liec takes local steps only with H > 1, with fedavg outer defaults', () => {
  const base = { up: 'topk:0.01', down: 'topk:0.01', learningRate: 0.1 };
  const local = resolveAlgorithmOptions({ algorithm: 'liec', ...base, localSteps: 4 });
  assert.deepEqual(local.local, { steps: 4, outerLearningRate: 1, outerMomentum: 0, feedbackDecay: 0 });
  assert.equal(syncFlushStep(local), 1, 'e and d are pseudo-gradients: one unit moves the model by one');
  const tuned = resolveAlgorithmOptions({
    algorithm: 'liec',
    ...base,
    localSteps: 4,
    outerLearningRate: 0.5,
    outerMomentum: 0.5,
  });
  assert.equal(syncFlushStep(tuned), 1);
  const oneStep = resolveAlgorithmOptions({ algorithm: 'liec', ...base, localSteps: 1 });
  assert.equal(oneStep.local, undefined);
  assert.equal(syncFlushStep({ ...oneStep, momentum: 0.5 }), 0.2);
  assert.throws(
    () => resolveAlgorithmOptions({ algorithm: 'liec', ...base, outerLearningRate: 0.5 }),
    /liec with localSteps > 1/,
  );
  assert.throws(
    () => resolveAlgorithmOptions({ algorithm: 'doublesqueeze', ...base, localSteps: 2 }),
    /local steps/,
  );
  assert.throws(
    () => resolveAlgorithmOptions({ algorithm: 'liec', ...base, localSteps: 4, feedbackDecay: 0.9 }),
    /feedbackDecay/,
  );
  assert.equal(createWorker(local, new Float32Array(8)).localSteps, 4);
  assert.equal(createWorker(oneStep, new Float32Array(8)).localSteps, 1);
});

test('InnerSteps: H steps on x_local, then x_i - x_local (plus a memory) with x_i only read', () => {
  const inner = new InnerSteps({ learningRate: 0.5 }, 3);
  const own = Float32Array.of(1, 2, 3);
  assert.equal(inner.running, false);
  assert.equal(inner.liveModel(own), own, 'between exchanges the live model is x_i');
  inner.step(own, Float32Array.of(1, 0, -2));
  assert.deepEqual(inner.liveModel(own), Float32Array.of(0.5, 2, 4), 'x_local');
  assert.deepEqual(own, Float32Array.of(1, 2, 3), 'x_i untouched');
  const delta = inner.finish(own, Float32Array.of(1, 4, 0), Float32Array.of(10, 20, 30));
  assert.deepEqual(delta, Float32Array.of(11, 22, 29), 'x_i - x_local + memory');
  assert.deepEqual(own, Float32Array.of(1, 2, 3));
  assert.equal(inner.running, false);
  assert.equal(inner.liveModel(own), own);
  assert.throws(() => inner.finish(own, new Float32Array(2)), RangeError);
});

for (const options of [
  { learningRate: 0.3 },
  { learningRate: 0.3, momentum: 0.9 },
  { learningRate: 0.3, weightDecay: 0.01 },
  { learningRate: 0.3, momentum: 0.5, weightDecay: 0.01 },
]) {
  test(`lastStepDescent is a step, a subtraction and an add, bit for bit: ${JSON.stringify(options)}`, () => {
    const length = 257;
    const random = (k: number) => Float32Array.from({ length }, (_, i) => Math.sin(i * 12.9898 + k) * 3.7);
    const origin = random(1);
    const memory = random(4);
    for (const plus of [null, memory]) {
      const separate = createOptimizer(options, length);
      const fused = createOptimizer(options, length);
      for (let t = 0; t < 3; t++) {
        const local = random(2 + t);
        const gradient = random(7 + t);
        const stepped = Float32Array.from(local);
        separate.step(stepped, gradient);
        const expected = new Float32Array(length);
        for (let i = 0; i < length; i++) expected[i] = (origin[i] as number) - (stepped[i] as number);
        if (plus !== null)
          for (let i = 0; i < length; i++) expected[i] = (expected[i] as number) + (plus[i] as number);
        const before = Float32Array.from(local);
        const out = lastStepDescent(new Float32Array(length), origin, local, gradient, fused, plus);
        assert.deepEqual(out, expected);
        assert.deepEqual(local, before, 'x_local is not written');
        assert.deepEqual(fused.velocity, separate.velocity, 'the same momentum');
      }
    }
  });
}

test('liec H = 4 with exact codecs is fedavg H = 4, bit for bit', () => {
  const spec = { up: 'identity', down: 'identity', learningRate: LR, localSteps: 4, syncPeriod: 0 };
  const liec = setup({ algorithm: 'liec', ...spec, compensation: 1 });
  const fedavg = setup({ algorithm: 'fedavg', ...spec });
  runRounds(liec, 12);
  runRounds(fedavg, 12);
  const expected = (fedavg.workers[0] as WorkerAlgorithm).model;
  for (const w of liec.workers) {
    assert.deepEqual(w.model, expected);
    assert.deepEqual(w.commonModel(), expected);
    assert.equal(w.deviationSq(), 0);
  }
});

test('liec H = 3, top-k both ways, alpha 1: the rounds written out by hand, bit for bit', () => {
  const up = 'topk:0.05:f32';
  const spec = {
    algorithm: 'liec',
    up,
    down: up,
    learningRate: LR,
    localSteps: 3,
    syncPeriod: 0,
    compensation: 1,
  };
  const s = setup(spec);
  const rounds = 10;
  runRounds(s, rounds);
  // By hand: inner SGD from x_i, delta = x_i - x_local, c_i = topk(delta), r_i = delta - c_i;
  // v = mean c_i + e, c = topk(v), e = v - c; x_i -= c + r_i; x_common -= c.
  const codec = parseCompressor(up);
  const own = Array.from({ length: WORKERS }, () => s.problem.initialModel());
  const common = s.problem.initialModel();
  const inner = Array.from({ length: WORKERS }, () => createOptimizer({ learningRate: LR }, DIM));
  const e = new Float32Array(DIM);
  for (let t = 0; t < rounds; t++) {
    const residuals: Float32Array[] = [];
    const sent = own.map((x, i) => {
      const local = Float32Array.from(x);
      for (let h = 1; h <= 3; h++)
        (inner[i] as ReturnType<typeof createOptimizer>).step(
          local,
          s.problem.gradient(i, local, t * 100 + h),
        );
      const delta = Float32Array.from(x, (v, j) => v - (local[j] as number));
      const c = codec.decode(codec.encode(delta, t * 10 + i), DIM);
      residuals.push(Float32Array.from(delta, (v, j) => v - (c[j] as number)));
      return c;
    });
    const v = mean(sent, DIM);
    for (let j = 0; j < DIM; j++) v[j] = (v[j] as number) + (e[j] as number);
    const c = codec.decode(codec.encode(v, t), DIM);
    for (let j = 0; j < DIM; j++) e[j] = (v[j] as number) - (c[j] as number);
    own.forEach((x, i) => {
      const r = residuals[i] as Float32Array;
      for (let j = 0; j < DIM; j++)
        x[j] = (x[j] as number) - Math.fround((c[j] as number) + (r[j] as number));
    });
    for (let j = 0; j < DIM; j++) common[j] = (common[j] as number) - (c[j] as number);
  }
  s.workers.forEach((w, i) => {
    assert.deepEqual(w.model, own[i]);
    assert.deepEqual(w.commonModel(), common);
    assert.ok(w.deviationSq() > 0, 'own residuals moved x_i off x_common');
  });
  assert.deepEqual(s.aggregator.error, e);
});

test('nothing is dropped: an exact sync lands every worker on x0 minus the sum of mean pseudo-gradients', () => {
  // z = mean(x_i - d_i) - e moves by exactly -mean(delta_i) every exchange, whatever alpha and
  // the codecs drop (they only delay); an identity sync hands every worker z.
  const up = 'topk:0.05';
  const s = setup({
    algorithm: 'liec',
    up,
    down: up,
    learningRate: LR,
    localSteps: 4,
    syncPeriod: 0,
    syncCodec: 'identity',
    compensation: 0.5,
  });
  const z = Float64Array.from(s.problem.initialModel());
  for (let t = 0; t < 15; t++) {
    const uploads = s.workers.map((w, i) => {
      const start = Float32Array.from(w.model);
      for (let h = 1; h < w.localSteps; h++) w.localStep(s.problem.gradient(i, w.model, t * 100 + h));
      const last = s.problem.gradient(i, w.model, t * 100 + w.localSteps);
      // The last inner step, as plain SGD takes it (in float32), gives x_local.
      for (let j = 0; j < DIM; j++) {
        const local = Math.fround((w.model[j] as number) - LR * (last[j] as number));
        z[j] = (z[j] as number) - ((start[j] as number) - local) / WORKERS;
      }
      const payload = w.prepareUpload(last, t * 10 + i);
      assert.deepEqual(w.model, start, 'between exchanges the live model is x_i');
      return s.aggregator.decodeUpload(payload);
    });
    const broadcast = s.aggregator.aggregate(uploads, t);
    for (const w of s.workers) w.applyBroadcast(broadcast);
  }
  assert.ok(s.workers.some((w) => w.deviationSq() > 0));
  const deltas = s.workers.map((w, i) => s.aggregator.decodeSync(w.prepareSync(100 + i)));
  const payload = s.aggregator.aggregateSync(deltas, 7);
  assert.equal(decodeSyncPayload(payload).body.length > 0, true);
  s.workers.forEach((w) => w.applySync(payload, true));
  let worst = 0;
  for (const w of s.workers) {
    assert.deepEqual(w.model, (s.workers[0] as WorkerAlgorithm).model, 'one model after an exact sync');
    for (let j = 0; j < DIM; j++)
      worst = Math.max(worst, Math.abs((w.model[j] as number) - (z[j] as number)));
    assert.equal(w.deviationSq(), 0);
  }
  assert.ok(worst < 1e-5, `synced model within 1e-5 of the fedavg-like sum, got ${worst}`);
});

test("mid-exchange: deviation is x_i's, no local step while an upload is pending, adoptModel starts over", () => {
  const s = setup({
    algorithm: 'liec',
    up: 'topk:0.05',
    down: 'topk:0.05',
    learningRate: LR,
    localSteps: 3,
    compensation: 1,
  });
  runRounds(s, 3);
  const w = s.workers[0] as WorkerAlgorithm;
  const before = w.deviationSq();
  assert.ok(before > 0);
  // After a sync the cached deviation is gone and measured again: from x_i, not x_local.
  const deltas = s.workers.map((x, i) => s.aggregator.decodeSync(x.prepareSync(i)));
  const synced = s.aggregator.aggregateSync(deltas, 1);
  for (const x of s.workers) x.applySync(synced, false);
  const afterSync = w.deviationSq();
  w.localStep(s.problem.gradient(0, w.model, 900));
  w.localStep(s.problem.gradient(0, w.model, 901));
  assert.equal(w.deviationSq(), afterSync);
  w.prepareUpload(s.problem.gradient(0, w.model, 902), 3);
  assert.throws(() => w.localStep(s.problem.gradient(0, w.model, 903)), /between prepareUpload/);
  const fresh = s.problem.initialModel();
  w.adoptModel(fresh);
  assert.deepEqual(w.model, fresh);
  assert.equal(w.hasPendingUpload, false);
  w.localStep(s.problem.gradient(0, w.model, 904));
  w.adoptModel(fresh);
  assert.deepEqual(w.model, fresh, 'an exchange in progress is dropped');
  assert.equal(w.deviationSq(), 0);
  const oneStep = createWorker(
    resolveAlgorithmOptions({ algorithm: 'liec', up: 'identity', down: 'identity', learningRate: LR }),
    fresh,
  );
  assert.throws(() => oneStep.localStep(new Float32Array(DIM)), /no local steps/);
});
