/**
 * esbuild settings for browser bundles of this project (the web app, and test pages that
 * need the same environment). simple-peer 9 and its streams expect Node globals, so:
 * `global` is defined as `globalThis`; `Buffer` (the `buffer` package) and `process` (the
 * `process` package with a microtask nextTick, see ../shims/process.ts) are injected; every
 * `require('process')` resolves to that same shim; `events` resolves to the `events`
 * package. `setImmediate`/`clearImmediate` (the peer roles use them) come from a MessageChannel
 * shim (../shims/immediate.ts). `node:*` imports on paths the browser never takes (the
 * default learner's file reads) resolve to stubs that throw when called
 * (./node-builtins.ts). Only zod's English messages are bundled. CSS imported from
 * components arrives as text for Lit's `unsafeCSS`.
 *
 * @example
 * import { build } from 'esbuild';
 * await build(browserBundleOptions({ entryPoints: { app: 'client/ui/entry.ts' }, outDir: 'dist' }));
 */
import { join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BuildOptions, Plugin } from 'esbuild';
import { nodeBuiltinStubs } from './node-builtins.ts';

/** The repository root (esbuild's working directory, so metafile paths are relative to it). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const PROCESS_SHIM = fileURLToPath(new URL('../shims/process.ts', import.meta.url));
const BUFFER_SHIM = fileURLToPath(new URL('../shims/buffer.ts', import.meta.url));
const IMMEDIATE_SHIM = fileURLToPath(new URL('../shims/immediate.ts', import.meta.url));

/** Browsers the bundle targets: current evergreen ones (WebRTC data channels, ES2022). */
export const BROWSER_TARGETS = ['chrome109', 'firefox115', 'safari16'];

/** `process` and `process/` resolve to the microtask shim; `process/browser.js` (its base) does not. */
const processShimPlugin: Plugin = {
  name: 'liec-process-shim',
  setup(build) {
    build.onResolve({ filter: /^process\/?$/ }, () => ({ path: PROCESS_SHIM }));
  },
};

/**
 * zod's namespace re-exports every locale's messages (~300 kB minified) and the bundle cannot
 * shake them out; only English is used (zod's default), so `locales` is reduced to `en`.
 * `z.locales.<other>()` is therefore unavailable in the browser.
 */
const zodEnglishOnlyPlugin: Plugin = {
  name: 'liec-zod-english-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${sep}zod${sep}`)
        ? { path: join(args.resolveDir, '../locales/index.js'), namespace: 'zod-locales' }
        : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from './en.js';`,
      resolveDir: join(args.path, '..'),
    }));
  },
};

export interface BrowserBundleInit {
  /** Output name (without .js) to source path, relative to the repository root or absolute. */
  entryPoints: Record<string, string>;
  outDir: string;
  /** @default true */
  minify?: boolean;
  /** Write a linked source map next to each bundle. @default true */
  sourcemap?: boolean;
}

export function browserBundleOptions(init: BrowserBundleInit): BuildOptions & { metafile: true } {
  return {
    absWorkingDir: REPO_ROOT,
    entryPoints: init.entryPoints,
    outdir: init.outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: BROWSER_TARGETS,
    minify: init.minify ?? true,
    sourcemap: (init.sourcemap ?? true) ? 'linked' : false,
    // Decorators and class-field semantics come from tsconfig.json, as for tsc.
    tsconfig: `${REPO_ROOT}tsconfig.json`,
    define: { global: 'globalThis', 'process.env.NODE_ENV': '"production"' },
    inject: [PROCESS_SHIM, BUFFER_SHIM, IMMEDIATE_SHIM],
    plugins: [processShimPlugin, zodEnglishOnlyPlugin, nodeBuiltinStubs()],
    loader: { '.css': 'text' },
    metafile: true,
    logLevel: 'silent',
    legalComments: 'linked',
  };
}
