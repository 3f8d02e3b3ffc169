/**
 * The exact time to accuracy of one bench:links run, after the run: reads the aggregators'
 * model snapshots (bench/snapshots.ts), evaluates them in closing order with a learner built
 * as the peers build theirs (client/training/session-learner.ts), and finds the first round
 * whose model reached the target. The session evaluates only every evalEvery rounds; this
 * gives the round itself. Rounds the session evaluated too are compared as a check that the
 * snapshots are the models the session evaluated (mismatches lists any disagreement).
 * The snapshot files are removed afterwards.
 *
 * @example
 * const exact = await exactTimeToTarget(result, sessionConfigSchema.parse(input), 0.9);
 * exact.roundsTo90; // e.g. 37, where the session's evaluation every 5 rounds said 40
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { defaultLearner } from '../client/training/session-learner.ts';
import type { Learner } from '../client/training/learner.ts';
import type { SessionConfig } from '../shared/protocol/session-config.ts';
import { sessionStart, type LiveSessionResult } from './live-session.ts';
import {
  decodeSnapshots,
  firstReaching,
  progressing,
  type CheckedRound,
  type Snapshot,
} from './snapshots.ts';

export interface ExactFigures {
  /** Rounds until the aggregator's model first reached the target (round index + 1); null if never. */
  roundsTo90: number | null;
  /** Seconds from the start of round 0 to the broadcast of that round (the clock of secondsTo90). */
  secondsTo90: number | null;
  /** That round's accuracy. */
  accuracy: number | null;
  /** Snapshots the bench evaluated (the rounds up to the hit, and one checked round). */
  evaluated: number;
  /** Rounds the session evaluated too, compared with the snapshot's accuracy. */
  checkedRounds: number;
  /** Compared rounds whose accuracies differ: the snapshot was not the model the session evaluated. */
  mismatches: CheckedRound[];
  /** Rounds the session closed (de-duplicated) without a snapshot. */
  missingSnapshots: number;
  /** Bytes of records cut short at the end of a file (a peer killed while writing). */
  truncatedBytes: number;
  /** The evaluating backend (the peers': see the record's backend). */
  backend: string;
  /** CPU ms all peers spent copying and writing snapshots inside the session. */
  snapshotWriteMs: number;
}

/** Learners by what defaultLearner builds from: one per distinct config in a bench. */
const learners = new Map<string, Promise<Learner & { backend: string }>>();

function learnerFor(config: SessionConfig): Promise<Learner & { backend: string }> {
  const key = JSON.stringify([
    config.dataShards,
    config.partition,
    config.batchSize,
    config.seed,
    config.model,
  ]);
  let learner = learners.get(key);
  if (learner === undefined) {
    learner = defaultLearner(config);
    learners.set(key, learner);
  }
  return learner;
}

/** Accuracy of a model; a diverged (non-finite) model, which the learner refuses, counts as 0. */
function accuracyOf(learner: Learner, model: Float32Array): number {
  if (!model.every(Number.isFinite)) return 0;
  return learner.evaluate(model).accuracy;
}

export async function exactTimeToTarget(
  result: LiveSessionResult,
  config: SessionConfig,
  target: number,
): Promise<ExactFigures> {
  const snapshots: Snapshot[] = [];
  let truncatedBytes = 0;
  try {
    for (const file of result.snapshotFiles) {
      if (!existsSync(file)) continue;
      const decoded = decodeSnapshots(readFileSync(file));
      snapshots.push(...decoded.snapshots);
      truncatedBytes += decoded.truncatedBytes;
    }
  } finally {
    for (const file of result.snapshotFiles) rmSync(file, { force: true });
  }
  const rounds = progressing(result.rounds);
  const start = sessionStart(rounds);
  const key = (r: { term: number; round: number; closedAt: number }): string =>
    `${r.term}:${r.round}:${r.closedAt}`;
  const sessionAccuracy = new Map(rounds.map((r) => [key(r), r.testAccuracy]));
  const learner = await learnerFor(config);
  const search = firstReaching(
    snapshots,
    target,
    (s) => accuracyOf(learner, s.model),
    (s) => sessionAccuracy.get(key(s)) ?? null,
  );
  const captured = new Set(snapshots.map(key));
  return {
    roundsTo90: search.hit === null ? null : search.hit.round + 1,
    secondsTo90: search.hit === null ? null : (search.hit.closedAt - start) / 1000,
    accuracy: search.hitAccuracy,
    evaluated: search.evaluated,
    checkedRounds: search.checked.length,
    mismatches: search.checked.filter((c) => c.session !== c.snapshot),
    missingSnapshots: rounds.filter((r) => !captured.has(key(r))).length,
    truncatedBytes,
    backend: learner.backend,
    snapshotWriteMs: result.exits.reduce((sum, e) => sum + (e.snapshotMs ?? 0), 0),
  };
}
