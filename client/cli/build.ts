/**
 * `npm run build`: compiles the `liec` CLI (client/cli/main.ts and everything it imports from
 * client/, shared/ and signaling/) into plain JavaScript under dist/cli/, so a headless peer
 * starts without compiling TypeScript at run time, as published npm CLIs do. `liec` (bin.js)
 * runs dist/cli/main.js and `npm start` dist/cli/demo.js. It also writes the MNIST digits as
 * packed float32 for peers (dist/mnist/, client/training/mnist-cache.ts), when missing.
 * `prepare` (npm install, npm ci), `prestart` and `pretest` run this build (2-8 s).
 *
 * One esbuild pass, ESM, code splitting: each subcommand's dynamic import stays a chunk of its
 * own, so `liec --help` still loads only commander and `liec join` never loads the signaling
 * server. npm packages stay external (imported from node_modules: wrtc is native), except
 * TF.js: its Node entry (`@tensorflow/tfjs`'s tf.node.js) is one prebuilt file with layers,
 * converter, data and the cpu and webgl backends, 33 MB of a peer's memory; bundled from its
 * ES modules, esbuild leaves out what nothing uses (measured: a process with TF.js loaded 89 MB
 * -> 56 MB). The wasm backend's Emscripten glue is CommonJS (require, __dirname): the banner
 * gives every chunk both. The .wasm files are still read from node_modules (backend.ts).
 * The optional tfjs-node backend is still imported from node_modules; TF.js keeps its engine
 * and kernel registry on globalThis, so it registers where the bundled copy looks (not
 * measured here: tfjs-node does not install on this machine).
 *
 * `import.meta.url` in a bundled module names the chunk in dist/cli/, not its source file;
 * code that finds files relative to its source (the web app's build, the server's app folder,
 * package.json) would look in the wrong place. The sourceUrlPlugin below rewrites each
 * `import.meta.url` to its source file's URL, computed relative to the chunk at run time, so
 * those paths stay what they were and the repository may move. The entries (main.ts, demo.ts)
 * are left as they are: each is its own file in dist/cli/ and must recognise itself as the
 * main module (`node dist/cli/main.js`). `LIEC_BUNDLED` is defined as
 * true in the build: client/cli/entry.ts tells source runs and built runs apart with it.
 *
 * @example
 * // npm run build          (node --import tsx client/cli/build.ts)
 * const { outDir, files } = await buildCli();
 */
import { readFile, rm } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Plugin } from 'esbuild';

/** The repository root. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Where the CLI is built (git-ignored); two levels below the root, like client/cli/. */
export const CLI_OUT_DIR = fileURLToPath(new URL('../../dist/cli/', import.meta.url));
/** main: the `liec` command; demo: `npm start` (the demo under its own name, `npm start --`). */
const ENTRIES = {
  main: fileURLToPath(new URL('./main.ts', import.meta.url)),
  demo: fileURLToPath(new URL('./demo.ts', import.meta.url)),
};
const ENTRY_FILES = new Set(Object.values(ENTRIES));
/** Node 20 is the oldest runtime package.json's engines allows. */
const NODE_TARGET = 'node20';
/** Packages bundled (by their ES modules) rather than imported from node_modules at run time. */
const BUNDLED_PACKAGES =
  /^@tensorflow\/tfjs(-core|-backend-wasm|-backend-cpu|-backend-webgl|-layers|-converter|-data)?(\/|$)/;
/** CommonJS globals for bundled CommonJS code (the wasm backend's Emscripten glue) in ES modules. */
const COMMONJS_BANNER = [
  "import { createRequire as __liecCreateRequire } from 'node:module';",
  "import { dirname as __liecDirname } from 'node:path';",
  "import { fileURLToPath as __liecFileURLToPath } from 'node:url';",
  'const require = __liecCreateRequire(import.meta.url);',
  'const __filename = __liecFileURLToPath(import.meta.url);',
  'const __dirname = __liecDirname(__filename);',
].join(' ');

export interface CliBuildResult {
  outDir: string;
  /** Output files relative to outDir, with their sizes in bytes. */
  files: { name: string; bytes: number }[];
  durationMs: number;
}

/** Rewrites `import.meta.url` in the project's TypeScript to the source file's own URL. */
function sourceUrlPlugin(outDir: string): Plugin {
  return {
    name: 'liec-source-url',
    setup(pluginBuild) {
      pluginBuild.onLoad({ filter: /\.ts$/ }, async (args) => {
        const text = await readFile(args.path, 'utf8');
        // Entries keep their own URL: their "am I the main module" check compares it with argv[1].
        if (ENTRY_FILES.has(args.path) || !text.includes('import.meta.url'))
          return { contents: text, loader: 'ts' };
        const fromChunk = relative(outDir, args.path).split(sep).join('/');
        const sourceUrl = `new URL(${JSON.stringify(fromChunk)}, import.meta.url).href`;
        return { contents: text.replaceAll('import.meta.url', sourceUrl), loader: 'ts' };
      });
    },
  };
}

/** Every other bare import stays external: it is loaded from node_modules at run time. */
const externalPackages: Plugin = {
  name: 'liec-external-packages',
  setup(pluginBuild) {
    pluginBuild.onResolve({ filter: /^[^./]/ }, (args) =>
      args.kind === 'entry-point' || BUNDLED_PACKAGES.test(args.path)
        ? undefined
        : { path: args.path, external: true },
    );
  },
};

/** Builds the CLI into `outDir` (emptied first). */
export async function buildCli(outDir = CLI_OUT_DIR): Promise<CliBuildResult> {
  const started = performance.now();
  await rm(outDir, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: REPO_ROOT,
    entryPoints: ENTRIES,
    outdir: outDir,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: NODE_TARGET,
    // TF.js's ES modules (the "module" field), not its prebuilt Node bundle ("main").
    mainFields: ['module', 'main'],
    banner: { js: COMMONJS_BANNER },
    sourcemap: 'linked',
    define: { LIEC_BUNDLED: 'true' },
    plugins: [externalPackages, sourceUrlPlugin(outDir)],
    metafile: true,
    logLevel: 'warning',
  });
  const files = Object.entries(result.metafile.outputs)
    .map(([path, output]) => ({
      name: relative(outDir, fileURLToPath(pathToFileURL(`${REPO_ROOT}${path}`))),
      bytes: output.bytes,
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
  return { outDir, files, durationMs: performance.now() - started };
}

/**
 * Writes the digits' packed copy for headless peers (client/training/mnist-cache.ts) unless one
 * of the installed digit files is there; true when it wrote one.
 */
export async function buildMnistCache(): Promise<boolean> {
  const { mnistSourceBytes, readMnistPackage } = await import('../training/mnist.ts');
  const { readMnistCache, writeMnistCache } = await import('../training/mnist-cache.ts');
  const bytes = await mnistSourceBytes();
  if ((await readMnistCache(bytes)) !== null) return false;
  await writeMnistCache(await readMnistPackage(), bytes);
  return true;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const { outDir, files, durationMs } = await buildCli(process.argv[2]);
  const wroteDigits = await buildMnistCache();
  const code = files.filter((f) => f.name.endsWith('.js'));
  const kb = code.reduce((n, f) => n + f.bytes, 0) / 1024;
  console.log(
    `built the liec CLI into ${relative(REPO_ROOT, outDir) || outDir}: ${code.length} files, ${kb.toFixed(0)} KiB of JavaScript, ${(durationMs / 1000).toFixed(2)} s; MNIST digits for peers in dist/mnist/ ${wroteDigits ? 'written' : 'up to date'}`,
  );
}
