/**
 * TF.js Layers model directories on the command line: `liec create --model DIR` turns one into
 * the session config's customModel and proves, before the session exists, that every peer can
 * train it (the server's structural check, then one real gradient with TF.js); `liec join
 * --save-model DIR` writes the model a peer ends on back out, loadable with tf.loadLayersModel.
 * Weights over the inline limit are uploaded to the signaling server (uploadHeldWeights) before
 * the session is created; the config then names them by hash (shared/protocol/custom-model.ts).
 *
 * @example
 * const customModel = await customModelFromDir('my-model', { task: 'mnist' }); // throws CommandFailure
 * await uploadHeldWeights(config, 'my-model', serverUrl); // before session:create
 * await saveSessionModel(config.customModel, peer.model(), 'trained');
 */
import type { CustomModel } from '../../shared/protocol/custom-model.ts';
import { customModelIssue, modelTaskShapeOf } from '../../shared/protocol/custom-model.ts';
import {
  DEFAULT_SESSION_CONFIG,
  parseSessionConfig,
  sessionConfigSchema,
  type SessionConfig,
  type SessionConfigInput,
} from '../../shared/protocol/session-config.ts';
import { CommandFailure, oneLine } from './command.ts';

/** Examples of zeros the creation check computes one gradient on. */
const CHECK_EXAMPLES = 2;

/**
 * The customModel of DIR for a session whose task is `config`'s, or a CommandFailure naming
 * DIR and the reason the seam cannot train it.
 */
export async function customModelFromDir(
  dir: string,
  config: Parameters<typeof modelTaskShapeOf>[0],
): Promise<CustomModel> {
  const [{ readLayersModelDir }, layers, { selectBackend }] = await Promise.all([
    import('../training/layers-files.ts'),
    import('../training/layers-model.ts'),
    import('../training/backend.ts'),
  ]);
  const task = modelTaskShapeOf(config);
  try {
    const custom = await layers.customModelFromArtifacts(await readLayersModelDir(dir));
    const issue = customModelIssue(custom, task);
    if (issue !== null) throw new Error(issue);
    await selectBackend(undefined, { log: () => {} });
    const model = layers.createLayersTrainable(await layers.loadCustomModel(custom, task), {
      numClasses: task.numClasses,
    });
    try {
      // One real gradient: a layer TF.js cannot differentiate on this backend fails here, not at round 1.
      const { gradient, loss } = model.computeGradient(
        new Float32Array(CHECK_EXAMPLES * task.inputSize),
        new Uint8Array(CHECK_EXAMPLES),
      );
      if (!Number.isFinite(loss) || gradient.some((g) => !Number.isFinite(g)))
        throw new Error('its gradient on zero inputs is not finite');
    } finally {
      model.dispose();
    }
    return custom;
  } catch (error) {
    throw new CommandFailure(`--model ${dir}: ${oneLine(error)}`);
  }
}

/** Writes the session's model holding `flat` (the weights a peer ends on) to DIR. */
export async function saveSessionModel(custom: CustomModel, flat: Float32Array, dir: string): Promise<void> {
  const [{ writeLayersModelDir }, layers] = await Promise.all([
    import('../training/layers-files.ts'),
    import('../training/layers-model.ts'),
  ]);
  const model = await layers.loadCustomModel(custom);
  try {
    await writeLayersModelDir(await layers.trainedArtifacts(model, flat), dir);
  } finally {
    model.dispose();
  }
}

/**
 * `--model`'s value when it names a directory rather than a built-in model (which it then
 * removes from `values`, so the schema sees the default built-in), else undefined.
 */
export function takeModelDir(values: Partial<Record<string, string>>): string | undefined {
  const value = values['model'];
  if (
    value === undefined ||
    sessionConfigSchema.safeParse({ ...DEFAULT_SESSION_CONFIG, model: value }).success
  )
    return undefined;
  delete values['model'];
  return value;
}

/**
 * PUT the weights `config` names by hash (a model over the inline limit) to the signaling
 * server, so its peers can fetch them; a no-op for inline weights or none. A refusal (over the
 * server's maxCustomModelBytes, no operator token) is a CommandFailure naming `dir`.
 */
export async function uploadHeldWeights(
  config: SessionConfig,
  dir: string | undefined,
  serverUrl: string,
  operatorToken?: string,
): Promise<void> {
  const custom = config.customModel;
  if (custom?.weightsSha256 === undefined) return;
  const { customModelWeights, uploadModelWeights } = await import('../training/model-weights.ts');
  try {
    await uploadModelWeights(
      serverUrl,
      customModelWeights(custom),
      operatorToken === undefined ? {} : { operatorToken },
    );
  } catch (error) {
    throw new CommandFailure(`--model ${dir ?? '(session config)'}: ${oneLine(error)}`);
  }
}

/** `config` training the Layers model in `dir` (checked as customModelFromDir does); `config` without one. */
export async function withModelDir(
  config: SessionConfigInput,
  dir: string | undefined,
): Promise<SessionConfig> {
  if (dir === undefined) return parseSessionConfig(config);
  // Parsed with the model in it: what the flags left unset follows the model (learningDefaultsOf).
  const customModel = await customModelFromDir(dir, parseSessionConfig(config));
  const parsed = sessionConfigSchema.safeParse({ ...config, customModel });
  if (!parsed.success)
    throw new CommandFailure(`--model ${dir}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}
