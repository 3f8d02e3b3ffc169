/**
 * Guesses which TF.js backend this browser would use (webgl, else wasm, else cpu; the
 * order DESIGN.md gives) without loading TF.js, so the dashboard and the join capabilities
 * can show it before a training runtime reports the real one.
 *
 * @example
 * detectBackend(); // 'webgl' on most desktops, 'wasm' in headless Chromium without a GPU
 */

export type BackendGuess = 'webgl' | 'wasm' | 'cpu';

export function detectBackend(): BackendGuess {
  try {
    const canvas = document.createElement('canvas');
    if (canvas.getContext('webgl2') !== null || canvas.getContext('webgl') !== null) return 'webgl';
  } catch {
    // No canvas or WebGL disabled: fall through.
  }
  return typeof WebAssembly === 'object' ? 'wasm' : 'cpu';
}
