/**
 * Failures of the scale-out configuration, with stable codes: a Redis URL without a shared
 * secret (tokens signed by one instance would fail at the others), and a Redis that does
 * not answer when the server starts.
 *
 * @example
 * try { await server.start(); } catch (err) { if (err instanceof ScaleOutError) console.error(err.code); }
 */

export type ScaleOutErrorCode = 'ERR_SECRET_REQUIRED' | 'ERR_REDIS_UNAVAILABLE';

export class ScaleOutError extends Error {
  readonly code: ScaleOutErrorCode;
  constructor(code: ScaleOutErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ScaleOutError';
    this.code = code;
  }
}
