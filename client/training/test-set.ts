/**
 * The SHA-256 that names a test set (`liec create --test-set PATH`, checked by
 * `liec join --test-data PATH`) of a file or folder on disk: of a CSV file, its bytes; of an
 * image folder, the `sha256sum`-style listing of every file under it (the rule and the hashing
 * are shared/data/test-set-hash.ts, which a tab uses on the files it picked).
 *
 * @example
 * const hex = await testSetSha256('holdout.csv'); // same as `sha256sum holdout.csv`
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { folderSha256, sha256Hex } from '../../shared/data/test-set-hash.ts';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

export async function testSetSha256(path: string): Promise<string> {
  if (!(await stat(path)).isDirectory()) return sha256Hex(await readFile(path));
  const files = await filesUnder(path);
  return folderSha256(
    files.map((file) => ({
      path: relative(path, file).split(sep).join('/'),
      bytes: () => readFile(file),
    })),
  );
}
