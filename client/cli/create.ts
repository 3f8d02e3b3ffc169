/**
 * `liec create --server URL [config flags]`: creates a session and prints its id and token,
 * the link to watch it, the link to join it from a browser and the full `liec join` command
 * line. The flags are checked by the server's schema before anything connects.
 *
 * @example
 * liec create --server http://127.0.0.1:8080 --rounds 300 --sync-mode rolling --sync 5
 */
import { Command, Option } from 'commander';
import {
  connectOrFail,
  httpUrl,
  plainDefaults,
  processIo,
  requireOptions,
  runProgram,
  type CliIo,
} from './command.ts';
import { addConfigOptions, configFlagValues, configInputFromFlags } from './config-flags.ts';
import { takeModelDir, uploadHeldWeights, withModelDir } from './model-dir.ts';
import { OPERATOR_TOKEN_ENV } from './snapshots.ts';
import { addTaskOptions, withTask, type TaskOptions } from './task-flags.ts';

export { CONFIG_FLAGS, configFromFlags } from './config-flags.ts';

/** The `liec create` command line: its flags, their defaults and help. */
export function createCommand(): Command {
  const command = new Command('liec create')
    .description(
      'Create a training session on a signaling server; print its id, token, watch link and join command.',
    )
    .addOption(new Option('--server <url>', 'the signaling server (required)').argParser(httpUrl))
    .addOption(
      new Option(
        '--operator-token <token>',
        `the server's operator token, if it has one (default: $${OPERATOR_TOKEN_ENV})`,
      ),
    )
    .addOption(
      new Option(
        '--invitations',
        'join by invitation only: the token printed is your host token (it joins and mints invitations with liec invite); each invitation admits one peer id',
      ).default(false),
    )
    .addOption(new Option('--json', 'print the created session as one JSON object').default(false));
  return plainDefaults(addTaskOptions(addConfigOptions(command)));
}

/** Quotes a shell word if it needs it. */
function shellWord(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}

export function joinLinks(server: string, sessionId: string, token: string) {
  const base = server.replace(/\/$/, '');
  const query = `session=${encodeURIComponent(sessionId)}&token=${encodeURIComponent(token)}`;
  return {
    browser: `${base}/?${query}`,
    watch: `${base}/?${query}&watch=1`,
    headless: ['liec', 'join', '--server', server, '--session', sessionId, '--token', token]
      .map(shellWord)
      .join(' '),
  };
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let code = 0;
  const command = createCommand().action(async () => {
    // The values first: `liec create --rounds abc` names --rounds, whatever else is missing.
    const values = configFlagValues(command);
    // --model DIR: the session's own TF.js Layers model (a built-in name stays built in).
    const modelDir = takeModelDir(values);
    // Unparsed: what the flags leave unset follows the task and model added below.
    const flagConfig = configInputFromFlags(values);
    requireOptions(command, ['server']);
    // csv and images: the task spec from the creator's own data (no row of it is sent).
    const config = await withModelDir(await withTask(flagConfig, command.opts<TaskOptions>()), modelDir);
    const opts = command.opts<{
      server: string;
      json: boolean;
      invitations: boolean;
      operatorToken?: string;
    }>();
    const operatorToken = opts.operatorToken ?? process.env[OPERATOR_TOKEN_ENV];
    const { SignalingClient } = await import('../signaling/index.ts');
    const client = new SignalingClient(operatorToken === undefined ? {} : { operatorToken });
    try {
      await connectOrFail(opts.server, () => client.connect(opts.server));
      // A model over the inline limit: its weights go to the server first, the config names them.
      await uploadHeldWeights(config, modelDir, opts.server, operatorToken);
      const created = await client.create(config, { invitations: opts.invitations });
      const links = joinLinks(opts.server, created.sessionId, created.token);
      if (opts.json) io.out(`${JSON.stringify({ ...created, links })}\n`);
      else
        io.out(
          [
            `session: ${created.sessionId}`,
            `token:   ${created.token}`,
            `watch it in a browser: ${links.watch}`,
            `join from a browser:   ${links.browser}`,
            `join headless:         ${links.headless}`,
            ...(created.invitations
              ? [
                  `by invitation only: the token is your host token; invite peers with`,
                  `  liec invite --server ${opts.server} --session ${created.sessionId} --token ${created.token} --count N`,
                ]
              : []),
            '',
          ].join('\n'),
        );
      code = 0;
    } finally {
      client.close();
    }
  });
  return runProgram(command, argv, io, () => code);
}
