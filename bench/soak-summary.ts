/**
 * The soak's verdict (bench/soak.ts), pure so it is tested apart: for each peer process the
 * least-squares slope per minute of its heap (after a full GC), ArrayBuffer memory (models,
 * frames and snapshots live there, not in the heap), TF.js tensor count and open file
 * descriptors, over its samples after a warm-up (TF.js, WebRTC and the socket pools settle
 * in the first minutes), and whether any of them grows. A peer's role sets what it holds
 * (an aggregator has a link to every worker, and keeps snapshots): when samples carry the
 * role, the trend is judged over the longest stretch in one role, and the changes counted.
 *
 * "Grows" means the fitted line rises, over the judged span, by more than the metric's
 * tolerance: noise (a sample taken mid-round holds that round's tensors and buffers) stays
 * under it, a leak of one tensor, descriptor or ~70 KiB a round does not over a few minutes.
 * A process whose judged span is shorter than `minJudgedMinutes` (a churned peer that lived
 * a few minutes) is reported but not judged.
 *
 * @example
 * const summary = summarizeSoak(samplesByPeer, { warmupMinutes: 2, minJudgedMinutes: 5 });
 * if (summary.growing.length > 0) process.exitCode = 1;
 */

/** The sampled figures judged; rssBytes and arrayBuffersBytes are reported only. */
export const JUDGED_METRICS = ['heapUsedBytes', 'arrayBuffersBytes', 'tensors', 'fds'] as const;
export type JudgedMetric = (typeof JUDGED_METRICS)[number];
export const REPORTED_METRICS = [...JUDGED_METRICS, 'rssBytes'] as const;
export type ReportedMetric = (typeof REPORTED_METRICS)[number];

export type SeriesSample = { at: number; role?: string | null } & Record<ReportedMetric, number>;

export interface SoakSummaryInit {
  /** Samples of each process's first minutes are left out. @default 2 */
  warmupMinutes?: number;
  /** A process judged over less than this is reported only. @default 5 */
  minJudgedMinutes?: number;
  /**
   * Largest rise of the fitted line over the judged span that is not growth. Heap: 4 MiB
   * plus 5% of the median (V8 grows its old space in steps). ArrayBuffers: 16 MiB plus 10%
   * (a sample taken mid-round holds that round's frames, ±10 MB; 20 snapshots of the MLP
   * fill 8 MB once): a model copy (0.4 MB) leaked every round still exceeds it in a minute.
   * @default { heapUsedBytes: 4 MiB, heapRelative: 0.05, arrayBuffersBytes: 16 MiB, arrayBuffersRelative: 0.1, tensors: 4, fds: 3 }
   */
  tolerance?: {
    heapUsedBytes: number;
    heapRelative: number;
    arrayBuffersBytes: number;
    arrayBuffersRelative: number;
    tensors: number;
    fds: number;
  };
}

export interface MetricTrend {
  /** Least-squares slope, units per minute. */
  perMinute: number;
  /** Rise of the fitted line over the judged span. */
  rise: number;
  first: number;
  last: number;
  median: number;
  min: number;
  max: number;
}

export interface ProcessTrend {
  name: string;
  samples: number;
  /** The role held over the judged samples (undefined when samples carry none). */
  role?: string | null;
  /** Changes of role after the warm-up. */
  roleChanges: number;
  /** Minutes between the first and the last sample judged. */
  judgedMinutes: number;
  judged: boolean;
  metrics: Record<ReportedMetric, MetricTrend>;
  /** The judged metrics that grow (empty when none does, or when not judged). */
  growing: JudgedMetric[];
}

export interface SoakSummary {
  processes: ProcessTrend[];
  /** "name.metric" of every judged metric that grows. */
  growing: string[];
}

/** Least-squares slope of y over x; 0 for fewer than two distinct x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i] as number;
    my += ys[i] as number;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx;
    sxy += dx * ((ys[i] as number) - my);
    sxx += dx * dx;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function trend(minutes: readonly number[], values: readonly number[], span: number): MetricTrend {
  const perMinute = slope(minutes, values);
  return {
    perMinute,
    rise: perMinute * span,
    first: values[0] ?? 0,
    last: values[values.length - 1] ?? 0,
    median: median(values),
    min: values.length === 0 ? 0 : Math.min(...values),
    max: values.length === 0 ? 0 : Math.max(...values),
  };
}

export function summarizeSoak(
  series: ReadonlyMap<string, readonly SeriesSample[]>,
  init: SoakSummaryInit = {},
): SoakSummary {
  const warmupMs = (init.warmupMinutes ?? 2) * 60_000;
  const minJudged = init.minJudgedMinutes ?? 5;
  const tolerance = init.tolerance ?? {
    heapUsedBytes: 4 * 1024 * 1024,
    heapRelative: 0.05,
    arrayBuffersBytes: 16 * 1024 * 1024,
    arrayBuffersRelative: 0.1,
    tensors: 4,
    fds: 3,
  };
  const processes: ProcessTrend[] = [];
  const growing: string[] = [];
  for (const [name, all] of series) {
    const sorted = [...all].sort((a, b) => a.at - b.at);
    const start = sorted[0]?.at ?? 0;
    const { kept, role, roleChanges } = longestInOneRole(sorted.filter((s) => s.at - start >= warmupMs));
    const minutes = kept.map((s) => (s.at - start) / 60_000);
    const span = minutes.length < 2 ? 0 : (minutes[minutes.length - 1] as number) - (minutes[0] as number);
    const metrics = Object.fromEntries(
      REPORTED_METRICS.map((metric) => [
        metric,
        trend(
          minutes,
          kept.map((s) => s[metric]),
          span,
        ),
      ]),
    ) as Record<ReportedMetric, MetricTrend>;
    const judged = span >= minJudged;
    const limits: Record<JudgedMetric, number> = {
      heapUsedBytes: tolerance.heapUsedBytes + tolerance.heapRelative * metrics.heapUsedBytes.median,
      arrayBuffersBytes:
        tolerance.arrayBuffersBytes + tolerance.arrayBuffersRelative * metrics.arrayBuffersBytes.median,
      tensors: tolerance.tensors,
      fds: tolerance.fds,
    };
    const grows = judged ? JUDGED_METRICS.filter((metric) => metrics[metric].rise > limits[metric]) : [];
    for (const metric of grows) growing.push(`${name}.${metric}`);
    processes.push({
      name,
      samples: kept.length,
      ...(role === undefined ? {} : { role }),
      roleChanges,
      judgedMinutes: span,
      judged,
      metrics,
      growing: grows,
    });
  }
  return { processes, growing };
}

/** The longest run of consecutive samples in one role (all of them when none carries a role). */
function longestInOneRole(samples: readonly SeriesSample[]): {
  kept: SeriesSample[];
  role?: string | null;
  roleChanges: number;
} {
  if (samples.every((s) => s.role === undefined)) return { kept: [...samples], roleChanges: 0 };
  let best: SeriesSample[] = [];
  let run: SeriesSample[] = [];
  let roleChanges = 0;
  for (const sample of samples) {
    const last = run[run.length - 1];
    if (last !== undefined && last.role !== sample.role) {
      roleChanges += 1;
      run = [];
    }
    run.push(sample);
    if (run.length > best.length) best = run;
  }
  return { kept: best, role: best[0]?.role ?? null, roleChanges };
}
