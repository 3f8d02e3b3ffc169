/**
 * A typed client for the signaling server (Node and browser): connect, create or join a
 * session, relay WebRTC signals, heartbeat on a timer, and follow membership and aggregator
 * changes through typed events. Every server message is validated with the shared schemas;
 * every request has a timeout and takes an AbortSignal; failures are SignalingError with a
 * stable code. The socket does not reconnect by itself: a session membership belongs to one
 * socket, so the caller rejoins with a new client (and its old peerId, if it wants it back).
 *
 * @example
 * const client = new SignalingClient();
 * await client.connect('http://127.0.0.1:8080');
 * const { sessionId, token } = await client.create({ algorithm: 'liec' });
 * const joined = await client.join({ sessionId, token, kind: 'headless', ready: true });
 * client.on('aggregator', (ev) => console.log('aggregator', ev.peerId, 'term', ev.term));
 * client.onSignal((from, data) => peerConnections.get(from)?.signal(data));
 * client.close();
 */
import { io, type Socket } from 'socket.io-client';
import type { z } from 'zod';
import {
  SignalingError,
  aggregatorEventSchema,
  createSessionOkSchema,
  inviteOkSchema,
  type InviteOk,
  emptyOkSchema,
  errorEventSchema,
  errorReplySchema,
  expelledEventSchema,
  joinOkSchema,
  peerJoinedEventSchema,
  peerLeftEventSchema,
  peerReportOkSchema,
  peerUpdatedEventSchema,
  signalEventSchema,
  type AggregatorEvent,
  type ClientToServerEvents,
  type CreateSessionOk,
  type ExpelledEvent,
  type Heartbeat,
  type JoinOk,
  type JoinRequest,
  type PeerJoinedEvent,
  type PeerLeftEvent,
  type PeerReportOk,
  type PeerUpdatedEvent,
  type RoundReport,
  type ServerToClientEvents,
  type SessionConfigInput,
  type SignalEvent,
  type UnreachableOk,
  type AggregatorFault,
  unreachableOkSchema,
} from '../../shared/protocol/signaling.ts';
import {
  rollbackCommandSchema,
  snapshotsOkSchema,
  snapshotsQuerySchema,
  type AggregatorAnswer,
  type RollbackCommand,
  type SnapshotsOk,
  type SnapshotsQuery,
} from '../../shared/protocol/operator.ts';
import { SessionView } from './session-view.ts';
import { TypedEmitter } from '../../shared/typed-emitter.ts';
import { requestWithAck, type AckCallback, type RequestOptions, type TimeoutSocket } from './request.ts';

export interface SignalingClientOptions {
  /** How long a request waits for the server's reply. @default 10_000 */
  requestTimeoutMs?: number;
  /** How long connect() waits for the connection. @default 10_000 */
  connectTimeoutMs?: number;
  /** Overrides the heartbeat interval the server suggests in its join reply. */
  heartbeatIntervalMs?: number;
  /** What each heartbeat carries (current round, traffic counters). @default () => ({}) */
  heartbeatState?: () => Heartbeat;
  /** socket.io transports; websocket only avoids CORS and long-polling. @default ['websocket'] */
  transports?: ('websocket' | 'polling')[];
  /**
   * The server's operator token, sent in the handshake: creating sessions, listing snapshots
   * and rolling back need it when the server has one (shared/protocol/operator.ts). @default none
   */
  operatorToken?: string;
}

/** What an aggregator answers to the operator requests the server relays to it. */
export interface AggregatorRequestHandlers {
  snapshots(query: SnapshotsQuery): AggregatorAnswer | Promise<AggregatorAnswer>;
  rollback(command: RollbackCommand): AggregatorAnswer | Promise<AggregatorAnswer>;
}

export interface SignalingClientEvents {
  'peer:joined': (event: PeerJoinedEvent) => void;
  'peer:left': (event: PeerLeftEvent) => void;
  'peer:updated': (event: PeerUpdatedEvent) => void;
  /** Only announcements newer than the known term. */
  aggregator: (event: AggregatorEvent) => void;
  signal: (event: SignalEvent) => void;
  /** Errors the server reported without a request, and server messages that failed validation. */
  error: (error: SignalingError) => void;
  /**
   * The server expelled this peer from the session for repeated offences; the socket closes
   * next, its disconnect carrying SignalingError EXPELLED with the message.
   */
  expelled: (event: ExpelledEvent) => void;
  /** The socket closed; `error` is the fatal server error that caused it, if any. */
  disconnect: (event: { reason: string; error?: SignalingError }) => void;
}

export type CreatedSession = Omit<CreateSessionOk, 'ok'>;
export type JoinedSession = Omit<JoinOk, 'ok'>;

type ClientSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export class SignalingClient extends TypedEmitter<SignalingClientEvents> {
  private readonly requestTimeoutMs: number;
  private readonly connectTimeoutMs: number;
  private readonly options: SignalingClientOptions;
  private socket: ClientSocket | undefined;
  private heartbeatTimer: ReturnType<typeof setInterval> | undefined;
  private heartbeatExtra: (() => Pick<Heartbeat, 'evaluation'>) | undefined;
  private fatalError: SignalingError | undefined;
  private sessionView: SessionView | undefined;
  /**
   * Session events that arrive while a join is in flight (they can share a socket read with
   * the join reply) wait here and are applied, in order, once the view exists.
   */
  private eventsDuringJoin: (() => void)[] | null = null;

  constructor(options: SignalingClientOptions = {}) {
    super();
    this.options = options;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000;
  }

  /** The session as this client knows it; undefined before join(). */
  get session(): SessionView | undefined {
    return this.sessionView;
  }

  get connected(): boolean {
    return this.socket?.connected ?? false;
  }

  async connect(url: string, { signal }: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.socket !== undefined) throw new SignalingError('BAD_REQUEST', 'connect() was already called');
    signal?.throwIfAborted();
    const socket: ClientSocket = io(url, {
      transports: this.options.transports ?? ['websocket'],
      forceNew: true,
      reconnection: false,
      timeout: this.connectTimeoutMs,
      autoConnect: false,
      ...(this.options.operatorToken === undefined
        ? {}
        : { auth: { operatorToken: this.options.operatorToken } }),
    });
    this.socket = socket;
    this.listen(socket);
    await new Promise<void>((resolve, reject) => {
      const done = (err?: SignalingError): void => {
        socket.off('connect', onConnect);
        socket.off('connect_error', onError);
        signal?.removeEventListener('abort', onAbort);
        if (err === undefined) resolve();
        else {
          this.close();
          reject(err);
        }
      };
      const onConnect = (): void => done();
      const onError = (err: Error): void =>
        done(new SignalingError('DISCONNECTED', `cannot connect: ${err.message}`));
      const onAbort = (): void => done(new SignalingError('ABORTED', 'connect aborted'));
      socket.on('connect', onConnect);
      socket.on('connect_error', onError);
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.connect();
    });
  }

  /**
   * Creates a session. With `invitations`, joins are by invitation only: the reply's token is
   * the creator's host token, which joins and mints invitations (invite).
   */
  async create(
    config: SessionConfigInput = {},
    options?: RequestOptions & { invitations?: boolean },
  ): Promise<CreatedSession> {
    const invitations = options?.invitations ?? false;
    const { ok: _ok, ...created } = await this.request(createSessionOkSchema, options, (s, ack) =>
      s.emit('session:create', { config, ...(invitations ? { invitations } : {}) }, ack),
    );
    return created;
  }

  /**
   * One invitation per peer id (`count` new ids, or the ids named), with the host token of a
   * session created with invitations; each admits its peer id only.
   */
  async invite(
    sessionId: string,
    hostToken: string,
    peers: { count: number } | { peerIds: string[] },
    options?: RequestOptions,
  ): Promise<Omit<InviteOk, 'ok'>> {
    const { ok: _ok, ...minted } = await this.request(inviteOkSchema, options, (s, ack) =>
      s.emit('session:invite', { sessionId, token: hostToken, ...peers }, ack),
    );
    return minted;
  }

  /** Operator: the snapshots the session's aggregator keeps (OPERATOR_REQUIRED, NO_AGGREGATOR). */
  async listSnapshots(sessionId: string, options?: RequestOptions): Promise<Omit<SnapshotsOk, 'ok'>> {
    const { ok: _ok, ...listed } = await this.request(snapshotsOkSchema, options, (s, ack) =>
      s.emit('snapshots:list', { sessionId }, ack),
    );
    return listed;
  }

  /**
   * Operator: every peer of the session continues from the snapshot of `round`, from the
   * round `continuesAt` on (UNKNOWN_SNAPSHOT, OPERATOR_REQUIRED, NO_AGGREGATOR).
   */
  async rollback(
    sessionId: string,
    round: number,
    options?: RequestOptions,
  ): Promise<Omit<SnapshotsOk, 'ok'>> {
    const { ok: _ok, ...done } = await this.request(snapshotsOkSchema, options, (s, ack) =>
      s.emit('session:rollback', { sessionId, round }, ack),
    );
    return done;
  }

  /**
   * Answers the operator requests the server relays to this peer while it is the aggregator
   * (client/roles/snapshots.ts). Payloads are checked first; one that fails gets no answer
   * (the server's relay times out). Returns the function that stops answering.
   */
  answerAggregatorRequests(handlers: AggregatorRequestHandlers): () => void {
    type Ack = (answer: AggregatorAnswer) => void;
    const socket = this.socket;
    if (socket === undefined) throw new SignalingError('DISCONNECTED', 'not connected');
    // A handler that fails leaves the server's relay to time out; the failure is reported here.
    const answer = (
      event: string,
      work: () => AggregatorAnswer | Promise<AggregatorAnswer>,
      ack: Ack,
    ): void => {
      Promise.resolve()
        .then(work)
        .then(ack, (error: unknown) => {
          const detail = error instanceof Error ? error.message : String(error);
          this.emit('error', new SignalingError('INTERNAL', `answering ${event} failed: ${detail}`));
        });
    };
    const onQuery = (raw: unknown, ack: Ack): void => {
      const query = snapshotsQuerySchema.safeParse(raw);
      if (query.success && typeof ack === 'function')
        answer('snapshots:query', () => handlers.snapshots(query.data), ack);
    };
    const onRollback = (raw: unknown, ack: Ack): void => {
      const command = rollbackCommandSchema.safeParse(raw);
      if (command.success && typeof ack === 'function')
        answer('snapshot:rollback', () => handlers.rollback(command.data), ack);
    };
    socket.on('snapshots:query', onQuery);
    socket.on('snapshot:rollback', onRollback);
    return () => {
      socket.off('snapshots:query', onQuery);
      socket.off('snapshot:rollback', onRollback);
    };
  }

  /** Joins a session, then heartbeats until close(). */
  async join(req: JoinRequest, options?: RequestOptions): Promise<JoinedSession> {
    this.eventsDuringJoin = [];
    let reply;
    try {
      reply = await this.request(joinOkSchema, options, (s, ack) => s.emit('session:join', req, ack));
    } finally {
      const buffered = this.eventsDuringJoin;
      this.eventsDuringJoin = null;
      if (reply !== undefined) {
        this.sessionView = new SessionView(reply);
        // The view ignores what is older than its own state (terms, membership).
        for (const apply of buffered ?? []) apply();
      }
    }
    this.startHeartbeats(this.options.heartbeatIntervalMs ?? reply.heartbeatIntervalMs);
    const { ok: _ok, ...joined } = reply;
    return joined;
  }

  /** Relays opaque WebRTC data to a peer of the same session. */
  async sendSignal(to: string, data: unknown, options?: RequestOptions): Promise<void> {
    await this.request(emptyOkSchema, options, (s, ack) => s.emit('signal', { to, data }, ack));
  }

  /** Subscribes to relayed signals; returns the unsubscribe function. */
  onSignal(handler: (from: string, data: unknown) => void): () => void {
    return this.on('signal', (ev) => handler(ev.from, ev.data));
  }

  /** Announces whether this peer can serve as aggregator (false = step down). */
  async setReady(ready: boolean, options?: RequestOptions): Promise<void> {
    await this.request(emptyOkSchema, options, (s, ack) => s.emit('peer:ready', { ready }, ack));
  }

  /** For the aggregator: records a finished round (kept by the server for status and successors). */
  async reportRound(report: RoundReport, options?: RequestOptions): Promise<void> {
    await this.request(emptyOkSchema, options, (s, ack) => s.emit('round:report', report, ack));
  }

  /**
   * Tells the server this peer hears nothing from `peerId`, the aggregator of `term`, on its
   * data channel (`reason` 'silent'), disconnected it for invalid frames ('faulty') or waits
   * for it to close a round ('stalled'); the reply says how many members have, and whether
   * that replaced it.
   */
  async reportUnreachable(
    term: number,
    peerId: string,
    reason: AggregatorFault = 'silent',
    options?: RequestOptions,
  ): Promise<Omit<UnreachableOk, 'ok'>> {
    const { ok: _ok, ...count } = await this.request(unreachableOkSchema, options, (s, ack) =>
      s.emit('aggregator:unreachable', { term, peerId, reason }, ack),
    );
    return count;
  }

  /**
   * For the aggregator of `term`: it disconnected its worker `peerId` after `count` invalid
   * frames. The reply counts that worker's offences; at the server's limit it was expelled.
   */
  async reportPeer(
    term: number,
    peerId: string,
    count: number,
    options?: RequestOptions,
  ): Promise<Omit<PeerReportOk, 'ok'>> {
    const { ok: _ok, ...counted } = await this.request(peerReportOkSchema, options, (s, ack) =>
      s.emit('peer:report', { term, peerId, reason: 'invalid-frames', count }, ack),
    );
    return counted;
  }

  /**
   * Adds what `source` returns to every heartbeat from now on (replacing an earlier source):
   * what the peer runtime does not know itself, like the accuracy of the peer's model on its
   * own data (client/training/evaluation-reporter.ts).
   */
  addToHeartbeats(source: () => Pick<Heartbeat, 'evaluation'>): void {
    this.heartbeatExtra = source;
  }

  /** Sends one heartbeat now (the timer also sends them). */
  sendHeartbeat(): void {
    if (this.socket?.connected !== true) return;
    // Nobody waits for the timer's heartbeats: their acks are dropped.
    this.socket.emit('heartbeat', this.heartbeat(), () => {});
  }

  /** Sends one heartbeat now and resolves once the server has recorded it (/status shows it). */
  async heartbeatNow(options?: RequestOptions): Promise<void> {
    const heartbeat = this.heartbeat();
    await this.request(emptyOkSchema, options, (s, ack) => s.emit('heartbeat', heartbeat, ack));
  }

  private heartbeat(): Heartbeat {
    return { ...this.options.heartbeatState?.(), ...this.heartbeatExtra?.() };
  }

  /** Stops heartbeats and closes the socket; safe to call more than once. */
  close(): void {
    this.stopHeartbeats();
    const socket = this.socket;
    if (socket === undefined) return;
    socket.disconnect();
    socket.removeAllListeners();
  }

  /** Sends a request; returns the validated success reply or throws the server's SignalingError. */
  private async request<T>(
    okSchema: z.ZodType<T>,
    options: RequestOptions | undefined,
    send: (socket: TimeoutSocket, ack: AckCallback) => void,
  ): Promise<T> {
    const socket = this.socket;
    if (socket?.connected !== true) throw new SignalingError('DISCONNECTED', 'not connected');
    // Noted as the reply arrives, so the disconnect that follows a fatal error can carry it.
    const noteFatal = (reply: unknown): void => {
      const failure = errorReplySchema.safeParse(reply);
      if (failure.success && failure.data.error.fatal)
        this.fatalError = SignalingError.fromInfo(failure.data.error);
    };
    const reply = await requestWithAck(socket, this.requestTimeoutMs, options, send, noteFatal);
    const failure = errorReplySchema.safeParse(reply);
    if (failure.success) throw SignalingError.fromInfo(failure.data.error);
    const ok = okSchema.safeParse(reply);
    if (!ok.success) throw new SignalingError('BAD_REPLY', 'server reply failed validation');
    return ok.data;
  }

  private listen(socket: ClientSocket): void {
    const view = (sessionId: string): SessionView | undefined =>
      this.sessionView?.sessionId === sessionId ? this.sessionView : undefined;
    const inOrder = (apply: () => void): void => {
      if (this.sessionView === undefined && this.eventsDuringJoin !== null) this.eventsDuringJoin.push(apply);
      else apply();
    };
    const validated =
      <T>(schema: z.ZodType<T>, apply: (ev: T) => void) =>
      (raw: unknown): void => {
        const parsed = schema.safeParse(raw);
        if (parsed.success) apply(parsed.data);
        else this.emit('error', new SignalingError('BAD_REPLY', 'server event failed validation'));
      };
    socket.on(
      'peer:joined',
      validated(peerJoinedEventSchema, (ev) => {
        inOrder(() => {
          if (view(ev.sessionId)?.applyJoined(ev) === true) this.emit('peer:joined', ev);
        });
      }),
    );
    socket.on(
      'peer:left',
      validated(peerLeftEventSchema, (ev) => {
        inOrder(() => {
          if (view(ev.sessionId)?.applyLeft(ev) === true) this.emit('peer:left', ev);
        });
      }),
    );
    socket.on(
      'peer:updated',
      validated(peerUpdatedEventSchema, (ev) => {
        inOrder(() => {
          if (view(ev.sessionId)?.applyJoined(ev) === true) this.emit('peer:updated', ev);
        });
      }),
    );
    socket.on(
      'aggregator',
      validated(aggregatorEventSchema, (ev) => {
        inOrder(() => {
          if (view(ev.sessionId)?.applyAggregator(ev) === true) this.emit('aggregator', ev);
        });
      }),
    );
    socket.on(
      'signal',
      validated(signalEventSchema, (ev) => this.emit('signal', ev)),
    );
    socket.on(
      'error',
      validated(errorEventSchema, (ev) => {
        const err = SignalingError.fromInfo(ev);
        if (err.fatal) this.fatalError = err;
        this.emit('error', err);
      }),
    );
    socket.on(
      'expelled',
      validated(expelledEventSchema, (ev) => {
        this.fatalError = new SignalingError('EXPELLED', ev.message, true);
        this.emit('expelled', ev);
      }),
    );
    socket.on('disconnect', (reason) => {
      this.stopHeartbeats();
      this.emit('disconnect', {
        reason,
        ...(this.fatalError === undefined ? {} : { error: this.fatalError }),
      });
    });
  }

  private startHeartbeats(intervalMs: number): void {
    this.stopHeartbeats();
    this.heartbeatTimer = setInterval(() => this.sendHeartbeat(), intervalMs);
  }

  private stopHeartbeats(): void {
    if (this.heartbeatTimer !== undefined) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = undefined;
  }
}
