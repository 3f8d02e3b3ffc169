/**
 * Named failures of the training adapter (backend, data, model). Tests assert on `code`.
 *
 * @example
 * try { model.setWeights(new Float32Array(3)); }
 * catch (e) { if (e instanceof TrainingError && e.code === 'WEIGHTS_LENGTH_MISMATCH') ... }
 */

export type TrainingErrorCode =
  | 'WEIGHTS_LENGTH_MISMATCH' // setWeights got a vector of the wrong length
  | 'NON_FINITE_WEIGHTS' // setWeights got NaN or Infinity
  | 'BAD_BATCH' // images/labels sizes disagree, label out of range, index out of range, empty batch
  | 'MODEL_DISPOSED' // the model was used after dispose()
  | 'BAD_OPTION' // an option out of range (hidden units, batch size, chunk size)
  | 'BACKEND_UNAVAILABLE' // no TF.js backend could be initialised
  | 'MNIST_LOAD_FAILED' // the mnist package's digit files are missing or malformed
  | 'CUSTOM_MODEL_HASH' // a session's own model does not match the SHA-256 its config names
  | 'CUSTOM_MODEL_UNTRAINABLE' // a Layers model the flat-weight seam cannot train (see custom-model.ts)
  | 'CUSTOM_MODEL_WEIGHTS' // a session's held weights not fetched, not on the server, or not the bytes named
  | 'CUSTOM_MODEL_FILES'; // a model directory without a readable model.json or weight file

export class TrainingError extends Error {
  readonly code: TrainingErrorCode;
  constructor(code: TrainingErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'TrainingError';
    this.code = code;
  }
}
