/**
 * This tab's part in a session, in one of three ways:
 * - `join` with a `runtime` (the app's default): the training runtime's peer joins as a
 *   `browser` peer and trains; the store follows that peer's signaling client (again after
 *   each pause, and after each rejoin when the socket dropped) and /status polls;
 * - `join` without a runtime: the tab joins as a `browser` member that does not train
 *   (membership and stats only; used by tests and by pages without TF.js), through a
 *   SessionMembership, so it too joins again when the socket drops;
 * - `watch`: no membership at all, the dashboard follows /status polls only (`&watch=1`
 *   links, e.g. the one `npm start` prints).
 * `create` creates the session first, then joins it. Everything stops on close().
 *
 * Errors go to the store by source (see state.ts): a failed create or join (`join`), the
 * runtime's (`runtime`), a membership that gave up (`signaling`, and the connection turns
 * `closed`), failing /status polls (`status`, cleared by the next answer). A dropped socket
 * is no error: the tab shows `reconnecting` until the membership is back (feeds/signaling-feed.ts).
 *
 * @example
 * const connection = new SessionConnection({ baseUrl: location.origin, store, runtime: (p) => new PeerRuntime({ ...p, serverUrl, createLearner }) });
 * const { link, runtime } = await connection.create({ algorithm: 'liec' });
 * connection.close();
 */
import type { Capabilities, SessionConfigInput } from '../../shared/protocol/signaling.ts';
import { signalingStatusSchema } from '../../shared/protocol/signaling-status.ts';
import type { SessionConfig } from '../../shared/protocol/session-config.ts';
import {
  SessionMembership,
  SignalingClient,
  SignalingError,
  type JoinedSession,
} from '../signaling/index.ts';
import { applyStatus, pollStatus } from './feeds/status-feed.ts';
import { followSignaling } from './feeds/signaling-feed.ts';
import { makeJoinLink, type JoinParams } from './join-link.ts';
import { SIGNALING_RETRY_ATTEMPTS, SIGNALING_RETRY_DELAY_MS } from './reconnect.ts';
import type { SessionRuntime } from './runtime/attach.ts';
import type { SessionStore } from './state.ts';

export interface SessionConnectionInit {
  /** The signaling server's base URL. */
  baseUrl: string;
  store: SessionStore;
  /** What this tab tells the others about itself (member joins). @default {} */
  capabilities?: Capabilities;
  /**
   * Time between /status polls.
   * @default the heartbeat interval from the join reply; 1000 when watching
   */
  statusPollMs?: number;
  /** How long watch() waits for its first /status answer. @default 10_000 */
  watchTimeoutMs?: number;
  /** Starts the training runtime whose peer joins for this tab; without it the tab joins as a non-training member. */
  runtime?: (params: JoinParams) => SessionRuntime;
  /**
   * A non-training member's pause before each attempt to join again after its socket dropped
   * (a runtime says its own, `signalingRetryDelayMs`). @default SIGNALING_RETRY_DELAY_MS
   */
  retryDelayMs?: number;
  /** A non-training member's attempts before giving up. @default SIGNALING_RETRY_ATTEMPTS */
  retryAttempts?: number;
}

export interface JoinResult {
  /** The link that lets others join the same session. */
  link: string;
  sessionId: string;
  config: SessionConfig;
  /** This tab's peer id; null when watching. */
  peerId: string | null;
  /** The training runtime, when one joined. */
  runtime?: SessionRuntime;
}

export class SessionConnection {
  private used = false;
  /** The host token of a session this tab created by invitation. */
  private hostToken: string | null = null;
  private member: SessionMembership | undefined;
  private readonly stop = new AbortController();
  /** Aborts following the current signaling client (replaced on each rejoin). */
  private following: AbortController | undefined;
  /** False until the first client is followed (its join reply is a snapshot, not news). */
  private followed = false;
  /** The retry delay of whatever joins for this tab (for the reconnect countdown). */
  private retryDelayMs: number = SIGNALING_RETRY_DELAY_MS;

  constructor(private readonly init: SessionConnectionInit) {}

