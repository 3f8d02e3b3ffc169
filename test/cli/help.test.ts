/**
 * `liec --help`, `liec help`, `liec <command> --help`, `liec --version`, and the help of
 * `npm start`, `npm run simulate` and `npm run chaos`: usage on stdout, exit code 0, every
 * flag with its default, the defaults being the ones the parsing applies.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { main as chaosMain } from '../../bench/chaos.ts';
import { CONFIG_FLAGS } from '../../client/cli/config-flags.ts';
import { main as demoMain } from '../../client/cli/demo.ts';
import { main, SUBCOMMANDS } from '../../client/cli/main.ts';
import { main as simulateMain } from '../../client/sim/cli.ts';
import {
  CONSERVATIVE_LEARNING_DEFAULTS,
  DEFAULT_BATCH_SIZE,
  DEFAULT_LEARNING_RATE,
  TUNED_LEARNING_DEFAULTS,
} from '../../shared/defaults.ts';
import { DEFAULT_SESSION_CONFIG, parseSessionConfig } from '../../shared/protocol/session-config.ts';
import { captureIo } from './capture.ts';

const BIN = fileURLToPath(new URL('../../client/cli/bin.js', import.meta.url));
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

test('liec --help, -h, help and no arguments print the usage with every command on stdout, exit 0', async () => {
  for (const argv of [['--help'], ['-h'], ['help'], []]) {
    const io = captureIo();
    assert.equal(await main(argv, io), 0, argv.join(' '));
    assert.match(io.stdout(), /^Usage: liec /);
    for (const name of Object.keys(SUBCOMMANDS)) assert.match(io.stdout(), new RegExp(`^  ${name} `, 'm'));
    assert.equal(io.stderr(), '');
  }
});

test('liec --version prints the version of package.json', async () => {
  const io = captureIo();
  assert.equal(await main(['--version'], io), 0);
  assert.equal(io.stdout(), `${VERSION}\n`);
});

test('liec <command> --help and liec help <command> print that command`s flags, exit 0', async () => {
  for (const name of Object.keys(SUBCOMMANDS)) {
    for (const argv of [
      [name, '--help'],
      ['help', name],
      [name, '-h'],
    ]) {
      const io = captureIo();
      assert.equal(await main(argv, io), 0, argv.join(' '));
      assert.match(io.stdout(), new RegExp(`^Usage: liec ${name} `));
      assert.equal(io.stderr(), '');
    }
  }
});

/** Help text wrapped by commander, as one line per flag (continuation lines joined). */
function flagLines(help: string): Map<string, string> {
  const lines = new Map<string, string>();
  let current: string | null = null;
  for (const line of help.split('\n')) {
    const flag = /^ {2}(?:-\w, )?--([\w-]+)/.exec(line);
    if (flag?.[1] !== undefined) {
      current = flag[1];
      lines.set(current, line.trim());
    } else if (current !== null && /^ {10,}\S/.test(line))
      lines.set(current, `${lines.get(current)} ${line.trim()}`);
    else current = null;
  }
  return lines;
}

test('liec create --help lists every config flag with the schema`s own default', async () => {
  const io = captureIo();
  assert.equal(await main(['create', '--help'], io), 0);
  const lines = flagLines(io.stdout());
  for (const spec of CONFIG_FLAGS) {
    const line = lines.get(spec.flag);
    assert.ok(line !== undefined, `--${spec.flag} is listed`);
    const expected = spec.defaultText ?? String(DEFAULT_SESSION_CONFIG[spec.field]);
    assert.ok(line.includes(`(default: ${expected})`), `--${spec.flag}: ${line}`);
  }
  assert.match(lines.get('sync-codec') ?? '', /\(default: sign:256\)/);
  assert.match(lines.get('compensation') ?? '', /\(default: auto\)/);
  assert.match(lines.get('lr') ?? '', /\(default: 0\.6 for liec on the built-in mlp and digits, else 0\.3\)/);
  assert.match(
    lines.get('up') ?? '',
    /\(default: topk:0\.01:sign for liec on the built-in mlp and digits, else topk:0\.01\)/,
  );
  assert.match(lines.get('batch') ?? '', new RegExp(`\\(default: ${DEFAULT_BATCH_SIZE}\\)`));
  assert.match(
    lines.get('local-steps') ?? '',
    /\(default: 2 for liec on the built-in mlp and digits, else 1\)/,
  );
  assert.ok(lines.has('server'));
});

