/**
 * The two Node WebRTC bindings side by side (client/transport/binding.ts): node-datachannel
 * and wrtc (@roamhq/wrtc), each in two peer processes on loopback (bench/binding-peer.ts),
 * the bindings taking turns within every measurement so machine load falls on both alike.
 *
 * - throughput: one link, 4 MiB messages, `--mib` MiB from the start command to the
 *   receiver's report (both timed by this process).
 * - send blocking: every data-channel send() call of that transfer, timed in the sender.
 * - round overhead: `bench/rounds.ts` (4 peer processes, default session) with LIEC_WEBRTC set,
 *   its overheadMsMedian.
 * - remote close during sends: per iteration a new link; the sender sends without pause, the
 *   receiver closes the link after a random 1-64 chunks; a sender (or receiver) process that
 *   dies counts as a crash and is replaced. This is the race that crashes wrtc in
 *   RTCDataChannel::Send (docs/failover.md).
 * - pause: the sender SIGSTOPped mid-send, the receiver closes, SIGCONT after `--pause-ms`
 *   (what a stalled aggregator sees); and the receiver SIGSTOPped for `--pause-ms` mid-transfer
 *   (does the link carry on?).
 * - kill: the receiver SIGKILLed mid-send: how long until the sender's link reports the close.
 *
 * @example
 * npm run bench:binding                          # writes bench/results/binding.json
 * npm run bench:binding -- --iterations 20 --out /tmp/binding.json
 */
import { Command, Option } from 'commander';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { integerIn, processIo, runProgram, type CliIo } from '../client/cli/command.ts';
import { NODE_BINDINGS, type NodeBindingName } from '../client/transport/binding.ts';
import { BenchPeer, connectLink, median, quantile, type CrashRecord } from './binding-harness.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MIB = 1 << 20;

interface BindingOptions {
  mib: number;
  throughputRuns: number;
  iterations: number;
  pauseTrials: number;
  pauseMs: number;
  killTrials: number;
  rounds: number;
  roundRuns: number;
  seed: number;
  out: string;
}

/** A small seeded generator (mulberry32): the chunk counts after which the receiver closes. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Two peer processes of one binding; either is replaced when it dies. */
class Pair {
  sender: BenchPeer;
  receiver: BenchPeer;
  readonly crashes: CrashRecord[] = [];
  #nextId = 1;
  constructor(readonly binding: NodeBindingName) {
    this.sender = new BenchPeer(binding, 'sender');
    this.receiver = new BenchPeer(binding, 'receiver');
  }
  async ready(): Promise<void> {
    await Promise.all([this.sender.ready, this.receiver.ready]);
  }
  nextId(): number {
    return this.#nextId++;
  }
  /** Replaces a peer that died (recording how) or one this bench killed. */
  async replaceDead(scenario: string): Promise<void> {
    for (const role of ['sender', 'receiver'] as const) {
      const peer = this[role];
      if (!peer.exited) continue;
      if (!peer.killedHere)
        this.crashes.push({ scenario, role, ...peer.exited, stderrTail: peer.stderrTail() });
      this[role] = new BenchPeer(this.binding, role);
      await this[role].ready;
    }
  }
  stop(): void {
    this.sender.stop();
    this.receiver.stop();
  }
}

async function throughput(pair: Pair, mib: number) {
  const id = pair.nextId();
  await connectLink(pair.sender, pair.receiver, id);
  pair.sender.command({ type: 'send-times' });
  await pair.sender.next((r) => r.type === 'send-times');
  const bytes = mib * MIB;
  pair.receiver.command({ type: 'expect', id, bytes, chunks: 0 });
  const received = pair.receiver.next((r) => r.type === 'received' && r.id === id, 120_000);
  const start = performance.now();
  pair.sender.command({ type: 'send', id, messageBytes: 4 * MIB, totalBytes: bytes });
  await received;
  const seconds = (performance.now() - start) / 1000;
  pair.sender.command({ type: 'send-times' });
  const times = await pair.sender.next((r) => r.type === 'send-times');
  const micros = times.type === 'send-times' ? times.micros : [];
  pair.sender.command({ type: 'close', id });
  await pair.receiver.next((r) => r.type === 'closed' && r.id === id);
  return {
    mbPerSecond: bytes / 1e6 / seconds,
    sendCalls: micros.length,
    sendMicrosMedian: median(micros),
    sendMicrosP90: quantile(micros, 0.9),
    sendMicrosP99: quantile(micros, 0.99),
    sendMicrosMax: Math.max(...micros),
    sendMicrosMean: micros.reduce((s, x) => s + x, 0) / Math.max(1, micros.length),
  };
}

