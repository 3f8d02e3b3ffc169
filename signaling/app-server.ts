/**
 * The signaling server plus the web app: the same HTTP server answers socket.io, `/status`,
 * `/healthz`, and serves the built app (client/ui/dist: index.html at `/`, app.js,
 * mnist.bin, the TF.js .wasm files) through signaling/static.ts. The app is built first when
 * missing or stale (about 2 s), so a fresh checkout serves a working page.
 *
 * @example
 * // node --import tsx signaling/app-server.ts --port 8080 --host 0.0.0.0
 * const server = await createAppServer({ logLevel: 'info' });
 * const url = await server.start({ port: 8080 }); // open url in a browser
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { LOG_LEVELS } from './logger.ts';
import { settingsFromEnv } from './env.ts';
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

/** CLI: `[--port 8080] [--host 0.0.0.0] [--log-level info] [--app-dir DIR]`; secret and Redis from env.ts. */
export async function main(argv: string[], env: NodeJS.ProcessEnv = process.env): Promise<SignalingServer> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '0.0.0.0' },
      'log-level': { type: 'string', default: 'info' },
      'app-dir': { type: 'string' },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError('--port must be 0..65535');
  const logLevel = LOG_LEVELS.find((level) => level === values['log-level']);
  if (logLevel === undefined) throw new RangeError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  const server = await createAppServer({
    logLevel,
    ...settingsFromEnv(env),
    ...(values['app-dir'] === undefined ? {} : { appDir: values['app-dir'] }),
  });
  await server.start({ port, host: values.host });
  return server;
}

const isEntry = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (isEntry) {
  main(process.argv.slice(2)).then(
    (server) => {
      const shutdown = (): void => void server.stop();
      process.once('SIGINT', shutdown);
      process.once('SIGTERM', shutdown);
    },
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
