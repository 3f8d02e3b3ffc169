/**
 * Settings of one peer link, every limit and timeout named with its default, validated once.
 *
 * @example
 * const settings = resolveLinkSettings({ maxMessageBytes: 8 * 1024 * 1024 });
 */

import { z } from 'zod';
import { MAX_ENCODABLE_MESSAGE_BYTES, MIN_CHUNK_BYTES } from './chunk-codec.ts';
import { TransportError } from './errors.ts';

export interface LinkSettings {
  /**
   * ICE servers (STUN/TURN) as RTCIceServer objects. None by default: on a LAN and on loopback
   * host candidates suffice; real deployments configure a coturn instance.
   * @default []
   */
  iceServers: RTCIceServer[];
  /**
   * Which ICE candidates may be used: 'relay' forces every byte through a TURN server of
   * iceServers (for peers that must not expose their addresses, or to test the relay path).
   * @default 'all'
   */
  iceTransportPolicy: 'all' | 'relay';
  /** The data channel must open within this time, else ERR_CONNECT_TIMEOUT and the link closes. @default 15000 */
  connectTimeoutMs: number;
  /** Largest message accepted on receive and on send (ERR_MESSAGE_TOO_LARGE). @default 67108864 (64 MiB) */
  maxMessageBytes: number;
  /**
   * Upper bound of the chunk size (header included); the actual size is also capped by both
   * sides' advertised max-message-size. 64 KiB is the fast size on wrtc (16 KiB halves it).
   * @default 65536
   */
  maxChunkBytes: number;
  /**
   * Send while the channel's bufferedAmount is below this. Keep it far below 16 MiB: wrtc
   * drops data silently past that while the channel stays open.
   * @default 1048576 (1 MiB)
   */
  highWaterMarkBytes: number;
  /** After hitting the high-water mark, resume once bufferedAmount is at or below this. @default 524288 */
  lowWaterMarkBytes: number;
  /**
   * Paces each link's chunks to this rate, in Mbit/s: a chunk waits while more than
   * pacingBurstBytes of those before it would still be leaving at this rate (after a pause
   * a chunk goes at once). Without it, a
   * message of a few hundred KiB reaches the remote's UDP socket as one burst; on loopback
   * (and behind slow receivers) the socket's default buffer (Linux net.core.rmem_default,
   * 208 KiB) overflows, and SCTP recovers the lost tail only by a retransmission timeout:
   * the message takes 0.4-4 s instead of about 15 ms. Infinity: no pacing.
   * @default defaultPacingMbps(binding): 256 on wrtc and in browsers, none on node-datachannel
   */
  pacingMbps: number;
  /**
   * What pacing lets through at once: a chunk waits only while more than this many bytes
   * are still due at pacingMbps. Small messages sent back to back (a broadcast and a control
   * message) then go at once instead of each waiting for a timer (at least 1 ms); a large
   * message is still spread out.
   * @default 16384 (16 KiB)
   */
  pacingBurstBytes: number;
  /** Poll interval for bufferedAmount while waiting to drain (wrtc never fires bufferedamountlow). @default 1 */
  drainPollIntervalMs: number;
  /** A send fails with ERR_DRAIN_TIMEOUT (and the link closes) if the buffer does not drain in this time. @default 30000 */
  drainTimeoutMs: number;
  /**
   * Shapes this peer's access link to this rate, each way, in Mbit/s: its uplink is shared by
   * everything it sends, its downlink by everything it receives (see shaping.ts). Infinity:
   * unshaped. Every link of one PeerTransport shares the same shaping.
   * @default Infinity
   */
  linkMbps: number;
  /** One-way propagation delay added to every chunk this peer sends, in ms. @default 0 */
  linkLatencyMs: number;
  /**
   * Received bytes link shaping may hold back at once (chunks still crossing the sender's
   * emulated uplink or this peer's downlink); beyond it the link closes with
   * ERR_SHAPING_BACKLOG, so a remote cannot make this peer buffer without bound.
   * @default 268435456 (256 MiB)
   */
  maxShapedBacklogBytes: number;
  /**
   * close() sends a goodbye frame and waits this long for the remote to stop sending and close
   * the channel; a remote that does not answer gets the channel closed (a stream reset) and,
   * after this long again, the connection. Closing under a wrtc remote's send can crash it
   * (peer-link.ts, #release).
   * @default 1000
   */
  gracefulCloseTimeoutMs: number;
}

