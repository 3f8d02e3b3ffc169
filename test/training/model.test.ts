import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../client/training/backend.ts';
import { createModel } from '../../client/training/model.ts';
import { architecture, conv3x3Relu, initialWeights } from '../../client/training/architectures.ts';
import { gatherBatch } from '../../client/training/batches.ts';
import { loadMnist } from '../../client/training/mnist.ts';
import type { MnistData } from '../../client/training/mnist.ts';
import { TrainingError } from '../../client/training/errors.ts';

let data: MnistData;
before(async () => {
  await selectBackend(undefined, { log: () => {} });
  data = await loadMnist();
});

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof TrainingError, String(error));
    return error.code;
  }
  return 'no error';
};

const firstN = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

test('weights start from the seed, round-trip through setWeights, and are copied', () => {
  const model = createModel({ arch: 'mlp', seed: 5 });
  assert.equal(model.numParams, 784 * 128 + 128 + 128 * 10 + 10);
  assert.deepEqual(
    model.layout.map((p) => [p.name, p.offset, p.size]),
    [
      ['dense1/kernel', 0, 100352],
      ['dense1/bias', 100352, 128],
      ['dense2/kernel', 100480, 1280],
      ['dense2/bias', 101760, 10],
    ],
  );
  const initial = model.getWeights();
  assert.deepEqual(initial, initialWeights(architecture('mlp', 128), 5));
  const other = createModel({ arch: 'mlp', seed: 6 });
  assert.notDeepEqual(other.getWeights(), initial);
  other.dispose();

  const replacement = Float32Array.from(initial, (w, i) => w * 0.5 + (i % 7) * 1e-3);
  model.setWeights(replacement);
  assert.deepEqual(model.getWeights(), replacement);
  const expected = replacement.slice();
  replacement.fill(9); // the model must hold its own copy
  assert.deepEqual(model.getWeights(), expected);
  model.dispose();
});

test('setWeights rejects wrong lengths and non-finite values, leaving the weights unchanged', () => {
  const model = createModel({ arch: 'mlp', seed: 1, hidden: 8 });
  const before = model.getWeights();
  assert.equal(
    codeOf(() => model.setWeights(new Float32Array(model.numParams - 1))),
    'WEIGHTS_LENGTH_MISMATCH',
  );
  for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    const vector = before.slice();
    vector[model.numParams - 1] = bad;
    assert.equal(
      codeOf(() => model.setWeights(vector)),
      'NON_FINITE_WEIGHTS',
    );
  }
  assert.deepEqual(model.getWeights(), before);
  model.dispose();
  assert.equal(
    codeOf(() => model.getWeights()),
    'MODEL_DISPOSED',
  );
  assert.equal(
    codeOf(() => createModel({ arch: 'mlp', seed: 1, hidden: 0 })),
    'BAD_OPTION',
  );
});

test('computeGradient validates its batch and never changes the weights', () => {
  const model = createModel({ arch: 'mlp', seed: 2, hidden: 16 });
  const before = model.getWeights();
  const { gradient, loss } = model.computeGradient(data.trainImages, data.trainLabels, firstN(32));
  assert.equal(gradient.length, model.numParams);
  assert.ok(gradient.every(Number.isFinite));
  assert.ok(loss > 0 && Number.isFinite(loss));
  assert.deepEqual(model.getWeights(), before);

  // Indices into the full set give the same result as the gathered batch on its own.
  const batch = [5, 17, 4000, 7999];
  const gathered = gatherBatch(data.trainImages, data.trainLabels, batch);
  const viaIndices = model.computeGradient(data.trainImages, data.trainLabels, batch);
  const direct = model.computeGradient(gathered.images, [...gathered.labels]);
  assert.deepEqual(viaIndices.gradient, direct.gradient);
  assert.equal(viaIndices.loss, direct.loss);

  assert.equal(
    codeOf(() => model.computeGradient(data.trainImages, data.trainLabels, [8000])),
    'BAD_BATCH',
  );
  assert.equal(
    codeOf(() => model.computeGradient(data.trainImages, data.trainLabels, [])),
    'BAD_BATCH',
  );
  assert.equal(
    codeOf(() => model.computeGradient(new Float32Array(784), [10])),
    'BAD_BATCH',
  );
  assert.equal(
    codeOf(() => model.computeGradient(new Float32Array(783), [1])),
    'BAD_BATCH',
  );
  model.dispose();
});

