/**
 * The one module that knows which WebRTC implementation serves the transport: the browser's
 * globals when present, else the Node `wrtc` package (npm alias of @roamhq/wrtc), imported
 * lazily so browser bundles never pull it in. Swapping in node-datachannel later means adding
 * a loader here (its RTCPeerConnection needs a small wrapper for simple-peer 9).
 *
 * @example
 * const binding = await loadWebRtcBinding();
 * new SimplePeer({ initiator: true, wrtc: binding.implementation });
 */

import { TransportError } from './errors.ts';

/** The three constructors simple-peer needs (its `wrtc` option). */
export interface WebRtcImplementation {
  RTCPeerConnection: typeof RTCPeerConnection;
  RTCSessionDescription: typeof RTCSessionDescription;
  RTCIceCandidate: typeof RTCIceCandidate;
}

export interface WebRtcBinding {
  /** Which implementation this is, for logs and reports. */
  readonly name: 'browser' | 'wrtc' | (string & {});
  readonly implementation: WebRtcImplementation;
}

function isImplementation(value: unknown): value is WebRtcImplementation {
  if (typeof value !== 'object' && typeof value !== 'function') return false;
  if (value === null) return false;
  return ['RTCPeerConnection', 'RTCSessionDescription', 'RTCIceCandidate'].every(
    (key) => typeof Reflect.get(value, key) === 'function',
  );
}

let cached: Promise<WebRtcBinding> | undefined;

/** Loads (once) the WebRTC implementation of this runtime; rejects with ERR_NO_WEBRTC. */
export function loadWebRtcBinding(): Promise<WebRtcBinding> {
  cached ??= loadUncached();
  return cached;
}

async function loadUncached(): Promise<WebRtcBinding> {
  if (isImplementation(globalThis)) {
    return { name: 'browser', implementation: pick(globalThis) };
  }
  let mod: unknown;
  try {
    // A variable specifier keeps bundlers from following this import into the browser build.
    const specifier = 'wrtc';
    mod = await import(specifier);
  } catch (err) {
    throw new TransportError('ERR_NO_WEBRTC', 'cannot load the "wrtc" package', { cause: err });
  }
  // wrtc is CommonJS: Node exposes module.exports as `default` (and only some names beside it).
  const exported = typeof mod === 'object' && mod !== null ? Reflect.get(mod, 'default') : undefined;
  const candidate = isImplementation(exported) ? exported : mod;
  if (!isImplementation(candidate)) {
    throw new TransportError('ERR_NO_WEBRTC', 'the "wrtc" package does not export RTCPeerConnection');
  }
  return { name: 'wrtc', implementation: pick(candidate) };
}

function pick(source: WebRtcImplementation): WebRtcImplementation {
  return {
    RTCPeerConnection: source.RTCPeerConnection,
    RTCSessionDescription: source.RTCSessionDescription,
    RTCIceCandidate: source.RTCIceCandidate,
  };
}
