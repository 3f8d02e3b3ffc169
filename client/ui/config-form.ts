/**
 * The create form's fields: every session setting of shared/protocol/session-config.ts, with
 * its label, input kind, suggestions and default (read from DEFAULT_SESSION_CONFIG), grouped
 * as the form shows them; and the reading of the filled form into a config, validated with
 * the same schema the server uses. Pure (no DOM), so it is tested in Node.
 *
 * @example
 * const result = readConfigForm((name) => form.get(name));
 * if (result.ok) create(result.config); else show(result.issues);
 */
import {
  CONSERVATIVE_LEARNING_DEFAULTS,
  DEFAULT_STAND_IN_ROUNDS,
  TUNED_LEARNING_DEFAULTS,
} from '../../shared/defaults.ts';
import {
  DEFAULT_SESSION_CONFIG,
  sessionConfigSchema,
  type SessionConfig,
} from '../../shared/protocol/session-config.ts';

export type ConfigField = keyof SessionConfig;

const TUNED_LEARNING_DEFAULTS_TEXT = (() => {
  const tuned = TUNED_LEARNING_DEFAULTS;
  const other = CONSERVATIVE_LEARNING_DEFAULTS;
  return `liec on the built-in mlp and digits: lr ${tuned.learningRate}, ${tuned.localSteps} steps, ${tuned.codec}; else lr ${other.learningRate}, ${other.localSteps} step, ${other.codec}`;
})();

interface FieldBase {
  name: ConfigField;
  label: string;
  /** One line under the label's tooltip: what the setting does. */
  hint: string;
}
export type FieldSpec = FieldBase &
  (
    | { kind: 'select'; options: readonly string[] }
    | { kind: 'number'; min?: number; max?: number; step: number | 'any' }
    /** Free text with suggestions (a datalist), e.g. compressor specs. */
    | { kind: 'text'; suggestions: readonly string[] }
  );

export interface FieldGroup {
  title: string;
  fields: readonly FieldSpec[];
}

/** "auto" in these leaves the choice to the session: the setting tuned for liec on the built-in mlp and digits, else the conservative one (learningDefaultsOf); stand-ins for liec only. */
const AUTO_FIELDS: ReadonlySet<ConfigField> = new Set([
  'learningRate',
  'localSteps',
  'up',
  'down',
  'standInRounds',
]);
/** Text fields holding a number unless "auto". */
const NUMBER_OR_AUTO: ReadonlySet<ConfigField> = new Set([
  'learningRate',
  'localSteps',
  'compensation',
  'standInRounds',
]);
const AUTO_HINT = `"auto": ${TUNED_LEARNING_DEFAULTS_TEXT}`;

const COMPRESSORS = [
  'auto',
  'topk:0.01',
  'topk:0.1',
  'topk:0.01:sign',
  'randk:0.01',
  'sign',
  'qsgd:16',
  'q8',
  'fp16',
  'identity',
];

