/**
 * What every command line of the project shares (`liec` and its subcommands, `npm start`,
 * `npm run simulate`, `npm run chaos`, `npm run bench:rounds`): commander programs run with
 * their output going to a CliIo (so tests capture it), and one exit-code rule:
 *
 *   0  done, or help / version printed (on stdout)
 *   1  the work failed (a connection refused, a peer that failed): one line on stderr
 *   2  a usage error (unknown flag, bad value, missing flag): one line on stderr naming the
 *      flag and the value, then "see `<command> --help`", before anything connects
 *
 * No stack trace is printed (LIEC_DEBUG=1 prints it after the line). Loads only commander:
 * each command loads its heavy modules (TF.js, WebRTC, the signaling server) when it runs.
 *
 * @example
 * const program = new Command('liec create').option('--server <url>', 'signaling server');
 * program.action(() => (code = 0));
 * process.exitCode = await runProgram(program, argv, processIo, () => code);
 */
import { connect as connectTcp } from 'node:net';
import { CommanderError, InvalidArgumentError, type Command } from 'commander';

/** Where a command writes: stdout (results, help) and stderr (progress, errors). */
export interface CliIo {
  out(text: string): void;
  err(text: string): void;
}

export const processIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** A bad flag or value: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The work failed for a reason the message says in full: printed as one line, exit code 1. */
export class CommandFailure extends Error {
  override name = 'CommandFailure';
}

/** An error as one line: its message, newlines folded, without a leading "error: ". */
export function oneLine(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text
    .replace(/^error:\s*/i, '')
    .replace(/\s*\n\s*/g, ' ')
    .trim();
}

/**
 * Parses `argv` with `program` and runs its action; returns the exit code (see above).
 * `result` reads what the action left (the action stores its exit code in a closure).
 * `name` is how the command is called, for the error line ("liec create").
 */
export async function runProgram(
  program: Command,
  argv: readonly string[],
  io: CliIo,
  result: () => number,
  name: string = program.name(),
): Promise<number> {
  quietCommander(program, io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return result();
  } catch (error) {
    return reportError(error, io, name);
  }
}

/** Writes the one line an error deserves and returns the exit code. */
export function reportError(error: unknown, io: CliIo, name: string): number {
  const debug = process.env['LIEC_DEBUG'] === '1' && error instanceof Error ? `${error.stack}\n` : '';
  if (error instanceof CommanderError) {
    if (
      error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.exitCode === 0
    )
      return 0;
    io.err(`${name}: ${oneLine(error)}; see \`${name} --help\`\n`);
    return 2;
  }
  if (error instanceof UsageError) {
    io.err(`${name}: ${oneLine(error)}; see \`${name} --help\`\n${debug}`);
    return 2;
  }
  io.err(`${name}: ${oneLine(error)}\n${debug}`);
  return 1;
}

/** Commander writes help to io.out, throws instead of exiting, and prints no error itself. */
function quietCommander(command: Command, io: CliIo): void {
  command.exitOverride();
  command.configureOutput({
    writeOut: (text) => io.out(text),
    writeErr: (text) => io.err(text),
    outputError: () => {},
  });
  for (const sub of command.commands) quietCommander(sub, io);
}

/**
 * Throws a UsageError if one of these options (attribute names, e.g. 'server') was not given.
 * Called from an action, so an unknown flag is reported first (commander's own mandatory
 * options are checked before unknown ones).
 */
export function requireOptions(command: Command, names: readonly string[]): void {
  for (const name of names) {
    if (command.getOptionValue(name) !== undefined) continue;
    const option = command.options.find((o) => o.attributeName() === name);
    throw new UsageError(`required option '${option?.flags ?? name}' not specified`);
  }
}

/**
 * Shows every default as it would be typed (`(default: sign:256)`, not `"sign:256"`); returns
 * the command.
 */
export function plainDefaults(command: Command): Command {
  for (const option of command.options)
    if (option.defaultValue !== undefined && option.defaultValueDescription === undefined)
      option.defaultValueDescription = Array.isArray(option.defaultValue)
        ? option.defaultValue.join(',')
        : String(option.defaultValue);
  return command;
}

/** A commander value parser for an integer in [min, max]. */
export function integerIn(min: number, max = Number.MAX_SAFE_INTEGER) {
  return (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isInteger(value) || value < min || value > max)
      throw new InvalidArgumentError(
        max === Number.MAX_SAFE_INTEGER
          ? `expected an integer >= ${min}`
          : `expected an integer ${min}..${max}`,
      );
    return value;
  };
}

/** A commander value parser for a finite number accepted by `check` (`what` says which). */
export function numberWhere(check: (value: number) => boolean, what: string) {
  return (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isFinite(value) || !check(value))
      throw new InvalidArgumentError(`expected ${what}`);
    return value;
  };
}

/** A commander value parser for one of `choices` (commander's .choices() does the same, typed loosely). */
export function oneOf<const T extends string>(choices: readonly T[]) {
  return (text: string): T => {
    const found = choices.find((choice) => choice === text);
    if (found === undefined) throw new InvalidArgumentError(`expected ${choices.join(' | ')}`);
    return found;
  };
}

/** A commander value parser for an http(s) URL (the signaling server). */
export function httpUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new InvalidArgumentError('expected a URL such as http://127.0.0.1:8080');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new InvalidArgumentError('expected an http:// or https:// URL');
  return text;
}

/**
 * Why `url` cannot be reached, as a TCP connection says it (ECONNREFUSED, ENOTFOUND,
 * ETIMEDOUT...), or null when a TCP connection succeeds. socket.io only says "websocket
 * error"; this finds the cause for the one-line message.
 */
export function connectionCause(url: string, timeoutMs = 3000): Promise<string | null> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return Promise.resolve('not a URL');
  }
  const port = Number(parsed.port || (parsed.protocol === 'https:' ? 443 : 80));
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  return new Promise((resolve) => {
    const socket = connectTcp({ host, port });
    const done = (cause: string | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(cause);
    };
    const timer = setTimeout(() => done('ETIMEDOUT'), timeoutMs);
    socket.once('connect', () => done(null));
    socket.once('error', (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
  });
}

/**
 * Runs `connect`; if it fails, a CommandFailure naming the URL and the cause ("cannot connect
 * to http://127.0.0.1:1: ECONNREFUSED").
 */
export async function connectOrFail<T>(url: string, connect: () => Promise<T>): Promise<T> {
  try {
    return await connect();
  } catch (error) {
    const cause = (await connectionCause(url)) ?? oneLine(error);
    throw new CommandFailure(`cannot connect to ${url}: ${cause}`);
  }
}
