/**
 * Command-line options of the simulator, parsed and validated into a SimulationConfig.
 * Every flag has a documented default (printed by --help).
 */
import { parseArgs } from 'node:util';
import {
  resolveAlgorithmOptions,
  DEFAULT_COMPENSATION,
  DEFAULT_SYNC_CODEC,
  DEFAULT_SYNC_PERIOD,
} from '../../shared/algorithm/index.ts';
import { parsePartitionSpec, type PartitionSpec } from '../../shared/data/spec.ts';
import { alternatingLinks } from './links.ts';
import type { SimulationConfig } from './simulator.ts';

export const SIMULATE_HELP = `Usage: npm run simulate -- [options]

  --workers N            virtual workers (default 8)
  --algorithm NAME       sgd | ef-sgd | doublesqueeze | liec (default liec)
  --up SPEC              worker->aggregator compressor (default topk:0.01; sgd: identity);
                         topk:auto[:MIN:MAX]: each worker picks its ratio per round from its
                         measured uplink so its upload fits half the --deadline-ms
  --down SPEC            aggregator->worker compressor (default: same as --up; ef-sgd: identity)
                         compressors: identity, fp16, topk:R[:f32], randk:R, sign[:B], qsgd:S, q8[:B]
  --rounds N             rounds (default 300)
  --seed N               seed for data split, init, batches, compressors (default 1)
  --lr X                 learning rate (default 0.3)
  --batch N              local batch size per worker and round (default 32)
  --momentum X           heavy-ball momentum (default 0)
  --weight-decay X       L2 weight decay (default 0)
  --partition P          iid | dirichlet:ALPHA | shards:K (default iid)
  --sync H               LIEC: full sync at least every H rounds, 0 = off (default ${DEFAULT_SYNC_PERIOD})
  --sync-codec SPEC      LIEC: codec of the sync deltas: identity, sign:256, q4, q8 (default ${DEFAULT_SYNC_CODEC})
  --sync-drift X         LIEC: also sync when relative drift exceeds X (default off)
  --sync-mode M          LIEC: full (a sync every H rounds) | rolling (1/H of the model every
                         round, its slices carried with the uploads and broadcasts) (default full)
  --aggregation A        how uploads are combined: mean | median | trimmed:F (F in [0, 0.5);
                         robust ones need a dense --up codec) (default mean)
  --participation P      probability a worker takes part in a round (default 1)
  --stragglers P         probability a participant straggles (default 0)
  --straggler-slowdown F how much slower a straggler computes (default 10)
  --compute-ms MS        modeled compute time per local step (default 10)
  --deadline-ms MS       round deadline in simulated ms (default none: wait for all)
  --quorum Q             fraction of participants counted before a round may close (default 0)
  --link-mbps X[,Y...]   each worker's link bandwidth in Mbit/s, a list repeats over the
                         workers (0.5,10: half at 0.5, half at 10) (default unshaped)
  --link-latency-ms MS[,MS...] each worker's one-way latency, a list as above (default 0)
  --aggregator-mbps X    the aggregator's own shared link (default unshaped)
  --model mlp|cnn        model (default mlp)
  --eval-every N         test accuracy every N rounds (default 10)
  --consensus            also measure the consensus model (LIEC: the workers' mean minus eta e,
                         a diagnostic no peer holds) as consensusAccuracy; testAccuracy is
                         always worker 0's own model, and at the end the one model all hold
  --compensation A       LIEC: share of its own residual a worker applies at once: auto
                         (measured at every sync) or a number in [0, 1] (default ${DEFAULT_COMPENSATION})
  --slice-delta W        LIEC rolling sync: a block's delta lands before (an ideal protocol) or
                         after (as on real peers) each peer's next gradient (default before)
  --out FILE             write the JSON result here
  --quiet                no progress output
`;

export interface SimulateCli {
  config: SimulationConfig;
  partition: PartitionSpec;
  partitionText: string;
  model: 'mlp' | 'cnn';
  batchSize: number;
  out: string | undefined;
  quiet: boolean;
  specs: { up: string; down: string; syncCodec: string };
}

function numberList(name: string, text: string | undefined, fallback: number, check: (v: number) => boolean) {
  if (text === undefined) return [fallback];
  return text.split(',').map((item) => number(name, item.trim(), fallback, check));
}

function number(
  name: string,
  text: string | undefined,
  fallback: number,
  check: (v: number) => boolean,
): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || !check(value)) throw new RangeError(`--${name}: invalid value "${text}"`);
  return value;
}

