/**
 * The server sits below the clients: no module of signaling/ imports from client/ (static
 * imports, re-exports, side-effect imports and dynamic import() alike). The web app reaches the
 * server as a built folder (a path), never as code.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SIGNALING_DIR = fileURLToPath(new URL('../../signaling/', import.meta.url));
const CLIENT_DIR = fileURLToPath(new URL('../../client/', import.meta.url));

/** Every module specifier in a source file: `from '…'`, `import '…'`, `import('…')`, `require('…')`. */
export function importSpecifiers(source: string): string[] {
  const patterns = [
    /\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
    /\brequire\s*\(\s*['"`]([^'"`]+)['"`]\s*\)/g,
  ];
  return patterns.flatMap((pattern) => [...source.matchAll(pattern)].map((match) => match[1] ?? ''));
}

test('importSpecifiers finds every form of import', () => {
  const source = [
    "import { a } from './a.ts';",
    "import type { B } from '../client/ui/b.ts';",
    "export { c } from './c.ts';",
    "import './side-effect.ts';",
    "const d = await import('../client/ui/build.ts');",
    "const e = require('node:fs');",
  ].join('\n');
  assert.deepEqual(importSpecifiers(source).sort(), [
    '../client/ui/b.ts',
    '../client/ui/build.ts',
    './a.ts',
    './c.ts',
    './side-effect.ts',
    'node:fs',
  ]);
});

test('no module of signaling/ imports from client/', async () => {
  const files = (await readdir(SIGNALING_DIR, { recursive: true }))
    .filter((name) => name.endsWith('.ts'))
    .map((name) => join(SIGNALING_DIR, name));
  assert.ok(files.length > 10, `found ${files.length} modules`);
  const offending: string[] = [];
  for (const file of files) {
    for (const specifier of importSpecifiers(await readFile(file, 'utf8'))) {
      const relativeImport = specifier.startsWith('.');
      const target = relativeImport ? resolve(dirname(file), specifier) : undefined;
      const intoClient =
        (target !== undefined && (target + sep).startsWith(CLIENT_DIR)) || /(^|\/)client\//.test(specifier);
      if (intoClient) offending.push(`${relative(SIGNALING_DIR, file)}: ${specifier}`);
    }
  }
  assert.deepEqual(offending, [], 'signaling/ must not depend on client/');
});
