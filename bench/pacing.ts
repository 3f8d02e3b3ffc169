/**
 * Link pacing (`pacingMbps`, client/transport/link-options.ts) side by side with none, on
 * one Node binding over loopback (`--binding`: wrtc, the default binding, where the stall below
 * was found, or node-datachannel, whose links are unpaced by default), the two settings taking
 * turns within every trial so machine load falls on both alike.
 *
 * - first message: per trial a fresh link; the time from send() until the remote has the
 *   whole message, for the first `--bytes` message (default: the default model in fp32, what
 *   a joining worker is sent first) and the two after it. Unpaced, a burst of that size
 *   overflows the receiving UDP socket's buffer and SCTP recovers the lost tail only by a
 *   retransmission timeout.
 * - UDP receive-buffer drops: Udp/Udp6 RcvbufErrors from /proc/net/snmp{,6} over each
 *   setting's messages (Linux; null elsewhere). Only this benchmark should be running.
 * - throughput: one `--mib` MiB message on a warmed link.
 *
 * @example
 * npm run bench:pacing                          # writes bench/results/pacing.json
 * npm run bench:pacing -- --trials 20 --out /tmp/pacing.json
 * npm run bench:pacing -- --binding node-datachannel --out /tmp/pacing-ndc.json
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { integerIn, processIo, runProgram, type CliIo } from '../client/cli/command.ts';
import {
  isNodeBindingName,
  loadWebRtcBinding,
  NODE_BINDINGS,
  type NodeBindingName,
  type WebRtcBinding,
} from '../client/transport/binding.ts';
import { DEFAULT_LINK_SETTINGS, defaultPacingMbps } from '../client/transport/link-options.ts';
import { PeerLink } from '../client/transport/peer-link.ts';
import { median, quantile } from './binding-harness.ts';
import { writeResult } from './rounds.ts';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const MIB = 1 << 20;
/** The default MLP (784-128-10) in fp32: 101 770 parameters. */
const DEFAULT_MODEL_BYTES = 101_770 * 4;
/** A message that does not arrive in this long fails the trial (and the benchmark). */
const ARRIVAL_TIMEOUT_MS = 30_000;

interface PacingOptions {
  binding: NodeBindingName;
  trials: number;
  paced: number[];
  bytes: number;
  mib: number;
  out: string;
}

interface Setting {
  name: string;
  pacingMbps: number;
}

/**
 * Unpaced, then each paced rate (Mbit/s) asked for (by default 256, wrtc's default); the one
 * the binding's links get by default (defaultPacingMbps) is marked.
 */
function settings(pacedMbps: readonly number[], binding: string): Setting[] {
  const mark = (mbps: number): string => (mbps === defaultPacingMbps(binding) ? ' (default)' : '');
  return [
    { name: `unpaced${mark(Number.POSITIVE_INFINITY)}`, pacingMbps: Number.POSITIVE_INFINITY },
    ...pacedMbps.map((mbps) => ({
      name: `paced ${mbps} Mbit/s${mark(mbps)}`,
      pacingMbps: mbps,
    })),
  ];
}

/** Udp and Udp6 RcvbufErrors summed, or null where /proc/net/snmp cannot be read. */
function udpReceiveBufferDrops(): number | null {
  try {
    const v4 = readFileSync('/proc/net/snmp', 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('Udp:'));
    const header = v4[0]?.split(/\s+/) ?? [];
    const values = v4[1]?.split(/\s+/) ?? [];
    const column = header.indexOf('RcvbufErrors');
    const ipv4 = Number(values[column]);
    const v6 = /Udp6RcvbufErrors\s+(\d+)/.exec(readFileSync('/proc/net/snmp6', 'utf8'));
    const ipv6 = Number(v6?.[1] ?? 0);
    return Number.isFinite(ipv4) && column >= 0 ? ipv4 + ipv6 : null;
  } catch {
    return null;
  }
}

async function connect(binding: WebRtcBinding, pacingMbps: number): Promise<[PeerLink, PeerLink]> {
  const a = new PeerLink({ initiator: true, binding, pacingMbps });
  const b = new PeerLink({ initiator: false, binding });
  a.on('signal', (data) => b.signal(data));
  b.on('signal', (data) => a.signal(data));
  const opened = (link: PeerLink): Promise<void> =>
    new Promise((resolve, reject) => {
      link.on('connect', () => resolve());
      link.on('error', (err) => reject(err));
    });
  await Promise.all([opened(a), opened(b)]);
  return [a, b];
}

