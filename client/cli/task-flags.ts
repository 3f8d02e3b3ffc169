/**
 * `--task`, `--data`, `--label`, `--features`, `--image-size`, `--channels`, `--test-set`:
 * the flags that make a session train on the creator's kind of data (`liec create`, `npm
 * start`). With csv or images the creator's own file or folder defines the task spec that
 * goes into the session config (classes, input shape, features, scaling, and the SHA-256 of
 * the test set it names); see shared/data/task.ts.
 *
 * @example
 * const program = addTaskOptions(new Command('liec create'));
 * program.parse(['--task', 'csv', '--data', 'w.csv', '--label', 'weather'], { from: 'user' });
 * const config = await withTask(configFromFlags({}), program.opts<TaskOptions>());
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseSessionConfig, type SessionConfigInput } from '../../shared/protocol/session-config.ts';
import { CommandFailure, oneLine, oneOf, UsageError } from './command.ts';

export const TASKS = ['mnist', 'images', 'csv'] as const;
export type TaskName = (typeof TASKS)[number];

export interface TaskOptions {
  task: TaskName;
  data?: string;
  label?: string;
  features?: string[];
  imageSize?: { width: number; height: number };
  channels?: 1 | 3;
  /** A CSV file or image folder whose SHA-256 names the session's test set. */
  testSet?: string;
  testSetSha256?: string;
}

/** Adds the task flags to `command`. */
export function addTaskOptions(command: Command): Command {
  return command
    .addOption(
      new Option('--task <name>', 'mnist (the shipped digits) | images (a folder of class folders) | csv')
        .argParser(oneOf(TASKS))
        .default('mnist'),
    )
    .addOption(new Option('--data <path>', 'images: a folder with one subfolder per class; csv: a CSV file'))
    .addOption(new Option('--label <column>', 'csv: the label column'))
    .addOption(
      new Option(
        '--features <columns>',
        'csv: comma-separated feature columns (default: all but the label)',
      ).argParser((text) => text.split(',').map((c) => c.trim())),
    )
    .addOption(
      new Option(
        '--image-size <WxH>',
        'images: the size every image is resized to (default: 28x28)',
      ).argParser(imageSize),
    )
    .addOption(
      new Option('--channels <n>', 'images: 1 (grayscale) or 3 (RGB) (default: 1)').argParser((text) => {
        if (text !== '1' && text !== '3') throw new InvalidArgumentError('expected 1 or 3');
        return Number(text) as 1 | 3;
      }),
    )
    .addOption(
      new Option(
        '--test-set <path>',
        "csv/images: name this file or folder the session's test set (only its SHA-256 is sent); peers that hold it (liec join --test-data) report the session's accuracy on it",
      ).conflicts('testSetSha256'),
    )
    .addOption(
      new Option(
        '--test-set-sha256 <hex>',
        'the same by its SHA-256 (see client/training/test-set.ts)',
      ).argParser((text) => {
        if (!/^[0-9a-f]{64}$/.test(text)) throw new InvalidArgumentError('expected 64 lowercase hex digits');
        return text;
      }),
    );
}

/**
 * `config` with the task the flags name; for csv and images the task spec is made from the
 * creator's data. Bad flags are UsageErrors, bad data a CommandFailure naming file and row.
 */
export async function withTask(config: SessionConfigInput, opts: TaskOptions): Promise<SessionConfigInput> {
  if (opts.task === 'mnist') {
    if (opts.data !== undefined) throw new UsageError('--data needs --task images or --task csv');
    if (opts.testSet !== undefined || opts.testSetSha256 !== undefined)
      throw new UsageError('--test-set needs --task images or --task csv');
    return config;
  }
  if (opts.data === undefined) throw new UsageError(`--task ${opts.task} needs --data`);
  if (opts.task === 'csv' && opts.label === undefined)
    throw new UsageError('--task csv needs --label <column>');
  const { taskSpecFromData } = await import('../training/local-data.ts');
  let taskSpec;
  try {
    taskSpec = await taskSpecFromData({
      task: opts.task,
      data: opts.data,
      ...(opts.label === undefined ? {} : { label: opts.label }),
      ...(opts.features === undefined ? {} : { features: opts.features }),
      ...(opts.imageSize ?? {}),
      ...(opts.channels === undefined ? {} : { channels: opts.channels }),
    });
    const sha256 =
      opts.testSetSha256 ?? (opts.testSet === undefined ? undefined : await hashTestSet(opts.testSet));
    if (sha256 !== undefined) taskSpec = { ...taskSpec, testSet: { sha256 } };
  } catch (error) {
    throw new CommandFailure(oneLine(error));
  }
  // Returned unparsed: what the flags left unset follows the task (learningDefaultsOf).
  const withData = { ...config, task: opts.task, taskSpec };
  try {
    parseSessionConfig(withData);
    return withData;
  } catch (error) {
    const issue = (error as { issues?: { message: string }[] }).issues?.[0]?.message;
    throw new UsageError(`--task ${opts.task}: ${issue ?? oneLine(error)}`);
  }
}

async function hashTestSet(path: string): Promise<string> {
  const { testSetSha256 } = await import('../training/test-set.ts');
  try {
    return await testSetSha256(path);
  } catch (error) {
    throw new Error(`--test-set ${path}: ${oneLine(error)}`);
  }
}

function imageSize(text: string): { width: number; height: number } {
  const match = /^(\d+)x(\d+)$/.exec(text.trim());
  const width = Number(match?.[1]);
  const height = Number(match?.[2]);
  if (match === null || width < 1 || height < 1 || width > 512 || height > 512)
    throw new InvalidArgumentError('expected WxH such as 28x28, sides 1..512');
  return { width, height };
}
