/**
 * What the chaos bench concludes from the peers' event logs (`liec join --events-out`, one
 * per process incarnation, kept even when the process is SIGKILLed):
 *
 * - rounds: every round an aggregator closed, once per (term, round), with its duration;
 * - uploads: every upload (not sync deltas: an uncounted sync delta stays with its worker)
 *   every process computed, killed or not, is matched to a place it was used: a round
 *   record that counted its peer for that round, closed after it was sent, in a term it was
 *   sent (or resent) in; a late fold of it listed in such a round record; or the broadcast
 *   its worker applied for that round saying it was counted. Each record is used once, and
 *   a round an aggregator closed after a later term began (a deposed aggregator, alone) uses
 *   nothing, unless the next aggregator adopted its broadcast as a worker relayed it.
 *   An upload that matches nothing is, one by one: lostWithAggregator when its last send went
 *   to an aggregator that failed (killed, stopped, cut off or corrupting) before its sender
 *   learned of a later term (in flight to it, or folded into the error e that died with it,
 *   as the docs say a failover may lose); diedWithSender when the bench killed its process
 *   before the round's broadcast reached it; garbled when its own process was corrupting its
 *   frames (the corrupt-aggregator fault, until repaired); afterLastRound when sent after the
 *   last round record (the session ended before a fold could be reported); a duplicate when
 *   a restarted peer sent a round an earlier incarnation of it was already counted or folded
 *   for (counting it again would weigh that peer twice; the aggregator drops it); anything
 *   else is lost;
 * - resumes: how each resumed incarnation was taken back, and how long it took.
 *
 * @example
 * const logs = incarnations.map((i) => ({ ...i, events: parseEventLog(text) }));
 * const uploads = accountUploads(logs);
 */
import { z } from 'zod';

const base = { peerId: z.string(), at: z.number() };
const schemas = {
  uploaded: z.object({
    ...base,
    round: z.number(),
    term: z.number(),
    kind: z.string(),
    resent: z.boolean(),
    computeMs: z.number().optional(),
  }),
  applied: z.object({ ...base, round: z.number(), term: z.number(), counted: z.boolean() }),
  round: z.object({
    ...base,
    round: z.number(),
    term: z.number(),
    participants: z.array(z.string()),
    lateUploads: z.array(z.object({ peerId: z.string(), round: z.number() })),
    durationMs: z.number(),
    closedAt: z.number(),
    sync: z.boolean(),
    testAccuracy: z.number().nullable(),
  }),
  model: z.object({ ...base, round: z.number(), source: z.string() }),
  role: z.object({
    ...base,
    role: z.string(),
    term: z.number(),
    aggregatorId: z.string().nullable().optional(),
  }),
  done: z.object({ ...base, round: z.number(), testAccuracy: z.number().nullable() }),
  joined: z.object({ ...base, round: z.number(), resumed: z.number().nullable() }),
  corrupting: z.object({ ...base, on: z.boolean() }),
  /** The signaling server accepted its join (before its learner loaded, unless preloaded). */
  'join-reached': z.object(base),
  /** Its learner (TF.js, model, data) was ready: before or after its join reached the server. */
  'learner-ready': z.object(base),
  /** A data channel to `remoteId` opened. */
  linked: z.object({ ...base, remoteId: z.string() }),
};
type Schemas = typeof schemas;
export type LogEvent = { [K in keyof Schemas]: z.infer<Schemas[K]> & { type: K } }[keyof Schemas];
export type RoundRecord = Extract<LogEvent, { type: 'round' }>;

/** Parses a JSONL event log; lines of other types, or unreadable, are skipped. */
export function parseEventLog(text: string): LogEvent[] {
  const events: LogEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let raw: unknown;
    try {
      raw = JSON.parse(line);
    } catch {
      continue;
    }
    const type = typeof raw === 'object' && raw !== null ? Reflect.get(raw, 'type') : undefined;
    if (typeof type !== 'string' || !(type in schemas)) continue;
    const parsed = schemas[type as keyof Schemas].safeParse(raw);
    if (parsed.success) events.push({ ...parsed.data, type } as LogEvent);
  }
  return events;
}

export interface IncarnationLog {
  peerId: string;
  incarnation: number;
  /** When the bench SIGKILLed it (epoch ms), or null if it was not killed. */
  killedAt: number | null;
  /** When the bench started its process (epoch ms), if known. */
  startedAt?: number;
  /** Restarted as a straggler (a compute delay beyond the round deadline): late by design. */
  straggler?: boolean;
  events: LogEvent[];
}

