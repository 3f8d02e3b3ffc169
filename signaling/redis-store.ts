/**
 * The Redis SessionStore: session state shared by every signaling instance that points at
 * the same Redis, so any instance can serve any peer of any session, and an instance can
 * restart without losing a session. Every mutation is one Lua script (redis-scripts.ts),
 * atomic in Redis: membership, election and term move together.
 *
 * Each instance holds a lease (renewed every sweep, expiring after `leaseMs`) and a set of
 * the members whose sockets it holds. When an instance dies without a clean stop, its lease
 * expires and another instance claims and removes its members (reason heartbeat-timeout),
 * so sessions never keep ghosts.
 *
 * @example
 * const store = new RedisSessionStore({ client, prefix: 'liec:', instanceId, leaseMs: 15_000, ... });
 * await store.start();
 */
import { z } from 'zod';
import {
  rollbackMarkSchema,
  sessionConfigSchema,
  type AggregatorFault,
  type AggregatorState,
  type NumericStats,
  type RollbackMark,
  type SessionConfig,
} from '../shared/protocol/signaling.ts';
import type { SessionStatus } from '../shared/protocol/signaling-status.ts';
import { expectReply, LuaRunner, pairs, throwIfError, type RedisCaller } from './redis-lua.ts';
import { randomId } from './ids.ts';
import {
  decodeInfo,
  decodePeers,
  parseStoredJson,
  readSessionStatus,
  sessionKey,
  type StoredInfo,
} from './redis-records.ts';
import type {
  AcceptedRoundReport,
  JoinOutcome,
  LeaseOutcome,
  LeaveOutcome,
  Expulsion,
  MemberKey,
  NewMember,
  PeerReportOutcome,
  ReadyOutcome,
  SessionStore,
  UnreachableOutcome,
} from './store.ts';

export interface RedisSessionStoreInit {
  /** A connected node-redis client (or anything with its sendCommand). */
  client: RedisCaller;
  /** Prefix of every key, so several deployments can share one Redis. */
  prefix: string;
  /** This instance's id, unique among the instances sharing the Redis. */
  instanceId: string;
  /** How long this instance may go without renewing its lease before others reclaim its members. */
  leaseMs: number;
  maxSessions: number;
  maxPeersPerSession: number;
  now: () => number;
}

const strings = z.array(z.string());
const int = z.coerce.number().int();
const okReply = z.tuple([z.literal('OK')]);

function describe(code: string, detail: string, subject = ''): string {
  switch (code) {
    case 'TOO_MANY_SESSIONS':
      return `server holds ${detail} sessions`;
    case 'SESSION_FULL':
      return `session has ${detail} peers`;
    case 'PEER_ID_TAKEN':
      return `peer ${subject} is already in the session`;
    case 'UNKNOWN_SESSION':
      return 'no such session';
    case 'EXPELLED':
      return `peer ${subject} was expelled from this session`;
    case 'UNKNOWN_PEER':
      return `no peer ${subject} in this session`;
    case 'STALE_TERM':
      return `report for term ${subject}, current term is ${detail}`;
    case 'NOT_AGGREGATOR':
      return `${subject} is not the aggregator of term ${detail}`;
    case 'STALE_ROUND':
      return `round ${subject}: the last round reported is ${detail}`;
    default:
      return 'join a session first';
  }
}

const aggregatorOf = (sessionId: string, agg: string, term: number, lastRound: number): AggregatorState => ({
  sessionId,
  peerId: agg === '' ? null : agg,
  term,
  lastRound,
});

/** An offend() result of the scripts: the offences and the removed member's socket ('' = none). */
function expulsion(peerId: string, offences: string, socketId: string): Expulsion | undefined {
  return socketId === '' ? undefined : { peerId, socketId, offences: offences.split(' ') };
}

function parseMemberKey(entry: string): MemberKey | undefined {
  const [sessionId, peerId, socketId] = entry.split(' ');
  if (sessionId === undefined || peerId === undefined || socketId === undefined) return undefined;
  return { sessionId, peerId, socketId };
}

