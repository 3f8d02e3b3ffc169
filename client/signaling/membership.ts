/**
 * A peer's membership in one session that outlives its signaling socket. A SignalingClient
 * never reconnects (a membership belongs to one socket); when the socket drops (a server
 * restart, a missed heartbeat, a network blip) this joins again with a new client, the same
 * peer id and the last announced readiness, retrying every `rejoinDelayMs` up to
 * `rejoinAttempts` times. Signals, aggregator announcements and departures are re-emitted from
 * whichever client is current, so callers subscribe once.
 *
 * Giving up ('lost') is immediate when the server says the session or the token is no good
 * (UNKNOWN_SESSION, BAD_TOKEN, TOKEN_EXPIRED), or that this peer is out of the session
 * (EXPELLED, also when the socket closes with it): retrying cannot help.
 *
 * @example
 * const membership = new SessionMembership({ serverUrl, join: { sessionId, token, kind: 'headless' } });
 * const joined = await membership.start();
 * membership.on('aggregator', ({ peerId, term }) => follow(peerId, term));
 * membership.on('rejoined', ({ joined }) => reannounce(joined));
 * await membership.setReady(true);
 * membership.close();
 */
import type {
  AggregatorEvent,
  JoinRequest,
  PeerLeftEvent,
  RoundReport,
} from '../../shared/protocol/signaling.ts';
import { SignalingError, type AggregatorFault } from '../../shared/protocol/signaling.ts';
import type { SessionView } from './session-view.ts';
import { SignalingClient, type JoinedSession, type SignalingClientOptions } from './signaling-client.ts';
import { TypedEmitter } from '../../shared/typed-emitter.ts';

export interface MembershipInit {
  serverUrl: string;
  /** The join request; `ready` and `peerId` are managed here (the peer id is kept on rejoin). */
  join: Omit<JoinRequest, 'ready'>;
  client?: SignalingClientOptions;
  /** Pause before each attempt to join again after the socket dropped. @default 1000 */
  rejoinDelayMs?: number;
  /** Attempts to join again before giving up ('lost'). @default 30 */
  rejoinAttempts?: number;
  log?: (message: string) => void;
}

export interface MembershipEvents {
  aggregator: (event: AggregatorEvent) => void;
  'peer:left': (event: PeerLeftEvent) => void;
  /** Joined again after the socket dropped; `client` is the new socket's client. */
  rejoined: (event: { joined: JoinedSession; client: SignalingClient }) => void;
  /** The socket dropped; a rejoin follows unless the membership gave up or was closed. */
  disconnect: (event: { reason: string; error?: SignalingError }) => void;
  /** No more attempts: the peer is no longer a member of the session. */
  lost: (event: { error: SignalingError }) => void;
}

/** Join failures that another attempt cannot fix. */
const HOPELESS: ReadonlySet<string> = new Set(['UNKNOWN_SESSION', 'BAD_TOKEN', 'TOKEN_EXPIRED', 'EXPELLED']);

export class SessionMembership extends TypedEmitter<MembershipEvents> {
  private readonly init: MembershipInit;
  private readonly aborter = new AbortController();
  private current: SignalingClient | null = null;
  private readonly signalHandlers = new Set<(from: string, data: unknown) => void>();
  private peerId: string | undefined;
  private ready = false;
  private closed = false;
  private rejoining: Promise<void> | null = null;

  constructor(init: MembershipInit) {
    super();
    this.init = init;
    this.peerId = init.join.peerId;
  }

  /** The current socket's client (null before start and while joining again). */
  get client(): SignalingClient | null {
    return this.current;
  }

  /** The session as the current client knows it. */
  get session(): SessionView | undefined {
    return this.current?.session;
  }

  /** Connects and joins; throws what the first join throws. */
  async start(): Promise<JoinedSession> {
    return this.connectAndJoin();
  }

  async sendSignal(to: string, data: unknown): Promise<void> {
    await this.requireClient().sendSignal(to, data);
  }

  /** Relayed signals from every client this membership uses; returns the unsubscribe function. */
  onSignal(handler: (from: string, data: unknown) => void): () => void {
    this.signalHandlers.add(handler);
    return () => this.signalHandlers.delete(handler);
  }

