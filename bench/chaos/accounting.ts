/**
 * What the chaos bench concludes from the peers' event logs (`liec join --events-out`, one
 * per process incarnation, kept even when the process is SIGKILLed):
 *
 * - rounds: every round an aggregator closed, once per (term, round), with its duration;
 * - uploads: every upload (not sync deltas: an uncounted sync delta stays with its worker)
 *   a worker computed is matched to a place it was used: a round record that counted its
 *   peer for that round, closed after it was sent; a late fold of it listed in a round record
 *   closed after it was sent; or the broadcast its worker applied for that round saying it
 *   was counted. Each record is used once. An upload of an incarnation the bench did not
 *   kill that matches nothing is lost, unless it went to an aggregator the bench killed
 *   (lostWithAggregator: in flight to it, or folded into the error e that died with it, as
 *   the docs say a failover may lose) or was sent after the last round record (the session
 *   ended before a fold could be reported), or is a restarted peer's upload of a round an
 *   earlier incarnation of it was already counted or folded for (duplicate: counting it
 *   again would weigh that peer twice in the round; the aggregator drops it);
 * - resumes: how each resumed incarnation was taken back by the aggregator.
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
  role: z.object({ ...base, role: z.string(), term: z.number() }),
  done: z.object({ ...base, round: z.number(), testAccuracy: z.number().nullable() }),
  joined: z.object({ ...base, round: z.number(), resumed: z.number().nullable() }),
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
  events: LogEvent[];
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
  /** Uploads computed by incarnations the bench did not kill. */
  sent: number;
  counted: number;
  folded: number;
  lost: UploadRef[];
  lostWithAggregator: UploadRef[];
  afterLastRound: UploadRef[];
  duplicates: UploadRef[];
  /** Uploads of killed incarnations that were counted or folded anyway, of those computed. */
  killed: { sent: number; used: number };
}

export function accountUploads(logs: IncarnationLog[]): UploadAccounting {
  const rounds = roundRecords(logs);
  const lastClosedAt = rounds.at(-1)?.closedAt ?? 0;
  // What can account for an upload of (peer, round): counted or folded, closed at `at`.
  const uses = new Map<string, { at: number; kind: 'counted' | 'folded'; used: boolean }[]>();
  const add = (peerId: string, round: number, at: number, kind: 'counted' | 'folded') => {
    const key = `${peerId}/${round}`;
    const list = uses.get(key) ?? [];
    list.push({ at, kind, used: false });
    uses.set(key, list);
  };
  for (const r of rounds) {
    for (const p of r.participants) add(p, r.round, r.closedAt, 'counted');
    for (const late of r.lateUploads) add(late.peerId, late.round, r.closedAt, 'folded');
  }
  // Terms whose aggregator the bench killed, with when.
  const killedTerms = new Map<number, number>();
  for (const log of logs)
    if (log.killedAt !== null)
      for (const role of ofType(log.events, 'role'))
        if (role.role === 'aggregator') killedTerms.set(role.term, log.killedAt);
  const result: UploadAccounting = {
    sent: 0,
    counted: 0,
    folded: 0,
    lost: [],
    lostWithAggregator: [],
    afterLastRound: [],
    duplicates: [],
    killed: { sent: 0, used: 0 },
  };
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
    const lastSend =
      ofType(log.events, 'uploaded')
        .filter((r) => r.resent && r.kind === 'upload' && r.round === u.round && r.at >= u.at)
        .at(-1) ?? u;
    const use = (uses.get(`${log.peerId}/${u.round}`) ?? []).find((x) => !x.used && x.at >= u.at);
    if (use !== undefined) use.used = true;
    const appliedCounted = ofType(log.events, 'applied').some(
      (a) => a.round === u.round && a.counted && a.at >= u.at,
    );
    const kind = use?.kind ?? (appliedCounted ? 'counted' : null);
    const key = `${log.peerId}/${u.round}`;
    const earlier = accountedBy.get(key);
    if (kind !== null && earlier === undefined) accountedBy.set(key, log.incarnation);
    if (log.killedAt !== null) {
      result.killed.sent++;
      if (kind !== null) result.killed.used++;
      continue;
    }
    result.sent++;
    if (kind === 'counted') result.counted++;
    else if (kind === 'folded') result.folded++;
    else if (earlier !== undefined && earlier < log.incarnation) result.duplicates.push(ref);
    else if (u.at > lastClosedAt) result.afterLastRound.push(ref);
    else if ((killedTerms.get(lastSend.term) ?? -Infinity) >= lastSend.at)
      result.lostWithAggregator.push(ref);
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
    const again = rounds.find((r) => r.closedAt > joined.at && r.participants.includes(log.peerId));
    reports.push({
      peerId: log.peerId,
      incarnation: log.incarnation,
      checkpointRound: joined.resumed,
      outcome,
      countedAgainInRound: again?.round ?? null,
    });
  }
  return reports;
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
