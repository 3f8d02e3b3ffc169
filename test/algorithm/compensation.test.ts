import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  resolveAlgorithmOptions,
  sharedShare,
  type AlgorithmSpec,
  type WorkerAlgorithm,
} from '../../shared/algorithm/index.ts';
import { decodeSyncPayload, encodeSyncPayload } from '../../shared/algorithm/sync-payload.ts';
import { CodecError } from '../../shared/compress/types.ts';
import { parseSessionConfig } from '../../shared/protocol/session-config.ts';
import { liecOnQuadratic, quadraticProblem } from './fixtures.ts';

const DIM = 300;
const WORKERS = 4;

function setup(spec: Partial<AlgorithmSpec>) {
  const { options, problem, workers, aggregator } = liecOnQuadratic(spec, DIM, WORKERS, 3);
  const round = (t: number): void => {
    const uploads = workers.map((w, i) => w.prepareUpload(problem.gradient(i, w.model, t), t * 100 + i));
    const broadcast = aggregator.aggregate(
      uploads.map((u) => aggregator.decodeUpload(u)),
      t,
    );
    for (const w of workers) w.applyBroadcast(broadcast);
  };
  const sync = (seed: number): Uint8Array => {
    const deltas = workers.map((w, i) => aggregator.decodeSync(w.prepareSync(seed * 10 + i)));
    return aggregator.aggregateSync(deltas, seed);
  };
  return { options, workers, aggregator, round, sync };
}

const bits = (w: WorkerAlgorithm) => new Uint8Array(w.model.buffer.slice(0));

test('sharedShare: 1 for identical deltas, 0 for orthogonal ones of equal norm, null when unmeasurable', () => {
  const a = Float32Array.of(1, 2, 3, 0);
  assert.ok(Math.abs((sharedShare([a, a, a]) as number) - 1) < 1e-9);
  const unit = (j: number) => Float32Array.from({ length: 4 }, (_, i) => (i === j ? 2 : 0));
  assert.equal(sharedShare([unit(0), unit(1), unit(2), unit(3)]), 0);
  // Half shared, half own: D_i = S + U_i with ||S||^2 = ||U_i||^2.
  const half = [
    Float32Array.of(1, 1, 0, 0, 0),
    Float32Array.of(1, 0, 1, 0, 0),
    Float32Array.of(1, 0, 0, 1, 0),
  ];
  assert.ok(Math.abs((sharedShare(half) as number) - 0.5) < 1e-6);
  assert.equal(sharedShare([a]), null);
  assert.equal(sharedShare([new Float32Array(4), new Float32Array(4)]), null);
});

test('a sync payload carries the share ahead of the codec body; a bad header is a CodecError', () => {
  const body = Uint8Array.of(9, 8, 7);
  assert.deepEqual(decodeSyncPayload(encodeSyncPayload(0.25, body)), { shared: 0.25, body });
  assert.equal(decodeSyncPayload(encodeSyncPayload(null, body)).shared, null);
  for (const bad of [Uint8Array.of(1, 2), encodeSyncPayload(1.5, body), encodeSyncPayload(-0.1, body)])
    assert.throws(
      () => decodeSyncPayload(bad),
      (e: unknown) => e instanceof CodecError,
    );
});

test('compensation 0 is DoubleSqueeze bit for bit (without syncs): every residual is sent later', () => {
  const liec = setup({ compensation: 0, syncPeriod: 0 });
  const ds = setup({ algorithm: 'doublesqueeze' });
  for (let t = 0; t < 15; t++) {
    liec.round(t);
    ds.round(t);
  }
  for (let i = 0; i < WORKERS; i++)
    assert.deepEqual(bits(liec.workers[i] as WorkerAlgorithm), bits(ds.workers[i] as WorkerAlgorithm));
});

test("'auto' starts at 0 and takes alpha from each sync; shared data raise it, workers' own data keep it low", () => {
  const { workers, round, sync } = setup({ syncCodec: 'identity' });
  assert.ok(workers.every((w) => w.compensation === 0));
  for (let t = 0; t < 10; t++) round(t);
  const payload = sync(1);
  const shared = decodeSyncPayload(payload).shared as number;
  assert.ok(shared > 0 && shared < 1, `measured ${shared}`);
  for (const w of workers) w.applySync(payload, true);
  assert.ok(workers.every((w) => w.compensation === shared));
  // The quadratic workers have targets of their own (label skew in miniature): low share.
  assert.ok(shared < 0.5, `own targets: ${shared}`);
  const same = setup({ syncCodec: 'identity' });
  // Every worker the same gradient (worker 0's): all of it shared.
  for (let t = 0; t < 10; t++) {
    const g = quadraticProblem(DIM, WORKERS, 3).gradient(0, (same.workers[0] as WorkerAlgorithm).model, t);
    const uploads = same.workers.map((w) => w.prepareUpload(g, t));
    const broadcast = same.aggregator.aggregate(
      uploads.map((u) => same.aggregator.decodeUpload(u)),
      t,
    );
    for (const w of same.workers) w.applyBroadcast(broadcast);
  }
  assert.ok((decodeSyncPayload(same.sync(2)).shared as number) > 0.99);
});

test('the final sync leaves every worker on the same bits with a lossy codec, counted or not', () => {
  for (const compensation of ['auto', 1, 0.5] as const) {
    const { workers, round, sync } = setup({ syncCodec: 'sign:256', compensation, syncPeriod: 5 });
    for (let t = 0; t < 12; t++) {
      round(t);
      if (t === 5) {
        const payload = sync(t);
        workers.forEach((w, i) => w.applySync(payload, i !== 3));
      }
    }
    const final = sync(99);
    for (const w of workers) w.applyFinalSync(final);
    for (const w of workers.slice(1))
      assert.deepEqual(bits(w), bits(workers[0] as WorkerAlgorithm), `compensation ${compensation}`);
    assert.deepEqual(workers[0]?.commonModel(), workers[0]?.model);
  }
});

test('sessions take compensation "auto" by default, or a number in [0, 1]', () => {
  assert.equal(parseSessionConfig({}).compensation, 'auto');
  assert.equal(parseSessionConfig({ compensation: 0.3 }).compensation, 0.3);
  for (const bad of [1.5, -1, 'always']) assert.throws(() => parseSessionConfig({ compensation: bad }));
  assert.throws(
    () =>
      resolveAlgorithmOptions({
        algorithm: 'liec',
        up: 'identity',
        down: 'identity',
        learningRate: 0.1,
        compensation: '2',
      }),
    /compensation/,
  );
});
