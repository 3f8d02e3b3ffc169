/**
 * A custom Layers model too large for the session config (over MAX_CUSTOM_WEIGHT_BYTES):
 * `liec create --model DIR` uploads its weights to the signaling server, the config names
 * them by SHA-256, and a `liec join` in its own process fetches them over HTTP, checks them,
 * trains with a Peer over real WebRTC on loopback and saves the result, which
 * tf.loadLayersModel reloads predicting exactly what the trained weights predict. A server
 * whose maxCustomModelBytes the model exceeds refuses it at create time.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { main as createMain } from '../../client/cli/create.ts';
import { Peer } from '../../client/roles/peer.ts';
import { selectBackend } from '../../client/training/backend.ts';
import { readLayersModelDir, writeLayersModelDir } from '../../client/training/layers-files.ts';
import { createLayersTrainable, loadCustomModel } from '../../client/training/layers-model.ts';
import { loadMnistSource } from '../../client/training/mnist.ts';
import { modelSha256 } from '../../shared/model-hash.ts';
import { MAX_CUSTOM_WEIGHT_BYTES } from '../../shared/protocol/custom-model.ts';
import { parseSessionConfig } from '../../shared/protocol/session-config.ts';
import { createSignalingServer } from '../../signaling/index.ts';
import { withTimeout } from '../support/session.ts';
import { captureIo } from './capture.ts';

const CLI_MAIN = fileURLToPath(new URL('../../client/cli/main.ts', import.meta.url));
/** Test images the reloaded model and the trained weights both predict. */
const PREDICTED = 200;
const ROUNDS = 10;

/**
 * Seeded initial weights, so every run trains the same net (as in custom-model.test.ts, where
 * TF.js's unseeded initializers once left the net under its accuracy bound).
 */
const INIT_SEED = 1;

/** Conv 8x5x5 stride 2, Dense 128 relu, Dense 10 softmax: 149,082 parameters, 596,328 bytes. */
function largerConvNet(): tf.Sequential {
  const model = tf.sequential();
  model.add(
    tf.layers.conv2d({
      inputShape: [28, 28, 1],
      filters: 8,
      kernelSize: 5,
      strides: 2,
      activation: 'relu',
      kernelInitializer: tf.initializers.heUniform({ seed: INIT_SEED }),
    }),
  );
  model.add(tf.layers.flatten());
  model.add(
    tf.layers.dense({
      units: 128,
      activation: 'relu',
      kernelInitializer: tf.initializers.heUniform({ seed: INIT_SEED + 1 }),
    }),
  );
  model.add(
    tf.layers.dense({
      units: 10,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: INIT_SEED + 2 }),
    }),
  );
  return model;
}

async function saved(model: tf.LayersModel, dir: string): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      await writeLayersModelDir(artifacts, dir);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
}

