/**
 * A user's own TF.js Layers model end to end: a small conv net built with tf.sequential and
 * saved, `liec create --model DIR`, two peers over real WebRTC on loopback (one a Peer, one
 * `liec join --save-model`), and the saved result reloaded with tf.loadLayersModel predicting
 * exactly what the trained weights predict. Models the seam cannot train are refused by
 * `liec create` before any session exists.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { main as createMain } from '../../client/cli/create.ts';
import { main as joinMain } from '../../client/cli/join.ts';
import { Peer } from '../../client/roles/peer.ts';
import { selectBackend } from '../../client/training/backend.ts';
import { readLayersModelDir, writeLayersModelDir } from '../../client/training/layers-files.ts';
import { createLayersTrainable, loadCustomModel } from '../../client/training/layers-model.ts';
import { loadMnistSource } from '../../client/training/mnist.ts';
import { modelSha256 } from '../../shared/model-hash.ts';
import { parseSessionConfig } from '../../shared/protocol/session-config.ts';
import { createSignalingServer } from '../../signaling/index.ts';
import { withTimeout } from '../support/session.ts';
import { captureIo } from './capture.ts';

/** Test images the reloaded model and the trained weights both predict. */
const PREDICTED = 200;

/** Saves `model` into a fresh directory the way `model.save` lays it out; returns the directory. */
async function saved(model: tf.LayersModel, dirs: string[]): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'liec-model-'));
  dirs.push(dir);
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      await writeLayersModelDir(artifacts, dir);
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  model.dispose();
  return dir;
}

/**
 * Seeded initial weights. With TF.js's unseeded ones every run trained another net: of 28 CI runs
 * one ended at 0.215, under the accuracy bound below, and one at 0.365 (the others 0.48-0.74).
 * Seeds 1-6 end at 0.615-0.785 here.
 */
const INIT_SEED = 1;

function convNet(inputShape: number[], extra?: tf.layers.Layer): tf.Sequential {
  const model = tf.sequential();
  model.add(
    tf.layers.conv2d({
      inputShape,
      filters: 4,
      kernelSize: 5,
      strides: 2,
      activation: 'relu',
      kernelInitializer: tf.initializers.heUniform({ seed: INIT_SEED }),
    }),
  );
  if (extra !== undefined) model.add(extra);
  model.add(tf.layers.flatten());
  model.add(
    tf.layers.dense({
      units: 10,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: INIT_SEED + 1 }),
    }),
  );
  return model;
}

test(
  'liec create --model DIR: a saved tf.sequential conv net trains in a real session and comes back loadable',
  { timeout: 120_000 },
  async (t) => {
    await selectBackend(undefined, { log: () => {} });
    const dirs: string[] = [];
    const server = createSignalingServer({ logLevel: 'silent' });
    const url = await server.start({ port: 0 });
    let peer: Peer | undefined;
    try {
      const good = await saved(convNet([28, 28, 1]), dirs);
      // Refused at creation, with the reason, before any session exists.
      const refusals: Array<[string, RegExp]> = [
        [await saved(convNet([28, 28, 1], tf.layers.batchNormalization()), dirs), /BatchNormalization/],
        [await saved(convNet([32, 32, 1]), dirs), /\[32, 32, 1\].*784/],
        [join(good, 'missing'), /cannot read .*model\.json/],
      ];
      for (const [dir, reason] of refusals) {
        const io = captureIo();
        assert.equal(await createMain(['--server', url, '--model', dir], io), 1, dir);
        assert.match(io.stderr(), reason);
      }
      assert.equal(server.status().sessions.length, 0, 'no session made for a refused model');

      const createdIo = captureIo();
      const createArgs = ['--server', url, '--model', good, '--rounds', '16', '--min-peers', '2'];
      const settings = ['--eval-every', '5', '--up', 'topk:0.1', '--down', 'topk:0.1', '--json'];
      assert.equal(await createMain([...createArgs, ...settings], createdIo), 0, createdIo.stderr());
      const created = JSON.parse(createdIo.stdout()) as { sessionId: string; token: string };

      peer = new Peer({
        serverUrl: url,
        sessionId: created.sessionId,
        token: created.token,
        kind: 'headless',
      });
      await peer.start();
      const out = join(dirs[0] ?? tmpdir(), 'trained');
      const summaryFile = join(dirs[0] ?? tmpdir(), 'summary.json');
      const joinIo = captureIo();
      const joinArgs = ['--server', url, '--session', created.sessionId, '--token', created.token];
      const joined = joinMain(
        [...joinArgs, '--quiet', '--save-model', out, '--summary-out', summaryFile],
        joinIo,
      );
      assert.equal(await withTimeout(joined, 100_000, 'liec join to finish'), 0, joinIo.stderr());
      await withTimeout(peer.finished, 20_000, 'the other peer to finish');
      const summary = JSON.parse(await readFile(summaryFile, 'utf8')) as {
        modelSha256: string;
        round: number;
      };
      assert.equal(summary.round, 16, 'every round trained');

      // The saved model holds the bits `liec join` ended on (its summary's hash), not the initial ones.
      const config = parseSessionConfig(peer.config);
      const custom = config.customModel;
      assert.ok(custom !== undefined, 'the session carries the model');
      const reloaded = await tf.loadLayersModel(tf.io.fromMemory(await readLayersModelDir(out)));
      const trained = createLayersTrainable(reloaded, { numClasses: 10 }).getWeights();
      assert.equal(await modelSha256(trained), summary.modelSha256);
      const reference = createLayersTrainable(await loadCustomModel(custom), { numClasses: 10 });
      const initial = reference.getWeights();
      assert.equal(initial.length, trained.length);
      assert.ok(
        trained.some((w, i) => w !== initial[i]),
        'training changed the weights',
      );
      reference.setWeights(trained);

      const mnist = await loadMnistSource();
      const images = mnist.testImages.subarray(0, PREDICTED * 784);
      const labels = mnist.testLabels.subarray(0, PREDICTED);
      const accuracy = reference.evaluate(images, labels).accuracy;
      t.diagnostic(
        `trained conv net: ${reference.numParams} parameters, accuracy ${accuracy} on ${PREDICTED} test digits`,
      );
      assert.ok(accuracy > 0.3, `trained accuracy ${accuracy} (chance 0.1)`);

      const xs = tf.tensor4d(images, [PREDICTED, 28, 28, 1]);
      const mine = tf.tidy(() => Float32Array.from((reloaded.predict(xs) as tf.Tensor).dataSync()));
      const theirs = await predictWith(trained, custom, xs);
      xs.dispose();
      reloaded.dispose();
      reference.dispose();
      assert.deepEqual(Array.from(theirs), Array.from(mine), 'identical predictions');
    } finally {
      await peer?.leave();
      await server.stop();
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    }
  },
);

/** What the session's model with the flat weights `flat` outputs for `xs`. */
async function predictWith(
  flat: Float32Array,
  custom: NonNullable<ReturnType<typeof parseSessionConfig>['customModel']>,
  xs: tf.Tensor,
): Promise<Float32Array> {
  const model = await loadCustomModel(custom);
  createLayersTrainable(model, { numClasses: 10 }).setWeights(flat);
  const out = model.predict(xs) as tf.Tensor;
  const values = Float32Array.from(out.dataSync());
  out.dispose();
  model.dispose();
  return values;
}