/** Central differences on the coordinates with the largest gradient in each parameter. */
function checkGradient(arch: 'mlp' | 'cnn', batchSize: number, relativeTolerance: number): void {
  const model = createModel({ arch, seed: 3, hidden: 16 });
  const batch = firstN(batchSize);
  // Biases start at 0, which puts blank-pixel pre-activations exactly on the ReLU kink,
  // where a central difference measures half a one-sided slope. Move them off it.
  const weights = model.getWeights();
  for (const p of model.layout.filter((q) => q.name.endsWith('/bias'))) {
    for (let i = 0; i < p.size; i++) weights[p.offset + i] = 0.02 + 0.01 * (i % 5);
  }
  model.setWeights(weights);
  const { gradient } = model.computeGradient(data.trainImages, data.trainLabels, batch);
  const lossAt = (w: Float32Array): number => {
    model.setWeights(w);
    return model.computeGradient(data.trainImages, data.trainLabels, batch).loss;
  };
  const eps = 1e-3;
  for (const p of model.layout) {
    const coords = firstN(p.size)
      .map((i) => p.offset + i)
      .sort((a, b) => Math.abs(gradient[b] ?? 0) - Math.abs(gradient[a] ?? 0))
      .slice(0, 2);
    for (const i of coords) {
      const plus = weights.slice();
      const minus = weights.slice();
      plus[i] = (plus[i] ?? 0) + eps;
      minus[i] = (minus[i] ?? 0) - eps;
      const numeric = (lossAt(plus) - lossAt(minus)) / (2 * eps);
      const analytic = gradient[i] ?? 0;
      // float32 losses: rounding error of the difference quotient is about 1e-4.
      const tolerance = 1e-3 + relativeTolerance * Math.abs(analytic);
      assert.ok(
        Math.abs(numeric - analytic) < tolerance,
        `${arch} ${p.name}[${i - p.offset}]: analytic ${analytic}, numeric ${numeric}`,
      );
    }
  }
  model.dispose();
}

test('MLP gradient matches finite differences', () => checkGradient('mlp', 16, 0.02));
// Max pooling and two ReLU layers put some of the 4 x 784 positions a bias moves within eps
// of a kink, so the CNN's difference quotients are looser; exactness is checked below.
test('CNN gradient matches finite differences', () => checkGradient('cnn', 4, 0.06));

test('the im2col convolution equals tf.conv2d', () => {
  tf.tidy(() => {
    const x = tf.randomUniform([2, 6, 5, 3], -1, 1, 'float32', 1) as tf.Tensor4D;
    const kernel = tf.randomUniform([3, 3, 3, 4], -1, 1, 'float32', 2) as tf.Tensor4D;
    const bias = tf.randomUniform([4], -1, 1, 'float32', 3);
    const expected = tf.relu(tf.add(tf.conv2d(x, kernel, 1, 'same'), bias));
    const actual = conv3x3Relu(x, kernel, bias, true);
    assert.deepEqual(actual.shape, expected.shape);
    const diff = tf.max(tf.abs(tf.sub(actual, expected))).dataSync()[0] ?? 1;
    assert.ok(diff < 1e-5, `max difference ${diff}`);
  });
});

