/**
 * A peer's own data file or folder under a session's task, in Node: the creator's task
 * spec from its data (`liec create --task csv --data FILE --label COL`) and every peer's
 * examples under that spec (`liec join --data PATH`). The parsing and resizing are the
 * pure shared/data modules; this adds only reading files.
 *
 * @example
 * const spec = await taskSpecFromData({ task: 'csv', data: 'weather.csv', label: 'weather' });
 * const data = await readTaskData(spec, 'weather.csv');
 */
import { readFile } from 'node:fs/promises';
import { csvDataset, csvTaskFromTable, parseCsv } from '../../shared/data/csv.ts';
import { DataError } from '../../shared/data/data-errors.ts';
import { taskSpecSchema, type Dataset, type TaskSpec } from '../../shared/data/task.ts';
import { imageClasses, readImageFolder } from './image-folder.ts';

export interface TaskDataFlags {
  task: 'csv' | 'images';
  /** A CSV file or an image folder. */
  data: string;
  /** csv: the label column. */
  label?: string;
  /** csv: the feature columns. @default all but the label */
  features?: readonly string[];
  /** images: the input size every image is resized to. @default 28 x 28, 1 channel */
  width?: number;
  height?: number;
  channels?: 1 | 3;
}

/** Images are resized to this by default: MNIST's shape, so the built-in models fit. */
export const DEFAULT_IMAGE_SHAPE = { width: 28, height: 28, channels: 1 } as const;

/** The task spec a creator puts in the session config, from its own data. */
export async function taskSpecFromData(flags: TaskDataFlags): Promise<TaskSpec> {
  switch (flags.task) {
    case 'csv': {
      if (flags.label === undefined)
        throw new DataError('BAD_TASK', flags.data, 'a csv task needs a label column');
      const table = parseCsv(await readText(flags.data), flags.data);
      const spec = csvTaskFromTable(table, {
        label: flags.label,
        ...(flags.features === undefined ? {} : { features: flags.features }),
      });
      return checked(spec, flags.data);
    }
    case 'images': {
      const classes = await imageClasses(flags.data);
      if (classes.length < 2)
        throw new DataError(
          'BAD_TASK',
          flags.data,
          `${classes.length} class folder; a task needs at least 2`,
        );
      return checked(
        {
          kind: 'images',
          width: flags.width ?? DEFAULT_IMAGE_SHAPE.width,
          height: flags.height ?? DEFAULT_IMAGE_SHAPE.height,
          channels: flags.channels ?? DEFAULT_IMAGE_SHAPE.channels,
          classes,
        },
        flags.data,
      );
    }
    default: {
      const unreachable: never = flags.task;
      return unreachable;
    }
  }
}

/** The examples of `path` under `spec`. */
export async function readTaskData(spec: TaskSpec, path: string): Promise<Dataset> {
  switch (spec.kind) {
    case 'csv':
      return csvDataset(parseCsv(await readText(path), path), spec);
    case 'images':
      return readImageFolder(path, spec);
    default: {
      const unreachable: never = spec;
      return unreachable;
    }
  }
}

function checked(spec: TaskSpec, source: string): TaskSpec {
  const parsed = taskSpecSchema.safeParse(spec);
  if (!parsed.success)
    throw new DataError(
      'BAD_TASK',
      source,
      parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
    );
  return parsed.data;
}

async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    throw new DataError(
      'NO_DATA',
      file,
      `cannot read the file: ${error instanceof Error ? error.message : String(error)}`,
    );
  }
}
