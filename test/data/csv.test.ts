/**
 * CSV tasks: RFC 4180 parsing, the creator's task spec (classes, features, standardization),
 * a peer's examples under it, and every bad-data case as a coded error naming the file and
 * the row: a missing label column, a non-numeric feature, an empty label, a class the task
 * does not list, a broken row. Plus the session config's checks of task against model, and
 * `liec create --task csv` on the real seattle-weather.csv of vega-datasets.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { main as createMain } from '../../client/cli/create.ts';
import { createModel } from '../../client/training/model.ts';
import { TrainingError } from '../../client/training/errors.ts';
import { csvDataset, csvTaskFromTable, parseCsv } from '../../shared/data/csv.ts';
import { DataError } from '../../shared/data/data-errors.ts';
import { splitLocalData } from '../../shared/data/local-split.ts';
import { parseSessionConfig } from '../../shared/protocol/session-config.ts';
import { captureIo } from '../cli/capture.ts';

const WEATHER = 'node_modules/vega-datasets/data/seattle-weather.csv';

function fails(code: string, where: RegExp, run: () => unknown): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof DataError, String(error));
    assert.equal(error.code, code);
    assert.match(error.message, where);
    return true;
  });
}

test('parseCsv: quotes, doubled quotes, commas and newlines in quotes, CRLF, BOM, blank last line', () => {
  const text = '\ufeffname,"x, y",label\r\n"a ""b""",1.5,yes\r\n"multi\nline",2,no\r\n\r\n';
  const table = parseCsv(text, 'q.csv');
  assert.deepEqual(table.header, ['name', 'x, y', 'label']);
  assert.deepEqual(
    table.rows.map((r) => [r.line, r.cells]),
    [
      [2, ['a "b"', '1.5', 'yes']],
      [3, ['multi\nline', '2', 'no']],
    ],
  );
  fails('BAD_CSV', /q\.csv: row 3: 2 fields/, () => parseCsv('a,b,c\n1,2,3\n1,2\n', 'q.csv'));
  fails('BAD_CSV', /row 2: a quoted field is never closed/, () => parseCsv('a,b\n"1,2\n', 'q.csv'));
  fails('NO_DATA', /q\.csv/, () => parseCsv('a,b\n', 'q.csv'));
});

test('task spec from the creator file: sorted classes, all-but-label features, standardization every peer applies', () => {
  const creator = parseCsv('f1,label,f2\n1,b,10\n3,a,10\n5,b,10\n', 'creator.csv');
  const spec = csvTaskFromTable(creator, { label: 'label' });
  assert.deepEqual(spec.features, ['f1', 'f2']);
  assert.deepEqual(spec.classes, ['a', 'b']);
  assert.deepEqual(spec.scaling.mean, [3, 10]);
  assert.ok(Math.abs((spec.scaling.scale[0] ?? 0) - Math.sqrt(8 / 3)) < 1e-12);
  assert.equal(spec.scaling.scale[1], 1, 'a constant column is not divided by 0');
  const own = csvDataset(creator, spec);
  assert.deepEqual([...own.labels], [1, 0, 1]);
  // Another peer's rows, other column order, one class only: the creator's transform.
  const peer = csvDataset(parseCsv('label,f2,f1\nb,12,3\n', 'peer.csv'), spec);
  assert.equal(peer.inputSize, 2);
  assert.deepEqual([...peer.inputs], [0, 2]);
  assert.deepEqual([...peer.labels], [1]);
});

test('bad data: missing label column, non-numeric feature, empty label, unknown class, bad task', () => {
  const table = parseCsv('a,b,label\n1,2,x\n3,oops,y\n', 'bad.csv');
  fails('MISSING_COLUMN', /bad\.csv: no label column "kind"/, () =>
    csvTaskFromTable(table, { label: 'kind' }),
  );
  fails('MISSING_COLUMN', /no feature column "c"/, () =>
    csvTaskFromTable(table, { label: 'label', features: ['a', 'c'] }),
  );
  fails('NOT_NUMERIC', /bad\.csv: row 3, column "b": "oops" is not a number/, () =>
    csvTaskFromTable(table, { label: 'label' }),
  );
  const spec = csvTaskFromTable(table, { label: 'label', features: ['a'] });
  fails('NOT_NUMERIC', /peer\.csv: row 2, column "a": "" is not a number/, () =>
    csvDataset(parseCsv('a,label\n,x\n', 'peer.csv'), spec),
  );
  fails('EMPTY_LABEL', /peer\.csv: row 3: no value in label column "label"/, () =>
    csvDataset(parseCsv('a,label\n1,x\n2, \n', 'peer.csv'), spec),
  );
  fails('UNKNOWN_CLASS', /peer\.csv: row 2: label "z"/, () =>
    csvDataset(parseCsv('a,label\n1,z\n', 'peer.csv'), spec),
  );
  fails('BAD_TASK', /1 distinct value/, () =>
    csvTaskFromTable(parseCsv('a,l\n1,x\n2,x\n', 'one.csv'), { label: 'l' }),
  );
});

test('session config: a csv task needs its spec; cnn refuses inputs that are not 28x28x1; so does the model', () => {
  const table = parseCsv('a,b,label\n1,2,x\n3,4,y\n', 't.csv');
  const taskSpec = csvTaskFromTable(table, { label: 'label' });
  assert.equal(parseSessionConfig({ task: 'csv', taskSpec }).taskSpec?.kind, 'csv');
  assert.throws(() => parseSessionConfig({ task: 'csv' }), /needs a taskSpec/);
  assert.throws(() => parseSessionConfig({ task: 'images', taskSpec }), /task images with a csv taskSpec/);
  assert.throws(
    () => parseSessionConfig({ task: 'csv', taskSpec, model: 'cnn' }),
    /cnn takes 28x28 grayscale/,
  );
  assert.throws(
    () => createModel({ arch: 'cnn', seed: 1, io: { inputSize: 2, numClasses: 2 } }),
    (error: unknown) => error instanceof TrainingError && error.code === 'BAD_OPTION',
  );
});

test('seattle-weather.csv: liec create --task csv reads it; all-but-label hits the date column, named', async () => {
  const table = parseCsv(await readFile(WEATHER, 'utf8'), WEATHER);
  assert.equal(table.rows.length, 1461);
  const features = ['precipitation', 'temp_max', 'temp_min', 'wind'];
  const spec = csvTaskFromTable(table, { label: 'weather', features });
  assert.deepEqual(spec.classes, ['drizzle', 'fog', 'rain', 'snow', 'sun']);
  const data = csvDataset(table, spec);
  // Standardized by the file's own statistics: mean 0 and variance 1 per feature.
  for (let j = 0; j < 4; j++) {
    let sum = 0;
    let squares = 0;
    for (let r = 0; r < 1461; r++) {
      const v = data.inputs[r * 4 + j] ?? 0;
      sum += v;
      squares += v * v;
    }
    assert.ok(Math.abs(sum / 1461) < 1e-5 && Math.abs(squares / 1461 - 1) < 1e-4, spec.features[j]);
  }
  const split = splitLocalData(data.labels, { seed: 5, validationFraction: 0.2 });
  assert.equal(split.train.length + split.validation.length, 1461);
  assert.ok(
    split.validation.some((i) => data.labels[i] === 3),
    'the rare class (snow, 26 rows) is validated too',
  );

  const io = captureIo();
  const args = ['--server', 'http://127.0.0.1:9', '--task', 'csv', '--data', WEATHER, '--label', 'weather'];
  assert.equal(await createMain(args, io), 1);
  assert.match(io.stderr(), /NOT_NUMERIC: .*seattle-weather\.csv: row 2, column "date": "2012-01-01"/);
  const missing = captureIo();
  assert.equal(await createMain([...args.slice(0, 6), '--label', 'kind'], missing), 1);
  assert.match(missing.stderr(), /MISSING_COLUMN: .*no label column "kind"/);
  const shape = captureIo();
  assert.equal(await createMain([...args, '--features', features.join(','), '--model', 'cnn'], shape), 2);
  assert.match(shape.stderr(), /cnn takes 28x28 grayscale/);
});
