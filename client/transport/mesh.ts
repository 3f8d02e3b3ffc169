/**
 * PeerTransport: WebRTC links to many remote peers, set up through a SignalRelay it does not
 * implement. Fits a star that is torn down (closeAll) and rebuilt when the aggregator changes,
 * as well as a full mesh.
 *
 * Who initiates is deterministic: the peer with the lexicographically smaller id sends the
 * offer. connect() on the other side sends a 'hello' asking it to; incoming offers and hellos
 * are accepted unless acceptIncoming says no. A hello's sender has no link to us: if ours is
 * still opening and has heard nothing back, we re-send its offer (both sides called connect());
 * otherwise ours is stale (the remote restarted) and a fresh link replaces it. A link closed
 * before it opened sends a 'bye', so the remote gives up its side at once instead of waiting
 * for its connect timeout (an aggregator dropping its links mid-handshake).
 *
 * @example
 * const transport = await createPeerTransport({ localId: 'worker-7', relay });
 * transport.on('message', (from, bytes) => handle(from, bytes));
 * await transport.connect('aggregator-1'); // rejects with ERR_CONNECT_TIMEOUT if it never opens
 * await transport.send('aggregator-1', frame);
 * transport.closeAll(); // tear the star down; connect() again to rebuild it
 */

import { loadWebRtcBinding, type WebRtcBinding } from './binding.ts';
import { TransportError, toTransportError } from './errors.ts';
import { resolveLinkSettings, type LinkSettings } from './link-options.ts';
import { addLinkStats, emptyLinkStats, type LinkStats } from './link-stats.ts';
import { PeerLink, type LinkCloseReason } from './peer-link.ts';
import { createLinkShaping, type LinkShaping } from './shaping.ts';
import { isOfferPayload, signalEnvelopeSchema, type SignalRelay } from './signal-relay.ts';
import { TypedEmitter } from '../../shared/typed-emitter.ts';

export interface PeerTransportEvents {
  /** A link to `remoteId` opened. */
  'peer:connect': (remoteId: string) => void;
  /** A link that had opened is gone (closed here, by the remote, by an error, or replaced). */
  'peer:disconnect': (remoteId: string, reason: LinkCloseReason | 'replaced') => void;
  message: (from: string, message: Uint8Array) => void;
  /** Something failed with `remoteId`; the affected link (if any) is closed. */
  error: (error: TransportError, remoteId: string) => void;
}

export interface PeerTransportOptions {
  localId: string;
  relay: SignalRelay;
  /**
   * Per-link limits and timeouts (connectTimeoutMs, maxMessageBytes, iceServers, ...) and this
   * peer's link shaping (linkMbps, linkLatencyMs): one uplink and one downlink shared by all
   * its links, as a peer's access link is.
   */
  link?: Partial<LinkSettings>;
  /** Decides whether an unsolicited offer or hello from `remoteId` is accepted. @default accept all */
  acceptIncoming?: (remoteId: string) => boolean;
  /** The WebRTC implementation; loaded by createPeerTransport when omitted. */
  binding?: WebRtcBinding;
}

export interface BroadcastResult {
  sent: string[];
  failed: { remoteId: string; error: TransportError }[];
}

interface PeerEntry {
  readonly link: PeerLink;
  /** Undefined for a non-initiator link that has not seen its offer yet. */
  linkId: string | undefined;
  connected: boolean;
  lastError: TransportError | undefined;
  replaced: boolean;
  /** Envelopes an initiator link sent while connecting, for re-sending after a hello. */
  sent: unknown[];
  /** Signals already fed to this link (JSON), so a re-sent one is not applied twice. */
  seen: Set<string>;
  /** Closed because the remote said bye: no bye goes back. */
  byeReceived: boolean;
}

interface Waiter {
  resolve: () => void;
  reject: (error: TransportError) => void;
}

/** Loads the binding if needed and creates a transport. */
export async function createPeerTransport(options: PeerTransportOptions): Promise<PeerTransport> {
  const { iceTransportPolicy } = resolveLinkSettings(options.link ?? {});
  const binding = options.binding ?? (await loadWebRtcBinding(undefined, { iceTransportPolicy }));
  return new PeerTransport({ ...options, binding });
}

