/**
 * The learner's per-round copies, gone (flat-io.ts): a gradient read into the caller's
 * reused vector, weights set from a view of the caller's vector where the backend copies it.
 * On both the wasm backend (heap reads, views in) and cpu (dataSync, copies in): the same
 * bits as fresh vectors, nothing of the previous round left in the reused one, and a model
 * that never follows later changes to the vector its weights came from.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { selectBackend, type BackendPreference } from '../../client/training/backend.ts';
import { createModel } from '../../client/training/model.ts';
import { loadMnist } from '../../client/training/mnist.ts';
import { createDataLearner } from '../../client/training/data-learner.ts';

const bitsOf = (x: Float32Array): Uint32Array => new Uint32Array(x.buffer, x.byteOffset, x.length);
const batchAt = (start: number): number[] => Array.from({ length: 32 }, (_, i) => start + 7 * i);

for (const backend of ['wasm', 'cpu'] as const satisfies readonly BackendPreference[]) {
  test(`${backend}: a gradient into a reused vector is the fresh one, bit for bit, round after round`, async () => {
    assert.equal(await selectBackend(backend, { log: () => {} }), backend);
    const data = await loadMnist();
    const model = createModel({ arch: 'mlp', seed: 3, hidden: 16 });
    const reused = new Float32Array(model.numParams).fill(Number.NaN);
    let previous: Uint32Array | null = null;
    try {
      for (const start of [0, 500, 1000]) {
        const fresh = model.computeGradient(data.trainImages, data.trainLabels, batchAt(start));
        const into = model.computeGradient(data.trainImages, data.trainLabels, batchAt(start), reused);
        assert.equal(into.gradient, reused, 'the gradient is the vector passed in');
        assert.equal(fresh.gradient.length, model.numParams);
        assert.deepEqual(bitsOf(into.gradient), bitsOf(fresh.gradient), `batch at ${start}`);
        assert.equal(into.loss, fresh.loss);
        // Another batch's gradient differs, so a value left from last round would show above.
        if (previous !== null) assert.notDeepEqual(bitsOf(reused), previous);
        previous = bitsOf(reused).slice();
      }
      assert.throws(
        () => model.computeGradient(data.trainImages, data.trainLabels, batchAt(0), new Float32Array(3)),
        RangeError,
      );
    } finally {
      model.dispose();
    }
  });

  test(`${backend}: weights set from the caller's vector do not follow its later changes`, async () => {
    await selectBackend(backend, { log: () => {} });
    const data = await loadMnist();
    const model = createModel({ arch: 'mlp', seed: 4, hidden: 16 });
    const twin = createModel({ arch: 'mlp', seed: 4, hidden: 16 });
    try {
      const weights = model.getWeights();
      for (let i = 0; i < weights.length; i++) weights[i] = (weights[i] as number) * 0.5 + 0.001 * (i % 7);
      const kept = weights.slice();
      model.setWeights(weights);
      twin.setWeights(kept.slice());
      // A worker steps its model vector in place right after handing it over.
      weights.fill(7);
      assert.deepEqual(bitsOf(model.getWeights()), bitsOf(kept));
      const ours = model.computeGradient(data.trainImages, data.trainLabels, batchAt(3));
      const theirs = twin.computeGradient(data.trainImages, data.trainLabels, batchAt(3));
      assert.deepEqual(bitsOf(ours.gradient), bitsOf(theirs.gradient));
    } finally {
      model.dispose();
      twin.dispose();
    }
  });
}

test("a learner's gradient is its own reused vector, each round the model's gradient at that round's weights", async () => {
  await selectBackend('wasm', { log: () => {} });
  const data = await loadMnist();
  const options = {
    workers: 2,
    partition: { kind: 'iid' as const },
    batchSize: 16,
    seed: 6,
    arch: 'mlp' as const,
  };
  const learner = createDataLearner({ ...options, data, backend: 'wasm' });
  const reference = createDataLearner({ ...options, data, backend: 'wasm' });
  try {
    const weights = learner.initialWeights();
    const first = learner.gradient(0, weights);
    const firstBits = bitsOf(first.gradient).slice();
    assert.deepEqual(firstBits, bitsOf(reference.gradient(0, weights).gradient));
    for (let i = 0; i < weights.length; i++)
      weights[i] = (weights[i] as number) - 0.1 * (first.gradient[i] as number);
    const second = learner.gradient(1, weights);
    assert.equal(second.gradient, first.gradient, 'one vector, overwritten by the next gradient()');
    assert.notDeepEqual(bitsOf(second.gradient), firstBits);
    assert.deepEqual(bitsOf(second.gradient), bitsOf(reference.gradient(1, weights).gradient));
  } finally {
    learner.dispose();
    reference.dispose();
  }
});