/** `liec join` in its own process (nothing held in memory: it must fetch the weights). */
function liecJoin(args: string[]): Promise<{ code: number | null; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, 'join', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

test(
  'liec create --model DIR over the inline limit: weights held by the server, fetched by liec join, trained and reloaded',
  { timeout: 120_000 },
  async (t) => {
    await selectBackend(undefined, { log: () => {} });
    const dir = await mkdtemp(join(tmpdir(), 'liec-held-model-'));
    const server = createSignalingServer({ logLevel: 'silent' });
    const small = createSignalingServer({ logLevel: 'silent', maxCustomModelBytes: 500_000 });
    const url = await server.start({ port: 0 });
    const smallUrl = await small.start({ port: 0 });
    let peer: Peer | undefined;
    try {
      const modelDir = join(dir, 'model');
      await saved(largerConvNet(), modelDir);

      // Over the server's own limit: refused before any session exists, naming the limit.
      const refusedIo = captureIo();
      assert.equal(await createMain(['--server', smallUrl, '--model', modelDir], refusedIo), 1);
      assert.match(
        refusedIo.stderr(),
        /596328 bytes, over this server's limit of 500000 \(maxCustomModelBytes\)/,
      );
      assert.equal(small.status().sessions.length, 0);

      const createdIo = captureIo();
      const createArgs = [
        '--server',
        url,
        '--model',
        modelDir,
        '--rounds',
        String(ROUNDS),
        '--min-peers',
        '2',
      ];
      const settings = ['--eval-every', '5', '--up', 'topk:0.1', '--down', 'topk:0.1', '--json'];
      assert.equal(await createMain([...createArgs, ...settings], createdIo), 0, createdIo.stderr());
      const created = JSON.parse(createdIo.stdout()) as {
        sessionId: string;
        token: string;
        config: unknown;
      };
      const custom = parseSessionConfig(created.config).customModel;
      assert.ok(custom !== undefined, 'the session carries the model');
      assert.equal(custom.weightData, undefined, 'no weights in the config');
      assert.match(custom.weightsSha256 ?? '', /^[0-9a-f]{64}$/);
      assert.ok(JSON.stringify(created.config).length < MAX_CUSTOM_WEIGHT_BYTES / 10, 'a small config');
      const held = await fetch(`${url}/models/${custom.weightsSha256}`);
      assert.equal(held.status, 200);
      assert.equal((await held.arrayBuffer()).byteLength, 596_328);

      peer = new Peer({
        serverUrl: url,
        sessionId: created.sessionId,
        token: created.token,
        kind: 'headless',
      });
      await peer.start();
      const out = join(dir, 'trained');
      const summaryFile = join(dir, 'summary.json');
      const joinArgs = ['--server', url, '--session', created.sessionId, '--token', created.token];
      const joined = await withTimeout(
        liecJoin([...joinArgs, '--quiet', '--save-model', out, '--summary-out', summaryFile]),
        100_000,
        'liec join to finish',
      );
      assert.equal(joined.code, 0, joined.stderr);
      await withTimeout(peer.finished, 20_000, 'the other peer to finish');
      const summary = JSON.parse(await readFile(summaryFile, 'utf8')) as {
        modelSha256: string;
        round: number;
      };
      assert.equal(summary.round, ROUNDS, 'every round trained');

      // The saved model holds the bits the child ended on, not the initial ones.
      const reloaded = await tf.loadLayersModel(tf.io.fromMemory(await readLayersModelDir(out)));
      const trained = createLayersTrainable(reloaded, { numClasses: 10 }).getWeights();
      assert.equal(trained.length, 149_082);
      assert.equal(await modelSha256(trained), summary.modelSha256);
      const reference = createLayersTrainable(await loadCustomModel(custom), { numClasses: 10 });
      const initial = reference.getWeights();
      assert.ok(
        trained.some((w, i) => w !== initial[i]),
        'training changed the weights',
      );
      reference.setWeights(trained);
      const mnist = await loadMnistSource();
      const images = mnist.testImages.subarray(0, PREDICTED * 784);
      const accuracy = reference.evaluate(images, mnist.testLabels.subarray(0, PREDICTED)).accuracy;
      t.diagnostic(
        `held-weights conv net: ${reference.numParams} parameters, ${ROUNDS} rounds, accuracy ${accuracy} on ${PREDICTED} test digits`,
      );
      assert.ok(accuracy > 0.2, `trained accuracy ${accuracy} (chance 0.1)`);

      const xs = tf.tensor4d(images, [PREDICTED, 28, 28, 1]);
      const mine = tf.tidy(() => Float32Array.from((reloaded.predict(xs) as tf.Tensor).dataSync()));
      const model = await loadCustomModel(custom);
      createLayersTrainable(model, { numClasses: 10 }).setWeights(trained);
      const expected = tf.tidy(() => Float32Array.from((model.predict(xs) as tf.Tensor).dataSync()));
      xs.dispose();
      model.dispose();
      reloaded.dispose();
      reference.dispose();
      assert.deepEqual(Array.from(mine), Array.from(expected), 'identical predictions');
    } finally {
      await peer?.leave();
      await Promise.all([server.stop(), small.stop()]);
      await rm(dir, { recursive: true, force: true });
    }
  },
);
