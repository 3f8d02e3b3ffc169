/**
 * The `liec` command: one binary for every headless use.
 *
 *   liec serve  [--port 8080] [--host 0.0.0.0]        the signaling server (and web app)
 *   liec create --server URL [config flags]            create a session, print id, token, links
 *   liec join   --server URL --session ID --token T    run a headless peer
 *   liec demo   [--peers 4] [--rounds 300]             everything on loopback (npm start)
 *   liec invite --server URL --session ID --token HOST [--count N]  invitations, one per peer id
 *   liec snapshots --server URL --session ID [--rollback R]  an operator's snapshots and rollback
 *
 * `liec --help`, `liec help [command]`, `liec <command> --help`, `liec --version`. This module
 * loads only commander: a subcommand's module (and with it TF.js, WebRTC or the signaling
 * server) is imported when that command runs. Exit codes: client/cli/command.ts.
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { processIo, runProgram, type CliIo } from './command.ts';

interface Subcommand {
  args: string;
  summary: string;
  load: () => Promise<{ main(argv: readonly string[], io: CliIo): Promise<number> }>;
}

export const SUBCOMMANDS: Record<string, Subcommand> = {
  serve: {
    args: '[--port 8080]',
    summary: 'run the signaling server and the web app',
    load: () => import('./serve.ts'),
  },
  create: {
    args: '--server URL [config flags]',
    summary: 'create a session; print its id, token, watch link and join command',
    load: () => import('./create.ts'),
  },
  invite: {
    args: '--server URL --session ID --token HOST [--count N]',
    summary: 'mint invitations to a session created with --invitations, one per peer id',
    load: () => import('./invite.ts'),
  },
  join: {
    args: '--server URL --session ID --token T',
    summary: 'run one headless peer of a session',
    load: () => import('./join.ts'),
  },
  demo: {
    args: '[--peers 4] [--rounds 300]',
    summary: 'a signaling server and N headless peers on loopback (npm start)',
    load: () => import('./demo.ts'),
  },
  snapshots: {
    args: '--server URL --session ID [--rollback ROUND]',
    summary: "list a session's model snapshots, or roll it back to one (operator)",
    load: () => import('./snapshots.ts'),
  },
};

function version(): string {
  const pkg: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return typeof pkg === 'object' && pkg !== null && 'version' in pkg ? String(pkg.version) : 'unknown';
}

/** The top-level program: what `liec --help` lists (each subcommand parses its own flags). */
function program(): Command {
  const liec = new Command('liec')
    .description('Peer-to-peer training over WebRTC with LIEC-SGD compression.')
    .version(version(), '-v, --version', 'print the version')
    .helpCommand(false)
    .addHelpText(
      'after',
      '\nRun `liec <command> --help` (or `liec help <command>`) for its flags and defaults.',
    );
  for (const [name, sub] of Object.entries(SUBCOMMANDS))
    liec.command(name).usage(sub.args).summary(sub.summary);
  liec.command('help [command]').summary('print the help of liec or of a command');
  return liec;
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  const [first, ...rest] = argv;
  const sub = first === undefined ? undefined : SUBCOMMANDS[first];
  if (sub !== undefined) return (await sub.load()).main(rest, io);
  const liec = program();
  if (first === undefined || (first === 'help' && rest.length === 0)) {
    io.out(liec.helpInformation());
    return 0;
  }
  if (first === 'help') {
    const target = rest[0] === undefined ? undefined : SUBCOMMANDS[rest[0]];
    if (target !== undefined && rest.length === 1) return (await target.load()).main(['--help'], io);
    io.err(`liec: unknown command '${rest.join(' ')}'; see \`liec --help\`\n`);
    return 2;
  }
  // Only --help, --version and mistakes are left: commander answers them.
  return runProgram(liec, argv, io, () => 0, 'liec');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv.slice(2));
}
