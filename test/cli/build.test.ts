/**
 * The build (client/cli/build.ts): plain JavaScript that runs without the tsx loader, whose
 * peers train a real session together. Built into a folder of its own under dist/ (two
 * levels below the root, like dist/cli/), so the dist/cli/ other tests and benches run is
 * not touched.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { buildCli } from '../../client/cli/build.ts';
import { SignalingClient } from '../../client/signaling/index.ts';
import { createSignalingServer } from '../../signaling/index.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

test('the built CLI imports no TypeScript, runs under plain node, and two built peers train one model', async (t) => {
  const outDir = join(ROOT, 'dist', `.build-test-${process.pid}`);
  t.after(() => rm(outDir, { recursive: true, force: true }));
  const { files } = await buildCli(outDir);
  const code = files.filter((f) => f.name.endsWith('.js'));
  assert.ok(code.some((f) => f.name === 'main.js') && code.some((f) => f.name === 'demo.js'));
  for (const file of code) {
    const text = await readFile(join(outDir, file.name), 'utf8');
    assert.doesNotMatch(text, /(from|import\()\s*["'][^"']+\.ts["']/, `${file.name} imports a .ts module`);
    assert.doesNotMatch(
      text,
      /from\s*["']@tensorflow\/tfjs["']/,
      `${file.name} imports the tfjs Node bundle`,
    );
  }
  const main = join(outDir, 'main.js');
  const version = spawnSync(process.execPath, [main, '--version'], { encoding: 'utf8' });
  assert.equal(version.status, 0, version.stderr);
  assert.equal(version.stdout.trim(), VERSION);

  const server = createSignalingServer({ logLevel: 'warn' });
  await server.start({ port: 0, host: '127.0.0.1' });
  t.after(() => server.stop());
  const creator = new SignalingClient();
  await creator.connect(server.url);
  const rounds = 12;
  const { sessionId, token } = await creator.create({ rounds, minPeers: 2, dataShards: 2 });
  creator.close();
  const peers = [0, 1].map(async (i) => {
    const summary = join(outDir, `peer-${i}.json`);
    const args = [main, 'join', '--server', server.url, '--session', sessionId, '--token', token];
    args.push('--peer-id', `built-${i}`, '--summary-out', summary, '--quiet');
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const exitCode = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(exitCode, 0, `built-${i}: ${stderr}`);
    return JSON.parse(await readFile(summary, 'utf8')) as {
      round: number;
      modelSha256: string | null;
      backend: string;
    };
  });
  const [a, b] = await Promise.all(peers);
  assert.ok(a !== undefined && b !== undefined);
  assert.equal(a.round, rounds);
  assert.equal(b.round, rounds);
  assert.match(a.modelSha256 ?? '', /^[0-9a-f]{64}$/);
  assert.equal(a.modelSha256, b.modelSha256, 'both built peers end on the same model');
  assert.equal(a.backend, 'wasm');
});
