/**
 * The read-only JSON of the signaling server's `GET /status`: sessions, their members,
 * the aggregator and term, and the round progress and traffic the aggregators reported.
 * A schema, so a dashboard can validate what it fetches.
 *
 * @example
 * const status = signalingStatusSchema.parse(await (await fetch(`${url}/status`)).json());
 * status.sessions[0]?.aggregator.term;
 */
import { z } from 'zod';
import {
  aggregatorStateSchema,
  capabilitiesSchema,
  evaluationReportSchema,
  numericStatsSchema,
  peerIdSchema,
  peerKindSchema,
  peerRoleSchema,
  roundReportSchema,
  sessionIdSchema,
} from './signaling.ts';
import { sessionConfigSchema } from './session-config.ts';

export const peerStatusSchema = z.object({
  peerId: peerIdSchema,
  kind: peerKindSchema,
  role: peerRoleSchema,
  ready: z.boolean(),
  capabilities: capabilitiesSchema,
  connectedAt: z.number(),
  lastHeartbeat: z.number(),
  /** From the peer's last heartbeat. */
  round: z.number().optional(),
  stats: numericStatsSchema.optional(),
  /** The peer's last reported accuracy of its own model (csv and images tasks). */
  evaluation: evaluationReportSchema.optional(),
});
export type PeerStatus = z.infer<typeof peerStatusSchema>;

export const sessionStatusSchema = z.object({
  sessionId: sessionIdSchema,
  createdAt: z.number(),
  config: sessionConfigSchema,
  aggregator: aggregatorStateSchema,
  peers: z.array(peerStatusSchema),
  /** The aggregators' last round:report, with the server time it arrived. */
  lastReport: roundReportSchema.extend({ receivedAt: z.number() }).optional(),
  /** Sums over every accepted round:report. */
  traffic: z.object({ up: z.number(), down: z.number(), reportedRounds: z.number() }),
  /**
   * The session's accuracy from its members' last reports: the mean of their accuracies
   * weighted by their sample counts, over the test set when any member reports one, else over
   * their validation parts. Absent until a member has reported.
   */
  accuracy: z
    .object({
      value: z.number().min(0).max(1),
      set: z.enum(['validation', 'test']),
      /** Examples summed over the peers counted. */
      samples: z.number().int().nonnegative(),
      peers: z.number().int().nonnegative(),
    })
    .optional(),
});
export type SessionStatus = z.infer<typeof sessionStatusSchema>;
export type SessionAccuracy = NonNullable<SessionStatus['accuracy']>;

export const signalingStatusSchema = z.object({
  serverTime: z.number(),
  startedAt: z.number(),
  sessions: z.array(sessionStatusSchema),
});
export type SignalingStatus = z.infer<typeof signalingStatusSchema>;
