/**
 * `liec snapshots --server URL --session ID [--rollback ROUND]`: an operator lists the model
 * snapshots the session's aggregator keeps (round, test accuracy, age, model hash), or
 * rolls the session back to one: from the round it prints on, every peer trains from that
 * snapshot (shared/protocol/operator.ts). The operator token comes from LIEC_OPERATOR_TOKEN
 * (kept out of process lists) or `--operator-token`; a server started with `--open` needs
 * none.
 *
 * @example
 * LIEC_OPERATOR_TOKEN=... liec snapshots --server http://127.0.0.1:8080 --session ID
 * LIEC_OPERATOR_TOKEN=... liec snapshots --server http://127.0.0.1:8080 --session ID --rollback 199
 */
import { Command, Option } from 'commander';
import type { SnapshotInfo } from '../../shared/protocol/operator.ts';
import {
  connectOrFail,
  httpUrl,
  integerIn,
  plainDefaults,
  processIo,
  requireOptions,
  runProgram,
  type CliIo,
} from './command.ts';

/** Where the operator token is read from when no flag gives it. */
export const OPERATOR_TOKEN_ENV = 'LIEC_OPERATOR_TOKEN';

export function snapshotsCommand(): Command {
  return plainDefaults(
    new Command('liec snapshots')
      .description(
        "List the aggregator's model snapshots of a session, or roll the session back to one (operator).",
      )
      .addOption(new Option('--server <url>', 'the signaling server (required)').argParser(httpUrl))
      .addOption(new Option('--session <id>', "the session's id (required)"))
      .addOption(
        new Option('--rollback <round>', 'every peer continues from the snapshot of this round').argParser(
          integerIn(0),
        ),
      )
      .addOption(
        new Option(
          '--operator-token <token>',
          `the server's operator token (default: $${OPERATOR_TOKEN_ENV})`,
        ),
      )
      .addOption(new Option('--json', 'print the reply as one JSON object').default(false)),
  );
}

interface SnapshotsOptions {
  server: string;
  session: string;
  rollback?: number;
  operatorToken?: string;
  json: boolean;
}

/** One line per snapshot: round, accuracy, age, hash prefix. */
export function snapshotTable(snapshots: readonly SnapshotInfo[], now: number): string {
  if (snapshots.length === 0) return 'no snapshots yet\n';
  const rows = snapshots.map((s) => {
    const accuracy = s.testAccuracy === null ? 'n/a' : `${(s.testAccuracy * 100).toFixed(2)}%`;
    const age = `${Math.max(0, Math.round((now - s.takenAt) / 1000))} s ago`;
    return `${String(s.round).padStart(7)}  ${String(s.term).padStart(4)}  ${accuracy.padStart(8)}  ${age.padStart(10)}  ${s.modelSha256.slice(0, 16)}`;
  });
  return `${['  round  term  accuracy       taken  model sha256', ...rows].join('\n')}\n`;
}

export async function main(
  argv: readonly string[],
  io: CliIo = processIo,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  let code = 0;
  const command = snapshotsCommand().action(async () => {
    requireOptions(command, ['server', 'session']);
    const opts = command.opts<SnapshotsOptions>();
    const operatorToken = opts.operatorToken ?? env[OPERATOR_TOKEN_ENV];
    const { SignalingClient } = await import('../signaling/index.ts');
    const client = new SignalingClient(operatorToken === undefined ? {} : { operatorToken });
    try {
      await connectOrFail(opts.server, () => client.connect(opts.server));
      const reply =
        opts.rollback === undefined
          ? await client.listSnapshots(opts.session)
          : await client.rollback(opts.session, opts.rollback);
      if (opts.json) io.out(`${JSON.stringify(reply)}\n`);
      else if (reply.continuesAt !== undefined)
        io.out(
          `rolled back: every peer continues from the snapshot of round ${opts.rollback} at round ${reply.continuesAt} (aggregator ${reply.aggregatorId}, term ${reply.term})\n`,
        );
      else
        io.out(
          `aggregator ${reply.aggregatorId}, term ${reply.term}\n${snapshotTable(reply.snapshots, Date.now())}`,
        );
      code = 0;
    } finally {
      client.close();
    }
  });
  return runProgram(command, argv, io, () => code);
}
