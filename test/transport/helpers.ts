/**
 * Test helpers for the transport: connected link pairs over real WebRTC on loopback, an
 * event waiter with a failure-guard timeout, and seeded byte patterns to check every byte.
 *
 * @example
 * const [a, b] = await connectedPair();
 * const got = nextEvent(b, 'message');
 * await a.send(pattern(4 << 20, 1));
 */

import { loadWebRtcBinding } from '../../client/transport/binding.ts';
import { PeerLink, type PeerLinkEvents, type PeerLinkOptions } from '../../client/transport/peer-link.ts';
import type { PeerTransport, PeerTransportEvents } from '../../client/transport/mesh.ts';

/** Resolves with the arguments of the next event; rejects after `timeoutMs` (a failure guard). */
function waitFor<Args extends unknown[]>(
  subscribe: (handler: (...args: Args) => void) => () => void,
  label: string,
  timeoutMs: number,
): Promise<Args> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out after ${timeoutMs} ms waiting for '${label}'`));
    }, timeoutMs);
    const off = subscribe((...args) => {
      clearTimeout(timer);
      off();
      resolve(args);
    });
  });
}

/** The next `event` of a link. */
export function nextEvent<K extends keyof PeerLinkEvents>(
  link: PeerLink,
  event: K,
  timeoutMs = 20_000,
): Promise<Parameters<PeerLinkEvents[K]>> {
  return waitFor<Parameters<PeerLinkEvents[K]>>(
    (handler) => link.on(event, handler as unknown as PeerLinkEvents[K]),
    event,
    timeoutMs,
  );
}

/** The next `event` of a transport. */
export function nextTransportEvent<K extends keyof PeerTransportEvents>(
  transport: PeerTransport,
  event: K,
  timeoutMs = 20_000,
): Promise<Parameters<PeerTransportEvents[K]>> {
  return waitFor<Parameters<PeerTransportEvents[K]>>(
    (handler) => transport.on(event, handler as unknown as PeerTransportEvents[K]),
    event,
    timeoutMs,
  );
}

/** Two links wired to each other in memory, both connected. */
export async function connectedPair(
  options: Partial<Omit<PeerLinkOptions, 'initiator'>> = {},
  remoteOptions: Partial<Omit<PeerLinkOptions, 'initiator'>> = options,
): Promise<[PeerLink, PeerLink]> {
  const binding = await loadWebRtcBinding();
  const a = new PeerLink({ ...options, initiator: true, binding });
  const b = new PeerLink({ ...remoteOptions, initiator: false, binding });
  a.on('signal', (data) => b.signal(data));
  b.on('signal', (data) => a.signal(data));
  await Promise.all([nextEvent(a, 'connect'), nextEvent(b, 'connect')]);
  return [a, b];
}

/** Collects messages until `count` arrived. */
export function collectMessages(link: PeerLink, count: number, timeoutMs = 60_000): Promise<Uint8Array[]> {
  return new Promise<Uint8Array[]>((resolve, reject) => {
    const got: Uint8Array[] = [];
    const timer = setTimeout(() => {
      off();
      reject(new Error(`timed out with ${got.length}/${count} messages`));
    }, timeoutMs);
    const off = link.on('message', (message) => {
      got.push(message);
      if (got.length === count) {
        clearTimeout(timer);
        off();
        resolve(got);
      }
    });
  });
}

/** A deterministic, non-periodic byte pattern (xorshift32 seeded by `seed`). */
export function pattern(length: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(length / 4));
  let x = (seed * 0x9e3779b1 + 0x7f4a7c15) >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    words[i] = x;
  }
  return new Uint8Array(words.buffer, 0, length);
}

/** True when `bytes` is exactly pattern(length, seed). */
export function matchesPattern(bytes: Uint8Array, length: number, seed: number): boolean {
  if (bytes.byteLength !== length) return false;
  return Buffer.compare(bytes, pattern(length, seed)) === 0;
}
