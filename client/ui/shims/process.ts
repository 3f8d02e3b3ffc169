/**
 * The `process` global of the browser bundle (injected by esbuild, and what `require('process')`
 * resolves to there): the `process` package's browser shim with a nextTick that runs on the
 * microtask queue. The package's own nextTick goes through setTimeout, which clamps to 4 ms
 * after a few nested calls and slows the streams inside simple-peer about 7x.
 *
 * @example
 * process.nextTick(() => console.log('after this task, before any timer'));
 */
import base from 'process/browser.js';

type Callback = (...args: unknown[]) => void;

/** Runs `callback(...args)` in a microtask, like Node's nextTick queue. */
function nextTick(callback: Callback, ...args: unknown[]): void {
  queueMicrotask(() => callback(...args));
}

base.nextTick = nextTick;
base.browser = true;

export const process = base;
export default base;
