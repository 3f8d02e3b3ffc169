/**
 * `npm start` against the clock: the built demo (signaling server and 4 headless peer
 * processes on loopback WebRTC, the MLP on MNIST) run once per setting and seed, one session
 * at a time, reading from each JSON summary (client/cli/demo.ts) the wall seconds and rounds
 * from the first round to the first evaluation at which the aggregator's own model reached
 * 90% test accuracy (secondsTo90, roundsTo90; null if never), the final test accuracy and the
 * CPU seconds of all its peer processes (peerCpuSeconds, start-up included: on a shared machine a
 * steadier figure of a setting's cost than wall time).
 * Settings are interleaved seed by seed, so the load of the shared machine falls on all of
 * them alike: compare settings within one run. The per-setting summary is the median and
 * range over seeds (a seed that never reached 90% counts as later than any that did).
 *
 * Choose on seeds 1-4, report the chosen setting on seeds 5-8 beside the defaults:
 *
 * @example
 * npm run bench:start -- --seeds 1,2,3,4 --settings defaults,lr-0.6,liec-h4,liec-h16 --out bench/results/start-choose.json
 * npm run bench:start -- --seeds 5,6,7,8 --settings defaults,lr-0.6
 * npm run bench:start -- --peers 8 --seeds 5,6,7,8 --settings defaults-eval-8,fedavg-h16
 */
import { Command, Option } from 'commander';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { plainDefaults, processIo, runProgram, UsageError, type CliIo } from '../client/cli/command.ts';
import { writeResult } from './rounds.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DEMO = join(ROOT, 'dist', 'cli', 'demo.js');
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results', 'start.json');

/**
 * The candidates: `npm start` flags added to its defaults. The lr and H values are the ones
 * bench:links-sim chose for LIEC (docs/benchmarks.md): one-step LIEC at lr 0.6 on every link,
 * H=4 at lr 0.6 on the fast link and H=16 at lr 0.6 at 2 Mbit/s (iid). Local-step settings run
 * fewer rounds (each is H optimizer steps) and evaluate more often, so that the evaluations
 * that time them are about as many optimizer steps apart as the defaults' (10).
 */
export const START_SETTINGS: Readonly<Record<string, readonly string[]>> = {
  /** Whatever shared/defaults.ts says when the demo was built (lr 0.3 before 2026-12-04 17:00, then 0.6). */
  defaults: [],
  'lr-0.3': ['--lr', '0.3'],
  'lr-0.6': ['--lr', '0.6'],
  'liec-h4': ['--local-steps', '4', '--lr', '0.6', '--rounds', '150', '--eval-every', '3'],
  'liec-h16': ['--local-steps', '16', '--lr', '0.6', '--rounds', '40', '--eval-every', '1'],
  // fedavg's best on the fast link in the simulator (H=16, lr 0.6, full precision).
  'fedavg-h16': [
    ...['--algorithm', 'fedavg', '--local-steps', '16', '--lr', '0.6', '--rounds', '40', '--eval-every', '1'],
    ...['--up', 'identity', '--down', 'identity'],
  ],
  // The defaults evaluated every 8 rounds: 16 optimizer steps apart, as fedavg-h16's every round.
  'defaults-eval-8': ['--eval-every', '8'],
  // The simulator's pick for the default (docs/benchmarks.md, "Choosing the default").
  'liec-h2-sign': [
    ...['--local-steps', '2', '--lr', '0.6', '--rounds', '150', '--eval-every', '2'],
    ...['--up', 'topk:0.01:sign', '--down', 'topk:0.01:sign'],
  ],
};

/** The parts of the demo's JSON summary read here. */
const demoSchema = z.object({
  rounds: z.number(),
  wallSeconds: z.number(),
  peerCpuSeconds: z.number().optional(),
  secondsTo90: z.number().nullable(),
  roundsTo90: z.number().nullable(),
  aggregatorChanges: z.number(),
  identicalModels: z.boolean(),
  final: z.object({ testAccuracy: z.number().nullable() }),
});

export interface StartRun {
  setting: string;
  flags: readonly string[];
  seed: number;
  exitCode: number | null;
  rounds: number | null;
  secondsTo90: number | null;
  roundsTo90: number | null;
  finalTestAccuracy: number | null;
  wallSeconds: number | null;
  /** CPU seconds of all peer processes, start-up included: steadier than wall time when the machine is shared. */
  peerCpuSeconds: number | null;
  aggregatorChanges: number | null;
  identicalModels: boolean | null;
  /** 1-minute load average when the run started. */
  loadAverage: number;
  /** Demo starts it took to get a summary (a start fails while someone rebuilds dist/). */
  attempts: number;
  /** A failed run: the end of the demo's stderr. */
  stderrTail?: string;
}

