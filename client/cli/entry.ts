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

/** Defined as true by the build (esbuild `define`); absent when running from source. */
declare const LIEC_BUNDLED: boolean | undefined;

/** True when this code runs from dist/ (the build), false when from the TypeScript source. */
export const RUNS_BUILT: boolean = typeof LIEC_BUNDLED !== 'undefined' && LIEC_BUNDLED;

export interface CliEntry {
  /** Node flags before the script: the tsx loader for source runs, none for built ones. */
  execArgv: string[];
  /** The CLI's entry module (main.ts or dist/cli/main.js). */
  script: string;
}

export function cliEntry(): CliEntry {
  // In the build, import.meta.url is rewritten to this source file's URL (build.ts).
  return RUNS_BUILT
    ? { execArgv: [], script: fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url)) }
    : { execArgv: ['--import', 'tsx'], script: fileURLToPath(new URL('./main.ts', import.meta.url)) };
}
