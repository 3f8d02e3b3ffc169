/**
 * The three training charts as uPlot options and data builders (pure, testable without a
 * DOM): loss and test accuracy per round; bytes per round, sent and received, against what
 * fp32 both ways would have sent (log scale); and model drift between syncs.
 *
 * @example
 * const plot = new uPlot(CHART_SPECS[0].options(480), CHART_SPECS[0].data(history), element);
 */
import type uPlot from 'uplot';
import { formatBytes } from '../format.ts';
import type { RoundRecord } from '../state.ts';

export interface ChartSpec {
  id: 'accuracy' | 'bytes' | 'drift';
  title: string;
  /** Shown under the chart while no series has a value. */
  emptyNote: string;
  options(width: number): uPlot.Options;
  data(history: readonly RoundRecord[]): uPlot.AlignedData;
}

/** Height of each chart in CSS pixels. */
export const CHART_HEIGHT = 220;

const COLORS = {
  loss: '#d0453a',
  accuracy: '#2f6fed',
  up: '#2f9e6b',
  down: '#8a5cd6',
  fp32: '#8f98a3',
  drift: '#d98c1f',
};

/** Non-positive values become gaps: a log scale cannot show them. */
const positiveOrNull = (v: number | null): number | null => (v !== null && v > 0 ? v : null);

/** Tick labels for small positive quantities such as drift (1e-4 rather than 0). */
export function formatSmall(value: number): string {
  if (value === 0) return '0';
  return Math.abs(value) >= 0.01 && Math.abs(value) < 1000
    ? String(Number(value.toPrecision(3)))
    : value.toExponential(1);
}

const roundAxis: uPlot.Axis = { label: 'round' };
const roundSeries: uPlot.Series = { label: 'round' };
const base = (width: number) => ({
  width,
  height: CHART_HEIGHT,
  legend: { live: true },
  cursor: { drag: { x: true, y: false } },
});

export const CHART_SPECS: readonly ChartSpec[] = [
  {
    id: 'accuracy',
    title: 'Loss and test accuracy',
    emptyNote: 'No finished rounds yet.',
    options: (width) => ({
      ...base(width),
      scales: { x: { time: false }, acc: { range: [0, 1] } },
      series: [
        roundSeries,
        { label: 'loss', stroke: COLORS.loss, width: 2, scale: 'loss' },
        // Measured every evalEvery rounds: join the measurements and mark each one.
        {
          label: 'test accuracy',
          stroke: COLORS.accuracy,
          width: 2,
          scale: 'acc',
          spanGaps: true,
          points: { show: true, size: 5 },
        },
      ],
      axes: [
        roundAxis,
        { scale: 'loss', label: 'loss' },
        { scale: 'acc', side: 1, label: 'accuracy', grid: { show: false } },
      ],
    }),
    data: (h) => [h.map((r) => r.round), h.map((r) => r.loss), h.map((r) => r.testAccuracy)],
  },
  {
    id: 'bytes',
    title: 'Bytes per round (vs fp32)',
    emptyNote: 'No finished rounds yet.',
    options: (width) => ({
      ...base(width),
      scales: { x: { time: false }, y: { distr: 3, log: 10 } },
      series: [
        roundSeries,
        { label: 'up', stroke: COLORS.up, width: 2 },
        // Dashed: up and down are often about the same size and would hide each other.
        { label: 'down', stroke: COLORS.down, width: 2, dash: [3, 3] },
        { label: 'fp32 both ways', stroke: COLORS.fp32, width: 2, dash: [6, 4] },
      ],
      axes: [roundAxis, { label: 'bytes', size: 84, values: (_u, splits) => splits.map(formatBytes) }],
    }),
    data: (h) => [
      h.map((r) => r.round),
      h.map((r) => positiveOrNull(r.bytesUp)),
      h.map((r) => positiveOrNull(r.bytesDown)),
      h.map((r) => positiveOrNull(r.fp32Bytes)),
    ],
  },
  {
    id: 'drift',
    title: 'Model drift (mean ‖x_i − x_common‖²)',
    emptyNote: 'No drift reported in this session yet.',
    options: (width) => ({
      ...base(width),
      scales: { x: { time: false } },
      series: [roundSeries, { label: 'drift', stroke: COLORS.drift, width: 2, spanGaps: true }],
      axes: [roundAxis, { label: 'drift', size: 70, values: (_u, splits) => splits.map(formatSmall) }],
    }),
    data: (h) => [h.map((r) => r.round), h.map((r) => r.drift)],
  },
];

/** True while none of the chart's series (beyond the rounds) holds a value. */
export function chartIsEmpty(spec: ChartSpec, history: readonly RoundRecord[]): boolean {
  return spec
    .data(history)
    .slice(1)
    .every((series) =>
      Array.from(series, (value: number | null | undefined) => value ?? null).every((v) => v === null),
    );
}