export const CONFIG_FORM: readonly FieldGroup[] = [
  {
    title: 'Training',
    fields: [
      { name: 'task', label: 'Task', hint: 'What is learned', kind: 'select', options: ['mnist'] },
      {
        name: 'model',
        label: 'Model',
        hint: 'The network every peer trains',
        kind: 'select',
        options: ['mlp', 'mlp-large', 'mlp-xlarge', 'cnn'],
      },
      {
        name: 'algorithm',
        label: 'Algorithm',
        hint: 'liec, or a baseline on the same engine',
        kind: 'select',
        options: ['liec', 'sgd', 'ef-sgd', 'doublesqueeze', 'fedavg', 'diloco', 'sparseloco'],
      },
      {
        name: 'localSteps',
        label: 'Local steps',
        hint: `fedavg, diloco, sparseloco, liec: local steps per exchange; ${AUTO_HINT}`,
        kind: 'text',
        suggestions: ['auto', '1', '2', '4'],
      },
      { name: 'rounds', label: 'Rounds', hint: 'Rounds to train', kind: 'number', min: 1, step: 1 },
      {
        name: 'learningRate',
        label: 'Learning rate',
        hint: `Step size of every local optimizer; ${AUTO_HINT}`,
        kind: 'text',
        suggestions: ['auto', '0.1', '0.3', '0.6'],
      },
      {
        name: 'momentum',
        label: 'Momentum',
        hint: 'Heavy-ball momentum, in [0, 1)',
        kind: 'number',
        min: 0,
        max: 0.999,
        step: 'any',
      },
      {
        name: 'weightDecay',
        label: 'Weight decay',
        hint: 'L2 weight decay, in [0, 1]',
        kind: 'number',
        min: 0,
        max: 1,
        step: 'any',
      },
      {
        name: 'batchSize',
        label: 'Batch size',
        hint: 'Examples per worker and round',
        kind: 'number',
        min: 1,
        max: 4096,
        step: 1,
      },
    ],
  },
  {
    title: 'Compression and sync',
    fields: [
      {
        name: 'up',
        label: 'Compressor up',
        hint: `Workers to the aggregator; ${AUTO_HINT}`,
        kind: 'text',
        suggestions: [...COMPRESSORS, 'topk:auto'],
      },
      {
        name: 'down',
        label: 'Compressor down',
        hint: `The aggregator to the workers; ${AUTO_HINT}`,
        kind: 'text',
        suggestions: COMPRESSORS,
      },
      {
        name: 'syncMode',
        label: 'Sync mode',
        hint: 'full: a sync phase every period; rolling: a slice every round',
        kind: 'select',
        options: ['full', 'rolling'],
      },
      {
        name: 'syncPeriod',
        label: 'Sync period (rounds)',
        hint: 'Rounds between model syncs',
        kind: 'number',
        min: 1,
        step: 1,
      },
      {
        name: 'syncCodec',
        label: 'Sync codec',
        hint: 'Codec of the sync deltas',
        kind: 'text',
        suggestions: ['sign:256', 'q8', 'q4', 'identity'],
      },
      {
        name: 'compensation',
        label: 'Compensation',
        hint: '"auto" or a share in [0, 1] of its residual a worker applies at once',
        kind: 'text',
        suggestions: ['auto', '0', '0.5', '1'],
      },
      {
        name: 'syncDriftThreshold',
        label: 'Sync drift threshold',
        hint: 'Relative drift that triggers an early sync; 0 = clock only',
        kind: 'number',
        min: 0,
        step: 'any',
      },
    ],
  },
  {
    title: 'Rounds and aggregation',
    fields: [
      {
        name: 'roundDeadlineMs',
        label: 'Round deadline (ms)',
        hint: 'How long a round waits for uploads',
        kind: 'number',
        min: 1,
        step: 1,
      },
      {
        name: 'quorum',
        label: 'Quorum (fraction)',
        hint: 'Share of live workers a round needs',
        kind: 'number',
        min: 0.01,
        max: 1,
        step: 'any',
      },
      {
        name: 'minPeers',
        label: 'Start with peers',
        hint: 'Round 0 waits for this many peers',
        kind: 'number',
        min: 1,
        step: 1,
      },
      {
        name: 'evalEvery',
        label: 'Evaluate every (rounds)',
        hint: 'Rounds between test accuracy measurements',
        kind: 'number',
        min: 1,
        step: 1,
      },
      {
        name: 'aggregation',
        label: 'Aggregation',
        hint: 'mean, or median / trimmed:F against poisoned workers (dense uploads)',
        kind: 'text',
        suggestions: ['mean', 'median', 'trimmed:0.1'],
      },
      {
        name: 'standInRounds',
        label: 'Stand-in rounds',
        hint: `Rounds an absent worker's average upload stands in for it; 0 = none; "auto": ${DEFAULT_STAND_IN_ROUNDS} for liec, 0 for the baselines`,
        kind: 'text',
        suggestions: ['auto', '0', '50', '100'],
      },
    ],
  },
  {
    title: 'Data',
    fields: [
      {
        name: 'partition',
        label: 'Partition',
        hint: 'How the data is split: iid, dirichlet:<alpha> or shards:<k>',
        kind: 'text',
        suggestions: ['iid', 'dirichlet:0.1', 'dirichlet:1', 'shards:2'],
      },
      {
        name: 'dataShards',
        label: 'Data shards',
        hint: 'Parts of the training set; a peer trains on one',
        kind: 'number',
        min: 1,
        max: 1000,
        step: 1,
      },
      {
        name: 'seed',
        label: 'Seed',
        hint: 'Seed of every random choice in the session',
        kind: 'number',
        min: 0,
        step: 1,
      },
    ],
  },
];

