/**
 * The web app's entry point (bundled to app.js by ./build.ts): registers every component,
 * gives the app its in-browser training runtime (runtime/browser-runtime.ts), and exposes the
 * app element as `window.liecApp` (and the current runtime as `window.liecRuntime`) for the
 * console and the browser tests.
 *
 * @example
 * // index.html: <liec-app></liec-app><script type="module" src="./app.js"></script>
 */
import './components/liec-app.ts';
import type { LiecApp } from './components/liec-app.ts';
import { browserRuntimeFactory } from './runtime/browser-runtime.ts';

/** `&backend=wasm` (or cpu, webgl) in the page's link starts the backend search there. */
function backendFromLink(): 'webgl' | 'wasm' | 'cpu' | undefined {
  const wanted = new URLSearchParams(location.search).get('backend');
  return wanted === 'webgl' || wanted === 'wasm' || wanted === 'cpu' ? wanted : undefined;
}

declare global {
  interface Window {
    liecApp?: LiecApp;
  }
}

const app = document.querySelector('liec-app');
if (app !== null) {
  // Before the element's first update, when a join link starts joining.
  const backend = backendFromLink();
  app.runtimeFactory = browserRuntimeFactory(backend === undefined ? {} : { backend });
  window.liecApp = app;
}