/** Runs one trial in which the sender may die: true when it did. */
async function senderDied(pair: Pair, closed: Promise<unknown>): Promise<boolean> {
  // A dead peer also rejects the waits on it: either way, look at the processes.
  await Promise.race([closed, pair.sender.exit, pair.receiver.exit]).catch(() => undefined);
  return pair.sender.exited !== undefined || pair.receiver.exited !== undefined;
}

async function remoteCloseTrial(pair: Pair, chunks: number, pauseMs: number): Promise<string> {
  const id = pair.nextId();
  await connectLink(pair.sender, pair.receiver, id);
  pair.receiver.command({ type: 'expect', id, bytes: 0, chunks });
  const arrived = pair.receiver.next((r) => r.type === 'chunks' && r.id === id, 30_000);
  const closed = pair.sender.next((r) => r.type === 'closed' && r.id === id, 60_000);
  closed.catch(() => undefined); // raced below; a dead sender never answers
  pair.sender.command({ type: 'send', id, messageBytes: MIB, totalBytes: 0 });
  await arrived;
  if (pauseMs > 0) pair.sender.signal('SIGSTOP');
  pair.receiver.command({ type: 'close', id });
  if (pauseMs > 0) {
    await pair.receiver.next((r) => r.type === 'closed' && r.id === id);
    // The pause itself is the scenario (a stalled peer whose links the others closed meanwhile).
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    pair.sender.signal('SIGCONT');
  }
  return (await senderDied(pair, closed)) ? 'crash' : 'closed';
}

/**
 * Runs a trial; a peer that died during it (a wait on it rejected) makes it a 'crash', any
 * other failure an 'error: ...' result, so one bad trial does not end the run.
 */
async function guarded(pair: Pair, trial: () => Promise<string>): Promise<string> {
  try {
    return await trial();
  } catch (err) {
    await Promise.race([pair.sender.exit, pair.receiver.exit, new Promise((r) => setTimeout(r, 1000))]);
    if (pair.sender.exited || pair.receiver.exited) return 'crash';
    return `error: ${err instanceof Error ? err.message : String(err)}`;
  }
}

async function killTrial(pair: Pair): Promise<{ closeSeconds: number; senderAlive: boolean }> {
  const id = pair.nextId();
  await connectLink(pair.sender, pair.receiver, id);
  pair.receiver.command({ type: 'expect', id, bytes: 0, chunks: 32 });
  const arrived = pair.receiver.next((r) => r.type === 'chunks' && r.id === id, 30_000);
  const closed = pair.sender.next((r) => r.type === 'closed' && r.id === id, 120_000);
  closed.catch(() => undefined);
  pair.sender.command({ type: 'send', id, messageBytes: MIB, totalBytes: 0 });
  await arrived;
  const start = performance.now();
  pair.receiver.kill();
  const died = await Promise.race([closed.then(() => false), pair.sender.exit.then(() => true)]);
  return { closeSeconds: (performance.now() - start) / 1000, senderAlive: !died };
}

