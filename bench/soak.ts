/**
 * Soak: a real session runs for `--minutes` with light churn, and every process reports
 * what a leak would make grow. A signaling server runs in this process; `--peers` headless
 * peers run in their own processes (bench/soak-peer.ts: real WebRTC on loopback, MNIST,
 * the default session config but for the round count), each sampling its heap after a
 * full GC, TF.js tensors and open file descriptors every `--sample-seconds`. This process
 * samples the server the same way. Churn: every `--churn-minutes` the last peer leaves
 * (SIGTERM) and a new process joins in its place, so the others see links close and open,
 * a model download and a new member; the first peers (the aggregator among them) stay for
 * the whole run, which is what the slopes judge (bench/soak-summary.ts).
 *
 * Writes bench/results/soak.json (or --out): per process its samples' slopes per minute
 * and whether heap, tensors or descriptors grow; the raw samples; the churn events; the
 * rounds trained. Exits 1 when something grows.
 *
 * @example
 * npm run soak -- --minutes 30
 * npm run soak -- --minutes 2 --churn-minutes 0.5 --warmup-minutes 0.5 --out /tmp/soak.json
 */
import { Command, Option } from 'commander';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  integerIn,
  numberWhere,
  plainDefaults,
  processIo,
  runProgram,
  type CliIo,
} from '../client/cli/command.ts';
import { SignalingClient } from '../client/signaling/index.ts';
import type { SessionConfigInput } from '../shared/protocol/session-config.ts';
import type { SessionStatus } from '../shared/protocol/signaling-status.ts';
import { createSignalingServer } from '../signaling/index.ts';
import { openFds, type SoakSample } from './soak-sample.ts';
import { summarizeSoak, type SeriesSample, type SoakSummary } from './soak-summary.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const PEER_MAIN = fileURLToPath(new URL('./soak-peer.ts', import.meta.url));
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results', 'soak.json');
/** How long a peer gets to leave on SIGTERM before it is killed. */
const EXIT_GRACE_MS = 15_000;

interface SoakOptions {
  minutes: number;
  peers: number;
  churnMinutes: number;
  sampleSeconds: number;
  warmupMinutes: number;
  computeDelayMs: number;
  out: string;
  from?: string;
}

export function soakCommand(): Command {
  const positive = numberWhere((v) => v > 0, 'a number > 0');
  const nonNegative = numberWhere((v) => v >= 0, 'a number >= 0');
  return plainDefaults(
    new Command('soak')
      .description(
        'A long session with light churn; heap, tensors and descriptors of every process over time.',
      )
      .addOption(new Option('--minutes <m>', 'how long the session runs').argParser(positive).default(30))
      .addOption(new Option('--peers <n>', 'peer processes at any time').argParser(integerIn(2)).default(4))
      .addOption(
        new Option('--churn-minutes <m>', 'the last peer is replaced this often (0: never)')
          .argParser(nonNegative)
          .default(3),
      )
      .addOption(new Option('--sample-seconds <s>', 'sampling period').argParser(positive).default(10))
      .addOption(
        new Option('--warmup-minutes <m>', "each process's first minutes are not judged")
          .argParser(nonNegative)
          .default(2),
      )
      .addOption(
        new Option('--compute-delay-ms <ms>', "workers' pause before each gradient (keeps the load light)")
          .argParser(nonNegative)
          .default(200),
      )
      .addOption(new Option('--out <file>', 'result JSON').default(RESULTS))
      .addOption(new Option('--from <file>', "judge a saved result's samples again (no run)")),
  );
}

interface SoakProcess {
  name: string;
  child: ChildProcess;
  file: string;
  exited: Promise<number | null>;
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let code = 0;
  const command = soakCommand().action(async () => {
    const opts = command.opts<SoakOptions>();
    code = opts.from === undefined ? await run(opts, io) : await rejudge({ ...opts, from: opts.from }, io);
  });
  return runProgram(command, argv, io, () => code);
}

