/**
 * Where a round's time goes in a real session, from the peers' own timelines (client/cli/
 * timeline.ts, epoch ms comparable across processes on one machine) and codec times measured
 * in-process on vectors of the model's size.
 *
 * Round r's wall time is the aggregator's time between broadcasts r-1 and r. Follow the
 * critical worker c, the one whose upload of round r was sent last:
 *   wall = down_c + compute_c + gap_c + up
 *   down_c    = applied_c(r-1) - closedAt(r-1): broadcast on the wire, decoded, applied;
 *   compute_c = its gradient + upload compression (its own computeMs);
 *   gap_c     = upload sent - applied - compute: the worker waiting (event loop, timers, CPU
 *               taken by the other processes on a shared core);
 *   up        = closedAt(r) - upload sent: upload on the wire, decoded, aggregated, the
 *               broadcast compressed, and any wait of the aggregator for its own gradient;
 *   self      = the part of `up` the aggregator was still computing its own gradient, which
 *               it starts right after broadcast r-1: max(0, closedAt(r-1) + its computeMs(r)
 *               - upload sent), at most `up`.
 * Columns, summing to the wall time: gradient = compute_c - encodeUp; encode = encodeUp +
 * encodeDown; decode = decodeDown + decodeUp (the one upload on the critical path); wire =
 * down_c + up - self - decodeDown - decodeUp - encodeDown (transfer, framing, bookkeeping);
 * waiting = gap_c + self (waiting for a CPU or for the aggregator's own gradient). Medians per column over the rounds, each
 * column's median on its own (so the medians need not add up exactly).
 *
 * @example
 * const rows = roundBreakdown(aggregatorRounds, workers, { encodeUpMs: 3, encodeDownMs: 3, decodeUpMs: 1, decodeDownMs: 1 });
 */

export interface AggregatorRound {
  round: number;
  term: number;
  closedAt: number;
  counted: number;
  sync: boolean;
  evalMs: number;
  computeMs: number;
}

export interface WorkerTimeline {
  peerId: string;
  uploads: { round: number; term: number; kind: string; resent: boolean; computeMs: number; at: number }[];
  applied: { round: number; term: number; at: number }[];
}

export interface CodecTimes {
  encodeUpMs: number;
  encodeDownMs: number;
  decodeUpMs: number;
  decodeDownMs: number;
}

export interface BreakdownRow {
  round: number;
  wallMs: number;
  gradientMs: number;
  encodeMs: number;
  decodeMs: number;
  wireMs: number;
  waitingMs: number;
  criticalWorker: string;
  counted: number;
}

/**
 * One row per round r whose previous round was a plain round of the same term (no sync
 * exchange inside, no evaluation after it) and whose broadcast r-1 every counted worker applied.
 */
export function roundBreakdown(
  rounds: readonly AggregatorRound[],
  workers: readonly WorkerTimeline[],
  codec: CodecTimes,
): BreakdownRow[] {
  const rows: BreakdownRow[] = [];
  for (let i = 1; i < rounds.length; i++) {
    const prev = rounds[i - 1];
    const cur = rounds[i];
    if (prev === undefined || cur === undefined) continue;
    if (cur.term !== prev.term || prev.sync || cur.sync || prev.evalMs > 0) continue;
    let critical: { peerId: string; applied: number; upload: { at: number; computeMs: number } } | null =
      null;
    for (const w of workers) {
      const upload = w.uploads.find(
        (u) => u.round === cur.round && u.term === cur.term && u.kind === 'upload' && !u.resent,
      );
      const applied = w.applied.find((a) => a.round === prev.round && a.term === prev.term);
      if (upload === undefined || applied === undefined || upload.at > cur.closedAt) continue;
      if (critical === null || upload.at > critical.upload.at)
        critical = { peerId: w.peerId, applied: applied.at, upload };
    }
    if (critical === null) continue;
    const wallMs = cur.closedAt - prev.closedAt;
    const down = critical.applied - prev.closedAt;
    const compute = critical.upload.computeMs;
    const gap = critical.upload.at - critical.applied - compute;
    const up = cur.closedAt - critical.upload.at;
    const self = Math.min(up, Math.max(0, prev.closedAt + cur.computeMs - critical.upload.at));
    rows.push({
      round: cur.round,
      wallMs,
      gradientMs: compute - codec.encodeUpMs,
      encodeMs: codec.encodeUpMs + codec.encodeDownMs,
      decodeMs: codec.decodeDownMs + codec.decodeUpMs,
      wireMs: down + up - self - codec.decodeDownMs - codec.decodeUpMs - codec.encodeDownMs,
      waitingMs: gap + self,
      criticalWorker: critical.peerId,
      counted: cur.counted,
    });
  }
  return rows;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  if (s.length === 0) return NaN;
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? 0) + (s[mid] ?? 0)) / 2;
}
