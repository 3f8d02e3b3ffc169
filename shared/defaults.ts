/**
 * Training defaults shared by sessions (shared/protocol/session-config.ts) and the simulator
 * (client/sim/options.ts), so that a session and a simulation run on the same settings unless
 * told otherwise. They are the simulator's, on which the skewed-data results in
 * docs/benchmarks.md were measured.
 *
 * @example
 * import { DEFAULT_LEARNING_RATE } from '../defaults.ts';
 */

/** Learning rate of every peer's (every virtual worker's) local optimizer. */
export const DEFAULT_LEARNING_RATE = 0.3;

/** Local batch size per worker and round. */
export const DEFAULT_BATCH_SIZE = 32;
