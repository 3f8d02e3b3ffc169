/**
 * The SHA-256 that names a test set (`liec create --test-set PATH`, checked by
 * `liec join --test-data PATH`): of a CSV file, its bytes; of an image folder, the
 * `sha256sum`-style listing of every file under it ("<hex>  <path relative to the folder>\n",
 * paths with '/', sorted), so the same files give the same hash wherever the folder lives.
 *
 * @example
 * const hex = await testSetSha256('holdout.csv'); // same as `sha256sum holdout.csv`
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';

function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

export async function testSetSha256(path: string): Promise<string> {
  if (!(await stat(path)).isDirectory()) return sha256(await readFile(path));
  const lines: string[] = [];
  for (const file of await filesUnder(path)) {
    const name = relative(path, file).split(sep).join('/');
    lines.push(`${sha256(await readFile(file))}  ${name}\n`);
  }
  // Sorted by path (the listing's text after the hash), not by hash.
  lines.sort((a, b) => (a.slice(66) < b.slice(66) ? -1 : a.slice(66) > b.slice(66) ? 1 : 0));
  return sha256(lines.join(''));
}