/** A fault the bench aimed at the aggregator `peerId` at `at` (epoch ms): its term failed. */
export interface AggregatorFailure {
  peerId: string;
  at: number;
}

const ofType = <K extends LogEvent['type']>(events: LogEvent[], type: K) =>
  events.filter((e): e is Extract<LogEvent, { type: K }> => e.type === type);

/** Every closed round, once per (term, round), in the order they closed. */
export function roundRecords(logs: IncarnationLog[]): RoundRecord[] {
  const unique = new Map<string, RoundRecord>();
  for (const log of logs) for (const r of ofType(log.events, 'round')) unique.set(`${r.term}/${r.round}`, r);
  return [...unique.values()].sort((a, b) => a.closedAt - b.closedAt);
}

export interface UploadRef {
  peerId: string;
  incarnation: number;
  round: number;
  term: number;
  at: number;
}

export interface UploadAccounting {
  /** Uploads computed by every process, killed or not. */
  sent: number;
  counted: number;
  folded: number;
  lost: UploadRef[];
  lostWithAggregator: UploadRef[];
  diedWithSender: UploadRef[];
  garbled: UploadRef[];
  afterLastRound: UploadRef[];
  duplicates: UploadRef[];
  /** Of those, uploads of killed incarnations, and how many were counted or folded anyway. */
  killed: { sent: number; used: number };
}

/** When each term began: its first role event in any log. */
function termStarts(logs: IncarnationLog[]): Map<number, number> {
  const starts = new Map<number, number>();
  for (const log of logs)
    for (const role of ofType(log.events, 'role'))
      starts.set(role.term, Math.min(role.at, starts.get(role.term) ?? Infinity));
  return starts;
}

/** When a term later than `term` began (Infinity: none did). */
function termEnd(starts: Map<number, number>, term: number): number {
  let end = Infinity;
  for (const [t, at] of starts) if (t > term) end = Math.min(end, at);
  return end;
}

/** When the process of `log` learned of a term later than `term` (Infinity: never). */
function laterTermSeenBy(log: IncarnationLog, term: number): number {
  return ofType(log.events, 'role').find((r) => r.term > term)?.at ?? Infinity;
}

/** Intervals [from, to) in which a log's process corrupted its frames. */
function corruptIntervals(log: IncarnationLog): [number, number][] {
  const intervals: [number, number][] = [];
  let from: number | null = null;
  for (const e of ofType(log.events, 'corrupting')) {
    if (e.on && from === null) from = e.at;
    else if (!e.on && from !== null) {
      intervals.push([from, e.at]);
      from = null;
    }
  }
  if (from !== null) intervals.push([from, Infinity]);
  return intervals;
}

/**
 * The round records whose broadcast reached the model: those closed while their term lasted,
 * and one closed just after it (its aggregator not yet aware it was deposed) that the next
 * aggregator adopted as relayed by a worker (failover-relays.ts): workers applied round r
 * under that later term, whose aggregator closed no round r itself.
 */
function usedRounds(logs: IncarnationLog[], starts: Map<number, number>): RoundRecord[] {
  const all = roundRecords(logs);
  const closed = new Set(all.map((r) => `${r.term}/${r.round}`));
  const adopted = new Map<number, number>(); // round -> the term that applied it without closing it
  for (const log of logs)
    for (const a of ofType(log.events, 'applied'))
      if (!closed.has(`${a.term}/${a.round}`))
        adopted.set(a.round, Math.max(a.term, adopted.get(a.round) ?? 0));
  return all.filter((r) => {
    if (r.closedAt <= termEnd(starts, r.term)) return true;
    const by = adopted.get(r.round);
    if (by === undefined || by <= r.term) return false;
    // The latest record of that round before the adopting term is the one relayed.
    return !all.some((o) => o.round === r.round && o.term > r.term && o.term < by);
  });
}

