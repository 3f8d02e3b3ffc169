/**
 * An esbuild plugin that lets browser bundles import modules which import Node built-ins
 * (`node:fs/promises`, ...) on code paths the browser never takes: the peer runtime's
 * default learner reads the MNIST JSON with node:fs, while a tab passes its own learner.
 * Each `node:*` import resolves to a generated module with the same export names (read from
 * the real module at build time), every one a function that throws NodeOnlyError when
 * called, so a wrong path fails loudly with the module and name instead of silently.
 *
 * A few pure functions that modules call at load time have real browser versions instead
 * (BROWSER_VERSIONS, e.g. `os.endianness()`). Only `node:`-prefixed specifiers are stubbed;
 * a bare `fs` still fails the build.
 *
 * @example
 * await build({ ...options, plugins: [nodeBuiltinStubs()] });
 * // in the bundle: readFile(...) -> NodeOnlyError: node:fs/promises readFile is not available in the browser
 */
import type { Plugin } from 'esbuild';

const NAMESPACE = 'liec-node-builtin';
/** Export names that are valid as `export { x as "name" }` targets (all of Node's are). */
const SAFE_NAME = /^[A-Za-z_$][\w$]*$/;

/** Browser versions of pure Node functions (JS source per module and export name). */
export const BROWSER_VERSIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  'node:os': {
    endianness: "() => (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 'LE' : 'BE')",
    EOL: "'\\n'",
  },
};

/** Source of the stub module for `specifier`, exporting every name `names` lists. */
export function nodeStubSource(specifier: string, names: readonly string[]): string {
  const real = BROWSER_VERSIONS[specifier] ?? {};
  const lines = [
    'class NodeOnlyError extends Error {',
    '  constructor(name) {',
    `    super(${JSON.stringify(specifier)} + " " + name + " is not available in the browser");`,
    "    this.name = 'NodeOnlyError';",
    "    this.code = 'NODE_ONLY';",
    '  }',
    '}',
    'const stub = (name) => () => { throw new NodeOnlyError(name); };',
  ];
  const named = names.filter((name) => name !== 'default' && SAFE_NAME.test(name));
  named.forEach((name, i) => lines.push(`const s${i} = ${real[name] ?? `stub(${JSON.stringify(name)})`};`));
  if (named.length > 0) lines.push(`export { ${named.map((name, i) => `s${i} as ${name}`).join(', ')} };`);
  const members = named.map((name, i) => `${name}: s${i}`).join(', ');
  lines.push(`export default { ${members} };`);
  return lines.join('\n');
}

export function nodeBuiltinStubs(): Plugin {
  return {
    name: 'liec-node-builtin-stubs',
    setup(build) {
      build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path, namespace: NAMESPACE }));
      build.onLoad({ filter: /.*/, namespace: NAMESPACE }, async (args) => {
        let names: string[];
        try {
          const real: object = await import(args.path);
          names = Object.keys(real);
        } catch {
          return { errors: [{ text: `${args.path} is not a Node built-in module` }] };
        }
        return { contents: nodeStubSource(args.path, names), loader: 'js' };
      });
    },
  };
}