export interface Spread {
  median: number | null;
  min: number | null;
  max: number | null;
}

/** Median and range; Infinity (not reached) sorts last and is reported as null. */
export function spread(values: readonly number[]): Spread {
  const sorted = [...values].sort((a, b) => a - b);
  const finite = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? null : v);
  if (sorted.length === 0) return { median: null, min: null, max: null };
  const mid = sorted.length / 2;
  const median =
    sorted.length % 2 === 1
      ? sorted[Math.floor(mid)]
      : ((sorted[mid - 1] ?? Infinity) + (sorted[mid] ?? Infinity)) / 2;
  return { median: finite(median), min: finite(sorted[0]), max: finite(sorted[sorted.length - 1]) };
}

/** A run that ended with no model: its demo or peers failed (exit code not 0, no accuracy). */
function failedRun(run: StartRun): boolean {
  return run.exitCode !== 0 && run.finalTestAccuracy === null;
}

/** Per setting: how many seeds reached 90%, seconds and rounds to it, final accuracy. */
export function summarize(runs: readonly StartRun[]) {
  const settings = [...new Set(runs.map((r) => r.setting))];
  return settings.map((setting) => {
    // A run that ended with no model (the demo or its peers failed) is left out, not counted
    // as never reaching 90%.
    const mine = runs.filter((r) => r.setting === setting && !failedRun(r));
    const reached = mine.filter((r) => r.secondsTo90 !== null).length;
    return {
      setting,
      flags: runs.find((r) => r.setting === setting)?.flags ?? [],
      seeds: mine.map((r) => r.seed),
      failed: runs.filter((r) => r.setting === setting && failedRun(r)).map((r) => r.seed),
      reached: `${reached}/${mine.length}`,
      secondsTo90: spread(mine.map((r) => r.secondsTo90 ?? Infinity)),
      roundsTo90: spread(mine.map((r) => r.roundsTo90 ?? Infinity)),
      finalTestAccuracy: spread(mine.map((r) => r.finalTestAccuracy ?? -Infinity)),
      wallSeconds: spread(mine.map((r) => r.wallSeconds ?? Infinity)),
      peerCpuSeconds: spread(mine.map((r) => r.peerCpuSeconds ?? Infinity)),
    };
  });
}

/**
 * Demo starts per run: dist/ is shared with whoever runs `npm run build` (npm test does), and
 * a demo or peer started while it is rebuilt fails to load (MODULE_NOT_FOUND); once started,
 * a run is not affected. Such a start is retried, not counted as a run that never reached 90%.
 */
const MAX_ATTEMPTS = 3;
/** How long the built CLI must have been present before a (re)start, in ms (a build takes ~3 s). */
const BUILD_SETTLE_MS = 5_000;

/** Resolves once the built demo and peer entry have both existed for BUILD_SETTLE_MS. */
async function builtDemoPresent(): Promise<void> {
  const present = () => existsSync(DEMO) && existsSync(join(ROOT, 'dist', 'cli', 'main.js'));
  for (;;) {
    if (present()) {
      await new Promise((resolve) => setTimeout(resolve, BUILD_SETTLE_MS));
      if (present()) return;
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** Runs the built demo; resolves with its exit code and the end of its stderr. */
function runDemo(
  flags: readonly string[],
  seed: number,
  peers: number,
  out: string,
): Promise<{ code: number | null; tail: string }> {
  const args = [
    DEMO,
    '--port',
    '0',
    '--seed',
    String(seed),
    '--peers',
    String(peers),
    ...flags,
    '--out',
    out,
  ];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
  let tail = '';
  child.stderr.on('data', (chunk: Buffer) => (tail = (tail + chunk.toString('utf8')).slice(-2000)));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, tail })));
}

interface StartOptions {
  settings: string;
  seeds: string;
  peers: string;
  out: string;
}

function fmt(s: Spread, digits: number, scale = 1): string {
  const v = (x: number | null) => (x === null ? 'never' : (x * scale).toFixed(digits));
  return `${v(s.median)} (${v(s.min)}-${v(s.max)})`;
}