export class RedisSessionStore implements SessionStore {
  readonly kind = 'redis';
  private readonly init: RedisSessionStoreInit;
  private readonly lua: LuaRunner;
  private renewedOnce = false;
  private snapshot: SessionStatus[] = [];
  private refreshing: Promise<void> | undefined;

  constructor(init: RedisSessionStoreInit) {
    this.init = init;
    this.lua = new LuaRunner(init.client);
  }

  async start(): Promise<void> {
    this.renewedOnce = false;
    await this.lua.load();
  }

  async stop(): Promise<void> {
    const { prefix, instanceId } = this.init;
    await this.lua.run('releaseLease', [], [prefix, instanceId]);
    await this.refreshing;
  }

  async create(config: SessionConfig): Promise<string> {
    const { prefix, maxSessions, now } = this.init;
    for (;;) {
      const sessionId = randomId(12);
      const reply = await this.lua.run(
        'create',
        [sessionKey(prefix, sessionId)],
        [sessionId, JSON.stringify(config), now(), maxSessions, prefix],
      );
      if (throwIfError(reply, describe) === 'RETRY') continue;
      expectReply(okReply, reply, 'create');
      return sessionId;
    }
  }

  async join(sessionId: string, member: NewMember): Promise<JoinOutcome> {
    const { prefix, instanceId, maxPeersPerSession, now } = this.init;
    const joinedAt = now();
    const info: StoredInfo = { kind: member.kind, capabilities: member.capabilities, connectedAt: joinedAt };
    for (;;) {
      const peerId = member.peerId ?? randomId(6);
      const reply = await this.lua.run(
        'join',
        [sessionKey(prefix, sessionId)],
        [
          sessionId,
          peerId,
          member.peerId === undefined ? '0' : '1',
          member.socketId,
          instanceId,
          JSON.stringify(info),
          member.ready ? '1' : '0',
          joinedAt,
          maxPeersPerSession,
          prefix,
        ],
      );
      const describeJoin = (code: string, detail: string): string => describe(code, detail, peerId);
      if (throwIfError(reply, describeJoin, ['UNKNOWN_SESSION', 'EXPELLED']) === 'RETRY') continue;
      const [, changed, configText, agg, term, lastRound, memberFlat, infoFlat, ready] = expectReply(
        z.tuple([z.literal('OK'), int, z.string(), z.string(), int, int, strings, strings, strings]),
        reply,
        'join',
      );
      const peers = decodePeers(pairs(memberFlat), pairs(infoFlat), new Set(ready), agg);
      const peer = peers.find((p) => p.peerId === peerId);
      if (peer === undefined) throw new Error('join script lost the new member');
      return {
        peer,
        peers,
        config: parseStoredJson(sessionConfigSchema, configText, 'session config'),
        aggregator: aggregatorOf(sessionId, agg, term, lastRound),
        aggregatorChanged: changed === 1,
      };
    }
  }

  async leave({ sessionId, peerId, socketId }: MemberKey): Promise<LeaveOutcome> {
    const { prefix, now } = this.init;
    const reply = await this.lua.run(
      'leave',
      [sessionKey(prefix, sessionId)],
      [sessionId, peerId, socketId, now(), prefix],
    );
    const parsed = expectReply(
      z.union([z.tuple([z.literal(0)]), z.tuple([z.literal(1), int, z.string(), int, int])]),
      reply,
      'leave',
    );
    if (parsed[0] === 0) return { removed: false };
    const [, changed, agg, term, lastRound] = parsed;
    return {
      removed: true,
      aggregator: aggregatorOf(sessionId, agg, term, lastRound),
      aggregatorChanged: changed === 1,
    };
  }

  async setReady(key: MemberKey, ready: boolean): Promise<ReadyOutcome> {
    const reply = await this.lua.run(
      'ready',
      [sessionKey(this.init.prefix, key.sessionId)],
      [key.peerId, key.socketId, ready ? '1' : '0'],
    );
    throwIfError(reply, describe);
    const [, changed, aggregatorChanged, agg, term, lastRound, infoJson] = expectReply(
      z.tuple([z.literal('OK'), int, int, z.string(), int, int, z.string()]),
      reply,
      'ready',
    );
    return {
      changed: changed === 1,
      peer: decodeInfo(key.peerId, infoJson, ready, agg),
      aggregator: aggregatorOf(key.sessionId, agg, term, lastRound),
      aggregatorChanged: aggregatorChanged === 1,
    };
  }

