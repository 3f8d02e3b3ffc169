/**
 * How to start another `liec` process the way this one runs: from the build (dist/cli/main.js,
 * plain `node`, see client/cli/build.ts) when this code was bundled, else from the TypeScript
 * source through tsx. `npm start` (the demo) spawns its peers with it, so a built demo starts
 * built peers and a demo run from source (tests) starts peers of the same source.
 *
 * @example
 * const { execArgv, script } = cliEntry();
 * spawn(process.execPath, [...execArgv, script, 'join', ...args]);
 */
import { fileURLToPath } from 'node:url';

/**
 * V8's young generation capped at 1 MB per semi-space (default 16): a peer allocates a fresh
 * gradient-sized array or two every round, and with the default the garbage of a few dozen
 * rounds sits in memory between scavenges. Measured on a 4-peer session of the 0.1M MLP:
 * peak RSS per peer 176-214 MB without, 140-157 MB with; rounds per second unchanged within
 * the noise of the shared machine.
 */
export const PEER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/** Defined as true by the build (esbuild `define`); absent when running from source. */
declare const LIEC_BUNDLED: boolean | undefined;

/** True when this code runs from dist/ (the build), false when from the TypeScript source. */
export const RUNS_BUILT: boolean = typeof LIEC_BUNDLED !== 'undefined' && LIEC_BUNDLED;

export interface CliEntry {
  /** Node flags before the script: PEER_NODE_FLAGS, and the tsx loader for source runs. */
  execArgv: string[];
  /** The CLI's entry module (main.ts or dist/cli/main.js). */
  script: string;
}

export function cliEntry(): CliEntry {
  // In the build, import.meta.url is rewritten to this source file's URL (build.ts).
  return RUNS_BUILT
    ? {
        execArgv: [...PEER_NODE_FLAGS],
        script: fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)),
      }
    : {
        execArgv: [...PEER_NODE_FLAGS, '--import', 'tsx'],
        script: fileURLToPath(new URL('./main.ts', import.meta.url)),
      };
}
