/**
 * The server's pino logs: JSON lines by default (one parsed here), scoped by component, the
 * level from `--log-level` over LIEC_LOG_LEVEL over the default, and nothing printed by tests
 * (a silent level or a capturing destination).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { main } from '../../signaling/main.ts';
import { createLogger, defaultLogLevel, resolveLogLevel } from '../../signaling/logger.ts';
import { createSignalingServer } from '../../signaling/index.ts';

function capture(): { lines: string[]; destination: { write(line: string): void } } {
  const lines: string[] = [];
  return { lines, destination: { write: (line) => void lines.push(line) } };
}

test('a log line is one JSON object: pino level, ISO time, component, msg, fields, serialized err', () => {
  const { lines, destination } = capture();
  const log = createLogger('signaling', 'info', { destination });
  log.info('peer joined', { sessionId: 's1', peerId: 'p1' });
  log.error('handler failed', { err: new TypeError('bad payload') });
  assert.equal(lines.length, 2);
  for (const line of lines)
    assert.ok(line.endsWith('\n') && !line.slice(0, -1).includes('\n'), 'one line each');

  const first: unknown = JSON.parse(lines[0] ?? '');
  assert.ok(typeof first === 'object' && first !== null);
  assert.equal(Reflect.get(first, 'level'), 30);
  assert.equal(Reflect.get(first, 'component'), 'signaling');
  assert.equal(Reflect.get(first, 'msg'), 'peer joined');
  assert.equal(Reflect.get(first, 'sessionId'), 's1');
  assert.equal(Reflect.get(first, 'peerId'), 'p1');
  assert.ok(!Number.isNaN(Date.parse(String(Reflect.get(first, 'time')))), 'ISO time');

  const second: unknown = JSON.parse(lines[1] ?? '');
  assert.ok(typeof second === 'object' && second !== null);
  assert.equal(Reflect.get(second, 'level'), 50);
  const err: unknown = Reflect.get(second, 'err');
  assert.ok(typeof err === 'object' && err !== null);
  assert.equal(Reflect.get(err, 'type'), 'TypeError');
  assert.equal(Reflect.get(err, 'message'), 'bad payload');
  assert.match(String(Reflect.get(err, 'stack')), /TypeError: bad payload/);
});

test('the level filters, child loggers add bindings, silent writes nothing, pretty is opt-in', () => {
  const { lines, destination } = capture();
  const log = createLogger('redis', 'warn', { destination });
  log.debug('no');
  log.info('no');
  log.warn('yes');
  log.child({ role: 'subscriber' }).error('also', { n: 1 });
  assert.deepEqual(
    lines.map((line) => {
      const entry: unknown = JSON.parse(line);
      assert.ok(typeof entry === 'object' && entry !== null);
      return [Reflect.get(entry, 'msg'), Reflect.get(entry, 'component'), Reflect.get(entry, 'role')];
    }),
    [
      ['yes', 'redis', undefined],
      ['also', 'redis', 'subscriber'],
    ],
  );

  const quiet = capture();
  const silent = createLogger('signaling', 'silent', { destination: quiet.destination });
  silent.error('never');
  assert.deepEqual(quiet.lines, []);

  const pretty = capture();
  createLogger('app', 'info', { destination: pretty.destination, pretty: true }).info('hello', { a: 1 });
  assert.equal(pretty.lines.length, 1);
  assert.match(pretty.lines[0] ?? '', /INFO.*\[app\] hello/);
  assert.throws(() => JSON.parse(pretty.lines[0] ?? ''), SyntaxError, 'pretty lines are not JSON');
});

test('level: the flag wins over LIEC_LOG_LEVEL, which wins over the default; bad values are named', () => {
  assert.equal(resolveLogLevel('debug', { LIEC_LOG_LEVEL: 'error' }), 'debug');
  assert.equal(resolveLogLevel(undefined, { LIEC_LOG_LEVEL: 'error' }), 'error');
  assert.equal(resolveLogLevel(undefined, { LIEC_LOG_LEVEL: '' }), 'info', 'empty counts as unset');
  assert.equal(resolveLogLevel(undefined, {}), 'info');
  assert.equal(resolveLogLevel(undefined, { NODE_TEST_CONTEXT: 'child-v8' }), 'silent', 'quiet in tests');
  assert.equal(resolveLogLevel(undefined, { NODE_TEST_CONTEXT: 'x', LIEC_LOG_LEVEL: 'warn' }), 'warn');
  assert.throws(() => resolveLogLevel('loud', {}), /--log-level must be one of debug, info/);
  assert.throws(
    () => resolveLogLevel(undefined, { LIEC_LOG_LEVEL: 'loud' }),
    /LIEC_LOG_LEVEL must be one of/,
  );
  assert.equal(resolveLogLevel('info', { LIEC_LOG_LEVEL: 'loud' }), 'info', 'the flag wins even over junk');
  // The library default ignores a bad variable instead of failing a server made in code.
  assert.equal(defaultLogLevel({ LIEC_LOG_LEVEL: 'loud' }), 'info');
  assert.equal(defaultLogLevel({ LIEC_LOG_LEVEL: 'debug' }), 'debug');
});

test('main(argv, env) takes the level from --log-level, else from LIEC_LOG_LEVEL', async (t) => {
  const base = ['--port', '0', '--host', '127.0.0.1', '--signaling-only'];
  const fromEnv = await main(base, { LIEC_LOG_LEVEL: 'silent' });
  t.after(() => fromEnv.stop());
  assert.equal(fromEnv.options.logLevel, 'silent');

  const fromFlag = await main([...base, '--log-level', 'silent'], { LIEC_LOG_LEVEL: 'debug' });
  t.after(() => fromFlag.stop());
  assert.equal(fromFlag.options.logLevel, 'silent');

  await assert.rejects(main(base, { LIEC_LOG_LEVEL: 'chatty' }), /LIEC_LOG_LEVEL must be one of/);
});

test('a server logs JSON lines with component signaling into the logger it is given', async () => {
  const { lines, destination } = capture();
  const server = createSignalingServer({ logger: createLogger('signaling', 'info', { destination }) });
  const url = await server.start({ port: 0 });
  await server.stop();
  const entries = lines.map((line): unknown => JSON.parse(line));
  const listening = entries.find(
    (entry) =>
      typeof entry === 'object' &&
      entry !== null &&
      Reflect.get(entry, 'msg') === 'signaling server listening',
  );
  assert.ok(typeof listening === 'object' && listening !== null, 'listening line');
  assert.equal(Reflect.get(listening, 'component'), 'signaling');
  assert.equal(Reflect.get(listening, 'url'), url);
});
