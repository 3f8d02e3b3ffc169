/**
 * Command-line options of the simulator (`npm run simulate`), parsed with commander and
 * validated into a SimulationConfig. Every flag has its default in the help (simulateHelp,
 * from the same definitions as the parsing); learning rate and batch size default to the
 * ones sessions use (shared/defaults.ts). A bad flag or value is a UsageError: one line
 * naming the flag and the value.
 *
 * @example
 * const cli = parseSimulateArgs(['--workers', '8', '--rounds', '300']); // or 'help'
 */
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import {
  resolveAlgorithmOptions,
  DEFAULT_COMPENSATION,
  DEFAULT_SYNC_CODEC,
  DEFAULT_SYNC_PERIOD,
} from '../../shared/algorithm/index.ts';
import { DEFAULT_BATCH_SIZE, DEFAULT_LEARNING_RATE, defaultStandInRounds } from '../../shared/defaults.ts';
import { parsePartitionSpec, type PartitionSpec } from '../../shared/data/spec.ts';
import { integerIn, numberWhere, oneLine, oneOf, plainDefaults, UsageError } from '../cli/command.ts';
import { addTaskOptions, type TaskOptions } from '../cli/task-flags.ts';
import { alternatingLinks } from './links.ts';
import type { Absence, SimulationConfig } from './simulator.ts';

/** A comma-separated list of numbers, each accepted by `check`. */
function numberListWhere(check: (value: number) => boolean, what: string) {
  const one = numberWhere(check, what);
  return (text: string): number[] => text.split(',').map((item) => one(item.trim()));
}

/** --absences: "2:218-300,4:100-130" (worker:from-to, rounds [from, to)). */
function parseAbsences(text: string): Absence[] {
  return text.split(',').map((item) => {
    const match = /^(\d+):(\d+)-(\d+)$/.exec(item.trim());
    if (match === null) throw new InvalidArgumentError(`"${item}" is not worker:from-to (2:218-300)`);
    const [worker, from, to] = match.slice(1).map(Number) as [number, number, number];
    if (to <= from) throw new InvalidArgumentError(`"${item}": the absence ends before it starts`);
    return { worker, from, to };
  });
}