test('evaluate is chunk-size independent and reports a fraction', () => {
  const model = createModel({ arch: 'mlp', seed: 4, hidden: 16, evalChunkSize: 7 });
  const reference = createModel({ arch: 'mlp', seed: 4, hidden: 16 });
  const images = data.testImages.subarray(0, 100 * 784);
  const labels = data.testLabels.subarray(0, 100);
  const a = model.evaluate(images, labels);
  const b = reference.evaluate(images, labels);
  assert.ok(a.accuracy >= 0 && a.accuracy <= 1);
  assert.equal(a.accuracy, b.accuracy);
  assert.ok(Math.abs(a.loss - b.loss) < 1e-5);
  assert.equal(Math.round(a.accuracy * 100), a.accuracy * 100, 'a whole number of hits');
  model.dispose();
  reference.dispose();
});

test('no tensors leak over 50 setWeights + gradient + evaluate steps', () => {
  const model = createModel({ arch: 'mlp', seed: 7 });
  const weights = model.getWeights();
  const images = data.testImages.subarray(0, 200 * 784);
  const labels = data.testLabels.subarray(0, 200);
  const step = (k: number): void => {
    model.setWeights(weights);
    const { gradient } = model.computeGradient(
      data.trainImages,
      data.trainLabels,
      firstN(32).map((i) => i + k),
    );
    for (let i = 0; i < weights.length; i++) weights[i] = (weights[i] ?? 0) - 0.05 * (gradient[i] ?? 0);
    model.evaluate(images, labels);
    model.getWeights();
  };
  step(0);
  const baseline = tf.memory().numTensors;
  for (let k = 1; k <= 50; k++) step(k);
  assert.equal(tf.memory().numTensors, baseline);
  model.dispose();
  assert.equal(tf.memory().numTensors, baseline - 4, 'dispose releases the four variables');
});

test('CNN gradient equals TF.js autodiff of the same network built from tf.conv2d (cpu)', async () => {
  await selectBackend('cpu', { log: () => {} }); // wasm has no Conv2DBackpropFilter for the reference
  const model = createModel({ arch: 'cnn', seed: 8 });
  const weights = model.getWeights();
  for (let i = 0; i < weights.length; i++) weights[i] = (weights[i] ?? 0) + 0.01 * Math.sin(i);
  model.setWeights(weights);
  const batch = [10, 20, 30];
  const ours = model.computeGradient(data.trainImages, data.trainLabels, batch);
  const gathered = gatherBatch(data.trainImages, data.trainLabels, batch);
  const reference = tf.tidy(() => {
    const params = model.layout.map((p) =>
      tf.tensor(weights.slice(p.offset, p.offset + p.size), [...p.shape]),
    );
    const x = tf.tensor4d(gathered.images, [batch.length, 28, 28, 1]);
    const y = tf.oneHot(tf.tensor1d(gathered.labels, 'int32'), 10);
    const loss = (...ps: tf.Tensor[]): tf.Scalar => {
      const [k1, b1, k2, b2, w, b] = ps as [
        tf.Tensor4D,
        tf.Tensor,
        tf.Tensor4D,
        tf.Tensor,
        tf.Tensor2D,
        tf.Tensor,
      ];
      const a1 = tf.maxPool(tf.relu(tf.add(tf.conv2d(x, k1, 1, 'same'), b1)) as tf.Tensor4D, 2, 2, 'valid');
      const a2 = tf.maxPool(tf.relu(tf.add(tf.conv2d(a1, k2, 1, 'same'), b2)) as tf.Tensor4D, 2, 2, 'valid');
      const logits = tf.add(tf.matMul(a2.reshape([batch.length, 784]), w), b);
      return tf.losses.softmaxCrossEntropy(y, logits).asScalar();
    };
    const { value, grads } = tf.valueAndGrads(loss)(params);
    return tf.concat([...grads.map((g) => g.reshape([-1])), value.reshape([1])]);
  });
  const expected = reference.dataSync();
  reference.dispose();
  assert.ok(Math.abs(ours.loss - (expected[model.numParams] ?? 0)) < 1e-5);
  let worst = 0;
  for (let i = 0; i < model.numParams; i++) {
    worst = Math.max(worst, Math.abs((ours.gradient[i] ?? 0) - (expected[i] ?? 0)));
  }
  assert.ok(worst < 1e-4, `largest difference ${worst}`);
  model.dispose();
});