export function parseSimulateArgs(argv: readonly string[]): SimulateCli | 'help' {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      workers: { type: 'string' },
      algorithm: { type: 'string' },
      up: { type: 'string' },
      down: { type: 'string' },
      rounds: { type: 'string' },
      seed: { type: 'string' },
      lr: { type: 'string' },
      batch: { type: 'string' },
      momentum: { type: 'string' },
      'weight-decay': { type: 'string' },
      partition: { type: 'string' },
      sync: { type: 'string' },
      'sync-codec': { type: 'string' },
      'sync-drift': { type: 'string' },
      'sync-mode': { type: 'string' },
      aggregation: { type: 'string' },
      participation: { type: 'string' },
      stragglers: { type: 'string' },
      'straggler-slowdown': { type: 'string' },
      'compute-ms': { type: 'string' },
      'deadline-ms': { type: 'string' },
      quorum: { type: 'string' },
      'link-mbps': { type: 'string' },
      'link-latency-ms': { type: 'string' },
      'aggregator-mbps': { type: 'string' },
      model: { type: 'string' },
      'eval-every': { type: 'string' },
      consensus: { type: 'boolean' },
      compensation: { type: 'string' },
      'slice-delta': { type: 'string' },
      out: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help === true) return 'help';
  const positiveInt = (v: number) => Number.isInteger(v) && v > 0;
  const algorithm = values.algorithm ?? 'liec';
  const up = values.up ?? (algorithm === 'sgd' ? 'identity' : 'topk:0.01');
  const down = values.down ?? (algorithm === 'ef-sgd' ? 'identity' : up);
  const syncCodec = values['sync-codec'] ?? DEFAULT_SYNC_CODEC;
  const driftText = values['sync-drift'];
  const options = resolveAlgorithmOptions({
    algorithm,
    up,
    down,
    learningRate: number('lr', values.lr, 0.3, (v) => v > 0),
    momentum: number('momentum', values.momentum, 0, (v) => v >= 0 && v < 1),
    weightDecay: number('weight-decay', values['weight-decay'], 0, (v) => v >= 0),
    syncPeriod: number('sync', values.sync, DEFAULT_SYNC_PERIOD, (v) => Number.isInteger(v) && v >= 0),
    syncCodec,
    syncMode: values['sync-mode'] ?? 'full',
    aggregation: values.aggregation ?? 'mean',
    compensation: values.compensation ?? DEFAULT_COMPENSATION,
    ...(driftText === undefined
      ? {}
      : { syncDriftThreshold: number('sync-drift', driftText, 0, (v) => v > 0) }),
  });
  const model = values.model ?? 'mlp';
  if (model !== 'mlp' && model !== 'cnn')
    throw new RangeError(`--model: expected mlp or cnn, got "${model}"`);
  const sliceDeltaText = values['slice-delta'] ?? 'before';
  if (sliceDeltaText !== 'before' && sliceDeltaText !== 'after')
    throw new RangeError(`--slice-delta: expected before or after, got "${sliceDeltaText}"`);
  const partitionText = values.partition ?? 'iid';
  const workerLink = alternatingLinks(
    numberList('link-mbps', values['link-mbps'], Infinity, (v) => v > 0),
    numberList('link-latency-ms', values['link-latency-ms'], 0, (v) => v >= 0),
  );
  return {
    config: {
      options,
      workers: number('workers', values.workers, 8, positiveInt),
      rounds: number('rounds', values.rounds, 300, positiveInt),
      seed: number('seed', values.seed, 1, Number.isInteger),
      participation: number('participation', values.participation, 1, (v) => v > 0 && v <= 1),
      stragglerProbability: number('stragglers', values.stragglers, 0, (v) => v >= 0 && v <= 1),
      stragglerSlowdown: number('straggler-slowdown', values['straggler-slowdown'], 10, (v) => v >= 1),
      computeMs: number('compute-ms', values['compute-ms'], 10, (v) => v >= 0),
      roundDeadlineMs: number('deadline-ms', values['deadline-ms'], Infinity, (v) => v > 0),
      quorum: number('quorum', values.quorum, 0, (v) => v >= 0 && v <= 1),
      workerLink,
      aggregatorLink: {
        mbps: number('aggregator-mbps', values['aggregator-mbps'], Infinity, (v) => v > 0),
        latencyMs: 0,
      },
      evalEvery: number('eval-every', values['eval-every'], 10, positiveInt),
      consensus: values.consensus === true,
      sliceDelta: sliceDeltaText === 'after' ? 'afterGradient' : 'beforeGradient',
    },
    partition: parsePartitionSpec(partitionText),
    partitionText,
    model,
    batchSize: number('batch', values.batch, 32, positiveInt),
    out: values.out,
    quiet: values.quiet === true,
    specs: { up, down, syncCodec },
  };
}
