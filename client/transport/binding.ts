/**
 * The one module that knows which WebRTC implementation serves the transport: the browser's
 * globals when present, else one of two Node bindings, imported lazily so browser bundles
 * never pull them in:
 * - `node-datachannel` (libdatachannel; see node-datachannel.ts for the small wrapper
 *   simple-peer 9 needs): not the default (below). bufferedamountlow works, an oversize or
 *   closed send throws, and a send racing a close from the remote side is an exception, not a
 *   crash. It does not honour iceTransportPolicy 'relay' fully: libjuice offers only relay
 *   candidates but pairs its own server-reflexive address with the remote's relay, so the
 *   remote sees this peer's address (test/scale/turn.test.ts saw srflx/prflx selected).
 * - `wrtc` (npm alias of @roamhq/wrtc, Google's libwebrtc): the default, and honours
 *   relay-only, so a relay-only link uses it whatever the default; its RTCDataChannel::Send
 *   reads a channel pointer that WebRTC's thread clears when the channel closes, so a send
 *   racing a remote's outright connection close can kill the process with SIGSEGV. PeerLink
 *   says goodbye before it closes, so the remote stops sending first (link-release.ts); a
 *   remote that closes without it (a tab closed outright) can still race a send.
 *   `npm run bench:binding` compares them (docs/benchmarks.md).
 * LIEC_WEBRTC=node-datachannel|wrtc chooses one for every link (no fallback then); otherwise
 * the default for the link's policy is tried first and the other if it cannot load (a
 * platform without its binary).
 *
 * @example
 * const binding = await loadWebRtcBinding();
 * new SimplePeer({ initiator: true, wrtc: binding.implementation });
 */

import { TransportError } from './errors.ts';
import { loadNodeDataChannel } from './node-datachannel.ts';

/** The three constructors simple-peer needs (its `wrtc` option). */
export interface WebRtcImplementation {
  RTCPeerConnection: typeof RTCPeerConnection;
  RTCSessionDescription: typeof RTCSessionDescription;
  RTCIceCandidate: typeof RTCIceCandidate;
}

export interface WebRtcBinding {
  /** Which implementation this is, for logs and reports. */
  readonly name: 'browser' | NodeBindingName | (string & {});
  readonly implementation: WebRtcImplementation;
}

/** The Node bindings this module can load. */
export const NODE_BINDINGS = ['node-datachannel', 'wrtc'] as const;
export type NodeBindingName = (typeof NODE_BINDINGS)[number];

/** The environment variable that picks a Node binding by name. */
export const WEBRTC_BINDING_ENV = 'LIEC_WEBRTC';

/**
 * The Node binding used unless LIEC_WEBRTC says otherwise: wrtc. node-datachannel sends faster and
 * never crashed in the close stress, and since its offers make the offerer the DTLS client
 * (node-datachannel.ts) its links open as fast as wrtc's; LIEC rounds take the same time on
 * either (docs/benchmarks.md, "Node WebRTC binding", "bench:rounds"). As the default it made the
 * suite flaky (one test failed in each of three CI runs): when an offerer applies its answer late
 * (a busy event loop), libdatachannel can fail the DTLS handshake that starts at once, likely
 * before it holds the remote fingerprint (reproduced with the rogue-peer test,
 * docs/benchmarks.md). Links retry, but wrtc stays the default; the transport tests pin wrtc's own
 * hazards on it.
 */
export const DEFAULT_NODE_BINDING: NodeBindingName = 'wrtc';

/**
 * The Node binding a relay-only link (iceTransportPolicy 'relay') uses unless LIEC_WEBRTC
 * says otherwise: the one that keeps every path through the TURN server (see above).
 */
export const RELAY_ONLY_NODE_BINDING: NodeBindingName = 'wrtc';

/** What a link needs from its binding. */
export interface BindingNeeds {
  /** The link's ICE policy; 'relay' prefers RELAY_ONLY_NODE_BINDING. @default 'all' */
  iceTransportPolicy?: 'all' | 'relay';
}

export function isNodeBindingName(value: string): value is NodeBindingName {
  return (NODE_BINDINGS as readonly string[]).includes(value);
}

function isImplementation(value: unknown): value is WebRtcImplementation {
  if (typeof value !== 'object' && typeof value !== 'function') return false;
  if (value === null) return false;
  return ['RTCPeerConnection', 'RTCSessionDescription', 'RTCIceCandidate'].every(
    (key) => typeof Reflect.get(value, key) === 'function',
  );
}

const cached = new Map<string, Promise<WebRtcBinding>>();

/**
 * Loads (once per choice) the WebRTC implementation of this runtime: the browser's, else
 * `choice`, else the one LIEC_WEBRTC names, else the default for the link's needs (falling
 * back to the other). Rejects with ERR_NO_WEBRTC, or ERR_INVALID_OPTION for an unknown
 * LIEC_WEBRTC value.
 */
export function loadWebRtcBinding(
  choice?: NodeBindingName,
  needs: BindingNeeds = {},
): Promise<WebRtcBinding> {
  const preferred = needs.iceTransportPolicy === 'relay' ? RELAY_ONLY_NODE_BINDING : DEFAULT_NODE_BINDING;
  const key = choice ?? `default:${preferred}`;
  let loading = cached.get(key);
  if (!loading) {
    loading = loadUncached(choice, preferred);
    cached.set(key, loading);
  }
  return loading;
}

async function loadUncached(
  choice: NodeBindingName | undefined,
  preferred: NodeBindingName,
): Promise<WebRtcBinding> {
  if (isImplementation(globalThis)) {
    return { name: 'browser', implementation: pick(globalThis) };
  }
  const requested = choice ?? bindingFromEnvironment();
  if (requested) return loadNode(requested);
  try {
    return await loadNode(preferred);
  } catch (first) {
    const other = NODE_BINDINGS.find((name) => name !== preferred) ?? preferred;
    try {
      return await loadNode(other);
    } catch {
      throw first;
    }
  }
}

function bindingFromEnvironment(): NodeBindingName | undefined {
  const value = typeof process === 'undefined' ? undefined : process.env[WEBRTC_BINDING_ENV];
  if (value === undefined || value === '') return undefined;
  if (isNodeBindingName(value)) return value;
  const names = NODE_BINDINGS.join(' | ');
  throw new TransportError('ERR_INVALID_OPTION', `${WEBRTC_BINDING_ENV}=${value}: expected ${names}`);
}

async function loadNode(name: NodeBindingName): Promise<WebRtcBinding> {
  switch (name) {
    case 'node-datachannel':
      try {
        return { name, implementation: await loadNodeDataChannel() };
      } catch (err) {
        throw new TransportError('ERR_NO_WEBRTC', 'cannot load the "node-datachannel" package', {
          cause: err,
        });
      }
    case 'wrtc':
      return { name, implementation: await loadWrtc() };
    default: {
      const never: never = name;
      throw new TransportError('ERR_NO_WEBRTC', `unknown binding ${String(never)}`);
    }
  }
}

async function loadWrtc(): Promise<WebRtcImplementation> {
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
  return pick(candidate);
}

function pick(source: WebRtcImplementation): WebRtcImplementation {
  return {
    RTCPeerConnection: source.RTCPeerConnection,
    RTCSessionDescription: source.RTCSessionDescription,
    RTCIceCandidate: source.RTCIceCandidate,
  };
}
