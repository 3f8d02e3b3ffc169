/**
 * The signaling server plus the web app: the same HTTP server answers socket.io, `/status`,
 * `/healthz`, and serves the built app (client/ui/dist: index.html at `/`, app.js,
 * mnist.bin, the TF.js .wasm files) through signaling/static.ts. The app is built first when
 * missing or stale (about 2 s), so a fresh checkout serves a working page.
 *
 * @example
 * // from the command line: node --import tsx signaling/main.ts --port 8080 (main.ts)
 * const server = await createAppServer({ logLevel: 'info' });
 * const url = await server.start({ port: 8080 }); // open url in a browser
 */
import { fileURLToPath } from 'node:url';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SignalingServerInit } from './options.ts';
import { createSignalingServer, type SignalingServer } from './server.ts';
import { createStaticHandler, type StaticHandlerInit } from './static.ts';

/** Where client/ui/build.ts puts the app by default. */
export const DEFAULT_APP_DIR = fileURLToPath(new URL('../client/ui/dist/', import.meta.url));

export interface AppServerInit extends SignalingServerInit {
  /** Folder of the built web app. @default client/ui/dist */
  appDir?: string;
  /** Build the app into appDir first when it is missing or stale. @default true */
  build?: boolean;
  /** Cache-Control per served path. @default static.ts defaultCacheControl */
  cacheControl?: StaticHandlerInit['cacheControl'];
}

function notFound(_req: IncomingMessage, res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  res.end('not found\n');
}

/** A signaling server that also serves the web app; requests it has no file for go to `fallbackHandler`, else 404. */
export async function createAppServer(init: AppServerInit = {}): Promise<SignalingServer> {
  const { appDir = DEFAULT_APP_DIR, build = true, cacheControl, ...signalingInit } = init;
  if (build) {
    // Loaded only here: esbuild and the MNIST reader are not needed to serve a built app.
    const { ensureWebApp } = await import('../client/ui/build.ts');
    await ensureWebApp(appDir);
  }
  const serve = createStaticHandler({
    root: appDir,
    ...(cacheControl === undefined ? {} : { cacheControl }),
  });
  const fallback = init.fallbackHandler ?? notFound;
  return createSignalingServer({
    ...signalingInit,
    fallbackHandler: (req, res) => {
      serve(req, res).then(
        (served) => {
          if (!served) fallback(req, res);
        },
        () => {
          if (!res.headersSent) res.writeHead(500);
          res.end();
        },
      );
    },
  });
}
