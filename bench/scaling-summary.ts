/**
 * Pure arithmetic of `npm run bench:scaling` (bench/scaling.ts): per-round means with LIEC's
 * syncs amortized over their period, the fits of aggregator traffic against peers, and the
 * run's expected duration printed before it starts.
 *
 * @example
 * const { perRound } = amortizedPerRound([{ value: 3, sync: false }, { value: 9, sync: true }], 20);
 * const fit = originLineFit([[8, 25_000], [32, 104_000]]); // fit.slope: bytes per peer per round
 */

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  if (s.length === 0) return NaN;
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
};

const mean = (xs: readonly number[]): number =>
  xs.length === 0 ? NaN : xs.reduce((s, x) => s + x, 0) / xs.length;

export interface AmortizedPerRound {
  /** Mean over the rounds without a sync. */
  plain: number;
  /** Mean extra of a round with a sync over a plain one (0: no sync ran). */
  syncExtra: number;
  /** plain + syncExtra / period (period 0: plain). */
  perRound: number;
}

/**
 * Per-round cost (seconds or bytes) with syncs amortized over their period: a short run that
 * ends on a sync (the simulator's final one) would overweight syncs in a plain mean.
 */
export function amortizedPerRound(
  rounds: readonly { value: number; sync: boolean }[],
  period: number,
): AmortizedPerRound {
  const plainValues = rounds.filter((r) => !r.sync).map((r) => r.value);
  const synced = rounds.filter((r) => r.sync).map((r) => r.value);
  const plain = plainValues.length > 0 ? mean(plainValues) : mean(synced);
  const syncExtra = synced.length === 0 || plainValues.length === 0 ? 0 : mean(synced) - plain;
  return { plain, syncExtra, perRound: plain + (period > 0 ? syncExtra / period : 0) };
}

export interface OriginLineFit {
  /** Least-squares slope of y = slope * x. */
  slope: number;
  /** Largest |y - slope x| / y over the points. */
  maxRelativeDeviation: number;
  /** Each point's (y - slope x) / y, in the order given. */
  relativeDeviations: number[];
}

/** Fits y = slope * x through the origin (least squares) and says how far points stray. */
export function originLineFit(points: readonly [number, number][]): OriginLineFit {
  const sxy = points.reduce((s, [x, y]) => s + x * y, 0);
  const sxx = points.reduce((s, [x]) => s + x * x, 0);
  const slope = sxx > 0 ? sxy / sxx : NaN;
  const relativeDeviations = points.map(([x, y]) => (y === 0 ? NaN : (y - slope * x) / y));
  const finite = relativeDeviations.filter(Number.isFinite).map(Math.abs);
  return {
    slope,
    maxRelativeDeviation: finite.length === 0 ? NaN : Math.max(...finite),
    relativeDeviations,
  };
}

export interface AffineFit {
  intercept: number;
  slope: number;
}

/** Ordinary least squares y = intercept + slope * x (needs two distinct x). */
export function affineFit(points: readonly [number, number][]): AffineFit {
  const n = points.length;
  const mx = mean(points.map(([x]) => x));
  const my = mean(points.map(([, y]) => y));
  const sxx = points.reduce((s, [x]) => s + (x - mx) ** 2, 0);
  const sxy = points.reduce((s, [x, y]) => s + (x - mx) * (y - my), 0);
  const slope = n > 1 && sxx > 0 ? sxy / sxx : NaN;
  return { intercept: my - slope * mx, slope };
}

export interface RoundCaps {
  /** Round cap of fully run sizes, and of sizes above fewAbove. */
  simRounds: number;
  fewAbove: number;
  fewRounds: number;
  /** Per-size overrides ("512:5" on the command line), e.g. where the load makes a size too slow. */
  sizeRounds: ReadonlyMap<number, number>;
}

/** The round cap of one simulated size, and whether it is below the full cap (then projected). */
export function simRoundCap(peers: number, caps: RoundCaps): { rounds: number; reduced: boolean } {
  const rounds = caps.sizeRounds.get(peers) ?? (peers > caps.fewAbove ? caps.fewRounds : caps.simRounds);
  return { rounds, reduced: rounds < caps.simRounds };
}

/** Parses "512:5,128:20" into size -> rounds. */
export function parseSizeRounds(text: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const item of text.split(',').filter((x) => x.trim() !== '')) {
    const [size, rounds] = item.split(':').map(Number);
    if (
      size === undefined ||
      rounds === undefined ||
      !Number.isInteger(size) ||
      !Number.isInteger(rounds) ||
      rounds < 1
    )
      throw new Error(`--size-rounds: "${item}" is not PEERS:ROUNDS`);
    out.set(size, rounds);
  }
  return out;
}

export interface ScalingPlan extends RoundCaps {
  simSizes: number[];
  algorithms: number;
  realSizes: number[];
  realRounds: number;
  cores: number;
}

export interface ScalingEstimate {
  simSeconds: number;
  realSeconds: number;
  totalSeconds: number;
}

/** Seconds a real peer process takes to start (tsx, TF.js, MNIST) on a free core. */
export const PEER_STARTUP_SECONDS = 6;
/** Fixed seconds of a real session: signaling, WebRTC handshakes, leaving. */
export const SESSION_OVERHEAD_SECONDS = 10;
/** Work of a simulated round besides gradients (codecs, evaluation), as a factor on them. */
export const SIM_OVERHEAD_FACTOR = 1.5;

/**
 * Upper bound of the run's duration from one measured gradient time: every round cap runs
 * (runs that reach 90% stop sooner); real sizes start their peers two per core at a time.
 */
export function estimateScalingSeconds(plan: ScalingPlan, gradientMs: number): ScalingEstimate {
  const gradient = gradientMs / 1000;
  const simSeconds = plan.simSizes.reduce((s, peers) => {
    const { rounds } = simRoundCap(peers, plan);
    return s + plan.algorithms * rounds * peers * gradient * SIM_OVERHEAD_FACTOR;
  }, 0);
  const realSeconds = plan.realSizes.reduce(
    (s, peers) =>
      s +
      (peers * PEER_STARTUP_SECONDS) / plan.cores +
      plan.realRounds * ((peers * gradient) / plan.cores + 0.05),
    0,
  );
  return { simSeconds, realSeconds, totalSeconds: simSeconds + realSeconds };
}
