/**
 * An operator's requests to the signaling server, and the server's relay of them to the
 * session's aggregator (its snapshot list is the session's: every peer keeps its own, see client/roles/snapshots.ts).
 *
 * Who is an operator: a socket whose handshake carries the server's operator token
 * (`io(url, { auth: { operatorToken } })`). With an operator token configured the server
 * refuses `session:create`, `snapshots:list` and `session:rollback` from any other socket
 * (OPERATOR_REQUIRED), and `GET /metrics` without `Authorization: Bearer <token>`. A server
 * without one (the demo, `--open`) is open to everyone who reaches it, as on a LAN.
 *
 * Snapshots: the aggregator keeps its model every N rounds with its evaluated test accuracy
 * (client/roles/snapshots.ts). `snapshots:list` asks the current aggregator for that list;
 * `session:rollback` asks it to restart every peer from one snapshot: at its next round it
 * adopts the snapshot, clears its error e and sends the snapshot as the model to every
 * worker, which adopt it as a joiner would. The server relays both with a timeout and
 * answers with the aggregator's reply (NO_AGGREGATOR when the session has none).
 *
 * @example
 * const operator = new OperatorClient({ operatorToken });
 * await operator.connect(url);
 * const { snapshots } = await operator.listSnapshots(sessionId);
 * await operator.rollback(sessionId, snapshots[0].round);
 */
import { z } from 'zod';

/** The operator credential a socket presents in its handshake (`auth`). */
export const operatorAuthSchema = z.object({ operatorToken: z.string().max(512).optional() });

const sessionId = z.string().regex(/^[A-Za-z0-9_-]{8,64}$/);
const round = z.number().int().nonnegative();
const term = z.number().int().nonnegative();
const peerId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);

/** One snapshot the aggregator keeps. */
export const snapshotInfoSchema = z.object({
  /** The round whose broadcast the model holds (it continues from round + 1). */
  round,
  /** The term of the aggregator that took it. */
  term,
  /** Test accuracy of exactly this model (null if it could not be evaluated). */
  testAccuracy: z.number().min(0).max(1).nullable(),
  testLoss: z.number().nullable(),
  /** Epoch ms. */
  takenAt: z.number(),
  /** SHA-256 of its flat float32 weights (shared/model-hash.ts). */
  modelSha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type SnapshotInfo = z.infer<typeof snapshotInfoSchema>;

// ---------------------------------------------------------------------------- operator -> server

export const snapshotsListRequestSchema = z.object({ sessionId });
export type SnapshotsListRequest = z.input<typeof snapshotsListRequestSchema>;

export const rollbackRequestSchema = z.object({
  sessionId,
  /** The round of the snapshot to continue from (snapshotInfo.round). */
  round,
});
export type RollbackRequest = z.input<typeof rollbackRequestSchema>;

// ---------------------------------------------------------------------------- server -> aggregator

/** What the server relays to the aggregator, with the term it believes current. */
export const snapshotsQuerySchema = z.object({ sessionId, term });
export type SnapshotsQuery = z.infer<typeof snapshotsQuerySchema>;
export const rollbackCommandSchema = z.object({ sessionId, term, round });
export type RollbackCommand = z.infer<typeof rollbackCommandSchema>;

/** The aggregator's answer to either relay. */
export const aggregatorAnswerSchema = z.discriminatedUnion('ok', [
  z.object({
    ok: z.literal(true),
    snapshots: z.array(snapshotInfoSchema).max(1000),
    /** After a rollback: the round from which every peer continues on the snapshot. */
    continuesAt: round.optional(),
  }),
  z.object({
    ok: z.literal(false),
    code: z.enum(['NOT_AGGREGATOR', 'STALE_TERM', 'UNKNOWN_SNAPSHOT']),
    message: z.string().max(1024),
  }),
]);
export type AggregatorAnswer = z.infer<typeof aggregatorAnswerSchema>;

// ---------------------------------------------------------------------------- replies to the operator

export const snapshotsOkSchema = z.object({
  ok: z.literal(true),
  sessionId,
  aggregatorId: peerId,
  term,
  snapshots: z.array(snapshotInfoSchema).max(1000),
  /** After a rollback: the round from which every peer continues on the snapshot. */
  continuesAt: round.optional(),
});
export type SnapshotsOk = z.infer<typeof snapshotsOkSchema>;
