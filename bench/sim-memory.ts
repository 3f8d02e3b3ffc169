/**
 * `npm run bench:sim-memory`: peak resident memory and wall time of the simulator against its
 * number of virtual workers (issue 21: 1,000 workers of the 1M model within 4 GiB).
 *
 * Each run is its own process (`npm run simulate -- ... --out FILE`), one at a time, so a peak
 * is that run's alone: maxRssMiB is the child's own getrusage maxRSS (what /usr/bin/time -v
 * calls Maximum resident set size), wallSeconds its whole run (start-up, digits and model
 * included). secondsPerRound is (wallSeconds of ROUNDS rounds - wallSeconds of 1 round) /
 * (ROUNDS - 1) when --per-round is given (two runs per size), which leaves start-up out.
 * Variants (`--variant name=flags`, repeatable) compare settings, e.g. `alpha1=--compensation 1`.
 *
 * Results go to bench/results/sim-memory.json, or --results NAME there (runs merged by model,
 * workers, variant, seed and rounds).
 *
 * @example
 * npm run bench:sim-memory -- --workers 100,300 --model mlp-large --rounds 3 --per-round
 * npm run bench:sim-memory -- --workers 100 --variant exact= --variant alpha1='--compensation 1'
 * npm run bench:sim-memory -- --model mlp --workers 8 --rounds 200 --seeds 5,6,7,8 --variant f32= \
 *   --variant f16='--state-precision f16' --results sim-state-precision.json
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_DIR = join(ROOT, 'bench', 'results');

/** What this bench reads of a simulation's --out report (client/sim/cli.ts). */
const reportSchema = z.object({
  workers: z.number(),
  rounds: z.number(),
  maxRssMiB: z.number(),
  wallSeconds: z.number(),
  roundWallSeconds: z.array(z.number()).optional(),
  final: z.object({ testAccuracy: z.number() }),
});

interface Run {
  model: string;
  workers: number;
  variant: string;
  flags: string;
  /** Absent in runs before Dec 4, 23:30 UTC: seed 1. */
  seed?: number;
  rounds: number;
  maxRssMiB: number;
  wallSeconds: number;
  /** null without --per-round. */
  secondsPerRound: number | null;
  /** Wall seconds of each round, as the simulator saw them (the first allocates the workers' state). */
  roundWallSeconds?: number[];
  finalAccuracy: number;
  date: string;
}

function simulate(args: readonly string[]): z.infer<typeof reportSchema> {
  const dir = mkdtempSync(join(tmpdir(), 'sim-memory-'));
  const out = join(dir, 'run.json');
  try {
    const child = spawnSync(
      'node',
      ['--import', 'tsx', 'client/sim/cli.ts', ...args, '--quiet', '--out', out],
      {
        cwd: ROOT,
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    if (child.status !== 0)
      throw new Error(`simulate ${args.join(' ')} exited ${String(child.status ?? child.signal)}`);
    return reportSchema.parse(JSON.parse(readFileSync(out, 'utf8')));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each round's wall seconds, or their mean past a few rounds. */
function roundTimes(seconds: readonly number[]): string {
  if (seconds.length <= 5) return `rounds ${seconds.map((t) => t.toFixed(1)).join(' ')} s`;
  return `${(seconds.reduce((sum, t) => sum + t, 0) / seconds.length).toFixed(2)} s/round`;
}

function parseVariant(text: string): { name: string; flags: string[] } {
  const at = text.indexOf('=');
  if (at <= 0) throw new Error(`--variant ${text}: expected name=flags`);
  const flags = text.slice(at + 1).trim();
  return { name: text.slice(0, at), flags: flags === '' ? [] : flags.split(/\s+/) };
}

function main(): void {
  const { values } = parseArgs({
    options: {
      workers: { type: 'string', default: '100' },
      model: { type: 'string', default: 'mlp-large' },
      rounds: { type: 'string', default: '3' },
      seed: { type: 'string', default: '1' },
      /** Several seeds (comma-separated), one run each: accuracy comparisons. Overrides --seed. */
      seeds: { type: 'string' },
      variant: { type: 'string', multiple: true, default: ['default='] },
      'per-round': { type: 'boolean', default: false },
      /** Results file name under bench/results/ (accuracy comparisons apart from memory runs). */
      results: { type: 'string', default: 'sim-memory.json' },
    },
  });
  const resultsFile = join(RESULTS_DIR, values.results);
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 2) throw new Error(`--rounds ${values.rounds}: at least 2`);
  const sizes = values.workers.split(',').map(Number);
  const previous: Run[] = existsSync(resultsFile)
    ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as { runs: Run[] }).runs
    : [];
  const key = (r: Run) => `${r.model}/${r.workers}/${r.variant}/${r.seed ?? 1}/${r.rounds}`;
  const runs = new Map(previous.map((r) => [key(r), r]));
  const seeds = (values.seeds ?? values.seed).split(',').map(Number);
  for (const [workers, seed, variant] of sizes.flatMap((w) =>
    seeds.flatMap((s) => values.variant.map((v) => [w, s, parseVariant(v)] as const)),
  )) {
    const base = [
      '--model',
      values.model,
      '--workers',
      String(workers),
      '--seed',
      String(seed),
      ...variant.flags,
    ];
    // Evaluated once, at the last round (the final sync's model).
    const report = simulate([...base, '--rounds', String(rounds), '--eval-every', String(rounds)]);
    const one = values['per-round'] ? simulate([...base, '--rounds', '1', '--eval-every', '1']) : null;
    const run: Run = {
      model: values.model,
      workers,
      variant: variant.name,
      flags: variant.flags.join(' '),
      seed,
      rounds,
      maxRssMiB: report.maxRssMiB,
      wallSeconds: report.wallSeconds,
      secondsPerRound: one === null ? null : (report.wallSeconds - one.wallSeconds) / (rounds - 1),
      roundWallSeconds: report.roundWallSeconds ?? [],
      finalAccuracy: report.final.testAccuracy,
      date: new Date().toISOString(),
    };
    console.log(
      `${run.model} ${workers} workers ${run.variant} seed ${seed}: ${run.maxRssMiB} MiB peak, ${run.wallSeconds.toFixed(1)} s` +
        `, ${roundTimes(run.roundWallSeconds ?? [])}, accuracy ${run.finalAccuracy}` +
        (run.secondsPerRound === null ? '' : `, ${run.secondsPerRound.toFixed(2)} s/round`),
    );
    runs.set(key(run), run);
    writeFileSync(resultsFile, `${JSON.stringify({ runs: [...runs.values()] }, null, 2)}\n`);
  }
}

main();