  /**
   * Announces readiness; remembered and announced again with every rejoin. While the socket
   * is down (or drops before the server acknowledges) this does not throw: the next join
   * carries the readiness.
   */
  async setReady(ready: boolean): Promise<void> {
    this.ready = ready;
    const client = this.current;
    if (client === null) return;
    try {
      await client.setReady(ready, { signal: this.aborter.signal });
    } catch (error) {
      if (this.current === client || this.closed) throw error;
    }
  }

  async reportRound(report: RoundReport): Promise<void> {
    await this.requireClient().reportRound(report);
  }

  /** See SignalingClient.reportUnreachable; DISCONNECTED while joining again. */
  async reportUnreachable(
    term: number,
    peerId: string,
    reason: AggregatorFault = 'silent',
  ): Promise<{ reports: number; needed: number; replaced: boolean }> {
    return this.requireClient().reportUnreachable(term, peerId, reason);
  }

  /** See SignalingClient.reportPeer; DISCONNECTED while joining again. */
  async reportPeer(
    term: number,
    peerId: string,
    count: number,
  ): Promise<{ offences: number; limit: number; expelled: boolean }> {
    return this.requireClient().reportPeer(term, peerId, count);
  }

  /** Leaves: closes the socket and stops rejoining. Safe to call more than once. */
  close(): void {
    this.closed = true;
    this.aborter.abort();
    this.current?.close();
    this.current = null;
  }

  private requireClient(): SignalingClient {
    if (this.current === null) throw new SignalingError('DISCONNECTED', 'not joined (joining again)');
    return this.current;
  }

  private async connectAndJoin(): Promise<JoinedSession> {
    const signal = this.aborter.signal;
    const client = new SignalingClient(this.init.client);
    const announced = this.ready;
    let joined: JoinedSession;
    try {
      await client.connect(this.init.serverUrl, { signal });
      joined = await client.join(
        {
          ...this.init.join,
          ready: announced,
          ...(this.peerId === undefined ? {} : { peerId: this.peerId }),
        },
        { signal },
      );
      if (this.closed) throw new SignalingError('ABORTED', 'membership closed');
    } catch (error) {
      client.close();
      throw error;
    }
    this.peerId = joined.peerId;
    this.attach(client);
    // Readiness changed while the join was in flight (setReady found no client then).
    if (this.ready !== announced) {
      await this.setReady(this.ready).catch((error: unknown) =>
        this.init.log?.(`cannot announce readiness after joining: ${String(error)}`),
      );
    }
    return joined;
  }

  private attach(client: SignalingClient): void {
    this.current = client;
    client.on('aggregator', (event) => this.emit('aggregator', event));
    client.on('peer:left', (event) => this.emit('peer:left', event));
    client.onSignal((from, data) => {
      for (const handler of this.signalHandlers) handler(from, data);
    });
    client.on('disconnect', (event) => {
      if (this.current !== client) return;
      this.current = null;
      client.close();
      if (this.closed) return;
      this.emit('disconnect', event);
      // Expelled: the server refuses this peer id from now on.
      if (event.error !== undefined && HOPELESS.has(event.error.code)) {
        this.closed = true;
        this.emit('lost', { error: event.error });
        return;
      }
      this.rejoining ??= this.rejoin().finally(() => (this.rejoining = null));
    });
  }

  private async rejoin(): Promise<void> {
    const attempts = this.init.rejoinAttempts ?? 30;
    let lastError = new SignalingError('DISCONNECTED', 'socket closed');
    for (let attempt = 1; attempt <= attempts && !this.closed; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, this.init.rejoinDelayMs ?? 1000));
      if (this.closed) return;
      try {
        const joined = await this.connectAndJoin();
        const client = this.current;
        if (client === null) continue; // dropped again at once: the next attempt follows
        this.init.log?.(`joined the session again (attempt ${attempt})`);
        this.emit('rejoined', { joined, client });
        return;
      } catch (error) {
        lastError =
          error instanceof SignalingError ? error : new SignalingError('DISCONNECTED', String(error));
        this.init.log?.(`rejoin attempt ${attempt} failed: ${lastError.message}`);
        if (HOPELESS.has(lastError.code)) break;
      }
    }
    if (!this.closed) this.emit('lost', { error: lastError });
  }
}
