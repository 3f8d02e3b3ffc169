/**
 * `liec serve`: the signaling server and the web app (signaling/main.ts), until SIGINT or
 * SIGTERM. Prints the URLs to open once: loopback, and each LAN IPv4 address when it listens
 * on every interface. The server's own logs go to stderr.
 *
 * @example
 * liec serve --port 8080
 */
import { Command, Option } from 'commander';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { ENV_USAGE } from '../../signaling/env.ts';
import {
  CommandFailure,
  integerIn,
  oneLine,
  oneOf,
  plainDefaults,
  processIo,
  runProgram,
  type CliIo,
} from './command.ts';
import { buildWebAppInto } from './web-app.ts';

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

export function serveCommand(): Command {
  const command = new Command('liec serve')
    .description('Run the signaling server and the web app until Ctrl-C.')
    .addOption(
      new Option('--port <port>', 'TCP port (0: any free port)')
        .argParser(integerIn(0, 65_535))
        .default(8080),
    )
    .addOption(new Option('--host <address>', 'address to listen on').default('0.0.0.0'))
    .addOption(
      new Option(
        '--log-level <level>',
        `server log level: ${LOG_LEVELS.join(' | ')} (default: LIEC_LOG_LEVEL, else info)`,
      ).argParser(oneOf(LOG_LEVELS)),
    )
    .addOption(
      new Option('--heartbeat-timeout-ms <ms>', 'a peer silent this long is dropped')
        .argParser(integerIn(1))
        .default(15_000),
    )
    .addOption(
      new Option('--max-peers-per-session <n>', 'peers a session admits')
        .argParser(integerIn(1))
        .default(256),
    )
    .addOption(
      new Option(
        '--max-offences <n>',
        'offences (replaced as a faulty aggregator, reported for invalid frames) that expel a peer',
      )
        .argParser(integerIn(1))
        .default(2),
    )
    .addOption(new Option('--app-dir <dir>', 'folder of the built web app (default: client/ui/dist)'))
    .addOption(
      new Option('--signaling-only', 'serve no web app, only the signaling endpoints')
        .default(false)
        .conflicts('appDir'),
    )
    .addOption(
      new Option(
        '--open',
        'no operator token: anyone who reaches the server creates sessions and reads /metrics (a LAN)',
      ).default(false),
    )
    .addHelpText(
      'after',
      `\nEnvironment:\n${ENV_USAGE.split('\n')
        .map((line) => `  ${line.replace(/^(env:)?\s+/, '')}`)
        .join('\n')}`,
    );
  return plainDefaults(command);
}

interface ServeOptions {
  port: number;
  host: string;
  logLevel?: string;
  heartbeatTimeoutMs: number;
  maxPeersPerSession: number;
  maxOffences: number;
  appDir?: string;
  signalingOnly: boolean;
  open: boolean;
}

/**
 * The URLs to open for a server listening on `host`:`port`: loopback and every external
 * IPv4 address when `host` is a wildcard (0.0.0.0, ::), else that host alone.
 */
export function serveUrls(
  host: string,
  port: number,
  interfaces: NodeJS.Dict<NetworkInterfaceInfo[]> = networkInterfaces(),
): string[] {
  const url = (address: string) => `http://${address.includes(':') ? `[${address}]` : address}:${port}/`;
  if (host !== '0.0.0.0' && host !== '::' && host !== '') return [url(host)];
  const lan = Object.values(interfaces)
    .flatMap((list) => list ?? [])
    .filter((info) => info.family === 'IPv4' && !info.internal)
    .map((info) => info.address);
  return [...new Set(['127.0.0.1', ...lan])].map(url);
}

/**
 * Runs `liec serve`; `until` (tests) stops the server like SIGINT does.
 */
export async function main(
  argv: readonly string[],
  io: CliIo = processIo,
  until?: Promise<void>,
): Promise<number> {
  let code = 0;
  const command = serveCommand().action(async () => {
    const opts = command.opts<ServeOptions>();
    const args = [
      '--port',
      String(opts.port),
      '--host',
      opts.host,
      '--heartbeat-timeout-ms',
      String(opts.heartbeatTimeoutMs),
      '--max-peers-per-session',
      String(opts.maxPeersPerSession),
      '--max-offences',
      String(opts.maxOffences),
      ...(opts.logLevel === undefined ? [] : ['--log-level', opts.logLevel]),
      ...(opts.appDir === undefined ? [] : ['--app-dir', opts.appDir]),
      ...(opts.signalingOnly ? ['--signaling-only'] : []),
      ...(opts.open ? ['--open'] : []),
    ];
    const { main: startServer } = await import('../../signaling/main.ts');
    let server: Awaited<ReturnType<typeof startServer>>;
    try {
      server = await startServer(args, process.env, opts.signalingOnly ? {} : { buildApp: buildWebAppInto });
    } catch (error) {
      throw new CommandFailure(`cannot listen on ${opts.host}:${opts.port}: ${oneLine(error)}`);
    }
    const port = Number(new URL(server.url).port);
    const what = opts.signalingOnly ? 'signaling server' : 'signaling server and web app';
    const urls = serveUrls(opts.host, port);
    io.out(`${what} on port ${port}; open:\n${urls.map((u) => `  ${u}\n`).join('')}`);
    const operatorToken = server.options.operatorToken;
    if (operatorToken === undefined) io.out('open mode: anyone who reaches it may create sessions\n');
    else if ((process.env['LIEC_OPERATOR_TOKEN'] ?? '') === '')
      // Made up at start: the operator needs it for liec create, liec snapshots and /metrics.
      io.out(`operator token (set LIEC_OPERATOR_TOKEN to choose it): ${operatorToken}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        resolve();
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      void until?.then(stop);
    });
    await server.stop();
    code = 0;
  });
  return runProgram(command, argv, io, () => code);
}
