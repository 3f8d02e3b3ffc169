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

/**
 * A session's defaults where they differ from the simulator's: LIEC with 2 local steps at
 * learning rate 0.6, top-k 1% with sign values both ways. Chosen on seeds 1-4 in the
 * simulator's time model (docs/benchmarks.md, "Choosing the default"), then in real sessions
 * on seeds 5-8: `npm start` reached 90% after 3.1 s median against 9.8 s with the simulator's
 * settings. The simulator keeps lr 0.3, one step and fp16 values, on which its results were
 * measured.
 */
export const DEFAULT_SESSION_LEARNING_RATE = 0.6;
/** Local optimizer steps per round of a liec session (the other algorithms: 1). */
export const DEFAULT_LIEC_LOCAL_STEPS = 2;
/** Compressor both ways. */
export const DEFAULT_SESSION_CODEC = 'topk:0.01:sign';
