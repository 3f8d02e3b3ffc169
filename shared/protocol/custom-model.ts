/**
 * A session's own TF.js Layers model (`liec create --model DIR`): its topology and initial
 * weights as `tf.LayersModel.save` writes them. Each peer checks the SHA-256 the creator
 * computed before it trains (customModelSha256), and the server refuses a model the
 * flat-weight seam cannot train when the session is created (customModelIssue), not at round 1.
 *
 * How the weights travel: the session config always carries the topology, the weight specs
 * (which fix the byte length: 4 bytes a float32 value) and the SHA-256. The weights themselves
 * are either inline (`weightData`, base64) or held by the signaling server (`weightsSha256`):
 * `liec create` uploads them (PUT /models/<weightsSha256>) and every peer fetches them by that
 * hash (GET, client/training/model-weights.ts) and checks both hashes before it trains.
 * Inline stays for models that fit a socket.io message (at most 256 KiB, signaling/options.ts):
 * MAX_CUSTOM_WEIGHT_BYTES, about 37,500 float32 parameters; held weights are bounded by the
 * server's maxCustomModelBytes (64 MiB by default) instead.
 *
 * What the seam trains: every weight a trainable float32 tensor, moved as one flat vector in
 * the model's `trainableWeights` order (= `weightSpecs` order for the layers below). Layers
 * with state that is not a gradient step (BatchNormalization's moving statistics) or that TF.js
 * cannot differentiate here are refused by class name; SUPPORTED_LAYERS lists the rest.
 *
 * @example
 * const model = customModelSchema.parse(config.customModel);
 * customModelIssue(model, { inputSize: 784, numClasses: 10 }); // null when trainable
 * (await customModelSha256(model, weights)) === model.sha256;
 */
import { z } from 'zod';

/** Most bytes of float32 weights a session config may carry inline (base64 makes them 4/3 larger). */
export const MAX_CUSTOM_WEIGHT_BYTES = 150_000;
/** Most characters of the topology JSON (a few KB for a small conv net). */
export const MAX_CUSTOM_TOPOLOGY_CHARS = 32_000;

/** Layer classes whose weights are all trainable and whose gradients TF.js computes on every backend. */
export const SUPPORTED_LAYERS: readonly string[] = [
  'InputLayer',
  'Dense',
  'Conv2D',
  'MaxPooling2D',
  'AveragePooling2D',
  'GlobalAveragePooling2D',
  'GlobalMaxPooling2D',
  'ZeroPadding2D',
  'Flatten',
  'Reshape',
  'Activation',
  'ReLU',
  'Softmax',
  'Dropout',
];

const sha256Schema = z.string().regex(/^[0-9a-f]{64}$/, '64 hex digits');

const weightSpecSchema = z.object({
  name: z.string().min(1).max(256),
  shape: z.array(z.number().int().min(1)).max(8),
  dtype: z.literal('float32'),
});

export const customModelSchema = z.object({
  format: z.literal('layers-model'),
  /** model.json's `modelTopology`, unchanged. */
  modelTopology: z.record(z.string(), z.unknown()),
  /** model.json's weightsManifest entries, concatenated in order. */
  weightSpecs: z.array(weightSpecSchema).min(1).max(1024),
  /** The weight files' bytes, concatenated in manifest order, base64; absent when held by the server. */
  weightData: z
    .string()
    .max(Math.ceil(MAX_CUSTOM_WEIGHT_BYTES / 3) * 4)
    .regex(/^[A-Za-z0-9+/]*={0,2}$/, 'base64')
    .optional(),
  /**
   * Hex SHA-256 of the weight bytes alone, when the signaling server holds them: the key a peer
   * fetches them by (GET /models/<weightsSha256>). Exactly one of weightData and weightsSha256.
   */
  weightsSha256: sha256Schema.optional(),
  /** Hex SHA-256 of customModelHashInput: what every peer checks before training. */
  sha256: sha256Schema,
});

export type CustomModel = z.infer<typeof customModelSchema>;
export type CustomWeightSpec = z.infer<typeof weightSpecSchema>;

