/**
 * The summary of `npm run bench:links-sim -- --summarize`: per group (peers, partition),
 * link and algorithm, the setting chosen on seeds 1-4 and its seconds and bytes to 90% on
 * seeds 5-8 (median and range; a run that never reached 90% counts as never, and a median
 * over such runs is "-"). Writes bench/results/links-sim.json, prints the markdown table and
 * the goals of issue 20 against it, and draws docs/links-sim-accuracy-vs-{seconds,bytes}.svg
 * (4 peers iid, seed 5, each algorithm at its setting chosen for 2 Mbit/s).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  COMPUTE_MS,
  LIEC_LOCAL_GROUP,
  LINKS,
  ROUND_OVERHEAD_MS,
  secondsTo,
  selectSettings,
  SETTINGS,
  bytesTo,
  spread,
  type RunRecord,
  type Spread,
} from './links-sim.ts';
import { lineChart, type Series } from './svg-chart.ts';

const REPORT_SEEDS = [5, 6, 7, 8];
const ALGORITHMS = ['sgd', 'doublesqueeze', 'liec', LIEC_LOCAL_GROUP, 'fedavg', 'diloco', 'sparseloco'];

interface Row {
  peers: number;
  partition: string;
  link: string;
  algorithm: string;
  setting: string;
  reached: string;
  seconds: Spread;
  bytes: Spread;
  seeds: number[];
}

function show(s: Spread, scale: number, digits: number): string {
  const f = (v: number | null) => (v === null ? '-' : (v / scale).toFixed(digits));
  return `${f(s.median)} (${f(s.min)}-${s.max === null ? 'never' : f(s.max)})`;
}

export function summarizeLinks(runs: RunRecord[], root: string): void {
  const groups = [...new Set(runs.map((r) => `${r.peers}|${r.partition}`))].sort();
  const rows: Row[] = [];
  for (const group of groups) {
    const [peersText = '', partition = ''] = group.split('|');
    const peers = Number(peersText);
    // A group run with --chosen-at has no selection runs of its own: 4 peers' settings.
    const selected = runs.some((r) => r.peers === peers && r.partition === partition && r.seed < 5);
    const chosen = selectSettings(runs, selected ? peers : 4, partition);
    LINKS.forEach((link, k) => {
      for (const algorithm of ALGORITHMS) {
        const setting = chosen.get(algorithm)?.[k] ?? '';
        const mine = runs.filter(
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
          algorithm,
          setting: selected ? setting : `${setting} (chosen at 4 peers)`,
          reached: `${mine.filter((r) => r.reachedAt !== null).length}/${mine.length}`,
          seconds: spread(mine.map((r) => secondsTo(r, k))),
          bytes: spread(mine.map(bytesTo)),
          seeds: mine.map((r) => r.seed),
        });
      }
    });
  }
  const out = {
    benchmark: 'links-sim',
    date: new Date().toISOString(),
    timeModel: {
      computeMsPerStep: COMPUTE_MS,
      roundOverheadMs: ROUND_OVERHEAD_MS,
      links: LINKS,
      note: 'simulator runs, timed per link: H x compute + overhead + round wire bytes / rate',
    },
    settings: SETTINGS,
    rows,
  };
  writeFileSync(join(root, 'bench', 'results', 'links-sim.json'), `${JSON.stringify(out, null, 2)}\n`);
  console.log(
    '| peers | partition | link | algorithm | setting (seeds 1-4) | reached | s to 90%: median (range) | MB to 90%: median (range) |',
  );
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    console.log(
      `| ${r.peers} | ${r.partition} | ${r.link} | ${r.algorithm} | ${r.setting} | ${r.reached} | ${show(r.seconds, 1, 1)} | ${show(r.bytes, 1e6, 2)} |`,
    );
  }
  printGoals(rows);
  plot(runs, root);
}

/** Issue 20's goals for the project default (liec) against fedavg and sgd, per group. */
function printGoals(rows: Row[]): void {
  const at = (g: Row, algorithm: string, link: string) =>
    rows.find(
      (r) =>
        r.peers === g.peers && r.partition === g.partition && r.link === link && r.algorithm === algorithm,
    )?.seconds.median ?? null;
  const [fast, , slow] = LINKS.map((l) => l.name);
  for (const g of rows.filter((r) => r.algorithm === 'liec' && r.link === fast)) {
    const liecFast = at(g, 'liec', fast ?? '');
    const fedavgFast = at(g, 'fedavg', fast ?? '');
    const liecSlow = at(g, 'liec', slow ?? '');
    const ratio = (other: number | null) =>
      liecSlow === null || other === null ? 'n/a' : `${(other / liecSlow).toFixed(1)}x`;
    console.log(
      `${g.peers} peers ${g.partition}: fast link liec ${liecFast?.toFixed(1) ?? '-'} s vs fedavg ${fedavgFast?.toFixed(1) ?? '-'} s; ` +
        `2 Mbit/s liec sooner than fedavg ${ratio(at(g, 'fedavg', slow ?? ''))}, than sgd ${ratio(at(g, 'sgd', slow ?? ''))}`,
    );
  }
}

/** Accuracy against seconds (2 Mbit/s) and against bytes: 4 peers iid, seed 5. */
function plot(runs: RunRecord[], root: string): void {
  const peers = 4;
  const partition = 'iid';
  const slow = LINKS.length - 1;
  const chosen = selectSettings(runs, peers, partition);
  const series = (x: (p: RunRecord['evals'][number]) => number): Series[] =>
    ALGORITHMS.flatMap((algorithm) => {
      const setting = chosen.get(algorithm)?.[slow] ?? '';
      const run = runs.find(
        (r) => r.peers === peers && r.partition === partition && r.setting === setting && r.seed === 5,
      );
      if (run === undefined) return [];
      return [{ name: setting, points: run.evals.map((p) => [x(p), p.accuracy * 100] as [number, number]) }];
    });
  const common = { yLabel: 'test accuracy (%)', yMin: 70, yMax: 95, yRule: { value: 90, label: '90%' } };
  writeFileSync(
    join(root, 'docs', 'links-sim-accuracy-vs-seconds.svg'),
    lineChart({
      ...common,
      title: '4 peers, iid, seed 5, 2 Mbit/s per peer (simulator)',
      xLabel: 'seconds (log)',
      xLog: true,
      series: series((p) => p.seconds[slow] ?? 0),
    }),
  );
  writeFileSync(
    join(root, 'docs', 'links-sim-accuracy-vs-bytes.svg'),
    lineChart({
      ...common,
      title: '4 peers, iid, seed 5: wire bytes, up and down, all peers (simulator)',
      xLabel: 'bytes (log)',
      xLog: true,
      series: series((p) => p.bytes),
    }),
  );
}
