/**
 * Mistakes on the command line: an unknown flag or a bad value is one line on stderr naming
 * the flag and the value plus "see `<command> --help`", exit code 2, no stack trace, before
 * anything connects; a server that cannot be reached is one line naming the URL and the
 * cause, exit code 1. For `liec` (each subcommand), `npm start`, `npm run simulate` and
 * `npm run chaos`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main as chaosMain } from '../../bench/chaos.ts';
import { main as demoMain } from '../../client/cli/demo.ts';
import { main } from '../../client/cli/main.ts';
import { main as simulateMain } from '../../client/sim/cli.ts';
import { captureIo, type CapturedIo } from './capture.ts';

const BIN = fileURLToPath(new URL('../../client/cli/bin.js', import.meta.url));
/** Nothing listens on port 1 of loopback: a connection is refused at once. */
const REFUSED = 'http://127.0.0.1:1';

function assertOneLine(io: CapturedIo, command: string, ...mentions: string[]): string {
  const lines = io.errorLines();
  assert.equal(lines.length, 1, `one line, got:\n${io.stderr()}`);
  const line = lines[0] ?? '';
  assert.ok(line.startsWith(`${command}: `), line);
  assert.ok(line.endsWith(`see \`${command} --help\``), line);
  for (const text of mentions) assert.ok(line.includes(text), `${line} names ${text}`);
  assert.doesNotMatch(io.stderr(), /^\s+at /m, 'no stack trace');
  assert.equal(io.stdout(), '');
  return line;
}

test('an unknown flag: one line naming it, exit 2, for every liec command', async () => {
  for (const [argv, command] of [
    [['--bogus'], 'liec'],
    [['serve', '--bogus'], 'liec serve'],
    [['create', '--server', REFUSED, '--bogus'], 'liec create'],
    [['join', '--server', REFUSED, '--session', 's', '--token', 't', '--bogus'], 'liec join'],
    [['demo', '--bogus'], 'liec demo'],
  ] as const) {
    const io = captureIo();
    assert.equal(await main(argv, io), 2, argv.join(' '));
    assertOneLine(io, command, '--bogus');
  }
});

test('a bad value: one line naming the flag and the value, exit 2, before anything connects', async () => {
  // With an unreachable server, a connection attempt would exit 1: 2 means it was not tried.
  for (const [argv, command, flag, value] of [
    [['serve', '--port', 'abc'], 'liec serve', '--port', 'abc'],
    [['serve', '--port', '70000'], 'liec serve', '--port', '70000'],
    [['create', '--server', REFUSED, '--rounds', 'abc'], 'liec create', '--rounds', 'abc'],
    [['create', '--rounds', 'abc'], 'liec create', '--rounds', 'abc'],
    [['create', '--server', REFUSED, '--rounds', '0'], 'liec create', '--rounds', '0'],
    [['create', '--server', REFUSED, '--lr', '-1'], 'liec create', '--lr', '-1'],
    [['create', '--server', REFUSED, '--sync-mode', 'sometimes'], 'liec create', '--sync-mode', 'sometimes'],
    [['create', '--server', REFUSED, '--compensation', 'lots'], 'liec create', '--compensation', 'lots'],
    [['create', '--server', 'not a url'], 'liec create', '--server', 'not a url'],
    [
      ['join', '--server', REFUSED, '--session', 's', '--token', 't', '--shard', '-1'],
      'liec join',
      '--shard',
      '-1',
    ],
    [['demo', '--peers', '0'], 'liec demo', '--peers', '0'],
    [['demo', '--rounds', 'abc'], 'liec demo', '--rounds', 'abc'],
  ] as const) {
    const io = captureIo();
    assert.equal(await main(argv, io), 2, argv.join(' '));
    assertOneLine(io, command, flag, `'${value}'`);
  }
});

test('flags that only fail together name both, exit 2', async () => {
  const io = captureIo();
  assert.equal(await main(['create', '--server', REFUSED, '--sync-mode', 'rolling', '--sync', '1'], io), 2);
  assertOneLine(io, 'liec create', '--sync-mode rolling', '--sync 1');
});

test('a missing required flag is one line, exit 2', async () => {
  const io = captureIo();
  assert.equal(await main(['create'], io), 2);
  assertOneLine(io, 'liec create', '--server');
  const join = captureIo();
  assert.equal(await main(['join', '--server', REFUSED, '--token', 't'], join), 2);
  assertOneLine(join, 'liec join', '--session');
});

test('a server that refuses the connection: one line with the URL and ECONNREFUSED, exit 1', async () => {
  for (const [argv, command] of [
    [['create', '--server', REFUSED], 'liec create'],
    [['join', '--server', REFUSED, '--session', 'session-1', '--token', 't', '--quiet'], 'liec join'],
  ] as const) {
    const io = captureIo();
    assert.equal(await main(argv, io), 1, argv.join(' '));
    const lines = io.errorLines();
    assert.equal(lines.length, 1, io.stderr());
    assert.equal(lines[0], `${command}: cannot connect to ${REFUSED}: ECONNREFUSED`);
  }
});

test('npm start -- with a bad value: one line, exit 2', async () => {
  const io = captureIo();
  assert.equal(await demoMain(['--peers', 'many'], io, 'npm start --'), 2);
  assertOneLine(io, 'npm start --', '--peers', "'many'");
  const mismatch = captureIo();
  assert.equal(await demoMain(['--peers', '2', '--min-peers', '3'], mismatch, 'npm start --'), 2);
  assertOneLine(mismatch, 'npm start --', '--min-peers');
});

test('npm run simulate -- with a bad value or an unknown flag: one line (not the help), exit 2', async () => {
  for (const [argv, flag, value] of [
    [['--workers', 'abc'], '--workers', "'abc'"],
    [['--lr', '0'], '--lr', "'0'"],
    [['--model', 'resnet'], '--model', "'resnet'"],
    [['--partition', 'dirichlet:x'], '--partition', "'dirichlet:x'"],
    [['--link-mbps', '1,0'], '--link-mbps', "'1,0'"],
    [['--bogus'], '--bogus', ''],
    [['--sync-mode', 'rolling', '--sync', '1'], '--sync', ''],
  ] as const) {
    const io = captureIo();
    assert.equal(await simulateMain(argv, io), 2, argv.join(' '));
    assertOneLine(io, 'npm run simulate --', flag, value);
  }
});

test('npm run chaos -- with a bad value: one line, exit 2, nothing started', async () => {
  for (const [argv, flag] of [
    [['--peers', '0'], '--peers'],
    [['--fault-window', '0.8,0.1'], '--fault-window'],
    [['--rounds', 'abc'], '--rounds'],
    [['--bogus'], '--bogus'],
  ] as const) {
    const io = captureIo();
    assert.equal(await chaosMain(argv, io), 2, argv.join(' '));
    assertOneLine(io, 'npm run chaos --', flag);
  }
});

test('node client/cli/bin.js: exit 2 for a bad value, 1 for a refused connection, one stderr line each', () => {
  const bad = spawnSync(process.execPath, [BIN, 'serve', '--port', 'abc'], { encoding: 'utf8' });
  assert.equal(bad.status, 2);
  assert.equal(bad.stdout, '');
  assert.match(
    bad.stderr,
    /^liec serve: option '--port <port>' argument 'abc' is invalid\..*see `liec serve --help`\n$/,
  );
  const refused = spawnSync(process.execPath, [BIN, 'create', '--server', REFUSED], { encoding: 'utf8' });
  assert.equal(refused.status, 1);
  assert.equal(refused.stderr, `liec create: cannot connect to ${REFUSED}: ECONNREFUSED\n`);
});
