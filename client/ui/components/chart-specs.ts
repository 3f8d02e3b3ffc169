/**
 * The three training charts as uPlot options and data builders (pure, testable without a
 * DOM): loss and test accuracy per round; bytes per round, sent and received, against what
 * fp32 both ways would have sent (log scale); and model drift between syncs.
 *
 * Nothing is clipped: every y axis is as wide as its widest tick label (measured with the
 * axis font; fitAxisSize), splits a filter leaves out (a log scale's minor ones) get no label
 * at all rather than a placeholder, and the log axis draws grid lines at powers of ten only.
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

/** The font of tick labels (uPlot's default family), set on every axis so it is what fitAxisSize measures. */
export const AXIS_FONT = '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", sans-serif';
const TICK_SIZE = 6;
const AXIS_GAP = 6;

let measureContext: CanvasRenderingContext2D | null | undefined;

/** Width in CSS pixels of `text` in AXIS_FONT (an estimate of 7 px per character without a DOM). */
export function labelWidth(text: string): number {
  if (measureContext === undefined)
    measureContext =
      typeof document === 'undefined' ? null : document.createElement('canvas').getContext('2d');
  if (measureContext === null) return text.length * 7;
  measureContext.font = AXIS_FONT;
  return measureContext.measureText(text).width;
}

/**
 * An axis size (uPlot's `size`: ticks, gap and values, not the label) that fits the widest of
 * `values`; before values exist (the first layout pass), room for six characters.
 */
export function fitAxisSize(values: readonly (string | null)[] | null): number {
  const widths = (values ?? ['000000']).map((v) => (v === null ? 0 : labelWidth(v)));
  return Math.ceil(TICK_SIZE + AXIS_GAP + Math.max(0, ...widths) + 4);
}

/** Labels only where the filter left a split (null stays unlabeled). */
function labels(format: (value: number) => string): uPlot.Axis.DynamicValues {
  return (_u, splits) => splits.map((v: number | null) => (v === null ? null : format(v)));
}

/** Powers of ten only (grid lines and ticks of a log axis; minor ones would band the plot). */
const powersOfTen: uPlot.Axis.Filter = (_u, splits) =>
  splits.map((v) => (v > 0 && Number.isInteger(Math.log10(v) + 1e-9) ? v : null));

/** Room between a right axis' values and its label (drawn rotated, its glyphs toward the values). */
const RIGHT_LABEL_ROOM = 12;

/** A y axis whose width follows its labels. */
function yAxis(axis: uPlot.Axis): uPlot.Axis {
  const extra = axis.side === 1 ? RIGHT_LABEL_ROOM : 0;
  return {
    font: AXIS_FONT,
    gap: AXIS_GAP,
    ticks: { size: TICK_SIZE, ...axis.ticks },
    size: (_u, values) => fitAxisSize(values) + extra,
    ...axis,
  };
}

/** Tick labels for small positive quantities such as drift (1e-4 rather than 0). */
export function formatSmall(value: number): string {
  if (value === 0) return '0';
  return Math.abs(value) >= 0.01 && Math.abs(value) < 1000
    ? String(Number(value.toPrecision(3)))
    : value.toExponential(1);
}

const roundAxis: uPlot.Axis = { label: 'round', font: AXIS_FONT, gap: AXIS_GAP, ticks: { size: TICK_SIZE } };
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
        yAxis({ scale: 'loss', label: 'loss' }),
        yAxis({ scale: 'acc', side: 1, label: 'accuracy', grid: { show: false } }),
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
      axes: [
        roundAxis,
        yAxis({
          label: 'bytes',
          values: labels(formatBytes),
          grid: { filter: powersOfTen },
          ticks: { size: TICK_SIZE, filter: powersOfTen },
        }),
      ],
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
      axes: [roundAxis, yAxis({ label: 'drift', values: labels(formatSmall) })],
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