async function pauseReceiverTrial(pair: Pair, pauseMs: number) {
  const id = pair.nextId();
  await connectLink(pair.sender, pair.receiver, id);
  const bytes = 64 * MIB;
  pair.receiver.command({ type: 'expect', id, bytes, chunks: 32 });
  const arrived = pair.receiver.next((r) => r.type === 'chunks' && r.id === id, 30_000);
  const received = pair.receiver.next((r) => r.type === 'received' && r.id === id, 60_000 + pauseMs);
  received.catch(() => undefined);
  const closed = pair.sender.next((r) => r.type === 'closed' && r.id === id, 60_000 + pauseMs);
  closed.catch(() => undefined);
  pair.sender.command({ type: 'send', id, messageBytes: 4 * MIB, totalBytes: bytes });
  await arrived;
  pair.receiver.signal('SIGSTOP');
  await new Promise((resolve) => setTimeout(resolve, pauseMs)); // the pause is the scenario
  const resumedAt = performance.now();
  pair.receiver.signal('SIGCONT');
  const outcome = await Promise.race([
    received.then(() => 'all bytes arrived' as const),
    closed.then(() => 'link closed' as const),
    pair.sender.exit.then(() => 'sender died' as const),
    pair.receiver.exit.then(() => 'receiver died' as const),
  ]).catch((err: unknown) => `timeout: ${String(err)}`);
  const secondsAfterResume = (performance.now() - resumedAt) / 1000;
  if (outcome === 'all bytes arrived') {
    pair.sender.command({ type: 'close', id });
    await pair.receiver.next((r) => r.type === 'closed' && r.id === id).catch(() => undefined);
  }
  return { outcome, secondsAfterResume };
}

