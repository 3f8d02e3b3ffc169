/**
 * The configuration of one training session: what is trained, how, and with which
 * compression. Chosen by whoever creates the session, validated by the signaling server,
 * handed unchanged to every peer in its join reply.
 *
 * Every field has a default, so `{}` is a valid input. To add a field later, give it a
 * default here (old clients that omit it keep working); unknown fields are stripped.
 *
 * @example
 * const config = parseSessionConfig({ algorithm: 'liec', up: 'topk:0.01' });
 * config.syncPeriod; // 20 (the default)
 */
import { z } from 'zod';

/** A compressor spec such as "identity", "topk:0.01", "qsgd:16" or "sign:block=256". */
const compressorSpecSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9]+(:[A-Za-z0-9.=,_-]+)?$/, 'compressor spec like "topk:0.01"');

/** How the training data is split across peers: "iid", "dirichlet:<alpha>" or "shards:<k>". */
const partitionSchema = z
  .string()
  .max(32)
  .regex(/^(iid|dirichlet:\d+(\.\d+)?|shards:[1-9]\d*)$/, '"iid", "dirichlet:<alpha>" or "shards:<k>"');

const positiveInt = z.number().int().positive();

export const sessionConfigSchema = z.object({
  /** The learning task; only MNIST for now. */
  task: z.enum(['mnist']).default('mnist'),
  /** The model trained by every peer. */
  model: z.enum(['mlp', 'cnn']).default('mlp'),
  /** The training algorithm; the first three are baselines on the same engine. */
  algorithm: z.enum(['sgd', 'ef-sgd', 'doublesqueeze', 'liec']).default('liec'),
  /** Compressor from workers to the aggregator. */
  up: compressorSpecSchema.default('topk:0.01'),
  /** Compressor from the aggregator to the workers. */
  down: compressorSpecSchema.default('topk:0.01'),
  learningRate: z.number().positive().max(10).default(0.1),
  batchSize: positiveInt.max(4096).default(64),
  /** Number of rounds to train. */
  rounds: positiveInt.max(10_000_000).default(500),
  /** How long the aggregator waits for updates in a round before aggregating what arrived. */
  roundDeadlineMs: positiveInt.max(3_600_000).default(5000),
  /** Fraction in (0, 1] of the live workers whose updates a round needs. */
  quorum: z.number().gt(0).lte(1).default(0.5),
  /** H: rounds between full-precision model syncs. */
  syncPeriod: positiveInt.max(1_000_000).default(20),
  partition: partitionSchema.default('iid'),
  /** Seed of every random choice in the session (partition, batch order, random codecs). */
  seed: z.number().int().min(0).max(0xffff_ffff).default(1),
});

/** A fully resolved session configuration (every field present). */
export type SessionConfig = z.output<typeof sessionConfigSchema>;
/** What a session creator may send: any subset of the fields. */
export type SessionConfigInput = z.input<typeof sessionConfigSchema>;

export const DEFAULT_SESSION_CONFIG: Readonly<SessionConfig> = Object.freeze(sessionConfigSchema.parse({}));

/** Parses and fills defaults; throws a ZodError on invalid input. */
export function parseSessionConfig(input: unknown): SessionConfig {
  return sessionConfigSchema.parse(input);
}
