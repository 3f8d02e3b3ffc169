/**
 * `liec invite --server URL --session ID --token HOST [--count N | --peer-id ID...]`: mints
 * invitations to a session created with `liec create --invitations`, one per peer id, and
 * prints for each its id, the link to join from a browser and the `liec join` command. An
 * invitation admits its own peer id only: a device the session expels cannot come back
 * under another id (signaling/token.ts). The host token is the one `liec create` printed.
 *
 * @example
 * liec invite --server http://127.0.0.1:8080 --session ID --token h.... --count 3
 * liec invite --server http://127.0.0.1:8080 --session ID --token h.... --peer-id line-1 --peer-id line-2
 */
import { Command, Option } from 'commander';
import { MAX_INVITATIONS_PER_REQUEST } from '../../shared/protocol/signaling.ts';
import {
  connectOrFail,
  httpUrl,
  integerIn,
  plainDefaults,
  processIo,
  requireOptions,
  runProgram,
  UsageError,
  type CliIo,
} from './command.ts';
import { joinLinks } from './create.ts';

export function inviteCommand(): Command {
  return plainDefaults(
    new Command('liec invite')
      .description(
        'Mint invitations to a session created with --invitations: one token per peer id, each admitting that id only.',
      )
      .addOption(new Option('--server <url>', 'the signaling server (required)').argParser(httpUrl))
      .addOption(new Option('--session <id>', "the session's id (required)"))
      .addOption(new Option('--token <host-token>', 'the host token liec create printed (required)'))
      .addOption(
        new Option(
          '--count <n>',
          `invitations for n new peer ids (1-${MAX_INVITATIONS_PER_REQUEST})`,
        ).argParser(integerIn(1, MAX_INVITATIONS_PER_REQUEST)),
      )
      .addOption(
        new Option('--peer-id <id>', 'an invitation for this peer id (repeatable)').argParser(
          (value: string, previous: string[] | undefined) => [...(previous ?? []), value],
        ),
      )
      .addOption(new Option('--json', 'print the invitations as one JSON object').default(false)),
  );
}

interface InviteOptions {
  server: string;
  session: string;
  token: string;
  count?: number;
  peerId?: string[];
  json: boolean;
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let code = 0;
  const command = inviteCommand().action(async () => {
    requireOptions(command, ['server', 'session', 'token']);
    const opts = command.opts<InviteOptions>();
    if (opts.count !== undefined && opts.peerId !== undefined)
      throw new UsageError('give --count or --peer-id, not both');
    const peers = opts.peerId === undefined ? { count: opts.count ?? 1 } : { peerIds: opts.peerId };
    const { SignalingClient } = await import('../signaling/index.ts');
    const client = new SignalingClient();
    try {
      await connectOrFail(opts.server, () => client.connect(opts.server));
      const minted = await client.invite(opts.session, opts.token, peers);
      const invitations = minted.invitations.map((i) => ({
        ...i,
        links: joinLinks(opts.server, opts.session, i.token),
      }));
      if (opts.json) io.out(`${JSON.stringify({ invitations, expiresAt: minted.expiresAt })}\n`);
      else
        io.out(
          invitations
            .map((i) =>
              [
                `peer ${i.peerId}:`,
                `  join from a browser: ${i.links.browser}`,
                `  join headless:       ${i.links.headless}`,
              ].join('\n'),
            )
            .concat([`valid until ${new Date(minted.expiresAt).toISOString()}`, ''])
            .join('\n'),
        );
      code = 0;
    } finally {
      client.close();
    }
  });
  return runProgram(command, argv, io, () => code);
}
