/**
 * `npm start`: the demo on embedded defaults. Starts a signaling server, creates a LIEC-SGD
 * session, launches N headless peers as separate processes on loopback, prints the URL to
 * watch, and at the end the final accuracy and traffic.
 *
 * @example
 * npm start -- --peers 4 --rounds 300 --out summary.json
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join as joinPath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createAppServer } from '../../signaling/app-server.ts';
import { SignalingClient } from '../signaling/index.ts';
import { CONFIG_FLAGS, configFromFlags, joinLinks } from './create.ts';
import type { PeerSummary } from './join.ts';

export const DEMO_USAGE = `usage: npm start -- [--peers 4] [--rounds 300] [--port 8080] [--out summary.json] [--link-mbps X] [--link-latency-ms MS] [session config flags]`;

const CLI_MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
const PROJECT_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Runs one headless peer process; resolves with its exit code. */
function runPeer(args: string[], quiet: boolean): Promise<number> {
  const child = spawn(process.execPath, ['--import', 'tsx', CLI_MAIN, 'join', ...args], {
    cwd: PROJECT_ROOT,
    stdio: ['ignore', 'inherit', quiet ? 'ignore' : 'inherit'],
  });
  return new Promise((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? 1 : 128)));
  });
}

export async function demo(argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      peers: { type: 'string' },
      port: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean' },
      /** Passed to every peer: shaped links (see `liec join --link-mbps`). */
      'link-mbps': { type: 'string' },
      'link-latency-ms': { type: 'string' },
      ...CONFIG_FLAGS,
    },
  });
  if (values.help === true) {
    console.log(DEMO_USAGE);
    return 0;
  }
  const peers = Number(values.peers ?? 4);
  if (!Number.isInteger(peers) || peers < 1) throw new RangeError('--peers must be a positive integer');
  const config = configFromFlags({
    ...values,
    rounds: values.rounds ?? '300',
    'min-peers': values['min-peers'] ?? String(peers),
    'data-shards': values['data-shards'] ?? String(peers),
  });
  // Serves the web app too, so the watch link below opens the dashboard.
  const server = await createAppServer({ logLevel: 'warn' });
  let url: string;
  try {
    url = await server.start({ port: Number(values.port ?? 8080), host: '127.0.0.1' });
  } catch {
    url = await server.start({ port: 0, host: '127.0.0.1' }); // 8080 taken: any free port
  }
  const workdir = await mkdtemp(joinPath(tmpdir(), 'liec-demo-'));
  try {
    const creator = new SignalingClient();
    await creator.connect(url);
    const { sessionId, token } = await creator.create(config);
    creator.close();
    const links = joinLinks(url, sessionId, token);
    console.log(
      `signaling server: ${url}\nwatch the session: ${links.watch}\njoin from a browser tab: ${links.browser}`,
    );
    console.log(
      `training ${config.algorithm} (up ${config.up}, down ${config.down}) on MNIST with ${peers} headless peers, ${config.rounds} rounds`,
    );
    const started = performance.now();
    const codes = await Promise.all(
      Array.from({ length: peers }, (_, i) =>
        runPeer(
          [
            '--server',
            url,
            '--session',
            sessionId,
            '--token',
            token,
            '--shard',
            String(i),
            '--summary-out',
            joinPath(workdir, `peer-${i}.json`),
            ...(values['link-mbps'] === undefined ? [] : ['--link-mbps', values['link-mbps']]),
            ...(values['link-latency-ms'] === undefined
              ? []
              : ['--link-latency-ms', values['link-latency-ms']]),
            ...(i === 0 ? [] : ['--quiet']),
          ],
          i !== 0,
        ),
      ),
    );
    const summaries: PeerSummary[] = [];
    for (let i = 0; i < peers; i++) {
      const text = await readFile(joinPath(workdir, `peer-${i}.json`), 'utf8').catch(() => null);
      if (text !== null) summaries.push(JSON.parse(text) as PeerSummary);
    }
    const finished = summaries.filter((s) => !s.interrupted && s.modelSha256 !== null);
    const testAccuracy = finished.find((s) => s.finalTestAccuracy !== null)?.finalTestAccuracy ?? null;
    const hashes = new Set(finished.map((s) => s.modelSha256));
    const summary = {
      peerCount: peers,
      rounds: config.rounds,
      algorithm: config.algorithm,
      up: config.up,
      down: config.down,
      /** Of the model the peers end on; identicalModels: every finished peer holds the same bits. */
      final: { testAccuracy },
      identicalModels: finished.length > 0 && hashes.size === 1,
      peers: finished.map((s) => ({
        peerId: s.peerId,
        modelSha256: s.modelSha256,
        finalTestAccuracy: s.finalTestAccuracy,
      })),
      bytes: {
        up: summaries.reduce((s, p) => s + p.frameBytes.up, 0),
        down: summaries.reduce((s, p) => s + p.frameBytes.down, 0),
      },
      wireBytes: summaries.reduce((s, p) => s + p.wire.sent, 0),
      aggregatorChanges: Math.max(0, ...summaries.map((s) => s.aggregatorChanges)),
      backends: [...new Set(summaries.map((s) => s.backend))],
      wallSeconds: (performance.now() - started) / 1000,
      transport: 'webrtc' as const,
      exitCodes: codes,
    };
    const mb = (n: number) => `${(n / 1e6).toFixed(2)} MB`;
    if (finished.length > 0)
      console.log(
        hashes.size === 1
          ? `all ${finished.length} peers hold the same model, sha256 ${[...hashes][0]}`
          : `warning: the ${finished.length} peers hold ${hashes.size} different models`,
      );
    console.log(
      `final test accuracy ${testAccuracy === null ? 'n/a' : `${(testAccuracy * 100).toFixed(2)}%`}, traffic up ${mb(summary.bytes.up)}, down ${mb(summary.bytes.down)}, ${summary.wallSeconds.toFixed(1)} s`,
    );
    if (values.out !== undefined) await writeFile(values.out, JSON.stringify(summary, null, 2));
    return codes.every((c) => c === 0) && testAccuracy !== null ? 0 : 1;
  } finally {
    await rm(workdir, { recursive: true, force: true });
    await server.stop();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await demo(process.argv.slice(2));
}
