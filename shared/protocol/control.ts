/**
 * Control messages between peers: small JSON documents carried in the meta section of a
 * `control` frame, validated with zod at the boundary like every other input.
 *
 *   hello        worker -> aggregator, on every (re)connection: where the worker stands
 *   modelRequest worker -> aggregator: "send me the current model" (out of step)
 *   catchUp      worker -> aggregator: "send me your broadcasts again from this round on" (it
 *                lost one; client/roles/broadcast-catch-up.ts), answered with the model when
 *                the aggregator no longer has them
 *   metrics      aggregator -> workers: the latest test accuracy, for progress displays
 *   done         aggregator -> workers: training finished at this round, on the model whose
 *                modelDigest it gives (a worker holding another one asks for the model first)
 *   roundClosed  aggregator -> workers: the round is closed, its broadcast follows (with a
 *                rolling sync: send this round's slice now, while the aggregator's link is idle)
 *   ping         either way, on a link that carried nothing else for settings.aggregatorPingIntervalMs:
 *                "still here" (client/roles/link-liveness.ts); it changes nothing else
 *
 * @example
 * const bytes = encodeControl({ kind: 'hello', round: 12, hasModel: true, pendingUpload: true });
 * const message = decodeControl(bytes); // throws ControlError('CONTROL_INVALID') on bad input
 */
import { z } from 'zod';

/** Largest control document accepted, in bytes. */
export const MAX_CONTROL_BYTES = 4096;

const round = z.number().int().min(0).max(0xffffffff);
const fraction = z.number().min(0).max(1);

export const controlMessageSchema = z.discriminatedUnion('kind', [
  z.object({
    kind: z.literal('hello'),
    /** The round the worker's next (or pending) upload belongs to. */
    round,
    /** False for a fresh joiner that has no model yet. */
    hasModel: z.boolean(),
    /** True when it holds an upload of `round` that no broadcast has answered yet. */
    pendingUpload: z.boolean(),
  }),
  z.object({ kind: z.literal('modelRequest') }),
  z.object({
    kind: z.literal('catchUp'),
    /** The round whose broadcast the worker waits for (it lost it). */
    round,
  }),
  z.object({
    kind: z.literal('metrics'),
    round,
    testAccuracy: fraction,
    testLoss: z.number().min(0),
  }),
  z.object({
    kind: z.literal('done'),
    round,
    testAccuracy: fraction.nullable(),
    /** modelDigest (shared/model-digest.ts) of the aggregator's final model; absent from older peers. */
    modelDigest: z
      .string()
      .regex(/^[0-9a-f]{16}$/)
      .optional(),
  }),
  z.object({ kind: z.literal('roundClosed'), round }),
  z.object({ kind: z.literal('ping') }),
]);

export type ControlMessage = z.infer<typeof controlMessageSchema>;

export class ControlError extends Error {
  readonly code = 'CONTROL_INVALID';
  constructor(message: string) {
    super(`CONTROL_INVALID: ${message}`);
    this.name = 'ControlError';
  }
}

export function encodeControl(message: ControlMessage): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(message));
}

export function decodeControl(bytes: Uint8Array): ControlMessage {
  if (bytes.length > MAX_CONTROL_BYTES)
    throw new ControlError(`${bytes.length} bytes exceeds ${MAX_CONTROL_BYTES}`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw new ControlError('not UTF-8 JSON');
  }
  const parsed = controlMessageSchema.safeParse(json);
  if (!parsed.success) throw new ControlError(parsed.error.issues.map((i) => i.message).join('; '));
  return parsed.data;
}