  async signalTarget(key: MemberKey, to: string): Promise<string> {
    const reply = await this.lua.run(
      'signalTarget',
      [sessionKey(this.init.prefix, key.sessionId)],
      [key.peerId, key.socketId, to],
    );
    throwIfError(reply, (code, detail) => describe(code, detail, to));
    return expectReply(z.tuple([z.literal('OK'), z.string()]), reply, 'signalTarget')[1];
  }

  async heartbeat(key: MemberKey, round: number | undefined, stats: NumericStats | undefined): Promise<void> {
    const reply = await this.lua.run(
      'heartbeat',
      [sessionKey(this.init.prefix, key.sessionId)],
      [
        key.peerId,
        key.socketId,
        this.init.now(),
        round === undefined ? '' : round,
        stats === undefined ? '' : JSON.stringify(stats),
      ],
    );
    throwIfError(reply, describe);
    expectReply(okReply, reply, 'heartbeat');
  }

  async report(key: MemberKey, report: AcceptedRoundReport): Promise<void> {
    const stored = { ...report, receivedAt: this.init.now() };
    const reply = await this.lua.run(
      'report',
      [sessionKey(this.init.prefix, key.sessionId)],
      [
        key.peerId,
        key.socketId,
        report.term,
        report.round,
        JSON.stringify(stored),
        report.bytes.up,
        report.bytes.down,
      ],
    );
    throwIfError(reply, (code, detail) =>
      describe(
        code,
        detail,
        code === 'STALE_TERM'
          ? String(report.term)
          : code === 'STALE_ROUND'
            ? String(report.round)
            : key.peerId,
      ),
    );
    expectReply(okReply, reply, 'report');
  }

  async reportUnreachable(
    key: MemberKey,
    report: { term: number; peerId: string; reason: AggregatorFault },
    ttlMs: number,
    maxOffences: number,
  ): Promise<UnreachableOutcome> {
    const { prefix, now } = this.init;
    const reply = await this.lua.run(
      'unreachable',
      [sessionKey(prefix, key.sessionId)],
      [
        key.peerId,
        key.socketId,
        report.term,
        report.peerId,
        now(),
        ttlMs,
        report.reason,
        maxOffences,
        key.sessionId,
        prefix,
      ],
    );
    throwIfError(reply, (code, detail) =>
      describe(code, detail, code === 'STALE_TERM' ? String(report.term) : report.peerId),
    );
    const [, changed, reports, needed, agg, term, lastRound, barred, offences, socketId, deposedInfo] =
      expectReply(
        z.tuple([
          z.literal('OK'),
          int,
          int,
          int,
          z.string(),
          int,
          int,
          int,
          z.string(),
          z.string(),
          z.string(),
        ]),
        reply,
        'unreachable',
      );
    const expelled = expulsion(report.peerId, offences, socketId);
    return {
      reports,
      needed,
      aggregator: aggregatorOf(key.sessionId, agg, term, lastRound),
      aggregatorChanged: changed === 1,
      barred: barred === 1,
      ...(expelled && { expelled }),
      // An expelled one is no member any more: nothing to update.
      ...(deposedInfo !== '' && !expelled && { deposed: decodeInfo(report.peerId, deposedInfo, false, agg) }),
    };
  }

