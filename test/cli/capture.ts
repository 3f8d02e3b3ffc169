/**
 * Test support for the command lines: a CliIo that keeps what a command wrote.
 *
 * @example
 * const io = captureIo();
 * assert.equal(await main(['--help'], io), 0);
 * assert.match(io.stdout(), /Usage/);
 */
import type { CliIo } from '../../client/cli/command.ts';

export interface CapturedIo extends CliIo {
  stdout(): string;
  stderr(): string;
  /** stderr's non-empty lines. */
  errorLines(): string[];
}

export function captureIo(): CapturedIo {
  let out = '';
  let err = '';
  return {
    out: (text) => void (out += text),
    err: (text) => void (err += text),
    stdout: () => out,
    stderr: () => err,
    errorLines: () => err.split('\n').filter((line) => line.trim() !== ''),
  };
}
