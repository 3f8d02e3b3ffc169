/**
 * `topk:auto`: each worker picks its top-k ratio every round from what the last round told it,
 * so fast links send more of the gradient (less compression error) without making the round
 * any longer, and slow links send the least. The method's authors name adaptive compression
 * as future work; this is a simple form of it.
 *
 * The round's length is set by its slowest counted upload; an upload that arrived well
 * before that could have carried more at no cost. So the aggregator tells every counted
 * worker its slack (upload-slack.ts: how long before the round's reference close its upload
 * arrived, shared with the uploads behind it on the aggregator's link; negative when it
 * arrived after the close the round would have had without it), and each worker moves its
 * upload size toward filling that slack on its measured uplink rate:
 *
 *   bytes' = bytes + growGain * slack * bytesPerSecond   (counted; slack < 0 shrinks)
 *   bytes' = bytes * lateShrink                            (it missed the deadline)
 *   bytes' = bytes                                         (no news: it sat the round out)
 *
 * bounded per round to [bytes / maxGrowth, bytes * maxGrowth], and by the budget
 * bytesPerSecond * budgetFraction * deadline - overhead (never plan past a share of the
 * deadline); then k = the largest count whose top-k payload (topKPayloadBytes, an upper
 * bound of the real size) fits, ratio = k / d clamped to [minRatio, maxRatio]. A worker
 * starts at minRatio. Slow workers thus sit near minRatio and set the round's length, fast
 * ones grow until their uploads arrive just before the slow ones'. Decoding needs nothing: a
 * top-k payload carries its own k.
 *
 * Spec strings: "topk:auto" (defaults), "topk:auto:MIN:MAX" or "topk:auto:MIN:MAX:FRACTION"
 * (FRACTION = budgetFraction), valid only as an algorithm's `up` compressor (the
 * aggregator's broadcast goes to everyone at once).
 *
 * @example
 * const auto = parseAutoTopK('topk:auto')!; // DEFAULT_ADAPTIVE_RATIO
 * let ratio = nextTopKRatio({ d, previousRatio: undefined, bytesPerSecond: undefined, deadlineSeconds: 0.1, feedback: NO_FEEDBACK }, auto); // minRatio
 * ratio = nextTopKRatio({ d, previousRatio: ratio, bytesPerSecond: 1.25e6, deadlineSeconds: 0.1, feedback: { kind: 'counted', slackSeconds: 0.004 } }, auto);
 * const c = createTopK({ ratio }); // this round's upload compressor
 */
import { CodecError } from '../compress/types.ts';

export interface AdaptiveRatioSettings {
  /** Smallest ratio a worker picks, however thin its link (and where it starts). @default 0.001 */
  minRatio: number;
  /** Largest ratio a worker picks, however fast its link. @default 0.25 */
  maxRatio: number;
  /**
   * Share of the round deadline an upload may take on the measured uplink, whatever the
   * slack says; the rest is left for the broadcast, the gradient and measurement error.
   * @default 0.5
   */
  budgetFraction: number;
  /** Share of the reported slack a worker grows (or shrinks) into per round. @default 0.5 */
  growGain: number;
  /** Most an upload grows (or shrinks, as its inverse) from one round to the next. @default 2 */
  maxGrowth: number;
  /** Factor applied to the upload after it missed the deadline. @default 0.5 */
  lateShrink: number;
}

export const DEFAULT_ADAPTIVE_RATIO: Readonly<AdaptiveRatioSettings> = Object.freeze({
  minRatio: 0.001,
  maxRatio: 0.25,
  budgetFraction: 0.5,
  growGain: 0.5,
  maxGrowth: 2,
  lateShrink: 0.5,
});

/** Frame bytes around an upload payload (header, meta length), budgeted on top of it. @default 64 */
export const UPLOAD_OVERHEAD_BYTES = 64;

const RATIO = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i;

/** True for "topk:auto" and "topk:auto:..." (well-formed or not). */
export function isAutoSpec(spec: string): boolean {
  return spec === 'topk:auto' || spec.startsWith('topk:auto:');
}

/**
 * The settings an auto spec names, or null for any other spec. Throws CodecError('BAD_SPEC')
 * on a malformed auto spec.
 */
export function parseAutoTopK(spec: string): AdaptiveRatioSettings | null {
  if (!isAutoSpec(spec)) return null;
  const parts = spec.split(':').slice(2);
  if (parts.length === 0) return { ...DEFAULT_ADAPTIVE_RATIO };
  const [min, max, fraction] = parts;
  const ratio = (text: string | undefined): number =>
    text !== undefined && RATIO.test(text) ? Number(text) : Number.NaN;
  const minRatio = ratio(min);
  const maxRatio = ratio(max);
  const budgetFraction = fraction === undefined ? DEFAULT_ADAPTIVE_RATIO.budgetFraction : ratio(fraction);
  const ok =
    minRatio > 0 && minRatio <= maxRatio && maxRatio <= 1 && budgetFraction > 0 && budgetFraction <= 1;
  if (parts.length < 2 || parts.length > 3 || !ok) {
    throw new CodecError(
      'BAD_SPEC',
      `"${spec}": expected topk:auto[:MIN:MAX[:FRACTION]], 0 < MIN <= MAX <= 1, 0 < FRACTION <= 1`,
    );
  }
  return { ...DEFAULT_ADAPTIVE_RATIO, minRatio, maxRatio, budgetFraction };
}

