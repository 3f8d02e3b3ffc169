/**
 * Benchmarks given `--out FILE` write there only: the committed bench/results/rounds.json and
 * chaos.json are left as they are (before, `npm run bench:rounds -- --out FILE` rewrote
 * rounds.json too). Without --out they write bench/results/. The benchmarks are not run.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { chaosCommand, DEFAULT_OUT as CHAOS_RESULTS, main as chaosMain } from '../../bench/chaos.ts';
import { main as roundsMain, roundsCommand, writeResult } from '../../bench/rounds.ts';
import { captureIo } from './capture.ts';

const RESULTS = fileURLToPath(new URL('../../bench/results/', import.meta.url));

function digest(path: string): string | null {
  return existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : null;
}

test('bench:rounds --out FILE writes FILE and leaves bench/results/rounds.json as it is', async () => {
  const committed = join(RESULTS, 'rounds.json');
  const before = digest(committed);
  const dir = await mkdtemp(join(tmpdir(), 'liec-bench-out-'));
  try {
    const out = join(dir, 'rounds.json');
    const command = roundsCommand().parse(['--out', out, '--rounds', '5'], { from: 'user' });
    assert.equal(command.opts<{ out: string }>().out, out);
    writeResult(command.opts<{ out: string }>().out, { rounds: 5 });
    assert.deepEqual(JSON.parse(await readFile(out, 'utf8')), { rounds: 5 });
    assert.equal(digest(committed), before, 'bench/results/rounds.json untouched');
    assert.equal(roundsCommand().parse([], { from: 'user' }).opts<{ out: string }>().out, committed);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('chaos --out FILE is the only file it writes; bench/results/chaos.json without it', () => {
  assert.equal(
    chaosCommand().parse(['--out', '/tmp/x.json'], { from: 'user' }).opts<{ out: string }>().out,
    '/tmp/x.json',
  );
  assert.equal(chaosCommand().parse([], { from: 'user' }).opts<{ out: string }>().out, CHAOS_RESULTS);
  assert.equal(CHAOS_RESULTS, join(RESULTS, 'chaos.json'));
});

test('bench:rounds and chaos refuse a bad value with one line, exit 2, before running anything', async () => {
  const committed = digest(join(RESULTS, 'rounds.json'));
  const io = captureIo();
  assert.equal(await roundsMain(['--rounds', 'abc', '--out', '/tmp/never.json'], io), 2);
  assert.match(io.stderr(), /^npm run bench:rounds --: option '--rounds <n>' argument 'abc' is invalid\./);
  assert.equal(io.errorLines().length, 1);
  assert.equal(digest(join(RESULTS, 'rounds.json')), committed);
  const chaos = captureIo();
  assert.equal(await chaosMain(['--peers', '1'], chaos), 2);
  assert.equal(chaos.errorLines().length, 1);
});
