/**
 * The signaling server plus the web app: the same HTTP server answers socket.io, `/status`,
 * `/healthz`, and serves a built app folder (index.html at `/`, app.js, mnist.bin, the TF.js
 * .wasm files) through signaling/static.ts (sirv).
 *
 * The server does not build the app: it takes the folder (`appDir`, by default client/ui/dist
 * as a path, where `npm run build:ui` writes it) and imports nothing from client/. A caller
 * that wants a fresh build on start passes `buildApp`, e.g. client/ui/build.ts's ensureWebApp.
 * While the folder has no index.html, `/` answers 503 naming `npm run build:ui`; a build made
 * meanwhile is served without a restart (files are looked up per request).
 *
 * @example
 * // from the command line: node --import tsx signaling/main.ts --port 8080 --app-dir dist (main.ts)
 * const server = await createAppServer({
 *   logLevel: 'info',
 *   buildApp: async (dir) => { await ensureWebApp(dir); return dir; }, // optional
 * });
 * const url = await server.start({ port: 8080 }); // open url in a browser
 */
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger } from './logger.ts';
import type { SignalingServerInit } from './options.ts';
import { createSignalingServer, type SignalingServer } from './server.ts';
import { createStaticHandler, safeRequestPath, type StaticHandlerInit } from './static.ts';

/** Where `npm run build:ui` (client/ui/build.ts) puts the app: a path, resolved from this file. */
export const DEFAULT_APP_DIR = fileURLToPath(new URL('../client/ui/dist/', import.meta.url));

/** The command that builds the app into DEFAULT_APP_DIR, named in the 503 answer. */
export const BUILD_COMMAND = 'npm run build:ui';

export interface AppServerInit extends SignalingServerInit {
  /** Folder of the built web app. @default DEFAULT_APP_DIR (client/ui/dist) */
  appDir?: string;
  /**
   * Builds (or checks) the app before the server is made: called with appDir, resolves to
   * the folder to serve (usually the same). @default none: appDir is served as it is
   */
  buildApp?: (appDir: string) => Promise<string>;
  /** `false` skips buildApp. @default true */
  build?: boolean;
  /** Cache-Control per served path. @default static.ts defaultCacheControl */
  cacheControl?: StaticHandlerInit['cacheControl'];
}

function notFound(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('not found\n');
}

function notBuilt(res: ServerResponse): void {
  res.writeHead(503, {
    'content-type': 'text/plain; charset=utf-8',
    'cache-control': 'no-store',
    'retry-after': '5',
  });
  res.end(
    `The web app is not built. Run \`${BUILD_COMMAND}\` (or start the server with --app-dir <built folder>), then reload.\n`,
  );
}

async function hasFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * A signaling server that also serves the web app from `appDir` (after `buildApp`, if given);
 * requests it has no file for go to `fallbackHandler`, else 404; `/` while the app is not
 * built answers 503.
 */
export async function createAppServer(init: AppServerInit = {}): Promise<SignalingServer> {
  const { appDir = DEFAULT_APP_DIR, buildApp, build = true, cacheControl, ...signalingInit } = init;
  const log = init.logger ?? createLogger('app', init.logLevel);
  const root = resolve(buildApp !== undefined && build ? await buildApp(appDir) : appDir);
  const index = join(root, 'index.html');
  if (await hasFile(index)) log.info('serving the web app', { appDir: root });
  else log.warn(`web app not built: / answers 503 until \`${BUILD_COMMAND}\` builds it`, { appDir: root });

  const serve = createStaticHandler({
    root,
    ...(cacheControl === undefined ? {} : { cacheControl }),
  });
  const fallback = init.fallbackHandler ?? notFound;
  const missing = (req: IncomingMessage, res: ServerResponse): void => {
    if (safeRequestPath(req.url) !== '/') return fallback(req, res);
    void hasFile(index).then((built) => (built ? fallback(req, res) : notBuilt(res)));
  };
  return createSignalingServer({
    ...signalingInit,
    fallbackHandler: (req, res) => {
      serve(req, res).then(
        (served) => {
          if (!served) missing(req, res);
        },
        (err: unknown) => {
          log.error('static file failed', { url: req.url, err });
          if (!res.headersSent) res.writeHead(500);
          res.end();
        },
      );
    },
  });
}
