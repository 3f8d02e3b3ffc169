/**
 * `npm run bench:held-model [-- --hidden H --runs R --out FILE]`: what a custom model over the
 * inline limit costs on the way in. A Dense 784 -> H relu -> 10 softmax model (H = 12,700 by
 * default: 10.1M parameters, 40 MB of weights) is saved; each run times `liec create --model
 * DIR` against a real signaling server on loopback (read the directory, the creation checks
 * with one real gradient, upload, session:create) and a peer's fetch of the weights with its
 * check (GET /models/<sha256>, length and SHA-256, as fetchSessionModelWeights does). Prints
 * and writes JSON.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { main as createMain } from '../client/cli/create.ts';
import { selectBackend } from '../client/training/backend.ts';
import { writeLayersModelDir } from '../client/training/layers-files.ts';
import { weightsIssue } from '../client/training/model-weights.ts';
import { parseSessionConfig } from '../shared/protocol/session-config.ts';
import { createSignalingServer } from '../signaling/index.ts';
import { captureIo } from '../test/cli/capture.ts';

const { values } = parseArgs({
  options: {
    hidden: { type: 'string', default: '12700' },
    runs: { type: 'string', default: '3' },
    out: { type: 'string', default: 'bench/results/held-model.json' },
  },
});
const hidden = Number(values.hidden);
const runs = Number(values.runs);

const backend = await selectBackend(undefined, { log: () => {} });
const root = await mkdtemp(join(tmpdir(), 'liec-held-bench-'));
const modelDir = join(root, 'model');
const model = tf.sequential();
model.add(tf.layers.dense({ inputShape: [784], units: hidden, activation: 'relu' }));
model.add(tf.layers.dense({ units: 10, activation: 'softmax' }));
const params = model.countParams();
await model.save(
  tf.io.withSaveHandler(async (artifacts) => {
    await writeLayersModelDir(artifacts, modelDir);
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
  }),
);
model.dispose();

const server = createSignalingServer({ logLevel: 'silent' });
const url = await server.start({ port: 0 });
const measured: Array<{ createMs: number; fetchMs: number; checkMs: number; configChars: number }> = [];
try {
  for (let run = 0; run < runs; run++) {
    const io = captureIo();
    const started = performance.now();
    const code = await createMain(['--server', url, '--model', modelDir, '--json'], io);
    const createMs = performance.now() - started;
    if (code !== 0) throw new Error(`liec create failed: ${io.stderr()}`);
    const created = JSON.parse(io.stdout()) as { config: unknown };
    const custom = parseSessionConfig(created.config).customModel;
    if (custom?.weightsSha256 === undefined) throw new Error('the model was not held by the server');
    const fetchStarted = performance.now();
    const response = await fetch(`${url}/models/${custom.weightsSha256}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    const checkStarted = performance.now();
    const issue = await weightsIssue(custom, bytes);
    const checkMs = performance.now() - checkStarted;
    const fetchMs = performance.now() - fetchStarted;
    if (issue !== null) throw new Error(issue);
    const configChars = JSON.stringify(created.config).length;
    measured.push({
      createMs: Math.round(createMs),
      fetchMs: Math.round(fetchMs),
      checkMs: Math.round(checkMs),
      configChars,
    });
    console.log(
      `run ${run + 1}: liec create ${(createMs / 1000).toFixed(2)} s, fetch + check ${(fetchMs / 1000).toFixed(2)} s (check ${(checkMs / 1000).toFixed(2)} s), config ${configChars} chars`,
    );
  }
} finally {
  await server.stop();
  await rm(root, { recursive: true, force: true });
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const result = {
  command: `npm run bench:held-model -- --hidden ${hidden} --runs ${runs}`,
  params,
  weightBytes: params * 4,
  backend,
  runs: measured,
  medianCreateMs: median(measured.map((m) => m.createMs)),
  medianFetchMs: median(measured.map((m) => m.fetchMs)),
  machine: { cpus: cpus().length, loadavg: loadavg().map((l) => Number(l.toFixed(1))) },
};
console.log(
  `${params} parameters (${params * 4} bytes): liec create median ${result.medianCreateMs} ms, fetch + check median ${result.medianFetchMs} ms (${backend})`,
);
await mkdir(dirname(values.out), { recursive: true });
await writeFile(values.out, `${JSON.stringify(result, null, 2)}\n`);
