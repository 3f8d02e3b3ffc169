/**
 * CSV files as labelled examples, pure (a browser feeds it the text of a picked file):
 * RFC 4180 parsing (quoted fields, "" inside quotes, commas and newlines in quotes, CRLF),
 * a header row, a named label column and numeric feature columns chosen by name or all but
 * the label; then the task's scaling (see task.ts for why the creator's statistics).
 *
 * Row numbers in errors are the file's line numbers (the header is line 1), so "row 7" is
 * what an editor shows.
 *
 * @example
 * const table = parseCsv(text, 'weather.csv');
 * const spec = csvTaskFromTable(table, { label: 'weather', features: ['wind', 'temp_max'] });
 * const data = csvDataset(table, spec); // inputs already standardized by spec.scaling
 */
import { DataError } from './data-errors.ts';
import type { CsvTask, Dataset } from './task.ts';
import { MAX_CLASSES } from './task.ts';

export interface CsvTable {
  file: string;
  header: string[];
  /** Data rows (the header excluded), each with its line number in the file. */
  rows: { line: number; cells: string[] }[];
}

/** Splits `text` into a header and rows; throws DataError BAD_CSV or NO_DATA naming the line. */
export function parseCsv(text: string, file: string): CsvTable {
  const records: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let quoteLine = 1;
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text; // a byte-order mark
  const endRecord = () => {
    cells.push(cell);
    // A blank line is not a record (spreadsheets end files with one).
    if (!(cells.length === 1 && cells[0] === '')) records.push({ line: recordLine, cells });
    cells = [];
    cell = '';
  };
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (quoted) {
      if (c === '"') {
        if (body[i + 1] === '"') {
          cell += '"';
          i++;
        } else quoted = false;
      } else {
        if (c === '\n') line++;
        cell += c;
      }
    } else if (c === '"' && cell === '') {
      quoted = true;
      quoteLine = line;
    } else if (c === ',') {
      cells.push(cell);
      cell = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && body[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else cell += c;
  }
  if (quoted) throw new DataError('BAD_CSV', file, `row ${quoteLine}: a quoted field is never closed`);
  if (cell !== '' || cells.length > 0) endRecord();
  const [head, ...rows] = records;
  if (head === undefined) throw new DataError('NO_DATA', file, 'the file is empty (no header row)');
  const header = head.cells.map((h) => h.trim());
  for (const row of rows) {
    if (row.cells.length !== header.length)
      throw new DataError(
        'BAD_CSV',
        file,
        `row ${row.line}: ${row.cells.length} fields, the header has ${header.length}`,
      );
  }
  if (rows.length === 0) throw new DataError('NO_DATA', file, 'no data rows after the header');
  return { file, header, rows };
}

export interface CsvColumns {
  /** The label column's name. */
  label: string;
  /** Feature columns by name, in input order. @default every column but the label */
  features?: readonly string[];
}

/**
 * The creator's task spec from its own file: the columns, the classes (the label values,
 * sorted) and the scaling (mean and standard deviation of each feature over the file).
 */
export function csvTaskFromTable(table: CsvTable, columns: CsvColumns): CsvTask {
  const features = columns.features ?? table.header.filter((h) => h !== columns.label);
  const raw = rawExamples(table, columns.label, features, null);
  if (raw.classes.length < 2)
    throw new DataError(
      'BAD_TASK',
      table.file,
      `column "${columns.label}" has ${raw.classes.length} distinct value(s); a task needs at least 2 classes`,
    );
  const n = raw.labels.length;
  const d = features.length;
  const mean = new Array<number>(d).fill(0);
  const scale = new Array<number>(d).fill(0);
  for (let r = 0; r < n; r++)
    for (let j = 0; j < d; j++) mean[j] = (mean[j] ?? 0) + (raw.inputs[r * d + j] ?? 0) / n;
  for (let r = 0; r < n; r++)
    for (let j = 0; j < d; j++)
      scale[j] = (scale[j] ?? 0) + ((raw.inputs[r * d + j] ?? 0) - (mean[j] ?? 0)) ** 2 / n;
  return {
    kind: 'csv',
    label: columns.label,
    features: [...features],
    classes: raw.classes,
    scaling: {
      mean,
      // A constant column keeps its values' offset removed and is not blown up.
      scale: scale.map((v) => (Math.sqrt(v) > 1e-12 ? Math.sqrt(v) : 1)),
    },
  };
}

/** A peer's examples under the session's task: its columns, its classes, its scaling. */
export function csvDataset(table: CsvTable, spec: CsvTask): Dataset {
  const raw = rawExamples(table, spec.label, spec.features, spec.classes);
  const d = spec.features.length;
  const { mean, scale } = spec.scaling;
  for (let r = 0; r < raw.labels.length; r++)
    for (let j = 0; j < d; j++) {
      const k = r * d + j;
      raw.inputs[k] = ((raw.inputs[k] ?? 0) - (mean[j] ?? 0)) / (scale[j] ?? 1);
    }
  return {
    inputs: raw.inputs,
    labels: raw.labels,
    inputSize: d,
    numClasses: spec.classes.length,
    source: table.file,
  };
}

/**
 * Unscaled inputs and label indices. `classes` null: the classes are the sorted distinct
 * label values; else a label outside them is an error naming the row.
 */
function rawExamples(
  table: CsvTable,
  label: string,
  features: readonly string[],
  classes: readonly string[] | null,
): { inputs: Float32Array; labels: Uint8Array; classes: string[] } {
  const { file, header } = table;
  const column = (name: string, what: string): number => {
    const index = header.indexOf(name);
    if (index === -1)
      throw new DataError(
        'MISSING_COLUMN',
        file,
        `no ${what} column "${name}" in the header (${header.join(', ')})`,
      );
    return index;
  };
  const labelAt = column(label, 'label');
  if (features.length === 0) throw new DataError('MISSING_COLUMN', file, 'no feature columns');
  const featureAt = features.map((f) => {
    if (f === label) throw new DataError('BAD_TASK', file, `column "${f}" is both the label and a feature`);
    return column(f, 'feature');
  });
  const values = table.rows.map((row) => (row.cells[labelAt] ?? '').trim());
  values.forEach((value, r) => {
    if (value === '')
      throw new DataError(
        'EMPTY_LABEL',
        file,
        `row ${table.rows[r]?.line ?? '?'}: no value in label column "${label}"`,
      );
  });
  const names = classes ?? [...new Set(values)].sort();
  if (names.length > MAX_CLASSES)
    throw new DataError(
      'BAD_TASK',
      file,
      `column "${label}" has ${names.length} distinct values; at most ${MAX_CLASSES} classes`,
    );
  const indexOf = new Map(names.map((c, i) => [c, i]));
  const d = features.length;
  const inputs = new Float32Array(table.rows.length * d);
  const labels = new Uint8Array(table.rows.length);
  table.rows.forEach((row, r) => {
    const index = indexOf.get(values[r] ?? '');
    if (index === undefined)
      throw new DataError(
        'UNKNOWN_CLASS',
        file,
        `row ${row.line}: label "${values[r] ?? ''}" is not one of the task's classes (${names.join(', ')})`,
      );
    labels[r] = index;
    featureAt.forEach((at, j) => {
      const text = (row.cells[at] ?? '').trim();
      const value = text === '' ? Number.NaN : Number(text);
      if (!Number.isFinite(value))
        throw new DataError(
          'NOT_NUMERIC',
          file,
          `row ${row.line}, column "${features[j] ?? ''}": "${text}" is not a number`,
        );
      inputs[r * d + j] = value;
    });
  });
  return { inputs, labels, classes: [...names] };
}