export class PeerTransport extends TypedEmitter<PeerTransportEvents> {
  readonly localId: string;
  readonly #relay: SignalRelay;
  readonly #binding: WebRtcBinding;
  readonly #linkSettings: Partial<LinkSettings>;
  readonly #shaping: LinkShaping;
  readonly #acceptIncoming: (remoteId: string) => boolean;
  readonly #entries = new Map<string, PeerEntry>();
  readonly #waiters = new Map<string, Set<Waiter>>();
  readonly #closedLinkTotals = emptyLinkStats();
  readonly #unsubscribe: () => void;
  #stopped = false;

  constructor(options: PeerTransportOptions & { binding: WebRtcBinding }) {
    super();
    if (options.localId.length === 0) throw new TransportError('ERR_INVALID_OPTION', 'localId is empty');
    this.localId = options.localId;
    this.#relay = options.relay;
    this.#binding = options.binding;
    this.#linkSettings = options.link ?? {};
    this.#shaping = createLinkShaping(resolveLinkSettings(this.#linkSettings));
    this.#acceptIncoming = options.acceptIncoming ?? (() => true);
    this.#unsubscribe = this.#relay.onSignal((from, data) => this.#onSignal(from, data));
  }

  /** True when this side sends the offer to `remoteId`. */
  isInitiatorFor(remoteId: string): boolean {
    return this.localId < remoteId;
  }