export function accountUploads(
  logs: IncarnationLog[],
  failures: readonly AggregatorFailure[] = [],
): UploadAccounting {
  const starts = termStarts(logs);
  const rounds = usedRounds(logs, starts);
  const lastClosedAt = rounds.at(-1)?.closedAt ?? 0;
  // What can account for an upload of (peer, round): counted or folded in term `term`, closed at `at`.
  const uses = new Map<
    string,
    { at: number; term: number; aggregatorId: string; kind: 'counted' | 'folded'; used: boolean }[]
  >();
  const add = (peerId: string, round: number, r: RoundRecord, kind: 'counted' | 'folded') => {
    const key = `${peerId}/${round}`;
    const list = uses.get(key) ?? [];
    list.push({ at: r.closedAt, term: r.term, aggregatorId: r.peerId, kind, used: false });
    uses.set(key, list);
  };
  for (const r of rounds) {
    for (const p of r.participants) add(p, r.round, r, 'counted');
    for (const late of r.lateUploads) add(late.peerId, late.round, r, 'folded');
  }
  // Terms whose aggregator failed: killed by the bench, or another fault aimed at it.
  const failedTerms = new Set<number>();
  for (const log of logs) {
    const aggregated = ofType(log.events, 'role').filter((r) => r.role === 'aggregator');
    if (log.killedAt !== null) for (const role of aggregated) failedTerms.add(role.term);
    for (const failure of failures) {
      if (failure.peerId !== log.peerId) continue;
      const term = aggregated.filter((r) => r.at <= failure.at).at(-1)?.term;
      if (term !== undefined) failedTerms.add(term);
    }
  }
  const result: UploadAccounting = {
    sent: 0,
    counted: 0,
    folded: 0,
    lost: [],
    lostWithAggregator: [],
    diedWithSender: [],
    garbled: [],
    afterLastRound: [],
    duplicates: [],
    killed: { sent: 0, used: 0 },
  };
  const garbling = new Map(logs.map((log) => [log, corruptIntervals(log)]));
  const uploads = logs
    .flatMap((log) =>
      ofType(log.events, 'uploaded')
        .filter((u) => u.kind === 'upload' && !u.resent)
        .map((u) => ({ log, u })),
    )
    .sort((a, b) => a.u.at - b.u.at);
  // Which incarnation had each (peer, round) accounted first.
  const accountedBy = new Map<string, number>();
  for (const { log, u } of uploads) {
    const ref: UploadRef = {
      peerId: log.peerId,
      incarnation: log.incarnation,
      round: u.round,
      term: u.term,
      at: u.at,
    };
    // The last aggregator it reached: resends go to the aggregator after a reconnection.
    const resends = ofType(log.events, 'uploaded').filter(
      (r) => r.resent && r.kind === 'upload' && r.round === u.round && r.at >= u.at,
    );
    const lastSend = resends.at(-1) ?? u;
    // Only an aggregator it reached used it (or its own peer, elected with it pending): the
    // same round sent again in a later term is another upload, accounted for in that term.
    const sentInTerms = new Set([u.term, ...resends.map((r) => r.term)]);
    const use = (uses.get(`${log.peerId}/${u.round}`) ?? []).find(
      (x) => !x.used && x.at >= u.at && (sentInTerms.has(x.term) || x.aggregatorId === log.peerId),
    );
    if (use !== undefined) use.used = true;
    const appliedCounted = ofType(log.events, 'applied').some(
      (a) => a.round === u.round && a.counted && a.at >= u.at,
    );
    const kind = use?.kind ?? (appliedCounted ? 'counted' : null);
    const key = `${log.peerId}/${u.round}`;
    const earlier = accountedBy.get(key);
    if (kind !== null && earlier === undefined) accountedBy.set(key, log.incarnation);
    result.sent++;
    if (log.killedAt !== null) {
      result.killed.sent++;
      if (kind !== null) result.killed.used++;
    }
    if (kind === 'counted') result.counted++;
    else if (kind === 'folded') result.folded++;
    else if (earlier !== undefined && earlier < log.incarnation) result.duplicates.push(ref);
    else if (u.at > lastClosedAt) result.afterLastRound.push(ref);
    else if (failedTerms.has(lastSend.term) && lastSend.at < laterTermSeenBy(log, lastSend.term))
      result.lostWithAggregator.push(ref);
    else if (
      log.killedAt !== null &&
      !ofType(log.events, 'applied').some((a) => a.round >= u.round && a.at >= u.at)
    )
      result.diedWithSender.push(ref);
    else if ((garbling.get(log) ?? []).some(([from, to]) => u.at >= from && u.at < to))
      result.garbled.push(ref);
    else result.lost.push(ref);
  }
  return result;
}

export type ResumeOutcome =
  | 'counted directly (in step)'
  | 'sent the broadcast it missed'
  | 'sent the model'
  | 'became the aggregator'
  | 'never taken back';