/** What the task feeds a model: values per example (and their image layout), classes. */
export interface ModelTaskShape {
  inputSize: number;
  numClasses: number;
}

interface LayerEntry {
  className: string;
  config: Record<string, unknown>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The layers of a Sequential or functional topology, in order; null when neither shape. */
export function layersOf(topology: Record<string, unknown>): LayerEntry[] | null {
  const config = topology['config'];
  // Sequential saves {config: {layers: [...]}} (older versions: {config: [...]}).
  const list = Array.isArray(config) ? config : isRecord(config) ? config['layers'] : undefined;
  if (!Array.isArray(list)) return null;
  const layers: LayerEntry[] = [];
  for (const layer of list) {
    if (!isRecord(layer) || typeof layer['class_name'] !== 'string') return null;
    layers.push({ className: layer['class_name'], config: isRecord(layer['config']) ? layer['config'] : {} });
  }
  return layers;
}

/** Values in a tensor of this shape. */
export function sizeOfShape(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** The model's input shape without the batch axis, from its first layer's batch_input_shape. */
export function inputShapeOf(layers: readonly LayerEntry[]): number[] | null {
  const shape = layers[0]?.config['batch_input_shape'] ?? layers[0]?.config['batchInputShape'];
  if (!Array.isArray(shape) || shape.length < 2) return null;
  const rest = shape.slice(1);
  return rest.every((d): d is number => Number.isInteger(d) && (d as number) > 0) ? rest : null;
}

/** Units of the last layer that has them (Dense), the model's class count. */
function outputUnitsOf(layers: readonly LayerEntry[]): number | null {
  for (let i = layers.length - 1; i >= 0; i--) {
    const units = layers[i]?.config['units'];
    if (typeof units === 'number') return units;
    const name = layers[i]?.className;
    // Shape-keeping layers after the last Dense do not change the class count.
    if (name !== 'Activation' && name !== 'Softmax' && name !== 'Dropout' && name !== 'ReLU') return null;
  }
  return null;
}

/**
 * Why the seam cannot train `model` on a task shaped `task`, or null when it can: an unknown
 * topology, a layer outside SUPPORTED_LAYERS, a frozen layer, weights that are not the bytes
 * their specs announce, an input that is not the task's size, an output that is not its classes.
 */
export function customModelIssue(model: CustomModel, task: ModelTaskShape): string | null {
  if (JSON.stringify(model.modelTopology).length > MAX_CUSTOM_TOPOLOGY_CHARS)
    return `the model topology is over ${MAX_CUSTOM_TOPOLOGY_CHARS} characters`;
  const className = model.modelTopology['class_name'];
  if (className !== 'Sequential' && className !== 'Model' && className !== 'Functional')
    return `the model topology is a ${String(className)}, not a Sequential or functional Layers model`;
  const layers = layersOf(model.modelTopology);
  if (layers === null || layers.length === 0) return 'the model topology lists no layers';
  const unsupported = layers.find((l) => !SUPPORTED_LAYERS.includes(l.className));
  if (unsupported !== undefined)
    return `layer ${String(unsupported.config['name'] ?? unsupported.className)} (${unsupported.className}) cannot be trained through the flat-weight seam; supported: ${SUPPORTED_LAYERS.join(', ')}`;
  const frozen = layers.find((l) => l.config['trainable'] === false);
  if (frozen !== undefined)
    return `layer ${String(frozen.config['name'])} is not trainable: every weight of a session's model is trained`;
  const weightIssue = weightPlacementIssue(model);
  if (weightIssue !== null) return weightIssue;
  const input = inputShapeOf(layers);
  if (input === null) return 'the first layer names no input shape (build it with inputShape)';
  if (sizeOfShape(input) !== task.inputSize)
    return `the model takes inputs of shape [${input.join(', ')}] (${sizeOfShape(input)} values) but the task's examples have ${task.inputSize}`;
  const units = outputUnitsOf(layers);
  if (units !== task.numClasses)
    return `the model's output has ${units ?? 'no known number of'} units but the task has ${task.numClasses} classes (end with a Dense layer of that many units)`;
  return null;
}

/** Bytes of the model's weights, as its specs announce them (float32: 4 a value). */
export function customWeightBytes(model: Pick<CustomModel, 'weightSpecs'>): number {
  return model.weightSpecs.reduce((n, s) => n + 4 * sizeOfShape(s.shape), 0);
}

/** Bytes the base64 text decodes to. */
function base64Bytes(text: string): number {
  return Math.floor((text.length * 3) / 4) - (text.match(/=+$/)?.[0].length ?? 0);
}

/** Why the model's weights are neither validly inline nor named for the server to hold, or null. */
function weightPlacementIssue(model: CustomModel): string | null {
  const expected = customWeightBytes(model);
  if (model.weightData === undefined) {
    if (model.weightsSha256 === undefined)
      return 'the model carries neither its weights (weightData) nor their SHA-256 (weightsSha256)';
    return null;
  }
  if (model.weightsSha256 !== undefined)
    return 'the model carries its weights inline and names held ones (weightsSha256): one or the other';
  const bytes = base64Bytes(model.weightData);
  if (bytes !== expected) return `the weight data is ${bytes} bytes, its specs announce ${expected}`;
  if (expected > MAX_CUSTOM_WEIGHT_BYTES)
    return `the model's weights are ${expected} bytes, over the ${MAX_CUSTOM_WEIGHT_BYTES} a session config carries inline (upload them: liec create --model does)`;
  return null;
}

/** base64 of bytes, in chunks (String.fromCharCode takes a bounded number of arguments). */
export function toBase64(bytes: Uint8Array): string {
  let text = '';
  for (let i = 0; i < bytes.length; i += 0x8000)
    text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
}

export function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

/** What the model hash covers besides the weights: the model without them or its hashes. */
export type CustomModelShape = Pick<CustomModel, 'modelTopology' | 'weightSpecs'>;

/**
 * The bytes the hash covers: topology JSON, a newline, weight specs JSON, a newline, the
 * weights (the same bytes whether they travel inline or are held by the server).
 */
export function customModelHashInput(model: CustomModelShape, weights: Uint8Array): Uint8Array<ArrayBuffer> {
  const head = new TextEncoder().encode(
    `${JSON.stringify(model.modelTopology)}\n${JSON.stringify(model.weightSpecs)}\n`,
  );
  const all = new Uint8Array(head.length + weights.length);
  all.set(head);
  all.set(weights, head.length);
  return all;
}

/** Hex SHA-256 of `bytes` (WebCrypto: the same in a tab and in Node). */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Hex SHA-256 of customModelHashInput. */
export async function customModelSha256(model: CustomModelShape, weights: Uint8Array): Promise<string> {
  return sha256Hex(customModelHashInput(model, weights));
}

/** The part of a task spec (shared/data/task.ts) that fixes a model's input and output. */
type TaskSpecShape =
  | { kind: 'images'; width: number; height: number; channels: number; classes: readonly string[] }
  | { kind: 'csv'; features: readonly string[]; classes: readonly string[] };

/** What a session's task feeds its model: MNIST's 784 values and 10 classes, or its spec's. */
export function modelTaskShapeOf(config: {
  task: string;
  taskSpec?: TaskSpecShape | undefined;
}): ModelTaskShape {
  const spec = config.taskSpec;
  if (spec === undefined) return { inputSize: 784, numClasses: 10 };
  switch (spec.kind) {
    case 'images':
      return { inputSize: spec.width * spec.height * spec.channels, numClasses: spec.classes.length };
    case 'csv':
      return { inputSize: spec.features.length, numClasses: spec.classes.length };
    default: {
      const unreachable: never = spec;
      return unreachable;
    }
  }
}

/** The signaling server's path of held weights: GET (fetch), PUT (upload, liec create). */
export function modelWeightsPath(weightsSha256: string): string {
  return `/models/${weightsSha256}`;
}