async function run(opts: SoakOptions, io: CliIo): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'liec-soak-'));
  const server = createSignalingServer({ logLevel: 'warn' });
  const url = await server.start({ port: 0 });
  const config: SessionConfigInput = { rounds: 10_000_000, minPeers: 2, evalEvery: 50 };
  const creator = new SignalingClient();
  await creator.connect(url);
  const { sessionId, token } = await creator.create(config);
  creator.close();
  const startedAt = Date.now();
  const serverSamples: SeriesSample[] = [];
  const sampleServer = (): void => {
    (globalThis as { gc?: () => void }).gc?.();
    const memory = process.memoryUsage();
    serverSamples.push({
      at: Date.now(),
      heapUsedBytes: memory.heapUsed,
      rssBytes: memory.rss,
      arrayBuffersBytes: memory.arrayBuffers,
      tensors: 0,
      fds: openFds(),
    });
  };
  const spawnPeer = (name: string, delay: boolean): SoakProcess => {
    const file = join(dir, `${name}.jsonl`);
    const args = ['--expose-gc', '--import', 'tsx', PEER_MAIN];
    args.push('--server', url, '--session', sessionId, '--token', token, '--peer-id', name, '--out', file);
    args.push('--sample-ms', String(Math.round(opts.sampleSeconds * 1000)));
    if (delay && opts.computeDelayMs > 0) args.push('--compute-delay-ms', String(opts.computeDelayMs));
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr?.on('data', (chunk: Buffer) => io.err(chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    return { name, child, file, exited };
  };
  const stopPeer = async (p: SoakProcess): Promise<void> => {
    if (p.child.exitCode !== null || p.child.signalCode !== null) return;
    p.child.kill('SIGTERM');
    const timer = setTimeout(() => p.child.kill('SIGKILL'), EXIT_GRACE_MS);
    await p.exited;
    clearTimeout(timer);
  };

  const all: SoakProcess[] = [];
  const churn: { at: number; left: string; joined: string }[] = [];
  // The first peer joins alone so that it is the aggregator; it trains without a delay.
  all.push(spawnPeer('p1', false));
  await waitForReady(() => server.status().sessions.find((s) => s.sessionId === sessionId), 'p1');
  for (let i = 2; i <= opts.peers; i++) all.push(spawnPeer(`p${i}`, true));
  let churnSlot = all[all.length - 1] as SoakProcess;
  sampleServer();
  const serverTimer = setInterval(sampleServer, opts.sampleSeconds * 1000);
  const endAt = startedAt + opts.minutes * 60_000;
  let nextChurn = opts.churnMinutes > 0 ? startedAt + opts.churnMinutes * 60_000 : Infinity;
  let generation = 0;
  const progress = setInterval(() => {
    const status = server.status().sessions.find((s) => s.sessionId === sessionId);
    const minutes = ((Date.now() - startedAt) / 60_000).toFixed(1);
    io.err(
      `soak: ${minutes} min, round ${status?.aggregator.lastRound ?? 0}, ${status?.peers.length ?? 0} peers\n`,
    );
  }, 60_000);
  while (Date.now() < endAt) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Math.min(endAt, nextChurn) - Date.now())));
    if (Date.now() < nextChurn || Date.now() >= endAt) continue;
    const leaving = churnSlot;
    await stopPeer(leaving);
    generation += 1;
    churnSlot = spawnPeer(`c${generation}`, true);
    all.push(churnSlot);
    churn.push({ at: Date.now(), left: leaving.name, joined: churnSlot.name });
    io.err(`soak: ${leaving.name} left, ${churnSlot.name} joins\n`);
    nextChurn += opts.churnMinutes * 60_000;
  }
  clearInterval(progress);
  clearInterval(serverTimer);
  const status = server.status().sessions.find((s) => s.sessionId === sessionId);
  const rounds = status?.aggregator.lastRound ?? 0;
  const exitCodes = await Promise.all(
    all.map(async (p) => {
      await stopPeer(p);
      return { name: p.name, code: await p.exited };
    }),
  );
  await server.stop();

  const series = new Map<string, SeriesSample[]>([['server', serverSamples]]);
  const raw: Record<string, SoakSample[]> = {};
  for (const p of all) {
    const text = await readFile(p.file, 'utf8').catch(() => '');
    const samples = text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as SoakSample);
    raw[p.name] = samples;
    // The sample taken after leaving (links closed) is not part of the trend.
    series.set(
      p.name,
      samples.filter((sample) => sample.last !== true),
    );
  }
  await rm(dir, { recursive: true, force: true });
  const summary = summarizeSoak(series, { warmupMinutes: opts.warmupMinutes });
  const result = {
    bench: 'soak',
    command: `npm run soak -- ${process.argv.slice(2).join(' ')}`.trim(),
    at: new Date(startedAt).toISOString(),
    minutes: opts.minutes,
    peers: opts.peers,
    churnMinutes: opts.churnMinutes,
    sampleSeconds: opts.sampleSeconds,
    warmupMinutes: opts.warmupMinutes,
    computeDelayMs: opts.computeDelayMs,
    machine: { cpus: cpus().length, loadAverageAtEnd: loadavg()[0] },
    session: { config, rounds, roundsPerMinute: rounds / opts.minutes },
    churn,
    exitCodes,
    growing: summary.growing,
    processes: summary.processes,
    samples: { server: serverSamples, ...raw },
  };
  mkdirSync(dirname(opts.out), { recursive: true });
  writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
  io.out(`soak: ${opts.minutes} min, ${rounds} rounds, ${churn.length} churn events\n`);
  printTable(summary, io);
  io.out(`wrote ${relative(ROOT, opts.out)}\n`);
  return summary.growing.length > 0 ? 1 : 0;
}

