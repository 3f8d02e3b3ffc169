#!/usr/bin/env node
// The installed `liec` binary: runs the CLI compiled by `npm run build` (dist/cli/main.js,
// made by `npm install` through the `prepare` script). A checkout that was never built falls
// back to the TypeScript source through the tsx loader, and says so.
import { existsSync } from 'node:fs';
import { URL } from 'node:url';

const built = new URL('../../dist/cli/main.js', import.meta.url);
let main;
if (existsSync(built)) {
  ({ main } = await import(built.href));
} else {
  process.stderr.write(
    'liec: dist/cli/main.js is missing (run `npm run build`); running the TypeScript source\n',
  );
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('./main.ts'));
}
process.exitCode = await main(process.argv.slice(2));
