/**
 * The SHA-256 that names a test set: a file's is `sha256sum`'s; a folder's is of its sorted
 * `sha256sum`-style listing with paths relative to the folder, so it does not depend on where
 * the folder lives and changes with any file's content or name.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { testSetSha256 } from '../../client/training/test-set.ts';

const hex = (text: string) => createHash('sha256').update(text).digest('hex');

test('test set hash: a file by its bytes, a folder by its sorted listing', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'liec-test-set-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const file = join(root, 'holdout.csv');
  await writeFile(file, 'a,label\n1,x\n');
  assert.equal(await testSetSha256(file), hex('a,label\n1,x\n'));

  const folder = join(root, 'photos');
  await mkdir(join(folder, 'cat'), { recursive: true });
  await mkdir(join(folder, 'dog'), { recursive: true });
  await writeFile(join(folder, 'dog', '1.png'), 'dog one');
  await writeFile(join(folder, 'cat', '2.png'), 'cat two');
  const listing = `${hex('cat two')}  cat/2.png\n${hex('dog one')}  dog/1.png\n`;
  const hash = await testSetSha256(folder);
  assert.equal(hash, hex(listing));

  const copy = join(root, 'elsewhere', 'copy');
  await cp(folder, copy, { recursive: true });
  assert.equal(await testSetSha256(copy), hash, 'the same files elsewhere');
  await rename(join(copy, 'dog', '1.png'), join(copy, 'cat', '1.png'));
  assert.notEqual(await testSetSha256(copy), hash, 'a file moved to another class');
  await writeFile(join(folder, 'cat', '2.png'), 'cat 2');
  assert.notEqual(await testSetSha256(folder), hash, 'a changed file');
});
