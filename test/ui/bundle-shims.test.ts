/**
 * What the browser bundle substitutes for Node: `node:*` imports become modules with the
 * same export names whose functions throw a coded NodeOnlyError when called (a few pure
 * ones work), checked by bundling and running a small module; setImmediate/clearImmediate
 * run on a MessageChannel, in order, after the current task, and can be cancelled.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { build } from 'esbuild';
import { clearImmediate as clear, setImmediate as schedule } from '../../client/ui/shims/immediate.ts';
import { nodeBuiltinStubs } from '../../client/ui/tooling/node-builtins.ts';

test('node: imports bundle to stubs: same names, a coded error when called, endianness works', async () => {
  const result = await build({
    stdin: {
      contents: [
        "import { readFile } from 'node:fs/promises';",
        "import { endianness } from 'node:os';",
        'let error;',
        'try { readFile("x"); } catch (e) { error = e; }',
        'export const out = { name: typeof readFile, code: error?.code, message: error?.message, endian: endianness() };',
      ].join('\n'),
      loader: 'js',
    },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
    plugins: [nodeBuiltinStubs()],
  });
  const source = result.outputFiles[0]?.text ?? '';
  const module: unknown = await import(`data:text/javascript,${encodeURIComponent(source)}`);
  const out: unknown = Reflect.get(Object(module), 'out');
  assert.deepEqual(out, {
    name: 'function',
    code: 'NODE_ONLY',
    message: 'node:fs/promises readFile is not available in the browser',
    endian: 'LE',
  });
});

test('a node: specifier that is no built-in fails the build', async () => {
  await assert.rejects(
    build({
      stdin: { contents: "import 'node:no-such-module';", loader: 'js' },
      bundle: true,
      write: false,
      logLevel: 'silent',
      plugins: [nodeBuiltinStubs()],
    }),
    /not a Node built-in module/,
  );
});

test('setImmediate shim: runs after the current task, in order, with arguments; clearImmediate cancels', async () => {
  const order: string[] = [];
  await new Promise<void>((resolve) => {
    schedule((label: unknown) => order.push(String(label)), 'first');
    const cancelled = schedule(() => order.push('cancelled'));
    clear(cancelled);
    schedule(() => {
      order.push('last');
      resolve();
    });
    order.push('sync');
  });
  assert.deepEqual(order, ['sync', 'first', 'last']);
});
