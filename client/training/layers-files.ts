/**
 * A TF.js Layers model directory as `tf.LayersModel.save('file://DIR')` lays it out (model.json
 * and the weight files its manifest names), read and written with node:fs: the project runs
 * TF.js without tfjs-node, which is what provides the file:// handler.
 *
 * @example
 * const artifacts = await readLayersModelDir('my-model');      // for liec create --model
 * await writeLayersModelDir(await trainedArtifacts(model, flat), 'out'); // liec join --save-model
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type * as tf from '@tensorflow/tfjs';
import { z } from 'zod';
import { TrainingError } from './errors.ts';
import { modelJsonOf, weightBytesOf } from './layers-model.ts';

/** The one weight file we write (tfjs's own name for a single shard). */
export const WEIGHTS_FILE = 'group1-shard1of1.bin';

const modelJsonSchema = z.object({
  modelTopology: z.record(z.string(), z.unknown()),
  format: z.string().optional(),
  weightsManifest: z
    .array(
      z.object({
        paths: z.array(z.string().min(1)),
        weights: z.array(
          z.object({
            name: z.string(),
            shape: z.array(z.number().int().min(0)),
            dtype: z.enum(['float32', 'int32', 'bool', 'string', 'complex64']),
            quantization: z.unknown().optional(),
          }),
        ),
      }),
    )
    .min(1),
});

/** The artifacts of DIR/model.json and its weight files; CUSTOM_MODEL_FILES names what is wrong. */
export async function readLayersModelDir(dir: string): Promise<tf.io.ModelArtifacts> {
  const jsonPath = join(dir, 'model.json');
  let text: string;
  try {
    text = await readFile(jsonPath, 'utf8');
  } catch (error) {
    throw new TrainingError('CUSTOM_MODEL_FILES', `cannot read ${jsonPath}: ${(error as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new TrainingError('CUSTOM_MODEL_FILES', `${jsonPath} is not JSON: ${(error as Error).message}`);
  }
  const parsed = modelJsonSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TrainingError(
      'CUSTOM_MODEL_FILES',
      `${jsonPath} is not a Layers model.json (${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'})`,
    );
  }
  const root = resolve(dir);
  const parts: Uint8Array[] = [];
  for (const group of parsed.data.weightsManifest) {
    for (const path of group.paths) {
      const file = resolve(root, path);
      if (!file.startsWith(`${root}/`))
        throw new TrainingError(
          'CUSTOM_MODEL_FILES',
          `${jsonPath} names a weight file outside ${dir}: ${path}`,
        );
      try {
        parts.push(await readFile(file));
      } catch (error) {
        throw new TrainingError(
          'CUSTOM_MODEL_FILES',
          `cannot read weight file ${file}: ${(error as Error).message}`,
        );
      }
    }
  }
  const total = parts.reduce((n, p) => n + p.length, 0);
  const weightData = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    weightData.set(part, offset);
    offset += part.length;
  }
  return {
    modelTopology: parsed.data.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    format: parsed.data.format ?? 'layers-model',
    weightSpecs: parsed.data.weightsManifest.flatMap((g) => g.weights) as tf.io.WeightsManifestEntry[],
    weightData: weightData.buffer,
  };
}

/** Writes DIR/model.json and DIR/group1-shard1of1.bin (the directory is created). */
export async function writeLayersModelDir(artifacts: tf.io.ModelArtifacts, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, WEIGHTS_FILE), weightBytesOf(artifacts));
  await writeFile(join(dir, 'model.json'), JSON.stringify(modelJsonOf(artifacts, WEIGHTS_FILE)));
}
