/**
 * Command line entry of the signaling server (`npm run serve`, `liec serve`): socket.io,
 * `/status`, `/healthz` and, unless `--signaling-only`, the web app built in `--app-dir`
 * (app-server.ts; this entry does not build it: `npm run build:ui`, or a caller passes
 * `buildApp`). The HMAC secret and the Redis URL come from the environment (env.ts), not
 * argv, so they do not show in process lists; without a secret a random one is made and
 * tokens die with the process. With LIEC_REDIS_URL several instances serve the same sessions
 * (docs/deploy.md). The log level: `--log-level`, else LIEC_LOG_LEVEL, else info.
 * Operator actions (creating sessions, snapshots and rollback, /metrics) need the operator
 * token LIEC_OPERATOR_TOKEN; without it a random one is made (server.options.operatorToken,
 * printed by `liec serve`), and `--open` drops the check, as the demo does on a LAN.
 *
 * @example
 * node --import tsx signaling/main.ts --port 8080 --host 0.0.0.0 --log-level info
 * LIEC_LOG_LEVEL=debug node --import tsx signaling/main.ts --signaling-only --heartbeat-timeout-ms 30000
 * const server = await main(argv, process.env, { buildApp: async (dir) => { await ensureWebApp(dir); return dir; } });
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { createAppServer, type AppServerInit } from './app-server.ts';
import { ENV_USAGE, settingsFromEnv } from './env.ts';
import { randomId } from './ids.ts';
import { resolveLogLevel } from './logger.ts';
import { createSignalingServer, type SignalingServer } from './server.ts';

export const USAGE = `usage: signaling [--port 8080] [--host 0.0.0.0] [--log-level info]
       [--heartbeat-timeout-ms 15000] [--max-peers-per-session 256] [--max-offences 2]
       [--app-dir client/ui/dist | --signaling-only] [--open]
${ENV_USAGE}`;

function integer(name: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`--${name} must be a non-negative integer`);
  return value;
}

/** What a caller of main() may add to the command line's settings. */
export interface MainInit {
  /** Builds the app into `--app-dir` before serving (createAppServer's buildApp). @default none */
  buildApp?: AppServerInit['buildApp'];
}

/** Starts a server from arguments; resolves once it listens. Stop it with `stop()`. */
export async function main(
  argv: string[],
  env: NodeJS.ProcessEnv = process.env,
  extra: MainInit = {},
): Promise<SignalingServer> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'log-level': { type: 'string' },
      'heartbeat-timeout-ms': { type: 'string' },
      'max-peers-per-session': { type: 'string' },
      'max-offences': { type: 'string' },
      'app-dir': { type: 'string' },
      'signaling-only': { type: 'boolean' },
      open: { type: 'boolean' },
    },
    strict: true,
  });
  const port = integer('port', values.port, 8080);
  if (port > 65_535) throw new RangeError('--port must be 0..65535');
  const heartbeatTimeoutMs = integer('heartbeat-timeout-ms', values['heartbeat-timeout-ms'], 15_000);
  const maxOffences = integer('max-offences', values['max-offences'], 2);
  if (maxOffences < 1) throw new RangeError('--max-offences must be at least 1');
  const fromEnv = settingsFromEnv(env);
  if (values.open === true && fromEnv.operatorToken !== undefined)
    throw new RangeError('--open and LIEC_OPERATOR_TOKEN exclude each other');
  // Closed unless asked to be open: an operator who set no token gets a random one to use.
  const operatorToken = values.open === true ? undefined : (fromEnv.operatorToken ?? randomId(24));
  const init = {
    ...fromEnv,
    ...(operatorToken === undefined ? {} : { operatorToken }),
    heartbeatTimeoutMs,
    heartbeatIntervalMs: Math.max(1, Math.floor(heartbeatTimeoutMs / 3)),
    maxPeersPerSession: integer('max-peers-per-session', values['max-peers-per-session'], 256),
    maxOffences,
    logLevel: resolveLogLevel(values['log-level'], env),
  };
  if (values['signaling-only'] === true && values['app-dir'] !== undefined)
    throw new RangeError('--app-dir and --signaling-only exclude each other');
  const server =
    values['signaling-only'] === true
      ? createSignalingServer(init)
      : await createAppServer({
          ...init,
          ...(values['app-dir'] === undefined ? {} : { appDir: values['app-dir'] }),
          ...(extra.buildApp === undefined ? {} : { buildApp: extra.buildApp }),
        });
  await server.start({ port, host: values.host ?? '0.0.0.0' });
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
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
      process.exitCode = 1;
    },
  );
}