export async function main(argv: readonly string[], io: CliIo = processIo): Promise<number> {
  let code = 0;
  const command = plainDefaults(
    new Command('npm run bench:start --')
      .description(
        'Seconds and rounds to 90% test accuracy of npm start, per setting and seed, one run at a time.',
      )
      .addOption(
        new Option(
          '--settings <names>',
          `comma-separated, of: ${Object.keys(START_SETTINGS).join(', ')}`,
        ).default('defaults,lr-0.6'),
      )
      .addOption(new Option('--seeds <list>', 'comma-separated session seeds').default('5,6,7,8'))
      .addOption(new Option('--peers <n>', "headless peers of each demo (npm start's --peers)").default('4'))
      .addOption(new Option('--out <file>', 'result JSON (rewritten after every run)').default(RESULTS)),
  ).action(async () => {
    const opts = command.opts<StartOptions>();
    const names = opts.settings.split(',');
    for (const name of names)
      if (START_SETTINGS[name] === undefined) throw new UsageError(`unknown setting '${name}'`);
    const seeds = opts.seeds.split(',').map(Number);
    const peers = Number(opts.peers);
    if (!Number.isInteger(peers) || peers < 1) throw new UsageError(`--peers must be a positive integer`);
    const dir = await mkdtemp(join(tmpdir(), 'liec-bench-start-'));
    const runs: StartRun[] = [];
    const save = () =>
      writeResult(opts.out, {
        benchmark: 'start',
        date: new Date().toISOString(),
        cpus: cpus().length,
        note: `npm start (built demo, ${peers} peers on loopback WebRTC) per setting and seed, sequential, settings interleaved per seed; secondsTo90: from the first round to the first evaluation of the aggregator's own model at >= 90% test accuracy`,
        peers,
        summary: summarize(runs),
        runs,
      });
    try {
      for (const seed of seeds)
        for (const setting of names) {
          const flags = START_SETTINGS[setting] ?? [];
          const out = join(dir, `${setting}-${seed}.json`);
          const load = loadavg()[0] ?? 0;
          let attempts = 0;
          let exitCode: number | null = null;
          let tail = '';
          let s: z.infer<typeof demoSchema> | null = null;
          const failed = () => s === null || (exitCode !== 0 && s.final.testAccuracy === null);
          while ((attempts === 0 || failed()) && attempts < MAX_ATTEMPTS) {
            attempts++;
            await builtDemoPresent();
            await rm(out, { force: true });
            ({ code: exitCode, tail } = await runDemo(flags, seed, peers, out));
            const parsed = demoSchema.safeParse(
              JSON.parse(await readFile(out, 'utf8').catch(() => 'null')) as unknown,
            );
            s = parsed.success ? parsed.data : null;
          }
          const run: StartRun = {
            setting,
            flags,
            seed,
            exitCode,
            rounds: s?.rounds ?? null,
            secondsTo90: s?.secondsTo90 ?? null,
            roundsTo90: s?.roundsTo90 ?? null,
            finalTestAccuracy: s?.final.testAccuracy ?? null,
            wallSeconds: s?.wallSeconds ?? null,
            peerCpuSeconds: s?.peerCpuSeconds ?? null,
            aggregatorChanges: s?.aggregatorChanges ?? null,
            identicalModels: s?.identicalModels ?? null,
            loadAverage: load,
            attempts,
            ...(exitCode === 0 ? {} : { stderrTail: tail }),
          };
          runs.push(run);
          save();
          io.out(
            `seed ${seed} ${setting}: exit ${String(exitCode)}, 90% ${run.secondsTo90 === null ? 'never' : `after ${run.secondsTo90.toFixed(1)} s (round ${run.roundsTo90 ?? '?'})`}, final ${run.finalTestAccuracy === null ? 'n/a' : (run.finalTestAccuracy * 100).toFixed(2)}%, ${run.wallSeconds?.toFixed(1) ?? '?'} s, peers' CPU ${run.peerCpuSeconds?.toFixed(1) ?? '?'} s, load ${load.toFixed(1)}\n`,
          );
          if (exitCode !== 0) code = 1;
        }
      for (const row of summarize(runs))
        io.out(
          `${row.setting.padEnd(10)} reached ${row.reached}: seconds to 90% ${fmt(row.secondsTo90, 1)}, rounds ${fmt(row.roundsTo90, 0)}, final ${fmt(row.finalTestAccuracy, 2, 100)}%, peers' CPU ${fmt(row.peerCpuSeconds, 1)} s\n`,
        );
      io.out(`saved ${opts.out}\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
  return runProgram(command, argv, io, () => code, 'npm run bench:start --');
}

if (process.argv[1] === fileURLToPath(import.meta.url)) process.exitCode = await main(process.argv.slice(2));
