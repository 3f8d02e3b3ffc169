/**
 * A tab's check of the session's named test set (client/ui/runtime/tab-test-set.ts) gives the
 * hash `liec create --test-set` gives (client/training/test-set.ts) for the same files: a
 * CSV file's bytes, and a picked folder's listing, with the picked folder's own name dropped
 * from each file's webkitRelativePath as `<input webkitdirectory>` reports it. Another file is
 * refused with both hashes; the right one is read under the task spec. Node's File stands in
 * for the browser's (same Blob API); the folder's files are real files on disk.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { testSetSha256 } from '../../client/training/test-set.ts';
import { pickedSha256, readTabTestSet, TestSetMismatch } from '../../client/ui/runtime/tab-test-set.ts';
import type { TaskSpec } from '../../shared/data/task.ts';

/** A File as a folder picker hands it over: `relativePath` starts with the picked folder's name. */
async function picked(path: string, relativePath: string): Promise<File> {
  const file = new File([await readFile(path)], relativePath.split('/').at(-1) ?? '');
  Object.defineProperty(file, 'webkitRelativePath', { value: relativePath });
  return file;
}

test('a picked folder and a picked CSV file hash as liec create --test-set hashes them', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'liec-tab-test-set-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const folder = join(root, 'holdout');
  const names = ['cat/1.png', 'cat/10.png', 'dog/2.png', 'dog/a b.png', 'notes.txt'];
  await Promise.all(['cat', 'dog'].map((d) => mkdir(join(folder, d), { recursive: true })));
  await Promise.all(names.map((name, i) => writeFile(join(folder, name), `bytes of file ${i}`)));
  // The picker's order is its own: hashed in another order than the listing's.
  const files = await Promise.all(
    [...names].reverse().map((name) => picked(join(folder, name), `holdout/${name}`)),
  );
  const wanted = await testSetSha256(folder);
  assert.deepEqual(await pickedSha256(files, 'images'), { source: 'holdout', sha256: wanted });
  const moved = await Promise.all(
    names.map((name) => picked(join(folder, name), `holdout/${name.replace('dog/2', 'cat/2')}`)),
  );
  assert.notEqual((await pickedSha256(moved, 'images')).sha256, wanted, 'a file in another class folder');

  const csv = join(root, 'rows.csv');
  await writeFile(csv, 'x,y,label\n1,2,a\n3,4,b\n5,6,a\n');
  const other = join(root, 'other.csv');
  await writeFile(other, 'x,y,label\n1,2,a\n');
  const spec: TaskSpec = {
    kind: 'csv',
    label: 'label',
    features: ['x', 'y'],
    classes: ['a', 'b'],
    scaling: { mean: [0, 0], scale: [1, 1] },
    testSet: { sha256: await testSetSha256(csv) },
  };
  const csvFile = new File([await readFile(csv)], 'rows.csv');
  assert.deepEqual(await pickedSha256([csvFile], 'csv'), {
    source: 'rows.csv',
    sha256: spec.testSet?.sha256,
  });
  const { source, dataset } = await readTabTestSet([csvFile], spec);
  assert.equal(source, 'rows.csv');
  assert.deepEqual([...dataset.labels], [0, 1, 0]);
  const refused = await readTabTestSet([new File([await readFile(other)], 'other.csv')], spec).then(
    () => null,
    (error: unknown) => error,
  );
  assert.ok(refused instanceof TestSetMismatch, String(refused));
  assert.equal(refused.code, 'TEST_SET_MISMATCH');
  assert.equal(
    refused.message,
    `other.csv: SHA-256 ${await testSetSha256(other)} is not the session's test set (${spec.testSet?.sha256})`,
  );
});