export interface ResumeReport {
  peerId: string;
  incarnation: number;
  checkpointRound: number;
  outcome: ResumeOutcome;
  /** The first round after its restart that counted it, if any. */
  countedAgainInRound: number | null;
  /** Rounds closed between its join reaching the server and that round (that one included). */
  roundsToCountedAgain: number | null;
  /** From its join reaching the server to the close of that round. */
  secondsToCountedAgain: number | null;
  /** From its process start to its join reaching the server (a resumed peer preloads first), if known. */
  secondsToJoin: number | null;
  /** A straggler restart: its uploads miss their rounds by design, so it is not held to the rejoin target. */
  straggler: boolean;
  /**
   * Where secondsToCountedAgain went, from its join reaching the server: until its data
   * channel to an aggregator it followed opened (null if never, or not logged), until it held
   * the session's model (sent to it, or the broadcast it missed applied), and the compute
   * time of its first upload after that (TF.js and its data warming up). Null if never.
   */
  secondsToLink: number | null;
  secondsToModel: number | null;
  firstComputeMs: number | null;
}

/** How each resumed incarnation was taken back, and when it was counted again. */
export function resumeReports(logs: IncarnationLog[]): ResumeReport[] {
  const rounds = roundRecords(logs);
  const reports: ResumeReport[] = [];
  for (const log of logs) {
    const joined = ofType(log.events, 'joined')[0];
    if (joined === undefined || joined.resumed === null) continue;
    let outcome: ResumeOutcome = 'never taken back';
    for (const e of log.events) {
      if (e.at < joined.at) continue;
      if (e.type === 'model' && e.source === 'aggregator') outcome = 'sent the model';
      else if (e.type === 'role' && e.role === 'aggregator') outcome = 'became the aggregator';
      else if (e.type === 'applied') {
        const uploadedFirst = ofType(log.events, 'uploaded').some(
          (u) => u.round === e.round && u.kind === 'upload' && u.at >= joined.at && u.at <= e.at,
        );
        outcome = uploadedFirst ? 'counted directly (in step)' : 'sent the broadcast it missed';
      } else continue;
      break;
    }
    // From its join reaching the server: a preloaded peer loaded before, the others count their load.
    const reachedAt = ofType(log.events, 'join-reached')[0]?.at ?? joined.at;
    const again = rounds.find((r) => r.closedAt > reachedAt && r.participants.includes(log.peerId));
    const closedBetween =
      again === undefined
        ? null
        : rounds.filter((r) => r.closedAt > reachedAt && r.closedAt <= again.closedAt);
    reports.push({
      peerId: log.peerId,
      incarnation: log.incarnation,
      checkpointRound: joined.resumed,
      outcome,
      countedAgainInRound: again?.round ?? null,
      roundsToCountedAgain: closedBetween === null ? null : closedBetween.length,
      secondsToCountedAgain: again === undefined ? null : (again.closedAt - reachedAt) / 1000,
      secondsToJoin: log.startedAt === undefined ? null : (reachedAt - log.startedAt) / 1000,
      straggler: log.straggler === true,
      ...rejoinBreakdown(log.events, reachedAt),
    });
  }
  return reports;
}

/** ResumeReport's secondsToLink, secondsToModel and firstComputeMs for a log whose join reached the server at `reachedAt`. */
export function rejoinBreakdown(
  events: LogEvent[],
  reachedAt: number,
): Pick<ResumeReport, 'secondsToLink' | 'secondsToModel' | 'firstComputeMs'> {
  const followed = new Set(ofType(events, 'role').map((r) => r.aggregatorId));
  const linked = ofType(events, 'linked').find((e) => e.at >= reachedAt && followed.has(e.remoteId));
  const inStep = events.find(
    (e) => e.at >= reachedAt && ((e.type === 'model' && e.source === 'aggregator') || e.type === 'applied'),
  );
  const upload =
    inStep === undefined
      ? undefined
      : ofType(events, 'uploaded').find((u) => u.at >= inStep.at && u.kind === 'upload' && !u.resent);
  return {
    secondsToLink: linked === undefined ? null : (linked.at - reachedAt) / 1000,
    secondsToModel: inStep === undefined ? null : (inStep.at - reachedAt) / 1000,
    firstComputeMs: upload?.computeMs ?? null,
  };
}

/**
 * The final test accuracy: from the first 'done' that carries one (the aggregator that
 * closed the last round; a straggler elected after it left would only repeat rounds).
 */
export function finalAccuracy(logs: IncarnationLog[]): number | null {
  const done = logs
    .flatMap((l) => ofType(l.events, 'done'))
    .filter((d) => d.testAccuracy !== null)
    .sort((a, b) => a.at - b.at);
  return done[0]?.testAccuracy ?? null;
}