test('npm start, npm run simulate and npm run chaos answer --help on stdout with exit 0', async () => {
  const demo = captureIo();
  assert.equal(await demoMain(['--help'], demo, 'npm start --'), 0);
  assert.match(demo.stdout(), /^Usage: npm start -- /);
  assert.match(flagLines(demo.stdout()).get('rounds') ?? '', /\(default: 300\)/);
  assert.match(flagLines(demo.stdout()).get('peers') ?? '', /\(default: 4\)/);

  const sim = captureIo();
  assert.equal(await simulateMain(['--help'], sim), 0);
  const simLines = flagLines(sim.stdout());
  assert.match(simLines.get('lr') ?? '', new RegExp(`\\(default: ${DEFAULT_LEARNING_RATE}\\)`));
  assert.match(simLines.get('batch') ?? '', new RegExp(`\\(default: ${DEFAULT_BATCH_SIZE}\\)`));
  assert.match(simLines.get('sync-codec') ?? '', /\(default: sign:256\)/);
  assert.equal(sim.stderr(), '');

  const chaos = captureIo();
  assert.equal(await chaosMain(['--help'], chaos), 0);
  assert.match(chaos.stdout(), /^Usage: npm run chaos -- /);
  assert.match(flagLines(chaos.stdout()).get('out') ?? '', /bench\/results\/chaos\.json/);
});

test('sessions of liec on the built-in mlp and digits take the tuned setting, any other the conservative one; one batch size', () => {
  const tuned = {
    learningRate: TUNED_LEARNING_DEFAULTS.learningRate,
    localSteps: TUNED_LEARNING_DEFAULTS.localSteps,
    up: TUNED_LEARNING_DEFAULTS.codec,
    down: TUNED_LEARNING_DEFAULTS.codec,
  };
  const conservative = {
    learningRate: CONSERVATIVE_LEARNING_DEFAULTS.learningRate,
    localSteps: CONSERVATIVE_LEARNING_DEFAULTS.localSteps,
    up: CONSERVATIVE_LEARNING_DEFAULTS.codec,
    down: CONSERVATIVE_LEARNING_DEFAULTS.codec,
  };
  const learning = (input: Record<string, unknown>) => {
    const { learningRate, localSteps, up, down } = parseSessionConfig(input);
    return { learningRate, localSteps, up, down };
  };
  assert.deepEqual(tuned, { learningRate: 0.6, localSteps: 2, up: 'topk:0.01:sign', down: 'topk:0.01:sign' });
  assert.deepEqual(learning({}), tuned);
  assert.deepEqual(learning({ model: 'cnn' }), conservative);
  assert.deepEqual(learning({ model: 'mlp-large' }), conservative);
  assert.deepEqual(learning({ algorithm: 'doublesqueeze' }), conservative);
  // What is set stays set; the rest still follows the model.
  assert.deepEqual(learning({ model: 'cnn', learningRate: 0.6, up: 'fp16' }), {
    ...conservative,
    learningRate: 0.6,
    up: 'fp16',
  });
  assert.equal(parseSessionConfig({ algorithm: 'fedavg', localSteps: 4 }).localSteps, 4);
  // Parsing a parsed config changes nothing (the server and every peer parse it again).
  const cnn = parseSessionConfig({ model: 'cnn' });
  assert.deepEqual(parseSessionConfig(cnn), cnn);
  assert.equal(DEFAULT_SESSION_CONFIG.batchSize, DEFAULT_BATCH_SIZE);
});

test('liec itself loads no subcommand module: they are imported when their command runs', () => {
  // What `liec --help` loads: main.ts and command.ts, whose static imports are these.
  for (const file of ['main.ts', 'command.ts']) {
    const source = readFileSync(new URL(`../../client/cli/${file}`, import.meta.url), 'utf8');
    const imports = [...source.matchAll(/^import .* from '([^']+)';$/gm)].map((m) => m[1]);
    for (const specifier of imports)
      assert.ok(
        specifier === 'commander' || specifier?.startsWith('node:') === true || specifier === './command.ts',
        `${file} imports ${specifier} statically`,
      );
  }
});

test('node client/cli/bin.js --help: exit 0, usage on stdout; --version; timed', () => {
  const started = performance.now();
  const help = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
  const seconds = (performance.now() - started) / 1000;
  assert.equal(help.status, 0);
  assert.match(help.stdout, /^Usage: liec /);
  assert.equal(help.stderr, '');
  // Under 0.5 s on an idle 2-core machine; the bound leaves room for a loaded CI.
  assert.ok(seconds < 5, `liec --help took ${seconds.toFixed(2)} s`);
  const version = spawnSync(process.execPath, [BIN, '--version'], { encoding: 'utf8' });
  assert.equal(version.status, 0);
  assert.equal(version.stdout.trim(), VERSION);
});
