/**
 * Peer-to-peer transport: opaque binary messages of any size between peers over WebRTC data
 * channels. Knows nothing about learning.
 *
 * @example
 * import { createPeerTransport } from './client/transport/index.ts';
 * const transport = await createPeerTransport({ localId, relay });
 * transport.on('message', (from, bytes) => {});
 * await transport.connect(remoteId);
 * await transport.send(remoteId, bytes);
 */

export { loadWebRtcBinding, type WebRtcBinding, type WebRtcImplementation } from './binding.ts';
export { TransportError, type TransportErrorCode } from './errors.ts';
export { DEFAULT_LINK_SETTINGS, resolveLinkSettings, type LinkSettings } from './link-options.ts';
export type { DirectionStats, LinkStats } from './link-stats.ts';
export { MemorySignalHub } from './memory-relay.ts';
export {
  createPeerTransport,
  PeerTransport,
  type BroadcastResult,
  type PeerTransportEvents,
  type PeerTransportOptions,
} from './mesh.ts';
export {
  createPeerLink,
  PeerLink,
  type LinkCloseReason,
  type PeerLinkEvents,
  type PeerLinkOptions,
} from './peer-link.ts';
export { Pacer, ThroughputMeter, type LinkShaping } from './shaping.ts';
export type { SignalRelay } from './signal-relay.ts';
export { TypedEmitter } from '../../shared/typed-emitter.ts';
