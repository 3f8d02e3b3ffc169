/**
 * The learner a peer builds from its session's config when it is given none: MNIST split
 * into config.dataShards parts by config.partition, the built-in network or the session's own
 * Layers model (liec create --model; its hash and trainability are checked here, before the
 * peer takes part).
 *
 * @example
 * const learner = await defaultLearner(config);
 */
import { parsePartitionSpec } from '../../shared/data/spec.ts';
import type { SessionConfig } from '../../shared/protocol/session-config.ts';
import type { Learner } from './learner.ts';
import { sessionLayersModel } from './layers-model.ts';
import { createMnistLearner } from './mnist-learner.ts';

export async function defaultLearner(config: SessionConfig): Promise<Learner & { backend: string }> {
  const model =
    config.customModel === undefined ? undefined : await sessionLayersModel(config.customModel, config);
  return createMnistLearner({
    ...(model === undefined ? {} : { model }),
    workers: config.dataShards,
    partition: parsePartitionSpec(config.partition),
    batchSize: config.batchSize,
    seed: config.seed,
    arch: config.model,
    log: () => {},
  });
}