/** Milliseconds from send() until `to` has the whole message. */
async function transit(from: PeerLink, to: PeerLink, bytes: number): Promise<number> {
  const started = performance.now();
  const arrived = new Promise<number>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no message in ${ARRIVAL_TIMEOUT_MS} ms`)),
      ARRIVAL_TIMEOUT_MS,
    );
    const off = to.on('message', (message) => {
      if (message.byteLength !== bytes) return;
      clearTimeout(timer);
      off();
      resolve(performance.now());
    });
  });
  await from.send(new Uint8Array(bytes));
  return (await arrived) - started;
}

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

async function run(options: PacingOptions): Promise<void> {
  const binding = await loadWebRtcBinding(options.binding);
  const loadBefore = loadavg();
  const SETTINGS = settings(options.paced, binding.name);
  const rows = new Map<
    string,
    { firstMs: number[]; laterMs: number[]; drops: number | null; mbPerSecond: number[] }
  >(SETTINGS.map((s) => [s.name, { firstMs: [], laterMs: [], drops: 0, mbPerSecond: [] }]));
  for (let trial = 0; trial < options.trials; trial++) {
    const order = trial % 2 === 0 ? SETTINGS : [...SETTINGS].reverse();
    for (const setting of order) {
      const row = rows.get(setting.name);
      if (row === undefined) continue;
      const [a, b] = await connect(binding, setting.pacingMbps);
      try {
        // Links open idle; the first big message follows a short quiet spell, as a join's does.
        await settle(100);
        const dropsBefore = udpReceiveBufferDrops();
        const transits: number[] = [];
        for (let i = 0; i < 3; i++) {
          transits.push(await transit(a, b, options.bytes));
          await settle(100);
        }
        const dropsAfter = udpReceiveBufferDrops();
        row.drops =
          row.drops === null || dropsBefore === null || dropsAfter === null
            ? null
            : row.drops + dropsAfter - dropsBefore;
        row.firstMs.push(transits[0] ?? Number.NaN);
        row.laterMs.push(...transits.slice(1));
        if (trial < 3) {
          const ms = await transit(a, b, options.mib * MIB);
          row.mbPerSecond.push((options.mib * MIB) / 1e6 / (ms / 1000));
        }
        console.log(
          `${setting.name.padEnd(30)} trial ${trial + 1}: ${transits.map((t) => t.toFixed(0)).join(' ')} ms`,
        );
      } finally {
        a.close();
        b.close();
      }
    }
  }
  const summary = Object.fromEntries(
    [...rows].map(([name, row]) => [
      name,
      {
        firstMsMedian: median(row.firstMs),
        firstMsP90: quantile(row.firstMs, 0.9),
        firstMsMax: Math.max(...row.firstMs),
        laterMsMedian: median(row.laterMs),
        laterMsMax: Math.max(...row.laterMs),
        udpReceiveBufferDrops: row.drops,
        mbPerSecondMedian: median(row.mbPerSecond),
      },
    ]),
  );
  const result = {
    options,
    summary,
    rows: Object.fromEntries(rows),
    load: { cpus: cpus().length, loadavgBefore: loadBefore, loadavgAfter: loadavg() },
    node: process.version,
    date: new Date().toISOString(),
  };
  console.log(JSON.stringify(summary, null, 2));
  writeResult(options.out, result);
  console.log(`wrote ${options.out}`);
}

function pacingCommand(): Command {
  return new Command('bench:pacing')
    .description(
      'link pacing against none on one Node binding: first large message on a fresh link, UDP drops, throughput',
    )
    .addOption(
      new Option('--binding <name>', `Node WebRTC binding: ${NODE_BINDINGS.join(' | ')}`)
        .argParser((value: string) => {
          if (!isNodeBindingName(value))
            throw new InvalidArgumentError(`expected ${NODE_BINDINGS.join(' | ')}`);
          return value;
        })
        .default('wrtc'),
    )
    .addOption(
      new Option('--paced <mbps...>', 'paced rates to compare with none, Mbit/s')
        .argParser((value: string, previous: number[] | undefined) => [
          ...(previous ?? []),
          integerIn(1)(value),
        ])
        .default(undefined),
    )
    .addOption(new Option('--trials <n>', 'fresh links per setting').argParser(integerIn(1)).default(12))
    .addOption(
      new Option('--bytes <n>', 'size of the timed messages')
        .argParser(integerIn(1))
        .default(DEFAULT_MODEL_BYTES),
    )
    .addOption(new Option('--mib <n>', 'MiB of the throughput message').argParser(integerIn(1)).default(16))
    .addOption(new Option('--out <file>', 'JSON result').default(join(ROOT, 'bench/results/pacing.json')));
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let code = 0;
  const command = pacingCommand().action(async () => {
    const options = command.opts<Omit<PacingOptions, 'paced'> & { paced?: number[] }>();
    await run({ ...options, paced: options.paced ?? [DEFAULT_LINK_SETTINGS.pacingMbps] });
    code = 0;
  });
  return runProgram(command, argv, io, () => code, 'npm run bench:pacing --');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
