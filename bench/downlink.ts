/**
 * The aggregator's downlink against the number of peers, in real sessions: `npm start` (the
 * built demo: signaling server and N headless peer processes on loopback WebRTC, default
 * config) for each N, the aggregator's wire bytes sent per round read from the demo's JSON
 * summary, and a least-squares line bytes = a + b * N with its R^2. Summaries of earlier runs
 * (e.g. the 64-peer session) can be added with --include. The final aggregator's wire bytes
 * include what it sent after a failover (the model to every worker) and as a worker before it:
 * runs with aggregator changes are marked. `--sim` runs the simulator instead (one process,
 * every frame encoded and counted, no failovers): its downlink frame bytes (syncs included).
 *
 * @example
 * npm run bench:downlink -- --peers 4,8,16,32 --rounds 30
 * npm run bench:downlink -- --peers 4,8 --include bench/results/demo-64.json
 * npm run bench:downlink -- --sim --peers 4,8,16,32,64,128 --out bench/results/downlink-sim.json
 */
import { Command, Option } from 'commander';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { integerIn, plainDefaults, processIo, runProgram, type CliIo } from '../client/cli/command.ts';
import { writeResult } from './rounds.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEMO = join(ROOT, 'dist', 'cli', 'demo.js');
const SIM = join(ROOT, 'client', 'sim', 'cli.ts');
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results', 'downlink.json');

/** The parts of the demo's JSON summary (client/cli/demo.ts demoSummary) read here. */
const demoSchema = z.object({
  peerCount: z.number(),
  rounds: z.number(),
  wallSeconds: z.number(),
  aggregatorChanges: z.number(),
  aggregatorWireBytes: z.object({ sent: z.number(), received: z.number() }).nullable(),
  final: z.object({ testAccuracy: z.number().nullable() }),
});

export interface LineFit {
  intercept: number;
  slope: number;
  r2: number;
}

/** Ordinary least squares y = intercept + slope * x, and the fraction of variance it explains. */
export function fitLine(points: readonly { x: number; y: number }[]): LineFit {
  const n = points.length;
  const mx = points.reduce((s, p) => s + p.x, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const sxx = points.reduce((s, p) => s + (p.x - mx) ** 2, 0);
  const sxy = points.reduce((s, p) => s + (p.x - mx) * (p.y - my), 0);
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  const ssTot = points.reduce((s, p) => s + (p.y - my) ** 2, 0);
  const ssRes = points.reduce((s, p) => s + (p.y - intercept - slope * p.x) ** 2, 0);
  return { intercept, slope, r2: ssTot === 0 ? 1 : 1 - ssRes / ssTot };
}

/** The simulator's JSON summary: its frame bytes. */
const simSchema = z.object({
  workers: z.number(),
  rounds: z.number(),
  wallSeconds: z.number(),
  final: z.object({ testAccuracy: z.number().nullable() }),
  bytes: z.object({ up: z.number(), down: z.number() }),
});

function runDemo(peers: number, rounds: number, out: string, sim: boolean): Promise<number | null> {
  const args = sim
    ? ['--import', 'tsx', SIM, '--workers', String(peers), '--rounds', String(rounds)]
    : [DEMO, '--peers', String(peers), '--rounds', String(rounds), '--port', '0'];
  args.push(...(sim ? ['--eval-every', String(rounds), '--quiet'] : []), '--out', out);
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore'] });
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

interface DownlinkOptions {
  peers: string;
  rounds: number;
  include: string[];
  sim: boolean;
  out: string;
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let code = 0;
  const command = plainDefaults(
    new Command('npm run bench:downlink --')
      .description("The aggregator's downlink per round against the number of peers, with a line fit.")
      .addOption(new Option('--peers <list>', 'comma-separated peer counts').default('4,8,16,32'))
      .addOption(new Option('--rounds <n>', 'rounds per session').argParser(integerIn(5)).default(30))
      .addOption(
        new Option('--include <file...>', 'demo summaries of earlier runs (npm start -- --out FILE)').default(
          [],
        ),
      )
      .addOption(new Option('--sim', 'run the simulator (N virtual workers + aggregator)').default(false))
      .addOption(new Option('--out <file>', 'result JSON').default(RESULTS)),
  ).action(async () => {
    const opts = command.opts<DownlinkOptions>();
    const dir = await mkdtemp(join(tmpdir(), 'liec-bench-downlink-'));
    const files: string[] = [...opts.include];
    try {
      for (const peers of opts.peers.split(',').map(Number)) {
        const out = join(dir, `demo-${peers}.json`);
        const exit = await runDemo(peers, opts.rounds, out, opts.sim);
        io.out(`${peers} peers: demo exited with ${String(exit)}, load ${loadavg()[0]?.toFixed(1)}\n`);
        files.push(out);
      }
      const runs = [];
      for (const file of files) {
        const json: unknown = JSON.parse(await readFile(file, 'utf8'));
        const sim = simSchema.safeParse(json);
        if (sim.success) {
          const s = sim.data;
          runs.push({
            peers: s.workers + 1,
            rounds: s.rounds,
            wallSeconds: s.wallSeconds,
            aggregatorChanges: 0,
            testAccuracy: s.final.testAccuracy,
            downBytesPerRound: s.bytes.down / s.rounds,
            upBytesPerRound: s.bytes.up / s.rounds,
          });
          continue;
        }
        const s = demoSchema.parse(json);
        if (s.aggregatorWireBytes === null) throw new Error(`${file}: no peer finished as the aggregator`);
        runs.push({
          peers: s.peerCount,
          rounds: s.rounds,
          wallSeconds: s.wallSeconds,
          aggregatorChanges: s.aggregatorChanges,
          testAccuracy: s.final.testAccuracy,
          downBytesPerRound: s.aggregatorWireBytes.sent / s.rounds,
          upBytesPerRound: s.aggregatorWireBytes.received / s.rounds,
        });
      }
      runs.sort((a, b) => a.peers - b.peers);
      const fit = fitLine(runs.map((r) => ({ x: r.peers, y: r.downBytesPerRound })));
      for (const r of runs)
        io.out(
          `${String(r.peers).padStart(3)} peers: down ${(r.downBytesPerRound / 1e3).toFixed(1)} kB/round, fit ${((fit.intercept + fit.slope * r.peers) / 1e3).toFixed(1)}\n`,
        );
      io.out(
        `fit: down bytes per round = ${fit.intercept.toFixed(0)} + ${fit.slope.toFixed(0)} x peers, R^2 ${fit.r2.toFixed(4)}\n`,
      );
      writeResult(opts.out, {
        date: new Date().toISOString(),
        loadAverage: loadavg(),
        cpus: cpus().length,
        fit,
        runs,
      });
      code = runs.some((r) => r.testAccuracy === null) ? 1 : 0;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  return runProgram(command, argv, io, () => code, 'npm run bench:downlink --');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
