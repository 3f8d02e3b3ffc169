/**
 * The fuzzing campaign: runs every target of test/fuzz/ with its full input count (fast-check,
 * seeded), prints per-target counts and outcomes, and writes bench/results/fuzz.json:
 * { seed, scale, totalInputs, crashes, targets: [{ name, inputs, outcomes, ms, failure? }] }.
 * Exits with status 1 when any target crashed.
 *
 * @example
 * npm run fuzz
 * node --import tsx bench/fuzz.ts --scale fast --only codec. --seed 7 --out /tmp/fuzz.json
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { TargetReport } from '../test/fuzz/harness.ts';
import { ALL_TARGETS } from '../test/fuzz/targets.ts';

export interface FuzzSummary {
  seed: number;
  scale: 'fast' | 'full';
  totalInputs: number;
  crashes: number;
  ms: number;
  targets: TargetReport[];
}

export async function main(argv: string[]): Promise<FuzzSummary> {
  const { values } = parseArgs({
    args: argv,
    options: {
      /** full: every target's `full` count (>= 100,000 in total); fast: the `npm test` counts. */
      scale: { type: 'string', default: 'full' },
      seed: { type: 'string', default: '20240601' },
      /** Runs only the targets whose name contains this text. */
      only: { type: 'string', default: '' },
      out: {
        type: 'string',
        default: join(dirname(fileURLToPath(import.meta.url)), 'results', 'fuzz.json'),
      },
    },
  });
  const scale = values.scale;
  if (scale !== 'fast' && scale !== 'full') throw new RangeError(`--scale: fast or full, got "${scale}"`);
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) throw new RangeError(`--seed: an integer, got "${values.seed}"`);
  const started = performance.now();
  const targets: TargetReport[] = [];
  for (const t of ALL_TARGETS.filter((t) => t.name.includes(values.only))) {
    const report = await t.run(scale === 'full' ? t.full : t.fast, seed);
    targets.push(report);
    const outcomes = Object.entries(report.outcomes)
      .sort((a, b) => b[1] - a[1])
      .map(([label, n]) => `${label} ${n}`)
      .join(', ');
    const status = report.failure === undefined ? 'ok' : 'CRASH';
    console.log(
      `${status.padEnd(5)} ${t.name.padEnd(32)} ${String(report.inputs).padStart(7)} inputs  ${String(report.ms).padStart(6)} ms  ${outcomes}`,
    );
    if (report.failure !== undefined) console.log(`      ${report.failure}`);
  }
  const summary: FuzzSummary = {
    seed,
    scale,
    totalInputs: targets.reduce((sum, r) => sum + r.inputs, 0),
    crashes: targets.filter((r) => r.failure !== undefined).length,
    ms: Math.round(performance.now() - started),
    targets,
  };
  console.log(
    `${summary.totalInputs} fuzzed inputs over ${targets.length} targets in ${(summary.ms / 1000).toFixed(1)} s: ${summary.crashes} crashes`,
  );
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, `${JSON.stringify(summary, null, 2)}\n`);
  console.log(`wrote ${values.out}`);
  return summary;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (summary) => {
      process.exitCode = summary.crashes === 0 ? 0 : 1;
    },
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : error);
      process.exitCode = 2;
    },
  );
}
