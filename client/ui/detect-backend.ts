/**
 * Guesses which TF.js backend this browser should train on, without loading TF.js: webgl
 * when WebGL runs on a real GPU, else wasm (WebAssembly), else cpu. A software WebGL
 * (SwiftShader, llvmpipe: what headless Chromium and GPU-less machines get) counts as no
 * WebGL: there TF.js's webgl backend spends seconds compiling shaders and computes slower
 * than wasm. The dashboard shows this guess until the runtime reports the backend it chose.
 *
 * @example
 * detectBackend(); // 'webgl' on most desktops, 'wasm' in headless Chromium
 */

export type BackendGuess = 'webgl' | 'wasm' | 'cpu';

/** Renderer names of software WebGL implementations. */
const SOFTWARE_RENDERER = /swiftshader|llvmpipe|softpipe|software|basic render/i;

/** The WebGL renderer's name (unmasked when the browser allows), or null without WebGL. */
export function webglRenderer(): string | null {
  try {
    const canvas = document.createElement('canvas');
    const gl = canvas.getContext('webgl2') ?? canvas.getContext('webgl');
    if (gl === null) return null;
    const info = gl.getExtension('WEBGL_debug_renderer_info');
    const name: unknown = gl.getParameter(info === null ? gl.RENDERER : info.UNMASKED_RENDERER_WEBGL);
    gl.getExtension('WEBGL_lose_context')?.loseContext();
    return typeof name === 'string' ? name : '';
  } catch {
    return null; // no canvas or WebGL disabled
  }
}

export function detectBackend(renderer: string | null = webglRenderer()): BackendGuess {
  if (renderer !== null && !SOFTWARE_RENDERER.test(renderer)) return 'webgl';
  return typeof WebAssembly === 'object' ? 'wasm' : 'cpu';
}