export function simulateCommand(): Command {
  const positiveInt = integerIn(1);
  const probability = numberWhere((v) => v >= 0 && v <= 1, 'a number in [0, 1]');
  const opt = (flags: string, description: string) => new Option(flags, description);
  const command = new Command('npm run simulate --')
    .description(
      'N virtual workers and an aggregator on MNIST in one process, through the same algorithm code as real peers; every byte counted.',
    )
    .addOption(opt('--workers <n>', 'virtual workers').argParser(positiveInt).default(8))
    .addOption(
      opt('--algorithm <name>', 'sgd | ef-sgd | doublesqueeze | liec | fedavg | diloco | sparseloco')
        .argParser(oneOf(['sgd', 'ef-sgd', 'doublesqueeze', 'liec', 'fedavg', 'diloco', 'sparseloco']))
        .default('liec'),
    )
    .addOption(
      opt('--local-steps <h>', 'fedavg, diloco, sparseloco, liec: local optimizer steps per round')
        .argParser(positiveInt)
        .default(1),
    )
    .addOption(
      opt(
        '--outer-lr <x>',
        'fedavg, diloco, sparseloco, liec H>1: outer step size (default 1; diloco 0.7)',
      ).argParser(numberWhere((v) => v > 0, 'a number > 0')),
    )
    .addOption(
      opt(
        '--outer-momentum <m>',
        'fedavg, diloco, sparseloco: outer Nesterov momentum (default 0; diloco 0.9; liec H>1: heavy ball)',
      ).argParser(numberWhere((v) => v >= 0 && v < 1, 'a number in [0, 1)')),
    )
    .addOption(
      opt(
        '--up <spec>',
        'worker->aggregator codec: identity, fp16, topk:R[:f32], randk:R, sign[:B], qsgd:S, q8[:B]; topk:auto[:MIN:MAX]: each worker picks its ratio per round from its measured uplink so its upload fits half the --deadline-ms (default: topk:0.01; sgd, fedavg, diloco: identity)',
      ),
    )
    .addOption(opt('--down <spec>', 'aggregator->worker codec (default: same as --up; ef-sgd: identity)'))
    .addOption(opt('--rounds <n>', 'rounds').argParser(positiveInt).default(300))
    .addOption(
      opt('--seed <n>', 'seed for data split, init, batches, compressors').argParser(integerIn(0)).default(1),
    )
    .addOption(
      opt('--lr <x>', 'learning rate')
        .argParser(numberWhere((v) => v > 0, 'a number > 0'))
        .default(DEFAULT_LEARNING_RATE),
    )
    .addOption(
      opt('--batch <n>', 'local batch size per worker and round')
        .argParser(positiveInt)
        .default(DEFAULT_BATCH_SIZE),
    )
    .addOption(
      opt('--momentum <x>', 'heavy-ball momentum')
        .argParser(numberWhere((v) => v >= 0 && v < 1, 'a number in [0, 1)'))
        .default(0),
    )
    .addOption(
      opt('--weight-decay <x>', 'L2 weight decay')
        .argParser(numberWhere((v) => v >= 0, 'a number >= 0'))
        .default(0),
    )
    .addOption(opt('--partition <p>', 'iid | dirichlet:ALPHA | shards:K').default('iid'))
    .addOption(
      opt('--sync <h>', 'LIEC: full sync at least every h rounds, 0 = off')
        .argParser(integerIn(0))
        .default(DEFAULT_SYNC_PERIOD),
    )
    .addOption(
      opt('--sync-codec <spec>', 'LIEC: codec of the sync deltas: identity, sign:256, q4, q8').default(
        DEFAULT_SYNC_CODEC,
      ),
    )
    .addOption(
      opt('--sync-drift <x>', 'LIEC: also sync when relative drift exceeds x (default: off)').argParser(
        numberWhere((v) => v > 0, 'a number > 0'),
      ),
    )
    .addOption(
      opt(
        '--sync-mode <mode>',
        'LIEC: full (a sync every h rounds) | rolling (1/h of the model every round, its slices carried with the uploads and broadcasts)',
      )
        .argParser(oneOf(['full', 'rolling']))
        .default('full'),
    )
    .addOption(
      opt(
        '--aggregation <a>',
        'how uploads are combined: mean | median | trimmed:F (F in [0, 0.5); robust ones need a dense --up codec)',
      ).default('mean'),
    )
    .addOption(
      opt('--participation <p>', 'probability a worker takes part in a round')
        .argParser(numberWhere((v) => v > 0 && v <= 1, 'a number in (0, 1]'))
        .default(1),
    )
    .addOption(
      opt(
        '--absences <list>',
        'scripted absences, worker:from-to rounds [from, to), comma-separated: 2:218-300,4:100-130',
      ).argParser(parseAbsences),
    )
    .addOption(
      opt(
        '--stand-in-rounds <n>',
        "rounds an absent worker's average upload stands in for it in the mean, 0 = none (default: 100 for liec, 0 for the baselines)",
      ).argParser(integerIn(0)),
    )
    .addOption(
      opt('--stragglers <p>', 'probability a participant straggles').argParser(probability).default(0),
    )
    .addOption(
      opt('--straggler-slowdown <f>', 'how much slower a straggler computes')
        .argParser(numberWhere((v) => v >= 1, 'a number >= 1'))
        .default(10),
    )
    .addOption(
      opt('--compute-ms <ms>', 'modeled compute time per local step')
        .argParser(numberWhere((v) => v >= 0, 'a number >= 0'))
        .default(10),
    )
    .addOption(
      opt('--deadline-ms <ms>', 'round deadline in simulated ms (default: none, wait for all)').argParser(
        numberWhere((v) => v > 0, 'a number > 0'),
      ),
    )
    .addOption(
      opt('--quorum <q>', 'fraction of participants counted before a round may close')
        .argParser(probability)
        .default(0),
    )
    .addOption(
      opt(
        '--link-mbps <x,...>',
        "each worker's link bandwidth in Mbit/s; a list repeats over the workers (0.5,10: half at 0.5, half at 10) (default: unshaped)",
      ).argParser(numberListWhere((v) => v > 0, 'numbers > 0')),
    )
    .addOption(
      opt('--link-latency-ms <ms,...>', "each worker's one-way latency, a list as for --link-mbps")
        .argParser(numberListWhere((v) => v >= 0, 'numbers >= 0'))
        .default([0], '0'),
    )
    .addOption(
      opt('--aggregator-mbps <x>', "the aggregator's own shared link (default: unshaped)").argParser(
        numberWhere((v) => v > 0, 'a number > 0'),
      ),
    )
    .addOption(
      opt('--model <name>', 'mlp (0.1M parameters) | mlp-large (1M) | mlp-xlarge (10M) | cnn')
        .argParser(oneOf(['mlp', 'mlp-large', 'mlp-xlarge', 'cnn']))
        .default('mlp'),
    )
    .addOption(opt('--eval-every <n>', 'test accuracy every n rounds').argParser(positiveInt).default(10))
    .addOption(
      opt(
        '--consensus',
        "also measure the consensus model (LIEC: the workers' mean minus eta e, a diagnostic no peer holds) as consensusAccuracy; testAccuracy is always worker 0's own model",
      ).default(false),
    )
    .addOption(
      opt(
        '--compensation <a>',
        'LIEC: share of its own residual a worker applies at once: auto (measured at every sync) | a number in [0, 1]',
      ).default(String(DEFAULT_COMPENSATION)),
    )
    .addOption(
      opt(
        '--slice-delta <when>',
        "LIEC rolling sync: a block's delta lands before (an ideal protocol) or after (as on real peers) each peer's next gradient",
      )
        .argParser(oneOf(['before', 'after']))
        .default('before'),
    )
    .addOption(
      opt(
        '--state-precision <p>',
        "how each virtual worker stores its error memory and LIEC's x_i - x_common: f32 (exact, a real peer's bits) | f16 (half the memory, rounded; not with liec --local-steps)",
      )
        .argParser(oneOf(['f32', 'f16']))
        .default('f32'),
    )
    .addOption(opt('--out <file>', 'write the JSON result here'))
    .addOption(
      opt(
        '--tree-fanout <k>',
        'two-level tree: groups of at most k workers under sub-aggregators that compress their group mean again with their own error (client/sim/tree.ts; lockstep, full participation) (default: a flat star)',
      ).argParser(integerIn(2)),
    )
    .addOption(opt('--quiet', 'no progress output').default(false));
  return plainDefaults(addTaskOptions(command));
}

