/**
 * `npm run bench:links-sim -- --summarize-full`: the local-step comparison at equal compute.
 * Per (peers, partition) and link, each of COMPARED_GROUPS at the setting chosen there on seeds
 * 1-4 (selectSettings over the stopped runs), from its seeds 5-8 run to the step cap: seconds
 * and bytes to 90% and the test accuracy of the model worker 0 holds after STEP_CAP steps
 * (after LIEC's final sync, every worker's). Also checks that each full run's first 90%
 * matches its stopped twin's (the simulator is deterministic: the same trajectory up to there).
 * Writes bench/results/links-sim-final.json and prints the markdown table.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  COMPARED_GROUPS,
  CONTROL_GROUPS,
  LINKS,
  median,
  secondsTo,
  selectSettings,
  STEP_CAP,
  spread,
  type RunRecord,
  type Spread,
} from './links-sim.ts';

const REPORT_SEEDS = [5, 6, 7, 8];

interface FinalRow {
  peers: number;
  partition: string;
  link: string;
  group: string;
  setting: string;
  reached: string;
  secondsTo90: Spread;
  bytesTo90: Spread;
  finalAccuracy: Spread;
  /** Seconds the STEP_CAP steps took on this link (median). */
  secondsAtCap: number | null;
  seeds: number[];
}

function show(s: Spread, scale: number, digits: number): string {
  const f = (v: number | null) => (v === null ? '-' : (v / scale).toFixed(digits));
  return `${f(s.median)} (${f(s.min)}-${s.max === null ? 'never' : f(s.max)})`;
}

const same = (a: RunRecord, b: RunRecord) =>
  a.peers === b.peers && a.partition === b.partition && a.seed === b.seed && a.setting === b.setting;

export function summarizeFinal(stopped: RunRecord[], full: RunRecord[], root: string): void {
  const rows: FinalRow[] = [];
  let twins = 0;
  const mismatches: string[] = [];
  for (const run of full) {
    const twin = stopped.find((r) => same(r, run));
    if (twin === undefined) continue;
    twins++;
    const a = run.reachedAt === null ? null : run.evals[run.reachedAt];
    const b = twin.reachedAt === null ? null : twin.evals[twin.reachedAt];
    if (a?.steps !== b?.steps || a?.bytes !== b?.bytes)
      mismatches.push(`${run.peers} ${run.partition} seed ${run.seed} ${run.setting}`);
  }
  const groups = [...new Set(full.map((r) => `${r.peers}|${r.partition}`))].sort();
  for (const key of groups) {
    const [peersText = '', partition = ''] = key.split('|');
    const peers = Number(peersText);
    const chosen = selectSettings(stopped, peers, partition);
    LINKS.forEach((link, k) => {
      for (const group of [...COMPARED_GROUPS, ...CONTROL_GROUPS.map((c) => c.name)]) {
        const setting = chosen.get(group)?.[k] ?? '';
        const mine = full.filter(
          (r) =>
            r.peers === peers &&
            r.partition === partition &&
            r.setting === setting &&
            REPORT_SEEDS.includes(r.seed),
        );
        if (setting === '' || mine.length === 0) continue;
        rows.push({
          peers,
          partition,
          link: link.name,
          group,
          setting,
          reached: `${mine.filter((r) => r.reachedAt !== null).length}/${mine.length}`,
          secondsTo90: spread(mine.map((r) => secondsTo(r, k))),
          bytesTo90: spread(
            mine.map((r) => (r.reachedAt === null ? Infinity : (r.evals[r.reachedAt]?.bytes ?? Infinity))),
          ),
          finalAccuracy: spread(mine.map((r) => r.evals.at(-1)?.accuracy ?? NaN)),
          secondsAtCap: median(mine.map((r) => r.evals.at(-1)?.seconds[k] ?? NaN)),
          seeds: mine.map((r) => r.seed),
        });
      }
    });
  }
  const out = {
    benchmark: 'links-sim-final',
    date: new Date().toISOString(),
    stepCap: STEP_CAP,
    note: 'seeds 5-8 run to the step cap at the setting chosen per link on seeds 1-4 (stopped runs); final accuracy: worker 0 model after the cap',
    determinism: { fullRunsWithStoppedTwin: twins, firstNinetyMismatches: mismatches },
    rows,
  };
  writeFileSync(join(root, 'bench', 'results', 'links-sim-final.json'), `${JSON.stringify(out, null, 2)}\n`);
  console.log(
    `| peers | partition | link | algorithm | setting (seeds 1-4) | reached | s to 90% | MB to 90% | accuracy after ${STEP_CAP} steps (%) | s for ${STEP_CAP} steps |`,
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(
      `| ${r.peers} | ${r.partition} | ${r.link} | ${r.group} | ${r.setting} | ${r.reached} | ${show(r.secondsTo90, 1, 1)} | ${show(r.bytesTo90, 1e6, 2)} | ${show(r.finalAccuracy, 0.01, 1)} | ${r.secondsAtCap?.toFixed(1) ?? '-'} |`,
    );
  }
  console.log(`determinism: ${twins} full runs with a stopped twin, ${mismatches.length} differ at 90%`);
}