  async reportPeer(
    key: MemberKey,
    report: { term: number; peerId: string },
    maxOffences: number,
  ): Promise<PeerReportOutcome> {
    const { prefix, now } = this.init;
    const reply = await this.lua.run(
      'peerReport',
      [sessionKey(prefix, key.sessionId)],
      [key.peerId, key.socketId, report.term, report.peerId, maxOffences, key.sessionId, now(), prefix],
    );
    throwIfError(reply, (code, detail) =>
      describe(
        code,
        detail,
        code === 'STALE_TERM' ? String(report.term) : code === 'UNKNOWN_PEER' ? report.peerId : key.peerId,
      ),
    );
    const [, offences, socketId] = expectReply(
      z.tuple([z.literal('OK'), z.string(), z.string()]),
      reply,
      'peerReport',
    );
    const expelled = expulsion(report.peerId, offences, socketId);
    return { offences: offences.split(' ').length, ...(expelled && { expelled }) };
  }

  async recordRollback(sessionId: string, mark: RollbackMark): Promise<void> {
    await this.lua.run('rollback', [sessionKey(this.init.prefix, sessionId)], [JSON.stringify(mark)]);
  }

  async rollbackOf(sessionId: string): Promise<RollbackMark | undefined> {
    const reply = await this.init.client.sendCommand([
      'HGET',
      sessionKey(this.init.prefix, sessionId),
      'rollback',
    ]);
    const text = z.string().nullable().parse(reply);
    return text === null ? undefined : parseStoredJson(rollbackMarkSchema, text, 'rollback record');
  }

  async aggregatorOf(sessionId: string): Promise<AggregatorState | undefined> {
    const reply = await this.init.client.sendCommand([
      'HMGET',
      sessionKey(this.init.prefix, sessionId),
      'agg',
      'term',
      'lastRound',
    ]);
    const parsed = z
      .tuple([z.string().nullable(), z.string().nullable(), z.string().nullable()])
      .parse(reply);
    const [agg, term, lastRound] = parsed;
    if (agg === null || term === null || lastRound === null) return undefined;
    return aggregatorOf(sessionId, agg, Number(term), Number(lastRound));
  }

  async pruneIdle(idleMs: number): Promise<string[]> {
    const { client, prefix, now } = this.init;
    const deadline = now() - idleMs;
    const candidates = strings.parse(
      await client.sendCommand([
        'ZRANGEBYSCORE',
        `${prefix}empty`,
        '-inf',
        String(deadline),
        'LIMIT',
        '0',
        '100',
      ]),
    );
    const pruned: string[] = [];
    for (const sessionId of candidates) {
      const reply = await this.lua.run(
        'prune',
        [sessionKey(prefix, sessionId)],
        [sessionId, deadline, prefix],
      );
      if (reply === 1) pruned.push(sessionId);
    }
    return pruned;
  }

  async renewLease(): Promise<LeaseOutcome> {
    const { client, prefix, instanceId, leaseMs } = this.init;
    const first = !this.renewedOnce;
    const renewed = await this.lua.run('renewLease', [], [prefix, instanceId, leaseMs, first ? '1' : '0']);
    const [lapsed, ...stale] = expectReply(z.tuple([int]).rest(z.string()), renewed, 'renewLease');
    this.renewedOnce = true;
    const orphans = stale.flatMap((entry) => parseMemberKey(entry) ?? []);
    const instances = strings.parse(await client.sendCommand(['SMEMBERS', `${prefix}inst`]));
    for (const other of instances) {
      if (other === instanceId) continue;
      const claimed = await this.lua.run('claimOrphans', [], [prefix, other, instanceId, leaseMs]);
      for (const entry of strings.parse(claimed)) {
        const member = parseMemberKey(entry);
        if (member !== undefined) orphans.push(member);
      }
    }
    return { lapsed: lapsed === 1, orphans };
  }

  async readStatus(): Promise<SessionStatus[]> {
    const { client, prefix } = this.init;
    const ids = strings.parse(await client.sendCommand(['SMEMBERS', `${prefix}sessions`]));
    const sessions = await Promise.all(ids.map((id) => readSessionStatus(client, prefix, id)));
    const present = sessions.flatMap((s) => (s === undefined ? [] : [s]));
    present.sort((a, b) => a.createdAt - b.createdAt);
    this.snapshot = present;
    return present;
  }

  cachedStatus(): SessionStatus[] {
    this.refreshing ??= this.readStatus()
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => (this.refreshing = undefined));
    return this.snapshot;
  }
}
