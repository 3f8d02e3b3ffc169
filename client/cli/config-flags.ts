/**
 * The session config as command-line flags, for `liec create`, `npm start` and `npm run
 * chaos`: one table gives each flag its config field, its help text and its default (read
 * from the schema's own defaults, DEFAULT_SESSION_CONFIG), so the help and the parsing cannot
 * disagree. Values are checked by the same zod schema the signaling server applies
 * (parseSessionConfig); a zod issue becomes one line naming the flag and its value.
 *
 * @example
 * const program = addConfigOptions(new Command('liec create'));
 * program.parse(argv, { from: 'user' });
 * const config = configFromFlags(configFlagValues(program)); // throws UsageError
 */
import { Option, type Command } from 'commander';
import {
  DEFAULT_SESSION_CONFIG,
  parseSessionConfig,
  sessionConfigSchema,
  type SessionConfig,
  type SessionConfigInput,
} from '../../shared/protocol/session-config.ts';
import { CONSERVATIVE_LEARNING_DEFAULTS, TUNED_LEARNING_DEFAULTS } from '../../shared/defaults.ts';
import { UsageError } from './command.ts';

export interface ConfigFlag {
  /** The flag without its dashes. */
  flag: string;
  /** The session config field it sets. */
  field: keyof SessionConfig;
  /** The value's placeholder in the help. */
  arg: string;
  description: string;
  /** Parsed with Number() before the schema sees it. */
  numeric?: boolean;
  /** Shown instead of the schema default (when the default depends on other flags). */
  defaultText?: string;
}

/** The default of a setting that follows what the session trains (learningDefaultsOf). */
function tunedOr(setting: 'learningRate' | 'localSteps' | 'codec'): string {
  const tuned = TUNED_LEARNING_DEFAULTS[setting];
  const conservative = CONSERVATIVE_LEARNING_DEFAULTS[setting];
  return `${tuned} for liec on the built-in mlp and digits, else ${conservative}`;
}

export const CONFIG_FLAGS: readonly ConfigFlag[] = [
  {
    flag: 'algorithm',
    field: 'algorithm',
    arg: 'name',
    description: 'sgd | ef-sgd | doublesqueeze | liec | fedavg | diloco | sparseloco',
  },
  {
    flag: 'local-steps',
    field: 'localSteps',
    arg: 'h',
    description: 'fedavg, diloco, sparseloco, liec: local optimizer steps per round',
    numeric: true,
    defaultText: tunedOr('localSteps'),
  },
  {
    flag: 'model',
    field: 'model',
    arg: 'name',
    description:
      'mlp | mlp-large | mlp-xlarge | cnn (liec create: or DIR, a TF.js Layers model as tf.LayersModel.save writes it)',
  },
  {
    flag: 'up',
    field: 'up',
    arg: 'spec',
    description:
      'worker->aggregator codec: identity, fp16, topk:R[:f32|:sign], randk:R, sign[:B], qsgd:S, q8[:B], q4, topk:auto[:MIN:MAX]',
    defaultText: tunedOr('codec'),
  },
  {
    flag: 'down',
    field: 'down',
    arg: 'spec',
    description: 'aggregator->worker codec',
    defaultText: 'same as --up; ef-sgd: identity',
  },
  { flag: 'rounds', field: 'rounds', arg: 'n', description: 'rounds to train', numeric: true },
  {
    flag: 'lr',
    field: 'learningRate',
    arg: 'x',
    description: 'learning rate',
    numeric: true,
    defaultText: tunedOr('learningRate'),
  },
  {
    flag: 'momentum',
    field: 'momentum',
    arg: 'x',
    description: 'heavy-ball momentum in [0, 1)',
    numeric: true,
  },
  { flag: 'weight-decay', field: 'weightDecay', arg: 'x', description: 'L2 weight decay', numeric: true },
  {
    flag: 'batch',
    field: 'batchSize',
    arg: 'n',
    description: 'local batch size per peer and round',
    numeric: true,
  },
  {
    flag: 'deadline-ms',
    field: 'roundDeadlineMs',
    arg: 'ms',
    description: 'how long a round waits for uploads',
    numeric: true,
  },
  {
    flag: 'quorum',
    field: 'quorum',
    arg: 'q',
    description: 'fraction in (0, 1] of live workers a round needs',
    numeric: true,
  },
  {
    flag: 'sync',
    field: 'syncPeriod',
    arg: 'h',
    description: 'LIEC: rounds between model syncs',
    numeric: true,
  },
  {
    flag: 'sync-codec',
    field: 'syncCodec',
    arg: 'spec',
    description: 'LIEC: codec of the sync deltas: identity, sign:256, q4, q8',
  },
  {
    flag: 'sync-drift',
    field: 'syncDriftThreshold',
    arg: 'x',
    description: 'LIEC: also sync when the relative drift exceeds x (0: off)',
    numeric: true,
  },
  {
    flag: 'sync-mode',
    field: 'syncMode',
    arg: 'mode',
    description: 'LIEC: full (a sync every h rounds) | rolling (1/h of the model every round)',
  },
  {
    flag: 'compensation',
    field: 'compensation',
    arg: 'a',
    description: 'LIEC: share of its own residual a worker applies: auto | a number in [0, 1]',
  },
  {
    flag: 'aggregation',
    field: 'aggregation',
    arg: 'a',
    description: 'mean | median | trimmed:F (robust ones need a dense --up codec)',
  },
  {
    flag: 'stand-in-rounds',
    field: 'standInRounds',
    arg: 'n',
    description: "rounds an absent worker's average upload stands in for it, 0 = none (liec: 100)",
    numeric: true,
  },
  { flag: 'partition', field: 'partition', arg: 'p', description: 'iid | dirichlet:ALPHA | shards:K' },
  {
    flag: 'min-peers',
    field: 'minPeers',
    arg: 'n',
    description: 'training starts once this many peers are present',
    numeric: true,
  },
  {
    flag: 'data-shards',
    field: 'dataShards',
    arg: 'n',
    description: 'parts the training set is split into',
    numeric: true,
  },
  {
    flag: 'eval-every',
    field: 'evalEvery',
    arg: 'n',
    description: 'the aggregator measures test accuracy every n rounds',
    numeric: true,
  },
  { flag: 'seed', field: 'seed', arg: 'n', description: 'seed of every random choice', numeric: true },
];

