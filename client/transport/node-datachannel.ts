/**
 * node-datachannel (libdatachannel) as a WebRTC implementation simple-peer 9 can drive. Its
 * `node-datachannel/polyfill` is close to the browser API, with two differences this module
 * smooths over:
 * - createOffer/createAnswer resolve to RTCSessionDescription objects whose `sdp` is a
 *   getter only; simple-peer assigns `offer.sdp = sdpTransform(offer.sdp)` (a TypeError in
 *   strict code, silently ignored otherwise), so they are returned as plain `{ type, sdp }`.
 * - getStats reports the candidate pair's round trip in milliseconds where the standard (and
 *   ice-rtt.ts) expects seconds, and -1 when there is none yet.
 * And one it works around: its offers say `a=setup:actpass`, so the answerer picks the DTLS
 * client role, and libdatachannel (v0.24.5) as the DTLS server often misses a ClientHello that
 * arrives just before its DTLS transport starts: `DtlsTransport::start()` replays it before it
 * enters the connecting state, and `doRecv()` drops out in any other state, so the handshake
 * waits for the client's retransmission a second later. The offerer, the ICE controlling agent,
 * connects last; when it is the DTLS client (`a=setup:active` in its offer; RFC 5763 lets an
 * offerer choose), its ClientHello finds the answerer ready. Two node-datachannel connections on
 * loopback: 15 of 100 opened after a second with `actpass`, 0 of 100 with `active`
 * (docs/benchmarks.md, "Node WebRTC binding").
 * Everything else (the data channel, bufferedamountlow, errors on oversize or closed sends)
 * is used as the polyfill gives it.
 *
 * @example
 * const implementation = await loadNodeDataChannel();
 * new SimplePeer({ initiator: true, wrtc: implementation });
 */

import type { WebRtcImplementation } from './binding.ts';

/** The npm package and entry point; a variable keeps bundlers from following the import. */
const POLYFILL_SPECIFIER = 'node-datachannel/polyfill';

/** Loads the polyfill and wraps its RTCPeerConnection; throws when the package cannot load. */
export async function loadNodeDataChannel(): Promise<WebRtcImplementation> {
  const specifier = POLYFILL_SPECIFIER;
  const mod: unknown = await import(specifier);
  const get = (key: string): unknown =>
    typeof mod === 'object' && mod !== null ? Reflect.get(mod, key) : undefined;
  const peerConnection = get('RTCPeerConnection');
  const sessionDescription = get('RTCSessionDescription');
  const iceCandidate = get('RTCIceCandidate');
  if (
    typeof peerConnection !== 'function' ||
    typeof sessionDescription !== 'function' ||
    typeof iceCandidate !== 'function'
  ) {
    throw new Error(`"${POLYFILL_SPECIFIER}" does not export the RTC constructors`);
  }
  return {
    // The polyfill's classes follow the DOM interfaces (its own typings say so); the casts
    // only state that to TypeScript, which cannot see through the dynamic import.
    RTCPeerConnection: plainDescriptionPeerConnection(peerConnection as typeof RTCPeerConnection),
    RTCSessionDescription: sessionDescription as typeof RTCSessionDescription,
    RTCIceCandidate: iceCandidate as typeof RTCIceCandidate,
  };
}

/** A subclass whose offers and answers are plain objects, whose offers are active, and whose stats use seconds. */
export function plainDescriptionPeerConnection(Base: typeof RTCPeerConnection): typeof RTCPeerConnection {
  class PlainDescriptionPeerConnection extends Base {
    override createOffer(): Promise<RTCSessionDescriptionInit>;
    override createOffer(
      successCallback: RTCSessionDescriptionCallback,
      failureCallback: RTCPeerConnectionErrorCallback,
      options?: RTCOfferOptions,
    ): Promise<void>;
    override createOffer(options?: RTCOfferOptions): Promise<RTCSessionDescriptionInit>;
    override async createOffer(): Promise<RTCSessionDescriptionInit | void> {
      return activeOffer(plain(await super.createOffer()));
    }

    // What simple-peer sends: libdatachannel keeps its own local description, whatever was set.
    override get localDescription(): RTCSessionDescription | null {
      const description = super.localDescription;
      if (description?.type !== 'offer') return description;
      const { type, sdp } = activeOffer(plain(description));
      return { type, sdp: sdp ?? '', toJSON: () => ({ type, sdp }) };
    }

    override createAnswer(): Promise<RTCSessionDescriptionInit>;
    override createAnswer(
      successCallback: RTCSessionDescriptionCallback,
      failureCallback: RTCPeerConnectionErrorCallback,
    ): Promise<void>;
    override createAnswer(options?: RTCAnswerOptions): Promise<RTCSessionDescriptionInit>;
    override async createAnswer(): Promise<RTCSessionDescriptionInit | void> {
      return plain(await super.createAnswer());
    }

    // A rest parameter keeps getStats.length at 0, which tells simple-peer to use the promise
    // form (with 1 it passes callbacks, as for the legacy API).
    override async getStats(...selector: [(MediaStreamTrack | null)?]): Promise<RTCStatsReport> {
      const report = await super.getStats(...selector);
      report.forEach((entry: Record<string, unknown>) => {
        if (entry['type'] !== 'candidate-pair') return;
        for (const key of ['currentRoundTripTime', 'totalRoundTripTime']) {
          const ms = entry[key];
          if (typeof ms !== 'number') continue;
          if (ms >= 0) entry[key] = ms / 1000;
          else delete entry[key]; // -1: not measured yet
        }
      });
      return report;
    }
  }
  return PlainDescriptionPeerConnection;
}

function plain(description: RTCSessionDescriptionInit): RTCSessionDescriptionInit {
  return description.sdp === undefined
    ? { type: description.type }
    : { type: description.type, sdp: description.sdp };
}

/** This end as the DTLS client (see the module comment); the answer then says `a=setup:passive`. */
export function activeOffer(offer: RTCSessionDescriptionInit): RTCSessionDescriptionInit {
  return offer.sdp === undefined
    ? offer
    : { ...offer, sdp: offer.sdp.replace(/^a=setup:actpass\b/gm, 'a=setup:active') };
}
