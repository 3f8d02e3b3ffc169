/**
 * The session's named test set in a tab: the files the user picks in the "Your data" panel
 * are hashed in the tab (WebCrypto, the rule `liec create --test-set` and `liec join
 * --test-data` use, shared/data/test-set-hash.ts) and read only when the hash is the one the
 * task spec names; another file is refused naming both hashes, as `liec join --test-data` does.
 * Like the tab's own data, nothing of it leaves the tab.
 *
 * @example
 * const set = await readTabTestSet(input.files, spec); // throws TestSetMismatch for other files
 */
import { DataError } from '../../../shared/data/data-errors.ts';
import type { Dataset, TaskSpec } from '../../../shared/data/task.ts';
import { folderSha256, sha256Hex } from '../../../shared/data/test-set-hash.ts';
import { readTabData } from './tab-data.ts';

/** A pick whose SHA-256 is not the session's test set. */
export class TestSetMismatch extends Error {
  readonly code = 'TEST_SET_MISMATCH';
  constructor(
    readonly source: string,
    readonly actual: string,
    readonly wanted: string,
  ) {
    super(`${source}: SHA-256 ${actual} is not the session's test set (${wanted})`);
    this.name = 'TestSetMismatch';
  }
}

/** A picked file's path inside the picked folder ('root/cat/1.png' -> 'cat/1.png'). */
function pathInFolder(file: File): string {
  return file.webkitRelativePath === '' ? file.name : file.webkitRelativePath.split('/').slice(1).join('/');
}

/** The SHA-256 of what was picked, and its name: a CSV file's bytes, or a folder's listing. */
export async function pickedSha256(
  files: readonly File[],
  kind: TaskSpec['kind'],
): Promise<{ source: string; sha256: string }> {
  const first = files[0];
  if (first === undefined) throw new DataError('NO_DATA', 'the picked files', 'nothing was picked');
  // Browsers offer WebCrypto only to secure pages: https, or http on localhost.
  if ((globalThis.crypto as Crypto | undefined)?.subtle === undefined)
    throw new DataError(
      'BAD_TASK',
      first.name,
      'this page is not https (or localhost), so the browser cannot hash the test set to check it',
    );
  switch (kind) {
    case 'csv': {
      const file = files.find((f) => /\.csv$/i.test(f.name)) ?? first;
      return { source: file.name, sha256: await sha256Hex(new Uint8Array(await file.arrayBuffer())) };
    }
    case 'images': {
      const source = first.webkitRelativePath.split('/')[0] || first.name;
      const sha256 = await folderSha256(
        files.map((file) => ({
          path: pathInFolder(file),
          bytes: async () => new Uint8Array(await file.arrayBuffer()),
        })),
      );
      return { source, sha256 };
    }
    default: {
      const unreachable: never = kind;
      return unreachable;
    }
  }
}

/** The test set's examples, once the pick's hash is the spec's; else TestSetMismatch. */
export async function readTabTestSet(
  files: readonly File[],
  spec: TaskSpec,
): Promise<{ source: string; dataset: Dataset }> {
  const wanted = spec.testSet?.sha256;
  if (wanted === undefined) throw new DataError('BAD_TASK', 'the session', 'names no test set');
  const { source, sha256 } = await pickedSha256(files, spec.kind);
  if (sha256 !== wanted) throw new TestSetMismatch(source, sha256, wanted);
  return { source, dataset: await readTabData(files, spec) };
}
