/**
 * What one headless peer saw, round by round, for its JSON summary: the rounds it closed as
 * aggregator, the uploads it sent and the broadcasts it applied as worker (uploads with their
 * compute time), the models it adopted, and its role changes.
 * Benchmarks and tests read it from the summaries of separate processes. Times are epoch ms
 * (epochNow), so records of processes on one machine can be compared.
 *
 * @example
 * const timeline = recordTimeline(peer);
 * await peer.finished;
 * summary.timeline = timeline.snapshot();
 */
import { epochNow, type Role } from '../roles/events.ts';
import type { Peer } from '../roles/peer.ts';

export interface ClosedRound {
  round: number;
  term: number;
  closedAt: number;
  durationMs: number;
  /** The aggregator's own gradient + compression time in this round. */
  computeMs: number;
  evalMs: number;
  /** The aggregator's test accuracy of its own model after this round (null: not evaluated). */
  testAccuracy: number | null;
  counted: number;
  participants: string[];
  late: number;
  sync: boolean;
}

export interface SentUpload {
  round: number;
  term: number;
  kind: 'upload' | 'syncUpload';
  resent: boolean;
  computeMs: number;
  at: number;
}

export interface Timeline {
  rounds: ClosedRound[];
  uploads: SentUpload[];
  /** Broadcasts applied as worker. */
  applied: { round: number; term: number; at: number }[];
  /** Models adopted (seed weights, or from an aggregator: joining or catching up). */
  models: { round: number; source: string; at: number }[];
  roles: { role: Role; term: number; at: number }[];
  /** Uploads sent again to an aggregator after a (re)connection. */
  resentUploads: number;
}

export function recordTimeline(peer: Peer): { snapshot(): Timeline; stop(): void } {
  const timeline: Timeline = {
    rounds: [],
    uploads: [],
    applied: [],
    models: [],
    roles: [],
    resentUploads: 0,
  };
  const offs = [
    peer.events.on('round', (e) =>
      timeline.rounds.push({
        round: e.round,
        term: e.term,
        closedAt: e.closedAt,
        durationMs: e.durationMs,
        computeMs: e.computeMs,
        evalMs: e.evalMs,
        testAccuracy: e.testAccuracy,
        counted: e.counted,
        participants: e.participants,
        late: e.late,
        sync: e.sync,
      }),
    ),
    peer.events.on('uploaded', (e) => {
      timeline.uploads.push({ ...e, at: epochNow() });
      if (e.resent) timeline.resentUploads++;
    }),
    peer.events.on('role', (e) => timeline.roles.push({ role: e.role, term: e.term, at: epochNow() })),
    peer.events.on('applied', (e) => timeline.applied.push({ round: e.round, term: e.term, at: epochNow() })),
    peer.events.on('model', (e) =>
      timeline.models.push({ round: e.round, source: e.source, at: epochNow() }),
    ),
  ];
  return {
    snapshot: () => timeline,
    stop: () => {
      for (const off of offs) off();
    },
  };
}
