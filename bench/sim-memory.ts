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
 * Results go to bench/results/sim-memory.json (runs merged by model, workers and variant).
 *
 * @example
 * npm run bench:sim-memory -- --workers 100,300 --model mlp-large --rounds 3 --per-round
 * npm run bench:sim-memory -- --workers 100 --variant exact= --variant alpha1='--compensation 1'
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { z } from 'zod';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const RESULTS_FILE = join(ROOT, 'bench', 'results', 'sim-memory.json');

/** What this bench reads of a simulation's --out report (client/sim/cli.ts). */
const reportSchema = z.object({
  workers: z.number(),
  rounds: z.number(),
  maxRssMiB: z.number(),
  wallSeconds: z.number(),
  final: z.object({ testAccuracy: z.number() }),
});

interface Run {
  model: string;
  workers: number;
  variant: string;
  flags: string;
  rounds: number;
  maxRssMiB: number;
  wallSeconds: number;
  /** null without --per-round. */
  secondsPerRound: number | null;
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
      variant: { type: 'string', multiple: true, default: ['default='] },
      'per-round': { type: 'boolean', default: false },
    },
  });
  const rounds = Number(values.rounds);
  if (!Number.isInteger(rounds) || rounds < 2) throw new Error(`--rounds ${values.rounds}: at least 2`);
  const sizes = values.workers.split(',').map(Number);
  const previous: Run[] = existsSync(RESULTS_FILE)
    ? (JSON.parse(readFileSync(RESULTS_FILE, 'utf8')) as { runs: Run[] }).runs
    : [];
  const runs = new Map(previous.map((r) => [`${r.model}/${r.workers}/${r.variant}`, r]));
  for (const workers of sizes) {
    for (const variant of values.variant.map(parseVariant)) {
      const base = [
        '--model',
        values.model,
        '--workers',
        String(workers),
        '--seed',
        values.seed,
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
        rounds,
        maxRssMiB: report.maxRssMiB,
        wallSeconds: report.wallSeconds,
        secondsPerRound: one === null ? null : (report.wallSeconds - one.wallSeconds) / (rounds - 1),
        finalAccuracy: report.final.testAccuracy,
        date: new Date().toISOString(),
      };
      console.log(
        `${run.model} ${workers} workers ${run.variant}: ${run.maxRssMiB} MiB peak, ${run.wallSeconds.toFixed(1)} s` +
          (run.secondsPerRound === null ? '' : `, ${run.secondsPerRound.toFixed(2)} s/round`),
      );
      runs.set(`${run.model}/${workers}/${run.variant}`, run);
      writeFileSync(RESULTS_FILE, `${JSON.stringify({ runs: [...runs.values()] }, null, 2)}\n`);
    }
  }
}

main();
