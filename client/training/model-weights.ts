/**
 * The weights of a session's own Layers model, wherever they travel (shared/protocol/
 * custom-model.ts): inline in the config, or held by the signaling server under their
 * SHA-256. A peer, headless or in a tab, calls fetchSessionModelWeights with its server's URL
 * once it has the config and before it builds its learner; the bytes are checked (length from
 * the weight specs, SHA-256 of the weights) and then kept in this process by hash, so
 * loadCustomModel, a save or a download find them with customModelWeights. Held weights are
 * content-addressed and never change, so keeping them by hash cannot serve stale bytes.
 * `liec create` uploads with uploadModelWeights.
 *
 * @example
 * await fetchSessionModelWeights(serverUrl, config.customModel); // throws CUSTOM_MODEL_WEIGHTS
 * const weights = customModelWeights(config.customModel);
 */
import {
  customWeightBytes,
  fromBase64,
  modelWeightsPath,
  sha256Hex,
  type CustomModel,
} from '../../shared/protocol/custom-model.ts';
import { TrainingError } from './errors.ts';

/** Weights fetched (or uploaded) by this process, by the SHA-256 of their bytes. */
const held = new Map<string, Uint8Array<ArrayBuffer>>();

/** How long a fetch or an upload may take before it fails. @default 120_000 (64 MiB at ~4 Mbit/s) */
export const MODEL_WEIGHTS_TIMEOUT_MS = 120_000;

export interface ModelWeightsRequest {
  /** Cancels the request (a peer that leaves while fetching). */
  signal?: AbortSignal;
  /** @default MODEL_WEIGHTS_TIMEOUT_MS */
  timeoutMs?: number;
  /** @default globalThis.fetch */
  fetch?: typeof globalThis.fetch;
}

/** The model's weight bytes: inline, or held by this process; CUSTOM_MODEL_WEIGHTS when neither. */
export function customModelWeights(custom: CustomModel): Uint8Array<ArrayBuffer> {
  if (custom.weightData !== undefined) return fromBase64(custom.weightData);
  const key = custom.weightsSha256 ?? '';
  const bytes = held.get(key);
  if (bytes === undefined)
    throw new TrainingError(
      'CUSTOM_MODEL_WEIGHTS',
      `the weights ${key} are held by the signaling server and were not fetched (fetchSessionModelWeights)`,
    );
  return bytes;
}

/**
 * Why `bytes` are not the weights `custom` names (length from its specs, SHA-256), or null.
 * The server applies the same check to an upload.
 */
export async function weightsIssue(
  custom: Pick<CustomModel, 'weightSpecs' | 'weightsSha256'>,
  bytes: Uint8Array<ArrayBuffer>,
): Promise<string | null> {
  const expected = customWeightBytes(custom);
  if (bytes.byteLength !== expected)
    return `got ${bytes.byteLength} bytes of weights, the model's specs announce ${expected}`;
  const actual = await sha256Hex(bytes);
  if (actual !== custom.weightsSha256)
    return `the weights' SHA-256 is ${actual}, the session names ${String(custom.weightsSha256)}`;
  return null;
}

function signalOf(request: ModelWeightsRequest): AbortSignal {
  const timeout = AbortSignal.timeout(request.timeoutMs ?? MODEL_WEIGHTS_TIMEOUT_MS);
  return request.signal === undefined ? timeout : AbortSignal.any([timeout, request.signal]);
}

/** The error text of a refused request: the server's JSON `error`, else the status line. */
async function refusalText(response: Response): Promise<string> {
  const text = await response.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: unknown };
    if (typeof body.error === 'string') return `${response.status} ${body.error}`;
  } catch {
    // not JSON: the status says enough
  }
  return `${response.status} ${response.statusText}`;
}

/**
 * Makes the session model's weights available to customModelWeights: a no-op when there is
 * no custom model, when they are inline or already held; else GET /models/<weightsSha256> from
 * `serverUrl`, checked before they are kept. Throws CUSTOM_MODEL_WEIGHTS naming the server's
 * refusal (404: not held there) or the mismatch.
 */
export async function fetchSessionModelWeights(
  serverUrl: string,
  custom: CustomModel | undefined,
  request: ModelWeightsRequest = {},
): Promise<void> {
  if (custom === undefined || custom.weightData !== undefined) return;
  const key = custom.weightsSha256;
  if (key === undefined || held.has(key)) return;
  const url = new URL(modelWeightsPath(key), serverUrl);
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    const response = await (request.fetch ?? globalThis.fetch)(url, { signal: signalOf(request) });
    if (!response.ok) throw new Error(await refusalText(response));
    bytes = new Uint8Array(await response.arrayBuffer());
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TrainingError(
      'CUSTOM_MODEL_WEIGHTS',
      `cannot fetch the model's weights from ${url}: ${reason}`,
      {
        cause: error,
      },
    );
  }
  const issue = await weightsIssue(custom, bytes);
  if (issue !== null) throw new TrainingError('CUSTOM_MODEL_WEIGHTS', `${url}: ${issue}`);
  held.set(key, bytes);
}

/**
 * PUT /models/<sha256 of bytes> on `serverUrl` (with the operator's token when the server has
 * one); resolves to the hash. Throws CUSTOM_MODEL_WEIGHTS with the server's refusal (over its
 * maxCustomModelBytes: 413). The bytes are kept here too, so this process need not fetch them.
 */
export async function uploadModelWeights(
  serverUrl: string,
  bytes: Uint8Array<ArrayBuffer>,
  request: ModelWeightsRequest & { operatorToken?: string } = {},
): Promise<string> {
  const key = await sha256Hex(bytes);
  const url = new URL(modelWeightsPath(key), serverUrl);
  try {
    const response = await (request.fetch ?? globalThis.fetch)(url, {
      method: 'PUT',
      body: bytes,
      headers: {
        'content-type': 'application/octet-stream',
        ...(request.operatorToken === undefined ? {} : { authorization: `Bearer ${request.operatorToken}` }),
      },
      signal: signalOf(request),
    });
    if (!response.ok) throw new Error(await refusalText(response));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new TrainingError(
      'CUSTOM_MODEL_WEIGHTS',
      `cannot upload the model's weights to ${url}: ${reason}`,
      {
        cause: error,
      },
    );
  }
  held.set(key, bytes);
  return key;
}

/** Keeps `bytes` as the weights named `sha256` (the creator, which has them already). */
export function holdModelWeights(sha256: string, bytes: Uint8Array<ArrayBuffer>): void {
  held.set(sha256, bytes);
}

/**
 * `create` (a peer's createLearner) that first fetches the session model's held weights from
 * `serverUrl`: the learner, a save and a download then find them.
 */
export function fetchingModelWeights<C extends { customModel?: CustomModel | undefined }, T>(
  serverUrl: string,
  create: (config: C) => Promise<T>,
): (config: C) => Promise<T> {
  return async (config) => {
    await fetchSessionModelWeights(serverUrl, config.customModel);
    return create(config);
  };
}
