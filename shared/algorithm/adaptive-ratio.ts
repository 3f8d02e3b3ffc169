/**
 * `topk:auto`: each worker picks its top-k ratio every round so that its upload fits the
 * round deadline on its measured uplink. Fast links send more of the gradient (less
 * compression error), slow links send less instead of missing the deadline. The method's
 * authors name adaptive compression as future work; this is the simplest form of it.
 *
 * The rule: budget = bytesPerSecond * budgetFraction * deadline - overhead; k = the largest
 * count whose top-k payload fits the budget (topKPayloadBytes, an upper bound of the real
 * size); ratio = k / d, clamped to [minRatio, maxRatio]. With no measurement yet the worker
 * starts at minRatio. Decoding needs nothing: a top-k payload carries its own k.
 *
 * Spec strings: "topk:auto" (defaults), "topk:auto:MIN:MAX" or "topk:auto:MIN:MAX:FRACTION"
 * (FRACTION = budgetFraction), valid only as an algorithm's `up` compressor (the
 * aggregator's broadcast goes to everyone at once).
 *
 * @example
 * const auto = parseAutoTopK('topk:auto'); // { minRatio: 0.001, maxRatio: 0.25, budgetFraction: 0.5 }
 * const ratio = chooseTopKRatio({ d: 101_770, bytesPerSecond: 62_500, deadlineSeconds: 1 }, auto!);
 * const c = createTopK({ ratio }); // this round's upload compressor
 */
import { CodecError } from '../compress/types.ts';

export interface AdaptiveRatioSettings {
  /** Smallest ratio a worker picks, however thin its link. @default 0.001 */
  minRatio: number;
  /** Largest ratio a worker picks, however fast its link. @default 0.25 */
  maxRatio: number;
  /**
   * Share of the round deadline an upload may take on the measured uplink; the rest is left
   * for the broadcast to arrive, the gradient, and measurement error. @default 0.5
   */
  budgetFraction: number;
}

export const DEFAULT_ADAPTIVE_RATIO: Readonly<AdaptiveRatioSettings> = Object.freeze({
  minRatio: 0.001,
  maxRatio: 0.25,
  budgetFraction: 0.5,
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
  return { minRatio, maxRatio, budgetFraction };
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

/** This round's top-k ratio (see the module doc). */
export function chooseTopKRatio(input: RatioInput, settings: AdaptiveRatioSettings): number {
  const { d, bytesPerSecond, deadlineSeconds } = input;
  const { minRatio, maxRatio, budgetFraction } = settings;
  if (bytesPerSecond === undefined || !(bytesPerSecond > 0) || d <= 0) return minRatio;
  if (!Number.isFinite(bytesPerSecond) || !Number.isFinite(deadlineSeconds)) return maxRatio;
  const budget =
    bytesPerSecond * budgetFraction * deadlineSeconds - (input.overheadBytes ?? UPLOAD_OVERHEAD_BYTES);
  // Largest k whose payload fits: the size grows with k, so bisect.
  let lo = 0;
  let hi = d;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (topKPayloadBytes(mid, d) <= budget) lo = mid;
    else hi = mid - 1;
  }
  return Math.min(maxRatio, Math.max(minRatio, lo / d));
}