export const DEFAULT_LINK_SETTINGS: Readonly<LinkSettings> = Object.freeze({
  iceServers: [],
  iceTransportPolicy: 'all',
  connectTimeoutMs: 15_000,
  maxMessageBytes: 64 * 1024 * 1024,
  maxChunkBytes: 64 * 1024,
  highWaterMarkBytes: 1024 * 1024,
  lowWaterMarkBytes: 512 * 1024,
  pacingMbps: 256,
  pacingBurstBytes: 16 * 1024,
  drainPollIntervalMs: 1,
  drainTimeoutMs: 30_000,
  linkMbps: Number.POSITIVE_INFINITY,
  linkLatencyMs: 0,
  maxShapedBacklogBytes: 256 * 1024 * 1024,
  gracefulCloseTimeoutMs: 1000,
});

/** Bindings whose links need no pacing by default (see defaultPacingMbps). */
const UNPACED_BINDINGS: ReadonlySet<string> = new Set(['node-datachannel']);

/**
 * pacingMbps for a link whose options leave it unset, by its binding's name (binding.ts).
 * node-datachannel showed no burst loss to pace against: a fresh link's first 407 KB message
 * arrived in 8 ms median unpaced (17 ms paced at 256 Mbit/s), with no UDP receive-buffer drops
 * either way, and a 16 MiB message went at 52 MB/s unpaced against 25 paced (`npm run
 * bench:pacing -- --binding node-datachannel`, bench/results/pacing-node-datachannel.json). wrtc
 * loses the tail of such a burst (above) and browsers run the same WebRTC code: paced.
 */
export function defaultPacingMbps(bindingName: string): number {
  return UNPACED_BINDINGS.has(bindingName) ? Number.POSITIVE_INFINITY : DEFAULT_LINK_SETTINGS.pacingMbps;
}

const positiveInt = z.number().int().positive();

function isTurnServer(server: { urls: string | string[] }): boolean {
  const urls = typeof server.urls === 'string' ? [server.urls] : server.urls;
  return urls.some((url) => /^turns?:/i.test(url));
}

const settingsSchema = z
  .object({
    iceServers: z.array(z.looseObject({ urls: z.union([z.string(), z.array(z.string())]) })),
    iceTransportPolicy: z.enum(['all', 'relay']),
    connectTimeoutMs: positiveInt,
    maxMessageBytes: z.number().int().min(0).max(MAX_ENCODABLE_MESSAGE_BYTES),
    maxChunkBytes: z.number().int().min(MIN_CHUNK_BYTES),
    highWaterMarkBytes: positiveInt.max(8 * 1024 * 1024),
    lowWaterMarkBytes: z.number().int().min(0),
    pacingMbps: z.union([z.number().positive(), z.literal(Number.POSITIVE_INFINITY)]),
    pacingBurstBytes: z.number().int().min(0),
    drainPollIntervalMs: positiveInt,
    drainTimeoutMs: positiveInt,
    linkMbps: z.union([z.number().positive(), z.literal(Number.POSITIVE_INFINITY)]),
    linkLatencyMs: z.number().min(0).max(60_000),
    maxShapedBacklogBytes: positiveInt,
    gracefulCloseTimeoutMs: positiveInt,
  })
  .refine(
    (s) => s.lowWaterMarkBytes < s.highWaterMarkBytes,
    'lowWaterMarkBytes must be below highWaterMarkBytes',
  )
  .refine(
    (s) => s.iceTransportPolicy !== 'relay' || s.iceServers.some((server) => isTurnServer(server)),
    "iceTransportPolicy 'relay' needs a turn: or turns: URL in iceServers",
  );

export function resolveLinkSettings(overrides: Partial<LinkSettings> = {}): LinkSettings {
  const merged: LinkSettings = { ...DEFAULT_LINK_SETTINGS, ...stripUndefined(overrides) };
  const result = settingsSchema.safeParse(merged);
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new TransportError('ERR_INVALID_OPTION', `${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`);
  }
  return merged;
}

function stripUndefined<T extends object>(value: Partial<T>): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