  /**
   * Creates a session with `config`, then joins it (with the runtime, if any). A server with
   * an operator token creates sessions only for whoever gives it (signaling/options.ts).
   */
  async create(config: SessionConfigInput, operatorToken?: string, invitations = false): Promise<JoinResult> {
    return this.run(async () => {
      const client = new SignalingClient(operatorToken === undefined ? {} : { operatorToken });
      try {
        await client.connect(this.init.baseUrl, { signal: this.stop.signal });
        const created = await client.create(config, { signal: this.stop.signal, invitations });
        // By invitation, this tab holds the host token: it joins with it and mints invitations.
        if (created.invitations) this.hostToken = created.token;
        return { sessionId: created.sessionId, token: created.token };
      } finally {
        client.close();
      }
    }, 'join');
  }

  /** Whether this tab created its session by invitation (and may mint invitations). */
  get invites(): boolean {
    return this.hostToken !== null;
  }

  /** A join link that admits one new peer id, for a session this tab created by invitation. */
  async invite(sessionId: string): Promise<string> {
    const hostToken = this.hostToken;
    if (hostToken === null) throw new Error('this tab did not create the session by invitation');
    const client = new SignalingClient();
    try {
      await client.connect(this.init.baseUrl, { signal: this.stop.signal });
      const minted = await client.invite(sessionId, hostToken, { count: 1 }, { signal: this.stop.signal });
      const [invitation] = minted.invitations;
      if (invitation === undefined) throw new Error('the server minted no invitation');
      return makeJoinLink(this.init.baseUrl, sessionId, invitation.token);
    } finally {
      client.close();
    }
  }

  async join(params: JoinParams): Promise<JoinResult> {
    return this.run(async () => params, 'join');
  }

  /** Follows a session through /status only; fails with UNKNOWN_SESSION when it is not there. */
  async watch(params: JoinParams): Promise<JoinResult> {
    return this.run(async () => params, 'watch');
  }

  /** Stops the feeds and closes the signaling connection; safe to call more than once. */
  close(): void {
    this.stop.abort();
    this.following?.abort();
    this.member?.close();
  }

  private async run(target: () => Promise<JoinParams>, mode: 'join' | 'watch'): Promise<JoinResult> {
    if (this.used) throw new Error('SessionConnection is single-use');
    this.used = true;
    const { store } = this.init;
    store.batch(() => {
      store.setLocal({ connection: 'connecting', reconnect: null });
      store.clearError('join');
    });
    try {
      const params = await target();
      const result =
        mode === 'watch'
          ? await this.startWatching(params)
          : this.init.runtime === undefined
            ? await this.joinAsMember(params)
            : await this.joinWithRuntime(params, this.init.runtime);
      return result;
    } catch (error) {
      this.close();
      store.batch(() => {
        store.setLocal({ connection: 'idle', reconnect: null });
        store.setError('join', error instanceof Error ? error.message : String(error));
      });
      throw error;
    }
  }

  private async joinWithRuntime(
    params: JoinParams,
    start: (params: JoinParams) => SessionRuntime,
  ): Promise<JoinResult> {
    const runtime = start(params);
    const { store } = this.init;
    this.retryDelayMs = runtime.signalingRetryDelayMs ?? SIGNALING_RETRY_DELAY_MS;
    const offs = [
      runtime.on('joined', ({ client, joined }) => {
        store.clearError('runtime');
        this.follow(client, joined);
      }),
      runtime.on('leaving', () => {
        this.following?.abort();
        // A peer that leaves (a pause) stops trying to join again: nothing to count down to.
        if (store.state.local.connection === 'reconnecting')
          store.setLocal({ connection: 'joined', reconnect: null });
      }),
      runtime.on('error', ({ message }) => store.setError('runtime', message)),
      runtime.on('lost', ({ message }) => this.lost(message)),
    ];
    this.stop.signal.addEventListener('abort', () => offs.forEach((off) => off()), { once: true });
    let joined: JoinedSession;
    try {
      joined = await runtime.start();
    } catch (error) {
      await runtime.leave();
      throw error;
    }
    if (this.stop.signal.aborted) {
      await runtime.leave();
      throw new SignalingError('ABORTED', 'closed while joining');
    }
    this.startPolling(params.sessionId, joined.heartbeatIntervalMs);
    return { ...this.describe(params, joined), runtime };
  }