export const CONFIG_FIELDS: readonly FieldSpec[] = CONFIG_FORM.flatMap((g) => g.fields);

/** The form's initial text of a field: the recommended default. */
export function defaultFieldValue(name: ConfigField): string {
  return AUTO_FIELDS.has(name) ? 'auto' : String(DEFAULT_SESSION_CONFIG[name]);
}

export function fieldLabel(name: string): string {
  return CONFIG_FIELDS.find((f) => f.name === name)?.label ?? name;
}

export interface ConfigIssue {
  /** The field it is about; null for a rule across fields (e.g. ef-sgd needs down "identity"). */
  field: ConfigField | null;
  message: string;
}

export type ConfigFormResult = { ok: true; config: SessionConfig } | { ok: false; issues: ConfigIssue[] };

function isField(name: unknown): name is ConfigField {
  return CONFIG_FIELDS.some((f) => f.name === name);
}

/**
 * Reads every field (`value(name)` gives its text, null when absent) into a config and checks
 * it with sessionConfigSchema (what parseSessionConfig and the server apply). Empty or
 * non-numeric numbers are issues of their own, not zeros.
 */
export function readConfigForm(value: (name: ConfigField) => string | null): ConfigFormResult {
  const candidate: Record<string, unknown> = {};
  const issues: ConfigIssue[] = [];
  for (const field of CONFIG_FIELDS) {
    const text = (value(field.name) ?? '').trim();
    if (AUTO_FIELDS.has(field.name) && text === 'auto') continue; // learningDefaultsOf decides
    if (field.kind === 'number' || NUMBER_OR_AUTO.has(field.name)) {
      if (field.name === 'compensation' && text === 'auto') {
        candidate[field.name] = 'auto';
        continue;
      }
      if (text === '') {
        issues.push({ field: field.name, message: 'required' });
        continue;
      }
      const number = Number(text);
      if (!Number.isFinite(number)) {
        const expected = field.kind === 'text' ? '"auto" or a number' : 'a number';
        issues.push({ field: field.name, message: `expected ${expected}, got "${text}"` });
        continue;
      }
      candidate[field.name] = number;
    } else {
      candidate[field.name] = text;
    }
  }
  // The fields read so far are checked too (the unreadable ones left to their defaults), so
  // every mistake shows at once.
  const parsed = sessionConfigSchema.safeParse(candidate);
  if (parsed.success && issues.length === 0) return { ok: true, config: parsed.data };
  const schemaIssues = parsed.success
    ? []
    : parsed.error.issues.map((issue): ConfigIssue => {
        const [first] = issue.path;
        return { field: isField(first) ? first : null, message: issue.message };
      });
  // A rule across fields judged with a default in place of an unreadable field says nothing.
  const relevant = issues.length === 0 ? schemaIssues : schemaIssues.filter((i) => i.field !== null);
  return { ok: false, issues: [...issues, ...relevant] };
}

/** One line per issue, naming the field by its label. */
export function describeIssue(issue: ConfigIssue): string {
  return issue.field === null ? issue.message : `${fieldLabel(issue.field)}: ${issue.message}`;
}