function printTable(summary: SoakSummary, io: CliIo): void {
  const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(3);
  io.out('process  role         judged-min  heap MiB/min  buffers MiB/min  tensors/min  fds/min  verdict\n');
  for (const p of summary.processes) {
    const m = p.metrics;
    const verdict = !p.judged
      ? 'not judged (short)'
      : p.growing.length > 0
        ? `GROWS: ${p.growing.join(', ')}`
        : 'flat';
    const role = `${p.role ?? '-'}${p.roleChanges > 0 ? ` (${p.roleChanges} chg)` : ''}`;
    io.out(
      `${p.name.padEnd(8)} ${role.padEnd(12)} ${p.judgedMinutes.toFixed(1).padStart(10)}  ${mib(m.heapUsedBytes.perMinute).padStart(12)}  ${mib(m.arrayBuffersBytes.perMinute).padStart(15)}  ${m.tensors.perMinute.toFixed(3).padStart(11)}  ${m.fds.perMinute.toFixed(3).padStart(7)}  ${verdict}\n`,
    );
  }
}

/**
 * `--from FILE`: judges the samples a run saved again (after a change of the rules in
 * soak-summary.ts, or another warm-up) and writes the result to --out.
 */
async function rejudge(opts: SoakOptions & { from: string }, io: CliIo): Promise<number> {
  const saved = JSON.parse(await readFile(opts.from, 'utf8')) as {
    samples: Record<string, (SeriesSample & { last?: boolean })[]>;
  } & Record<string, unknown>;
  const series = new Map(
    Object.entries(saved.samples).map(([name, samples]) => [name, samples.filter((s) => s.last !== true)]),
  );
  const summary = summarizeSoak(series, { warmupMinutes: opts.warmupMinutes });
  const result = {
    ...saved,
    warmupMinutes: opts.warmupMinutes,
    rejudged: { at: new Date().toISOString(), from: relative(ROOT, opts.from) },
    growing: summary.growing,
    processes: summary.processes,
    samples: saved.samples,
  };
  writeFileSync(opts.out, `${JSON.stringify(result, null, 2)}\n`);
  printTable(summary, io);
  io.out(`wrote ${relative(ROOT, opts.out)}\n`);
  return summary.growing.length > 0 ? 1 : 0;
}

/** Resolves once `peerId` is a ready member (it holds a model); throws after a minute. */
async function waitForReady(status: () => SessionStatus | undefined, peerId: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (status()?.peers.some((p) => p.peerId === peerId && p.ready) !== true) {
    if (Date.now() > deadline) throw new Error(`${peerId} did not join within a minute`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
