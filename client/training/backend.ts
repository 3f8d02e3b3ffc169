/**
 * Chooses the TF.js backend once per process and says which one runs.
 *
 * Node: tfjs-node ('node', native libtensorflow; an optional dependency that is absent where
 * it cannot install) if it loads, else WebAssembly ('wasm', SIMD: about 6 ms per MLP step of
 * batch 64 here), else plain JavaScript ('cpu': about 60 ms). Browser: webgl, else wasm,
 * else cpu.
 * A preference skips the faster backends before it: 'wasm' tries wasm then cpu, 'cpu' uses
 * cpu. (wasm lacks conv backprop kernels; our CNN avoids them, see architectures.ts.)
 *
 * Idempotent: repeated or concurrent calls share one selection. A later call with a
 * different explicit preference switches backends; a call without one keeps the current.
 *
 * @example
 * const backend = await selectBackend();      // logs "[training] TF.js backend: wasm (...)"
 * const cpu = await selectBackend('cpu');      // switches, e.g. to compare backends
 */
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm'; // importing registers 'wasm'
import { TrainingError } from './errors.ts';

export type BackendName = 'node' | 'webgl' | 'wasm' | 'cpu';
export type BackendPreference = 'node' | 'webgl' | 'wasm' | 'cpu';

export interface SelectBackendOptions {
  /** Receives the one line saying which backend runs. @default console.info */
  log?: (line: string) => void;
  /**
   * Where the wasm backend finds its .wasm files (a directory URL or path ending in '/').
   * @default in Node, the dist/ folder of the installed @tensorflow/tfjs-backend-wasm;
   * in a browser, next to the bundle (what a page must serve).
   */
  wasmPaths?: string;
}

/** TF.js's own names for our backends; tfjs-node registers itself as 'tensorflow'. */
const TF_NAME: Record<BackendName, string> = { node: 'tensorflow', webgl: 'webgl', wasm: 'wasm', cpu: 'cpu' };

const ALL_BACKENDS: readonly BackendName[] = ['node', 'webgl', 'wasm', 'cpu'];

/** Kept in a variable so type checkers and bundlers do not require the optional package. */
const TFJS_NODE_PACKAGE = '@tensorflow/tfjs-node';

const isNode = typeof process !== 'undefined' && typeof process.versions?.node === 'string';

let selection: { preference: BackendPreference | undefined; result: Promise<BackendName> } | undefined;
let wasmPathsSet = false;

/** Selects (once) and returns the backend TF.js computes with. */
export function selectBackend(
  preference?: BackendPreference,
  options: SelectBackendOptions = {},
): Promise<BackendName> {
  if (selection && (preference === undefined || preference === selection.preference)) return selection.result;
  const result = runSelection(preference, options);
  selection = { preference, result };
  // A failed selection must not stick: the next call tries again.
  result.catch(() => {
    if (selection?.result === result) selection = undefined;
  });
  return result;
}

/** The backend currently selected, or undefined before selectBackend resolved. */
export function activeBackend(): BackendName | undefined {
  const current = tf.getBackend();
  return ALL_BACKENDS.find((name) => TF_NAME[name] === current);
}

function candidates(preference: BackendPreference | undefined): BackendName[] {
  const fastest: BackendName[] = isNode ? ['node', 'wasm', 'cpu'] : ['webgl', 'wasm', 'cpu'];
  const start = preference === undefined ? 0 : fastest.indexOf(preference);
  return start < 0 ? fastest : fastest.slice(start);
}

async function runSelection(
  preference: BackendPreference | undefined,
  options: SelectBackendOptions,
): Promise<BackendName> {
  const log = options.log ?? ((line: string) => console.info(line));
  const skipped: string[] = [];
  for (const name of candidates(preference)) {
    const failure = await tryBackend(name, options);
    if (failure === undefined) {
      // Our line says which backend runs; silence TF.js's "install tfjs-node" banner.
      if (isNode) tf.enableProdMode();
      const why = skipped.length > 0 ? `; skipped ${skipped.join(', ')}` : '';
      log(`[training] TF.js backend: ${name} (tfjs ${tf.version.tfjs}${describe(name)}${why})`);
      return name;
    }
    skipped.push(`${name}: ${failure}`);
  }
  throw new TrainingError('BACKEND_UNAVAILABLE', `no TF.js backend could start (${skipped.join('; ')})`);
}

/** Returns undefined when `name` is now the active backend, else why it is not. */
async function tryBackend(name: BackendName, options: SelectBackendOptions): Promise<string | undefined> {
  try {
    if (name === 'node') {
      if (!isNode) return 'not in Node';
      await import(TFJS_NODE_PACKAGE);
    }
    if (name === 'wasm') configureWasmPaths(options.wasmPaths);
    if (!(await tf.setBackend(TF_NAME[name]))) return 'failed to initialise';
    await tf.ready();
    return undefined;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return message.includes('Cannot find') ? 'not installed' : message.split('\n')[0];
  }
}

function configureWasmPaths(explicit: string | undefined): void {
  if (wasmPathsSet) return; // setWasmPaths throws once the backend has initialised
  const prefix =
    explicit ??
    (isNode ? new URL('.', import.meta.resolve('@tensorflow/tfjs-backend-wasm')).href : undefined);
  if (prefix !== undefined) setWasmPaths(prefix);
  wasmPathsSet = true;
}

function describe(name: BackendName): string {
  if (name !== 'wasm') return '';
  try {
    const simd = tf.env().getBool('WASM_HAS_SIMD_SUPPORT') ? 'simd' : 'no simd';
    const threads = tf.env().getBool('WASM_HAS_MULTITHREAD_SUPPORT') ? 'threads' : '1 thread';
    return `, ${simd}, ${threads}`;
  } catch {
    return ''; // flags not evaluated yet: the description is only informative
  }
}
