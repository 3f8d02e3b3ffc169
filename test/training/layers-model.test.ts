/**
 * The seam over a user's Layers model without a session: the server's config check refuses
 * what the seam cannot train (output units, size limit), every peer refuses a model whose
 * SHA-256 is not the config's, and flat weights go in and come out of the saved artifacts
 * unchanged (trainedArtifacts -> customModelFromArtifacts -> the same vector).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { selectBackend } from '../../client/training/backend.ts';
import { TrainingError } from '../../client/training/errors.ts';
import {
  createLayersTrainable,
  customModelFromArtifacts,
  loadCustomModel,
  trainedArtifacts,
} from '../../client/training/layers-model.ts';
import { MAX_CUSTOM_WEIGHT_BYTES } from '../../shared/protocol/custom-model.ts';
import { sessionConfigSchema } from '../../shared/protocol/session-config.ts';

function mlp(units: number, hidden = 8): tf.Sequential {
  const model = tf.sequential();
  model.add(tf.layers.dense({ inputShape: [784], units: hidden, activation: 'relu' }));
  model.add(tf.layers.dense({ units }));
  return model;
}

async function customOf(model: tf.LayersModel) {
  const flat = createLayersTrainable(model, { numClasses: 1 }).getWeights();
  return customModelFromArtifacts(await trainedArtifacts(model, flat));
}

test('the session config refuses a model with the wrong outputs or too many weights', async () => {
  await selectBackend(undefined, { log: () => {} });
  const good = await customOf(mlp(10));
  assert.equal(sessionConfigSchema.safeParse({ customModel: good }).success, true);
  const wrongOut = sessionConfigSchema.safeParse({ customModel: await customOf(mlp(3)) });
  assert.equal(wrongOut.success, false);
  assert.deepEqual(wrongOut.error?.issues[0]?.path, ['customModel']);
  assert.match(wrongOut.error?.issues[0]?.message ?? '', /3 units but the task has 10 classes/);
  // 784 x 64 float32 weights: over the inline limit, so named by hash for the server to hold;
  // inline they are refused by the schema's length cap.
  const big = await customOf(mlp(10, 64));
  assert.equal(big.weightData, undefined);
  assert.match(big.weightsSha256 ?? '', /^[0-9a-f]{64}$/);
  assert.equal(sessionConfigSchema.safeParse({ customModel: big }).success, true);
  const inline = { ...big, weightsSha256: undefined, weightData: 'A'.repeat(4 * 51_000) };
  assert.ok(inline.weightData.length * 0.75 > MAX_CUSTOM_WEIGHT_BYTES);
  assert.equal(sessionConfigSchema.safeParse({ customModel: inline }).success, false);
});

test('a peer refuses a model whose SHA-256 is not the one the session names', async () => {
  await selectBackend(undefined, { log: () => {} });
  const custom = await customOf(mlp(10));
  // One base64 digit in the middle of the weights: a different byte, same length.
  const data = custom.weightData ?? '';
  const digit = data[100] === 'A' ? 'B' : 'A';
  const tampered = { ...custom, weightData: `${data.slice(0, 100)}${digit}${data.slice(101)}` };
  await assert.rejects(
    loadCustomModel(tampered),
    (error: unknown) => error instanceof TrainingError && error.code === 'CUSTOM_MODEL_HASH',
  );
});

test('flat weights round-trip through the saved artifacts', async () => {
  await selectBackend(undefined, { log: () => {} });
  const custom = await customOf(mlp(10));
  const model = createLayersTrainable(await loadCustomModel(custom), { numClasses: 10 });
  const weights = model.getWeights().map((w, i) => w + (i % 7) * 0.01);
  const layers = await loadCustomModel(custom);
  const saved = await customModelFromArtifacts(await trainedArtifacts(layers, weights));
  layers.dispose();
  const reloaded = createLayersTrainable(await loadCustomModel(saved), { numClasses: 10 });
  assert.deepEqual(reloaded.getWeights(), weights);
  assert.notEqual(saved.sha256, custom.sha256);
  model.dispose();
  reloaded.dispose();
});