/** The simulator's usage, every flag with its default. */
export function simulateHelp(): string {
  return simulateCommand().helpInformation();
}

interface SimulateOptions {
  workers: number;
  algorithm: 'sgd' | 'ef-sgd' | 'doublesqueeze' | 'liec' | 'fedavg' | 'diloco' | 'sparseloco';
  localSteps: number;
  outerLr?: number;
  outerMomentum?: number;
  up?: string;
  down?: string;
  rounds: number;
  seed: number;
  lr: number;
  batch: number;
  momentum: number;
  weightDecay: number;
  partition: string;
  sync: number;
  syncCodec: string;
  syncDrift?: number;
  syncMode: 'full' | 'rolling';
  aggregation: string;
  participation: number;
  absences?: Absence[];
  standInRounds?: number;
  stragglers: number;
  stragglerSlowdown: number;
  computeMs: number;
  deadlineMs?: number;
  quorum: number;
  linkMbps?: number[];
  linkLatencyMs: number[];
  aggregatorMbps?: number;
  model: 'mlp' | 'mlp-large' | 'mlp-xlarge' | 'cnn';
  evalEvery: number;
  consensus: boolean;
  compensation: string;
  sliceDelta: 'before' | 'after';
  statePrecision: 'f32' | 'f16';
  out?: string;
  quiet: boolean;
  treeFanout?: number;
}

/** Algorithm option names in resolveAlgorithmOptions' messages, as the flags that set them. */
const FIELD_FLAGS: Record<string, string> = {
  learningRate: '--lr',
  syncPeriod: '--sync',
  syncCodec: '--sync-codec',
  syncMode: '--sync-mode',
  syncDriftThreshold: '--sync-drift',
  weightDecay: '--weight-decay',
  compensation: '--compensation',
  aggregation: '--aggregation',
  localSteps: '--local-steps',
  outerLearningRate: '--outer-lr',
  outerMomentum: '--outer-momentum',
};

function withFlags(message: string): string {
  return Object.entries(FIELD_FLAGS).reduce(
    (text, [field, flag]) => text.replace(new RegExp(`\\b${field}\\b`, 'g'), flag),
    message,
  );
}

