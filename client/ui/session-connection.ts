/**
 * This tab's membership of a session: connects the signaling client to the server that
 * served the page, creates and/or joins a session as a `browser` peer, then keeps the store
 * current from signaling events and /status polls until closed.
 *
 * @example
 * const connection = new SessionConnection({ baseUrl: location.origin, store });
 * const { link } = await connection.create({ algorithm: 'liec' });
 * connection.close();
 */
import type { Capabilities, SessionConfigInput } from '../../shared/protocol/signaling.ts';
import { SignalingClient, type JoinedSession } from '../signaling/index.ts';
import { pollStatus } from './feeds/status-feed.ts';
import { followSignaling } from './feeds/signaling-feed.ts';
import { makeJoinLink, type JoinParams } from './join-link.ts';
import type { SessionStore } from './state.ts';

export interface SessionConnectionInit {
  /** The signaling server's base URL. */
  baseUrl: string;
  store: SessionStore;
  /** What this tab tells the others about itself (e.g. its backend). @default {} */
  capabilities?: Capabilities;
  /** Time between /status polls. @default the heartbeat interval from the join reply */
  statusPollMs?: number;
}

export interface JoinResult {
  client: SignalingClient;
  joined: JoinedSession;
  /** The link that lets others join the same session. */
  link: string;
}

export class SessionConnection {
  private signaling: SignalingClient | undefined;
  private readonly stop = new AbortController();

  constructor(private readonly init: SessionConnectionInit) {}

  get client(): SignalingClient | undefined {
    return this.signaling;
  }

  /** Creates a session with `config`, then joins it. */
  async create(config: SessionConfigInput): Promise<JoinResult> {
    return this.run(async (client) => {
      const created = await client.create(config);
      return { sessionId: created.sessionId, token: created.token };
    });
  }

  async join(params: JoinParams): Promise<JoinResult> {
    return this.run(async () => params);
  }

  /** Stops the feeds and closes the signaling connection; safe to call more than once. */
  close(): void {
    this.stop.abort();
    this.signaling?.close();
  }

  private async run(target: (client: SignalingClient) => Promise<JoinParams>): Promise<JoinResult> {
    if (this.signaling !== undefined) throw new Error('SessionConnection is single-use');
    const { store, baseUrl } = this.init;
    const client = new SignalingClient();
    this.signaling = client;
    store.setLocal({ connection: 'connecting', error: null });
    try {
      await client.connect(baseUrl, { signal: this.stop.signal });
      const params = await target(client);
      const joined = await client.join(
        { ...params, kind: 'browser', capabilities: this.init.capabilities ?? {} },
        { signal: this.stop.signal },
      );
      followSignaling(client, joined, store, this.stop.signal);
      void pollStatus({
        baseUrl,
        sessionId: joined.sessionId,
        store,
        intervalMs: this.init.statusPollMs ?? joined.heartbeatIntervalMs,
        signal: this.stop.signal,
      });
      return { client, joined, link: makeJoinLink(baseUrl, params.sessionId, params.token) };
    } catch (error) {
      this.close();
      store.setLocal({ connection: 'idle', error: error instanceof Error ? error.message : String(error) });
      throw error;
    }
  }
}
