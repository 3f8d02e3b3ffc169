/**
 * The web app's entry point (bundled to app.js by ./build.ts): registers every component
 * and exposes the app element as `window.liecApp` for the console and for wiring the
 * training runtime in (`window.liecApp.attachRuntime(runtime)`).
 *
 * @example
 * // index.html: <liec-app></liec-app><script type="module" src="./app.js"></script>
 */
import './components/liec-app.ts';
import type { LiecApp } from './components/liec-app.ts';

declare global {
  interface Window {
    liecApp?: LiecApp;
  }
}

const app = document.querySelector('liec-app');
if (app !== null) window.liecApp = app;