export type ConfigFlagName = (typeof CONFIG_FLAGS)[number]['flag'];
/** Flag values as typed on the command line, by flag name ("deadline-ms"). */
export type ConfigFlagValues = Partial<Record<string, string>>;

/** A changed default of one flag for one command (`npm start` trains 300 rounds). */
export interface FlagDefault {
  value?: string;
  text?: string;
}

/** Adds every config flag (but those in `omit`) to `command`, with its default in the help. */
export function addConfigOptions(
  command: Command,
  defaults: Record<string, FlagDefault> = {},
  omit: readonly string[] = [],
): Command {
  for (const spec of CONFIG_FLAGS) {
    if (omit.includes(spec.flag)) continue;
    const override = defaults[spec.flag];
    const option = new Option(`--${spec.flag} <${spec.arg}>`, spec.description);
    const text = override?.text ?? spec.defaultText;
    const value =
      override?.value ?? (text === undefined ? String(DEFAULT_SESSION_CONFIG[spec.field]) : undefined);
    if (value !== undefined) option.default(value, text ?? value);
    else if (text !== undefined) option.description = `${spec.description} (default: ${text})`;
    command.addOption(option);
  }
  return command;
}

/** The config flags' values from a parsed command, by flag name. */
export function configFlagValues(command: Command): ConfigFlagValues {
  const opts = command.opts<Record<string, unknown>>();
  const values: ConfigFlagValues = {};
  for (const spec of CONFIG_FLAGS) {
    const value = opts[camel(spec.flag)];
    if (typeof value === 'string') values[spec.flag] = value;
  }
  return values;
}

/**
 * Maps flag values to a full session config, checked by the server's schema; throws a
 * UsageError naming the flag and the value at fault.
 */
export function configFromFlags(values: ConfigFlagValues): SessionConfig {
  return parseSessionConfig(configInputFromFlags(values));
}

/**
 * The session config input the flags give (what they leave unset stays unset: the learning
 * settings then follow the model and task added later, learningDefaultsOf), checked as
 * configFromFlags checks it.
 */
export function configInputFromFlags(values: ConfigFlagValues): SessionConfigInput {
  const input: Record<string, unknown> = {};
  for (const spec of CONFIG_FLAGS) {
    const text = values[spec.flag];
    if (text === undefined) continue;
    input[spec.field] = spec.numeric === true ? toNumber(text) : text;
  }
  if (values['compensation'] !== undefined && values['compensation'] !== 'auto')
    input['compensation'] = toNumber(values['compensation']);
  if (values['down'] === undefined) {
    const derived = values['algorithm'] === 'ef-sgd' ? 'identity' : values['up'];
    if (derived !== undefined) input['down'] = derived;
  }
  const parsed = sessionConfigSchema.safeParse(input);
  if (parsed.success) return input;
  const issue = parsed.error.issues[0];
  const field = issue?.path[0];
  const spec = CONFIG_FLAGS.find((s) => s.field === field);
  if (spec !== undefined) {
    // A derived --down is the --up value at fault.
    const flag = spec.flag === 'down' && values['down'] === undefined ? flagOf('up') : spec;
    const message = (issue?.message ?? '').replace(/^Invalid input(: )?/, '');
    throw new UsageError(
      `option '--${flag.flag} <${flag.arg}>' argument '${values[flag.flag] ?? ''}' is invalid. ${message === '' ? `expected ${flag.description}` : message}`,
    );
  }
  const given = CONFIG_FLAGS.filter((s) => values[s.flag] !== undefined && !isDefault(s, values[s.flag]))
    .map((s) => `--${s.flag} ${values[s.flag] ?? ''}`)
    .join(' ');
  throw new UsageError(
    `invalid session config${given === '' ? '' : ` (${given})`}: ${withFlagNames(issue?.message ?? 'invalid')}`,
  );
}

/** Replaces config field names in a message by their flags ("syncPeriod >= 2" -> "--sync >= 2"). */
export function withFlagNames(message: string): string {
  let text = message;
  for (const spec of CONFIG_FLAGS)
    if (spec.field !== spec.flag)
      text = text.replace(new RegExp(`\\b${spec.field}\\b`, 'g'), `--${spec.flag}`);
  return text;
}

function flagOf(flag: string): ConfigFlag {
  const spec = CONFIG_FLAGS.find((s) => s.flag === flag);
  if (spec === undefined) throw new Error(`no config flag --${flag}`);
  return spec;
}

function isDefault(spec: ConfigFlag, text: string | undefined): boolean {
  return spec.defaultText === undefined && text === String(DEFAULT_SESSION_CONFIG[spec.field]);
}

/** Number(), except that an empty or blank value is not 0. */
function toNumber(text: string): number {
  return text.trim() === '' ? Number.NaN : Number(text);
}

function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}