  private async joinAsMember(params: JoinParams): Promise<JoinResult> {
    this.retryDelayMs = this.init.retryDelayMs ?? SIGNALING_RETRY_DELAY_MS;
    const membership = new SessionMembership({
      serverUrl: this.init.baseUrl,
      join: { ...params, kind: 'browser', capabilities: this.init.capabilities ?? {} },
      rejoinDelayMs: this.retryDelayMs,
      rejoinAttempts: this.init.retryAttempts ?? SIGNALING_RETRY_ATTEMPTS,
    });
    this.member = membership;
    membership.on('rejoined', ({ client, joined }) => this.follow(client, joined));
    membership.on('lost', ({ error }) => this.lost(`no longer a member of the session: ${error.message}`));
    const joined = await membership.start();
    const client = membership.client;
    if (this.stop.signal.aborted || client === null)
      throw new SignalingError('ABORTED', 'closed while joining');
    this.follow(client, joined);
    this.startPolling(params.sessionId, joined.heartbeatIntervalMs);
    return this.describe(params, joined);
  }

  /** The membership gave up: the session stays on screen, with the reason. */
  private lost(message: string): void {
    if (this.stop.signal.aborted) return;
    this.following?.abort();
    const { store } = this.init;
    store.batch(() => {
      store.setLocal({ connection: 'closed', reconnect: null });
      store.setError('signaling', message);
    });
  }

  private async startWatching(params: JoinParams): Promise<JoinResult> {
    const response = await fetch(new URL('/status', this.init.baseUrl), {
      signal: AbortSignal.any([this.stop.signal, AbortSignal.timeout(this.init.watchTimeoutMs ?? 10_000)]),
    });
    if (!response.ok) throw new Error(`GET /status: HTTP ${response.status}`);
    const status = signalingStatusSchema.parse(await response.json());
    const session = status.sessions.find((s) => s.sessionId === params.sessionId);
    if (session === undefined)
      throw new SignalingError('UNKNOWN_SESSION', `no session ${params.sessionId} on this server`);
    const { store } = this.init;
    store.quietly(() => {
      applyStatus(store, session, { serverTime: status.serverTime, quiet: true });
      store.setLocal({ peerId: null, connection: 'joined', reconnect: null });
    });
    this.startPolling(params.sessionId, this.init.statusPollMs ?? 1000);
    return { link: this.link(params), sessionId: params.sessionId, config: session.config, peerId: null };
  }

  /** Follows one signaling client (the previous one is dropped: a runtime rejoins with a new one). */
  private follow(client: SignalingClient, joined: JoinedSession): void {
    this.following?.abort();
    const following = new AbortController();
    this.following = following;
    this.stop.signal.addEventListener('abort', () => following.abort(), { once: true });
    const first = !this.followed;
    this.followed = true;
    followSignaling(client, joined, this.init.store, following.signal, {
      first,
      retryDelayMs: this.retryDelayMs,
    });
  }

  private startPolling(sessionId: string, intervalMs: number): void {
    const { store } = this.init;
    void pollStatus({
      baseUrl: this.init.baseUrl,
      sessionId,
      store,
      intervalMs: this.init.statusPollMs ?? intervalMs,
      signal: this.stop.signal,
      onError: (error) => {
        // While reconnecting the banner already says the server is out of reach.
        if (store.state.local.connection === 'reconnecting') return;
        store.setError(
          'status',
          `cannot read the session's status: ${error instanceof Error ? error.message : String(error)}`,
        );
      },
      onSuccess: () => store.clearError('status'),
    });
  }

  private describe(params: JoinParams, joined: JoinedSession): JoinResult {
    return {
      link: this.link(params),
      sessionId: joined.sessionId,
      config: joined.config,
      peerId: joined.peerId,
    };
  }

  private link(params: JoinParams): string {
    return makeJoinLink(this.init.baseUrl, params.sessionId, params.token);
  }
}