async function roundOverhead(binding: NodeBindingName, rounds: number) {
  const dir = await mkdtemp(join(tmpdir(), 'liec-bench-binding-'));
  const out = join(dir, 'rounds.json');
  try {
    const args = ['--import', 'tsx', 'bench/rounds.ts', '--rounds', String(rounds), '--trials', '0'];
    args.push('--silent-trials', '0', '--out', out);
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, LIEC_WEBRTC: binding },
    });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    if (code !== 0) return { error: `bench/rounds.ts exited with ${code}` };
    const parsed: unknown = JSON.parse(await readFile(out, 'utf8'));
    const get = (key: string): unknown => Reflect.get(parsed as object, key);
    return {
      overheadMsMedian: get('overheadMsMedian'),
      overheadMsP90: get('overheadMsP90'),
      roundWallMsMedian: get('roundWallMsMedian'),
      slowestComputeMsMedian: get('slowestComputeMsMedian'),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function bindingCommand(): Command {
  return new Command('bench:binding')
    .description(
      'node-datachannel against wrtc: throughput, send blocking, round overhead, remote close, pause, kill',
    )
    .addOption(new Option('--mib <n>', 'MiB per throughput run').argParser(integerIn(4)).default(128))
    .addOption(
      new Option('--throughput-runs <n>', 'throughput runs per binding').argParser(integerIn(1)).default(3),
    )
    .addOption(
      new Option('--iterations <n>', 'remote-close iterations per binding')
        .argParser(integerIn(0))
        .default(100),
    )
    .addOption(
      new Option('--pause-trials <n>', 'SIGSTOP trials per binding and side')
        .argParser(integerIn(0))
        .default(10),
    )
    .addOption(new Option('--pause-ms <n>', 'length of each SIGSTOP').argParser(integerIn(10)).default(1000))
    .addOption(
      new Option('--kill-trials <n>', 'SIGKILL trials per binding').argParser(integerIn(0)).default(3),
    )
    .addOption(
      new Option('--rounds <n>', 'rounds per bench/rounds.ts run').argParser(integerIn(2)).default(100),
    )
    .addOption(
      new Option('--round-runs <n>', 'bench/rounds.ts runs per binding (0: none)')
        .argParser(integerIn(0))
        .default(2),
    )
    .addOption(new Option('--seed <n>', 'seed of the close points').argParser(integerIn(0)).default(1))
    .addOption(new Option('--out <file>', 'JSON result').default(join(ROOT, 'bench/results/binding.json')));
}

type Row = Record<string, unknown>;

async function run(options: BindingOptions): Promise<void> {
  const loadBefore = loadavg();
  const pairs = NODE_BINDINGS.map((name) => new Pair(name));
  const perBinding = new Map<NodeBindingName, Row[]>();
  const add = (binding: NodeBindingName, kind: string, row: Row): void => {
    const rows = perBinding.get(binding) ?? [];
    rows.push({ kind, ...row });
    perBinding.set(binding, rows);
    console.log(`${binding.padEnd(16)} ${kind.padEnd(18)} ${JSON.stringify(row)}`);
  };
  try {
    await Promise.all(pairs.map((p) => p.ready()));
    for (let i = 0; i < options.throughputRuns; i++)
      for (const pair of pairs) add(pair.binding, 'throughput', await throughput(pair, options.mib));
    const next = random(options.seed);
    for (let i = 0; i < options.iterations; i++) {
      const chunks = 1 + Math.floor(next() * 64);
      for (const pair of pairs) {
        const result = await guarded(pair, () => remoteCloseTrial(pair, chunks, 0));
        if (result !== 'closed') add(pair.binding, 'remote-close', { iteration: i, chunks, result });
        await pair.replaceDead('remote-close');
      }
      if ((i + 1) % 10 === 0) console.log(`remote close: ${i + 1}/${options.iterations} iterations`);
    }
    for (let i = 0; i < options.pauseTrials; i++) {
      const chunks = 1 + Math.floor(next() * 64);
      for (const pair of pairs) {
        add(pair.binding, 'pause-sender', {
          chunks,
          result: await remoteCloseTrial(pair, chunks, options.pauseMs),
        });
        await pair.replaceDead('pause-sender');
        add(
          pair.binding,
          'pause-receiver',
          await pauseReceiverTrial(pair, options.pauseMs).catch((err: unknown) => ({
            outcome: `error: ${String(err)}`,
          })),
        );
        await pair.replaceDead('pause-receiver');
      }
    }
    for (let i = 0; i < options.killTrials; i++)
      for (const pair of pairs) {
        add(
          pair.binding,
          'kill-receiver',
          await killTrial(pair).catch((err: unknown) => ({ error: String(err) })),
        );
        await pair.replaceDead('kill-receiver');
      }
  } finally {
    for (const pair of pairs) pair.stop();
  }
  for (let i = 0; i < options.roundRuns; i++)
    for (const name of NODE_BINDINGS) add(name, 'rounds', await roundOverhead(name, options.rounds));
  const summary = Object.fromEntries(
    pairs.map((pair) => [pair.binding, summarize(perBinding.get(pair.binding) ?? [], pair.crashes, options)]),
  );
  const result = {
    options,
    summary,
    crashes: Object.fromEntries(pairs.map((p) => [p.binding, p.crashes])),
    rows: Object.fromEntries(perBinding),
    load: { cpus: cpus().length, loadavgBefore: loadBefore, loadavgAfter: loadavg() },
    node: process.version,
    date: new Date().toISOString(),
  };
  console.log(JSON.stringify(summary, null, 2));
  mkdirSync(dirname(options.out), { recursive: true });
  writeFileSync(options.out, JSON.stringify(result, null, 2) + '\n');
  console.log(`wrote ${options.out}`);
}

function summarize(rows: Row[], crashes: CrashRecord[], options: BindingOptions) {
  const num = (kind: string, key: string): number[] =>
    rows.filter((r) => r['kind'] === kind).flatMap((r) => (typeof r[key] === 'number' ? [r[key]] : []));
  const count = (kind: string, key: string, value: string): number =>
    rows.filter((r) => r['kind'] === kind && r[key] === value).length;
  return {
    mbPerSecondMedian: median(num('throughput', 'mbPerSecond')),
    sendMicrosMedian: median(num('throughput', 'sendMicrosMedian')),
    sendMicrosP99: median(num('throughput', 'sendMicrosP99')),
    sendMicrosMax: Math.max(...num('throughput', 'sendMicrosMax')),
    overheadMsMedian: num('rounds', 'overheadMsMedian'),
    remoteCloseCrashes: crashes.filter((c) => c.scenario === 'remote-close').length,
    remoteCloseIterations: options.iterations,
    pauseSenderCrashes: count('pause-sender', 'result', 'crash'),
    pauseReceiverOutcomes: rows.filter((r) => r['kind'] === 'pause-receiver').map((r) => r['outcome']),
    pauseTrials: options.pauseTrials,
    killCloseSeconds: num('kill-receiver', 'closeSeconds'),
    killSenderSurvived: rows.filter((r) => r['kind'] === 'kill-receiver' && r['senderAlive'] === true).length,
    crashSignals: crashes.map((c) => c.signal ?? `exit ${c.code}`),
  };
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let code = 0;
  const command = bindingCommand().action(async () => {
    await run(command.opts<BindingOptions>());
    code = 0;
  });
  return runProgram(command, argv, io, () => code, 'npm run bench:binding --');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