  /** Ids of the peers with an open link. */
  connectedPeers(): string[] {
    return [...this.#entries].filter(([, entry]) => entry.connected).map(([id]) => id);
  }

  isConnected(remoteId: string): boolean {
    return this.#entries.get(remoteId)?.connected ?? false;
  }

  /**
   * Opens (or joins the opening of) a link to `remoteId`. Resolves when it is open; rejects
   * with ERR_CONNECT_TIMEOUT (link.connectTimeoutMs), the link's error, or ERR_LINK_CLOSED.
   */
  connect(remoteId: string): Promise<void> {
    if (this.#stopped) return Promise.reject(new TransportError('ERR_LINK_CLOSED', 'transport stopped'));
    if (remoteId === this.localId) {
      return Promise.reject(new TransportError('ERR_INVALID_OPTION', 'cannot connect to self'));
    }
    const existing = this.#entries.get(remoteId);
    if (existing?.connected) return Promise.resolve();
    const opened = new Promise<void>((resolve, reject) => {
      let set = this.#waiters.get(remoteId);
      if (!set) {
        set = new Set();
        this.#waiters.set(remoteId, set);
      }
      set.add({ resolve, reject });
    });
    if (!existing) {
      if (this.isInitiatorFor(remoteId)) {
        this.#startLink(remoteId, true, newLinkId());
      } else {
        const entry = this.#startLink(remoteId, false, undefined);
        this.#sendEnvelope(remoteId, { v: 1, kind: 'hello' }, entry);
      }
    }
    return opened;
  }

  /**
   * Sends one message to a connected peer (see PeerLink.send). Rejects with ERR_UNKNOWN_PEER
   * when there is no link to it, ERR_NOT_CONNECTED while its link is still opening.
   */
  send(remoteId: string, message: Uint8Array): Promise<void> {
    const entry = this.#entries.get(remoteId);
    if (!entry) return Promise.reject(new TransportError('ERR_UNKNOWN_PEER', `no link to ${remoteId}`));
    if (!entry.connected) {
      return Promise.reject(new TransportError('ERR_NOT_CONNECTED', `link to ${remoteId} not open yet`));
    }
    return entry.link.send(message);
  }

  /** Sends `message` to each peer (all connected peers by default); never rejects. */
  async broadcast(
    message: Uint8Array,
    remoteIds: Iterable<string> = this.connectedPeers(),
  ): Promise<BroadcastResult> {
    const ids = [...new Set(remoteIds)];
    const outcomes = await Promise.allSettled(ids.map((id) => this.send(id, message)));
    const result: BroadcastResult = { sent: [], failed: [] };
    outcomes.forEach((outcome, i) => {
      const remoteId = ids[i] ?? '';
      if (outcome.status === 'fulfilled') result.sent.push(remoteId);
      else result.failed.push({ remoteId, error: toTransportError(outcome.reason, 'ERR_LINK_CLOSED') });
    });
    return result;
  }

  /** Byte counters of the current link to `remoteId`. */
  stats(remoteId: string): LinkStats | undefined {
    return this.#entries.get(remoteId)?.link.stats();
  }

  /** Chunks that came in on the current link to `remoteId` (PeerLink.arrivedChunks). */
  arrivedChunks(remoteId: string): number | undefined {
    return this.#entries.get(remoteId)?.link.arrivedChunks;
  }

  /** The round trip time of the link to `remoteId` in ms (PeerLink.roundTripMs). */
  async roundTripMs(remoteId: string): Promise<number | undefined> {
    return this.#entries.get(remoteId)?.link.roundTripMs();
  }

  /**
   * This peer's measured uplink rate in bytes per second, over its last few sends to anyone
   * (see ThroughputMeter); undefined before a send took measurable time (unshaped links).
   */
  uplinkBytesPerSecond(): number | undefined {
    return this.#shaping.meter.bytesPerSecond();
  }

  /** Byte counters summed over every link this transport ever had. */
  totalStats(): LinkStats {
    const total = emptyLinkStats();
    addLinkStats(total, this.#closedLinkTotals);
    for (const entry of this.#entries.values()) addLinkStats(total, entry.link.stats());
    return total;
  }

  /** Closes the link to `remoteId` (pending connect() calls reject with ERR_LINK_CLOSED). */
  close(remoteId: string): void {
    this.#entries.get(remoteId)?.link.close();
    this.#rejectWaiters(remoteId, new TransportError('ERR_LINK_CLOSED', `link to ${remoteId} closed`));
  }

  /** Closes every link; the transport stays usable (connect() rebuilds). */
  closeAll(): void {
    for (const remoteId of [...this.#entries.keys(), ...this.#waiters.keys()]) this.close(remoteId);
  }

  /** closeAll() and stop listening to the relay; the transport is done. */
  stop(): void {
    this.#stopped = true;
    this.#unsubscribe();
    this.closeAll();
  }

  #startLink(remoteId: string, initiator: boolean, linkId: string | undefined): PeerEntry {
    const previous = this.#entries.get(remoteId);
    const link = new PeerLink({
      ...this.#linkSettings,
      initiator,
      binding: this.#binding,
      shaping: this.#shaping,
    });
    const entry: PeerEntry = {
      link,
      linkId,
      connected: false,
      lastError: undefined,
      replaced: false,
      sent: [],
      seen: new Set(),
      byeReceived: false,
    };
    this.#entries.set(remoteId, entry);
    if (previous) {
      previous.replaced = true;
      previous.link.close();
    }
    const isCurrent = (): boolean => this.#entries.get(remoteId) === entry;
    link.on('signal', (data) => {
      if (entry.linkId === undefined) return; // cannot happen: a non-initiator answers an offer
      const envelope = { v: 1, kind: 'signal', link: entry.linkId, data };
      if (initiator && !entry.connected) entry.sent.push(envelope);
      this.#sendEnvelope(remoteId, envelope, entry);
    });
    link.on('connect', () => {
      if (!isCurrent()) return;
      entry.connected = true;
      entry.sent = [];
      this.emit('peer:connect', remoteId);
      for (const waiter of this.#takeWaiters(remoteId)) waiter.resolve();
    });
    link.on('message', (message) => {
      if (isCurrent()) this.emit('message', remoteId, message);
    });
    link.on('error', (error) => {
      entry.lastError = error;
      this.emit('error', error, remoteId);
    });
    link.on('close', (reason) => {
      addLinkStats(this.#closedLinkTotals, link.stats());
      if (isCurrent()) this.#entries.delete(remoteId);
      if (entry.connected) this.emit('peer:disconnect', remoteId, entry.replaced ? 'replaced' : reason);
      if (!entry.replaced && !entry.connected) {
        // The remote may be mid-handshake with this link: it need not wait for its timeout.
        if (!entry.byeReceived) this.#sendEnvelope(remoteId, { v: 1, kind: 'bye', link: entry.linkId });
        this.#rejectWaiters(
          remoteId,
          entry.lastError ?? new TransportError('ERR_LINK_CLOSED', 'link closed'),
        );
      }
    });
    return entry;
  }

  #onSignal(from: string, raw: unknown): void {
    if (this.#stopped || from === this.localId) return;
    const parsed = signalEnvelopeSchema.safeParse(raw);
    if (!parsed.success) {
      this.emit('error', new TransportError('ERR_SIGNAL_INVALID', 'malformed signal envelope'), from);
      return;
    }
    const envelope = parsed.data;
    const entry = this.#entries.get(from);
    const wanted = (): boolean => this.#waiters.has(from) || this.#acceptIncoming(from);
    if (envelope.kind === 'hello') {
      if (!this.isInitiatorFor(from)) {
        this.emit(
          'error',
          new TransportError('ERR_SIGNAL_INVALID', `hello from ${from}, which initiates`),
          from,
        );
      } else if (entry && !entry.connected && entry.seen.size === 0) {
        // Both sides called connect(): our offer is in flight or was dropped before the remote
        // listened. Re-sending it (the remote ignores duplicates) avoids a second connection.
        for (const envelope of entry.sent) this.#sendEnvelope(from, envelope, entry);
      } else if (wanted()) {
        // The remote has no link to us: whatever we hold is stale.
        this.#startLink(from, true, newLinkId());
      }
      return;
    }
    if (envelope.kind === 'bye') {
      // Only a link still opening, and only the one the bye names (or any, when one side never
      // saw the offer): a late bye must not close a working link.
      const named =
        envelope.link === undefined || entry?.linkId === undefined || entry.linkId === envelope.link;
      if (entry && !entry.connected && named) {
        entry.byeReceived = true;
        entry.lastError = new TransportError('ERR_LINK_CLOSED', `${from} closed the link before it opened`);
        entry.link.close();
      }
      return;
    }
    if (entry && entry.linkId === envelope.link) {
      this.#feed(entry, envelope.data);
      return;
    }
    // Anything else is either the offer of a new link or a leftover of an old one.
    if (this.isInitiatorFor(from) || !isOfferPayload(envelope.data)) return;
    if (entry && entry.linkId === undefined) {
      entry.linkId = envelope.link; // the offer our connect() asked for
      this.#feed(entry, envelope.data);
    } else if (wanted()) {
      this.#feed(this.#startLink(from, false, envelope.link), envelope.data);
    }
  }

  /** Feeds a signal to a link once; re-sent duplicates are dropped. */
  #feed(entry: PeerEntry, data: unknown): void {
    const key = JSON.stringify(data) ?? '';
    if (entry.seen.has(key)) return;
    entry.seen.add(key);
    entry.link.signal(data);
  }

  #sendEnvelope(remoteId: string, envelope: unknown, entry?: PeerEntry): void {
    try {
      this.#relay.sendSignal(remoteId, envelope);
    } catch (err) {
      const error = toTransportError(err, 'ERR_RELAY');
      this.emit('error', error, remoteId);
      if (entry) {
        entry.lastError = error;
        entry.link.close();
      }
    }
  }

  #takeWaiters(remoteId: string): Waiter[] {
    const set = this.#waiters.get(remoteId);
    this.#waiters.delete(remoteId);
    return set ? [...set] : [];
  }

  #rejectWaiters(remoteId: string, error: TransportError): void {
    for (const waiter of this.#takeWaiters(remoteId)) waiter.reject(error);
  }
}

/** 128 random bits as hex. getRandomValues, unlike randomUUID, also works on plain-http pages. */
function newLinkId(): string {
  const bytes = globalThis.crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