/**
 * An upper bound of the bytes of a topk:R payload (fp16 values) keeping k of d values: codec
 * header and fields, 2 bytes a value, and Rice-coded index gaps at the parameter the encoder
 * tries first (it keeps a cheaper one when it finds one).
 */
export function topKPayloadBytes(k: number, d: number): number {
  if (k <= 0 || d <= 0) return 13;
  const b = Math.max(0, Math.min(31, Math.round(Math.log2(Math.max(1, (d - k) / k)))));
  const indexBits = (d - k) / 2 ** b + k * (b + 1);
  return 13 + 2 * k + Math.ceil(indexBits / 8);
}

export interface RatioInput {
  /** Values in the gradient. */
  d: number;
  /** Measured uplink rate; undefined before the first measurement. */
  bytesPerSecond: number | undefined;
  /** The round deadline in seconds. */
  deadlineSeconds: number;
  /** Bytes sent along with the payload. @default UPLOAD_OVERHEAD_BYTES */
  overheadBytes?: number;
}

/** What the last round said about this worker's upload. */
export type UploadFeedback =
  | { kind: 'none' }
  | { kind: 'late' }
  /** Counted, `slackSeconds` before the round's reference close (negative: after it). */
  | { kind: 'counted'; slackSeconds: number };

export const NO_FEEDBACK: UploadFeedback = Object.freeze({ kind: 'none' });

export interface RatioStep extends RatioInput {
  /** The ratio of the worker's last upload; undefined for its first. */
  previousRatio: number | undefined;
  feedback: UploadFeedback;
}

/** The largest ratio whose payload plus overhead fits `budgetBytes`, clamped to the settings' bounds. */
export function ratioForBudget(
  budgetBytes: number,
  d: number,
  overheadBytes: number,
  settings: AdaptiveRatioSettings,
): number {
  const budget = budgetBytes - overheadBytes;
  // Largest k whose payload fits: the size grows with k, so bisect.
  let lo = 0;
  let hi = d;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (topKPayloadBytes(mid, d) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return Math.min(settings.maxRatio, Math.max(settings.minRatio, lo / d));
}

/** The ratio whose upload takes budgetFraction of the deadline on the measured rate (the cap). */
export function chooseTopKRatio(input: RatioInput, settings: AdaptiveRatioSettings): number {
  const { d, bytesPerSecond, deadlineSeconds } = input;
  if (bytesPerSecond === undefined || !(bytesPerSecond > 0) || d <= 0) return settings.minRatio;
  if (!Number.isFinite(bytesPerSecond) || !Number.isFinite(deadlineSeconds)) return settings.maxRatio;
  return ratioForBudget(
    bytesPerSecond * settings.budgetFraction * deadlineSeconds,
    d,
    input.overheadBytes ?? UPLOAD_OVERHEAD_BYTES,
    settings,
  );
}

/** This round's ratio from the last one and what the round said about it (see the module doc). */
export function nextTopKRatio(step: RatioStep, settings: AdaptiveRatioSettings): number {
  const { d, previousRatio, bytesPerSecond, feedback } = step;
  if (previousRatio === undefined || d <= 0) return settings.minRatio;
  const rate = bytesPerSecond !== undefined && bytesPerSecond > 0 ? bytesPerSecond : undefined;
  const slack = feedback.kind === 'counted' ? feedback.slackSeconds : 0;
  const hold =
    feedback.kind === 'none' || (feedback.kind === 'counted' && (rate === undefined || slack === 0));
  const overhead = step.overheadBytes ?? UPLOAD_OVERHEAD_BYTES;
  const bytes = topKPayloadBytes(Math.round(previousRatio * d), d) + overhead;
  // An unshaped path (infinite rate) moves by maxGrowth at once: more bytes cost it nothing.
  let target = hold
    ? bytes
    : feedback.kind === 'late'
      ? bytes * settings.lateShrink
      : bytes + settings.growGain * slack * (rate ?? 0);
  target = Math.min(bytes * settings.maxGrowth, Math.max(bytes / settings.maxGrowth, target));
  if (rate !== undefined) target = Math.min(target, rate * settings.budgetFraction * step.deadlineSeconds);
  if (hold && target >= bytes) return Math.min(settings.maxRatio, Math.max(settings.minRatio, previousRatio));
  return ratioForBudget(target, d, overhead, settings);
}
