/**
 * The SHA-256 that names a test set (`liec create --test-set PATH`, a task spec's `testSet`):
 * of a CSV file, its bytes; of an image folder, the `sha256sum`-style listing of every file
 * under it ("<hex>  <path relative to the folder>\n", paths with '/', sorted by path), so the
 * same files give the same hash wherever the folder lives. WebCrypto, so a tab checks the file
 * it picked with the very code `liec join --test-data` uses (client/training/test-set.ts walks
 * the folder in Node, client/ui/runtime/tab-test-set.ts takes a picked folder's files).
 *
 * @example
 * await sha256Hex(bytes);                                       // same as `sha256sum FILE`
 * await folderSha256([{ path: 'cat/1.png', bytes: () => read('cat/1.png') }]);
 */

/** One file of a folder: its path relative to the folder ('/'-separated) and its bytes. */
export interface FolderFile {
  path: string;
  bytes: () => Promise<Uint8Array>;
}

export async function sha256Hex(data: Uint8Array | string): Promise<string> {
  const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data.slice();
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Hex SHA-256 length plus the two spaces before the path in a listing line. */
const PATH_START = 66;

/**
 * Files read and hashed at once by folderSha256: few enough that a large folder fits in memory,
 * enough that a tab busy training (each await lets a round in) is not held up per file: one
 * at a time, 400 digits took 9-15 s in a training tab.
 */
export const FOLDER_HASH_BATCH = 64;

/** The hash of a folder's listing; files are read FOLDER_HASH_BATCH at a time. */
export async function folderSha256(files: readonly FolderFile[]): Promise<string> {
  const lines: string[] = [];
  for (let start = 0; start < files.length; start += FOLDER_HASH_BATCH) {
    const batch = files.slice(start, start + FOLDER_HASH_BATCH);
    const hashed = await Promise.all(
      batch.map(async (file) => `${await sha256Hex(await file.bytes())}  ${file.path}\n`),
    );
    lines.push(...hashed);
  }
  // Sorted by the line's text after the hash (the path and its newline), not by hash.
  const key = (line: string) => line.slice(PATH_START);
  lines.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return sha256Hex(lines.join(''));
}
