/**
 * `npm run plots`: the benchmark figures as SVG under docs/, from the saved results (no
 * hand editing; rerun after a benchmark). Each input is optional: a missing results file
 * skips its figures.
 *
 *   bench/results/links.json    -> docs/links-accuracy-vs-time.svg, docs/links-accuracy-vs-bytes.svg
 *   bench/results/scaling.json  -> docs/scaling-round-time.svg, docs/scaling-aggregator-bytes.svg
 *   bench/results/adaptive.json -> docs/adaptive-accuracy-vs-time.svg
 *
 * @example
 * npm run plots
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { compact, lineChart, type Series } from './svg-chart.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const RESULTS = join(ROOT, 'bench', 'results');
const DOCS = join(ROOT, 'docs');

const linksSchema = z.object({
  linkMbps: z.array(z.number()),
  peers: z.number(),
  runs: z.array(
    z.object({
      algorithm: z.string(),
      up: z.string(),
      down: z.string(),
      history: z.array(
        z.object({
          seconds: z.number(),
          testAccuracy: z.number().nullable(),
          bytesUp: z.number(),
          bytesDown: z.number(),
        }),
      ),
    }),
  ),
});

const scalingSchema = z.object({
  settings: z.object({ mbps: z.string() }).loose(),
  sim: z.array(
    z.object({
      peers: z.number(),
      algorithm: z.string(),
      up: z.string(),
      down: z.string(),
      roundSeconds: z.number(),
      downBytesPerRound: z.number(),
    }),
  ),
  real: z.array(
    z.object({
      peers: z.number(),
      roundSecondsMedian: z.number(),
      cpuBoundRoundSeconds: z.number(),
      aggregatorDownBytesPerRound: z.number(),
    }),
  ),
  summary: z
    .object({
      sim: z
        .object({
          bytesPerPeerPerRound: z.number(),
          maxRelativeDeviation: z.number(),
          perPeerAffine: z.object({
            bytesPerPeerPerRoundAtZero: z.number(),
            extraBytesPerPeerPerRoundPerPeer: z.number(),
          }),
        })
        .nullable(),
      real: z.object({ bytesPerPeerPerRound: z.number(), maxRelativeDeviation: z.number() }).nullable(),
    })
    .optional(),
});

const adaptiveSchema = z.object({
  settings: z.object({ 'link-mbps': z.string(), 'deadline-ms': z.string(), algorithm: z.string() }).loose(),
  runs: z.array(
    z.object({
      up: z.string(),
      seed: z.number(),
      accuracyBySeconds: z.array(z.tuple([z.number(), z.number().nullable(), z.number()])),
    }),
  ),
});

function load<T>(file: string, schema: z.ZodType<T>): T | null {
  const path = join(RESULTS, file);
  if (!existsSync(path)) {
    console.log(`skip: no ${path}`);
    return null;
  }
  return schema.parse(JSON.parse(readFileSync(path, 'utf8')));
}

function save(name: string, svg: string): void {
  mkdirSync(DOCS, { recursive: true });
  writeFileSync(join(DOCS, name), svg);
  console.log(`wrote docs/${name}`);
}

const percent = (v: number): string => `${Math.round(v * 100)}%`;
const runName = (r: { algorithm: string; up: string; down: string }): string =>
  r.algorithm === 'sgd' ? 'sgd fp32' : `${r.algorithm} ${r.up.replace('topk:0.01', 'top-k 1%')}`;

function plotLinks(): void {
  const links = load('links.json', linksSchema);
  if (links === null) return;
  const rate = links.linkMbps.join('/');
  type Point = (typeof links.runs)[number]['history'][number];
  const runs = links.runs;
  const series = (x: (h: Point) => number): Series[] =>
    runs.map((run) => ({
      name: runName(run),
      dashed: run.algorithm !== 'liec',
      points: run.history.flatMap((h) =>
        h.testAccuracy === null ? [] : [[x(h), h.testAccuracy] as [number, number]],
      ),
    }));
  const common = {
    yLabel: 'test accuracy (MNIST)',
    yMin: 0.5,
    yMax: 1,
    formatY: percent,
    yRule: { value: 0.9, label: '90%' },
  };
  save(
    'links-accuracy-vs-time.svg',
    lineChart({
      ...common,
      title: `Accuracy against wall time: ${links.peers} peers over WebRTC, ${rate} Mbit/s links`,
      xLabel: 'seconds since round 0 (log scale)',
      xLog: true,
      series: series((h) => h.seconds),
    }),
  );
  save(
    'links-accuracy-vs-bytes.svg',
    lineChart({
      ...common,
      title: `Accuracy against traffic: ${links.peers} peers, frame bytes up + down`,
      xLabel: 'bytes through the aggregator, up + down (log scale)',
      xLog: true,
      formatX: compact,
      series: series((h) => h.bytesUp + h.bytesDown),
    }),
  );
}

function plotScaling(): void {
  const scaling = load('scaling.json', scalingSchema);
  if (scaling === null) return;
  const groups = new Map<string, [number, number][]>();
  const bytes = new Map<string, [number, number][]>();
  for (const row of scaling.sim) {
    const name = `sim: ${runName(row)}`;
    groups.set(name, [...(groups.get(name) ?? []), [row.peers, row.roundSeconds]]);
    bytes.set(name, [...(bytes.get(name) ?? []), [row.peers, row.downBytesPerRound]]);
  }
  const timeSeries: Series[] = [...groups].map(([name, points]) => ({ name, points }));
  const byteSeries: Series[] = [...bytes].map(([name, points]) => ({ name, points }));
  if (scaling.real.length > 0) {
    timeSeries.push(
      {
        name: 'WebRTC: liec top-k 1%',
        dashed: true,
        points: scaling.real.map((r) => [r.peers, r.roundSecondsMedian]),
      },
      {
        name: 'WebRTC: CPU bound',
        dashed: true,
        points: scaling.real.map((r) => [r.peers, r.cpuBoundRoundSeconds]),
      },
    );
    byteSeries.push({
      name: 'WebRTC: liec top-k 1%',
      dashed: true,
      points: scaling.real.map((r) => [r.peers, r.aggregatorDownBytesPerRound]),
    });
  }
  // The fit of the simulated LIEC points: n (a + b n), b from the counted list in each broadcast.
  const fit = scaling.summary?.sim?.perPeerAffine;
  if (fit !== undefined) {
    const a = fit.bytesPerPeerPerRoundAtZero;
    const b = fit.extraBytesPerPeerPerRoundPerPeer;
    const sizes = [...new Set(scaling.sim.map((r) => r.peers))].sort((x, y) => x - y);
    byteSeries.push({
      name: `fit: n (${compact(a)} + ${b.toFixed(1)} n) B`,
      dashed: true,
      points: sizes.map((n) => [n, n * (a + b * n)]),
    });
  }
  save(
    'scaling-round-time.svg',
    lineChart({
      title: `Round time against peers: simulator (${scaling.settings.mbps} Mbit/s links, aggregator link shared), WebRTC on 2 cores`,
      xLabel: 'peers (log scale)',
      yLabel: 'seconds per round (log scale)',
      xLog: true,
      yLog: true,
      series: timeSeries,
      width: 900,
    }),
  );
  save(
    'scaling-aggregator-bytes.svg',
    lineChart({
      title: 'Aggregator downlink bytes per round against peers (LIEC syncs amortized)',
      xLabel: 'peers (log scale)',
      yLabel: 'bytes sent by the aggregator per round (log scale)',
      xLog: true,
      yLog: true,
      formatY: compact,
      series: byteSeries,
      width: 900,
    }),
  );
}

function plotAdaptive(): void {
  const adaptive = load('adaptive.json', adaptiveSchema);
  if (adaptive === null) return;
  const firstSeed = adaptive.runs[0]?.seed;
  const series: Series[] = adaptive.runs
    .filter((r) => r.seed === firstSeed)
    .map((r) => ({
      name: r.up,
      dashed: !r.up.startsWith('topk:auto'),
      points: r.accuracyBySeconds.flatMap(([s, acc]) => (acc === null ? [] : [[s, acc] as [number, number]])),
    }));
  save(
    'adaptive-accuracy-vs-time.svg',
    lineChart({
      title: `topk:auto vs fixed ratios (${adaptive.settings.algorithm}, links ${adaptive.settings['link-mbps']} Mbit/s, deadline ${adaptive.settings['deadline-ms']} ms, seed ${firstSeed})`,
      xLabel: 'simulated seconds (log scale)',
      yLabel: 'test accuracy (MNIST)',
      xLog: true,
      yMin: 0.5,
      yMax: 1,
      formatY: percent,
      yRule: { value: 0.9, label: '90%' },
      series,
    }),
  );
}

plotLinks();
plotScaling();
plotAdaptive();
