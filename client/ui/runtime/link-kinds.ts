/**
 * Whether this tab reaches a peer directly or through a TURN relay, from WebRTC statistics:
 * the ICE candidate pair the connection selected, and the `candidateType` of its two ends
 * ('host', 'srflx', 'prflx', 'relay'); a 'relay' end means the bytes go through a TURN
 * server. Pure parsing (selectedCandidateTypes, iceUfragOf) plus a sampler.
 *
 * The transport (client/transport) keeps its RTCPeerConnections to itself, so the tab tracks
 * them where they are made: trackPeerConnections() wraps the page's RTCPeerConnection before
 * the transport first loads it (browser-runtime.ts does so when the app starts). A connection
 * is matched to its peer by the ICE username fragment of the remote description, which came
 * in a signal from that peer through the signaling server (noteSignal).
 *
 * @example
 * const registry = trackPeerConnections();          // before any transport starts
 * const sampler = new LinkKindSampler({ registry, report: (patch) => store.upsertPeer(patch) });
 * client.onSignal((from, data) => sampler.noteSignal(from, data));
 * setInterval(() => void sampler.sample(), 2000);
 */
import { z } from 'zod';
import type { LinkKind, PeerPatch } from '../state.ts';

const statsSchema = z.object({ type: z.string(), id: z.string() }).loose();
const pairSchema = z
  .object({
    type: z.literal('candidate-pair'),
    id: z.string(),
    localCandidateId: z.string(),
    remoteCandidateId: z.string(),
    state: z.string().optional(),
    nominated: z.boolean().optional(),
    selected: z.boolean().optional(),
  })
  .loose();
const candidateSchema = z
  .object({
    type: z.enum(['local-candidate', 'remote-candidate']),
    id: z.string(),
    candidateType: z.string(),
  })
  .loose();
const transportSchema = z
  .object({ type: z.literal('transport'), selectedCandidatePairId: z.string().optional() })
  .loose();

export interface CandidateTypes {
  local: string;
  remote: string;
}

/**
 * The candidate types of the selected pair: the transport's selectedCandidatePairId (Chrome),
 * else a pair marked `selected` (Firefox), else a nominated, succeeded one; null when none.
 */
export function selectedCandidateTypes(reports: Iterable<unknown>): CandidateTypes | null {
  const all = [...reports].filter((r) => statsSchema.safeParse(r).success);
  const pairs = all.flatMap((r) => {
    const parsed = pairSchema.safeParse(r);
    return parsed.success ? [parsed.data] : [];
  });
  const selectedId = all
    .map((r) => transportSchema.safeParse(r))
    .find((t) => t.success && t.data.selectedCandidatePairId !== undefined)?.data?.selectedCandidatePairId;
  const pair =
    pairs.find((p) => p.id === selectedId) ??
    pairs.find((p) => p.selected === true) ??
    pairs.find((p) => p.nominated === true && p.state === 'succeeded');
  if (pair === undefined) return null;
  const typeOf = (id: string): string | undefined => {
    for (const r of all) {
      const parsed = candidateSchema.safeParse(r);
      if (parsed.success && parsed.data.id === id) return parsed.data.candidateType;
    }
    return undefined;
  };
  const local = typeOf(pair.localCandidateId);
  const remote = typeOf(pair.remoteCandidateId);
  return local === undefined || remote === undefined ? null : { local, remote };
}

/** Relayed when either end is a TURN relay candidate. */
export function linkKindOf(types: CandidateTypes): LinkKind {
  return types.local === 'relay' || types.remote === 'relay' ? 'relay' : 'direct';
}

const UFRAG = /^a=ice-ufrag:(\S+)/m;

/**
 * The ICE username fragment in an SDP, or in a relayed signal that carries one (an offer or
 * answer, possibly inside the transport's envelope `{ data: { type, sdp } }`); null otherwise.
 */
export function iceUfragOf(value: unknown, depth = 0): string | null {
  if (typeof value === 'string') return UFRAG.exec(value)?.[1] ?? null;
  if (typeof value !== 'object' || value === null || depth > 2) return null;
  const sdp: unknown = Reflect.get(value, 'sdp');
  if (typeof sdp === 'string') return iceUfragOf(sdp, depth + 1);
  return iceUfragOf(Reflect.get(value, 'data'), depth + 1);
}

/** What the sampler reads of an RTCPeerConnection. */
export interface StatsConnection {
  readonly connectionState: string;
  readonly remoteDescription: { readonly sdp: string } | null;
  getStats(): Promise<{ values(): Iterable<unknown> }>;
}

/** The page's peer connections, as trackPeerConnections registers them. */
export class ConnectionRegistry {
  private readonly connections = new Set<StatsConnection>();

  add(connection: StatsConnection): void {
    this.connections.add(connection);
  }

  /** Open ones; closed ones are forgotten. */
  live(): StatsConnection[] {
    for (const c of this.connections) if (c.connectionState === 'closed') this.connections.delete(c);
    return [...this.connections];
  }
}

let tracked: ConnectionRegistry | null = null;

/**
 * Wraps the page's RTCPeerConnection so every connection made afterwards is registered
 * (once per page; later calls return the same registry). Null where there is no WebRTC.
 */
export function trackPeerConnections(): ConnectionRegistry | null {
  if (tracked !== null) return tracked;
  if (typeof globalThis.RTCPeerConnection !== 'function') return null;
  const registry = new ConnectionRegistry();
  const Original = globalThis.RTCPeerConnection;
  class TrackedPeerConnection extends Original {
    constructor(configuration?: RTCConfiguration) {
      super(configuration);
      registry.add(this);
    }
  }
  globalThis.RTCPeerConnection = TrackedPeerConnection;
  tracked = registry;
  return registry;
}

export interface LinkKindSamplerInit {
  registry: ConnectionRegistry;
  /** Receives `{ peerId, link, linkCandidates }` for each peer whose link is connected (every sample). */
  report: (patch: PeerPatch) => void;
}

export class LinkKindSampler {
  private readonly init: LinkKindSamplerInit;
  /** ICE username fragment of a peer's side of a link -> that peer. */
  private readonly peerOfUfrag = new Map<string, string>();

  constructor(init: LinkKindSamplerInit) {
    this.init = init;
  }

  /** A relayed signal from `from`: remembers the ufrag of its offer or answer. */
  noteSignal(from: string, data: unknown): void {
    const ufrag = iceUfragOf(data);
    if (ufrag === null) return;
    this.peerOfUfrag.set(ufrag, from);
    if (this.peerOfUfrag.size > 256) {
      const oldest = this.peerOfUfrag.keys().next().value;
      if (oldest !== undefined) this.peerOfUfrag.delete(oldest);
    }
  }

  /** Reads every connected link's selected pair and reports its kind. */
  async sample(): Promise<void> {
    const live = this.init.registry.live().filter((c) => c.connectionState === 'connected');
    await Promise.all(
      live.map(async (connection) => {
        const ufrag = iceUfragOf(connection.remoteDescription?.sdp ?? null);
        const peerId = ufrag === null ? undefined : this.peerOfUfrag.get(ufrag);
        if (peerId === undefined) return;
        let types: CandidateTypes | null;
        try {
          types = selectedCandidateTypes((await connection.getStats()).values());
        } catch {
          return; // closed meanwhile
        }
        if (types === null) return;
        this.init.report({
          peerId,
          link: linkKindOf(types),
          linkCandidates: `${types.local}/${types.remote}`,
        });
      }),
    );
  }
}