export interface SimulateCli {
  config: SimulationConfig;
  /** --task, --data, --label, ...: mnist, or a data file split among the workers. */
  task: TaskOptions;
  partition: PartitionSpec;
  partitionText: string;
  model: 'mlp' | 'mlp-large' | 'mlp-xlarge' | 'cnn';
  batchSize: number;
  out: string | undefined;
  quiet: boolean;
  /** --tree-fanout: a two-level tree with groups of at most this many workers (tree.ts). */
  treeFanout: number | undefined;
  specs: { up: string; down: string; syncCodec: string };
}

/**
 * Parses the simulator's flags: 'help' for -h/--help; throws a UsageError (one line naming
 * the flag and the value) for an unknown flag or a bad value.
 */
export function parseSimulateArgs(argv: readonly string[]): SimulateCli | 'help' {
  const command = simulateCommand()
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
  try {
    command.parse([...argv], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError && error.code === 'commander.helpDisplayed') return 'help';
    throw new UsageError(oneLine(error));
  }
  const values = command.opts<SimulateOptions>();
  const algorithm = values.algorithm;
  const fullPrecision = algorithm === 'sgd' || algorithm === 'fedavg' || algorithm === 'diloco';
  const up = values.up ?? (fullPrecision ? 'identity' : 'topk:0.01');
  const down = values.down ?? (algorithm === 'ef-sgd' ? 'identity' : up);
  let options: SimulationConfig['options'];
  try {
    options = resolveAlgorithmOptions({
      algorithm,
      up,
      down,
      learningRate: values.lr,
      momentum: values.momentum,
      weightDecay: values.weightDecay,
      syncPeriod: values.sync,
      syncCodec: values.syncCodec,
      syncMode: values.syncMode,
      aggregation: values.aggregation,
      compensation: values.compensation,
      ...(values.syncDrift === undefined ? {} : { syncDriftThreshold: values.syncDrift }),
      ...(values.localSteps === 1 ? {} : { localSteps: values.localSteps }),
      ...(values.outerLr === undefined ? {} : { outerLearningRate: values.outerLr }),
      ...(values.outerMomentum === undefined ? {} : { outerMomentum: values.outerMomentum }),
    });
  } catch (error) {
    throw new UsageError(withFlags(oneLine(error)));
  }
  if (values.statePrecision === 'f16' && algorithm === 'liec' && values.localSteps > 1)
    throw new UsageError(
      "option '--state-precision f16' is for one step per round: liec --local-steps keeps f32",
    );
  let partition: PartitionSpec;
  try {
    partition = parsePartitionSpec(values.partition);
  } catch (error) {
    throw new UsageError(
      `option '--partition <p>' argument '${values.partition}' is invalid. ${oneLine(error)}`,
    );
  }
  const outside = values.absences?.find((a) => a.worker >= values.workers);
  if (outside !== undefined)
    throw new UsageError(
      `option '--absences': worker ${outside.worker} of ${values.workers} (0-${values.workers - 1})`,
    );
  return {
    config: {
      options,
      workers: values.workers,
      rounds: values.rounds,
      seed: values.seed,
      participation: values.participation,
      ...(values.absences === undefined ? {} : { absences: values.absences }),
      standInRounds: values.standInRounds ?? defaultStandInRounds(values.algorithm),
      stragglerProbability: values.stragglers,
      stragglerSlowdown: values.stragglerSlowdown,
      computeMs: values.computeMs,
      roundDeadlineMs: values.deadlineMs ?? Infinity,
      quorum: values.quorum,
      workerLink: alternatingLinks(values.linkMbps ?? [Infinity], values.linkLatencyMs),
      aggregatorLink: { mbps: values.aggregatorMbps ?? Infinity, latencyMs: 0 },
      evalEvery: values.evalEvery,
      consensus: values.consensus,
      sliceDelta: values.sliceDelta === 'after' ? 'afterGradient' : 'beforeGradient',
      statePrecision: values.statePrecision,
    },
    task: command.opts<TaskOptions>(),
    partition,
    partitionText: values.partition,
    model: values.model,
    batchSize: values.batch,
    out: values.out,
    quiet: values.quiet,
    treeFanout: values.treeFanout,
    specs: { up, down, syncCodec: values.syncCodec },
  };
}
