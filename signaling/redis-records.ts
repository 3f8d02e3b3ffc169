/**
 * Decoding what the Redis session store keeps (layout in redis-scripts.ts) into protocol
 * shapes: members into PeerInfo (join order, role from the aggregator field), and a whole
 * session into the SessionStatus of `GET /status`. Values read back from Redis are checked
 * with zod like any other input.
 *
 * @example
 * const peers = decodePeers(pairs(memberFlat), pairs(infoFlat), new Set(ready), aggregatorId);
 * const status = await readSessionStatus(redis, 'liec:', sessionId);
 */
import { z } from 'zod';
import {
  capabilitiesSchema,
  numericStatsSchema,
  peerKindSchema,
  roundReportSchema,
  sessionConfigSchema,
  type PeerInfo,
} from '../shared/protocol/signaling.ts';
import type { PeerStatus, SessionStatus } from '../shared/protocol/signaling-status.ts';
import { pairs, type RedisCaller } from './redis-lua.ts';

/** What the store writes per member into `s:S:i`. */
export const storedInfoSchema = z.object({
  kind: peerKindSchema,
  capabilities: capabilitiesSchema,
  connectedAt: z.number(),
});
export type StoredInfo = z.infer<typeof storedInfoSchema>;

const storedReportSchema = roundReportSchema.extend({ receivedAt: z.number() });
const stringList = z.array(z.string());

export const sessionKey = (prefix: string, sessionId: string): string => `${prefix}s:${sessionId}`;

export function parseStoredJson<S extends z.ZodType>(schema: S, text: string, what: string): z.output<S> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`corrupt ${what} in Redis`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new Error(`corrupt ${what} in Redis`);
  return parsed.data;
}

/** Parses "<joinSeq> <socketId> <instanceId>". */
export function parseMemberRecord(record: string): { joinSeq: number; socketId: string; owner: string } {
  const match = /^(\d+) (\S+) (\S+)$/.exec(record);
  if (match === null) throw new Error('corrupt member record in Redis');
  return { joinSeq: Number(match[1]), socketId: match[2] ?? '', owner: match[3] ?? '' };
}

export function decodeInfo(peerId: string, infoJson: string, ready: boolean, aggregatorId: string): PeerInfo {
  const info = parseStoredJson(storedInfoSchema, infoJson, 'peer info');
  return { peerId, ...info, role: peerId === aggregatorId ? 'aggregator' : 'worker', ready };
}

/** Every member with its info, in join order. */
export function decodePeers(
  members: Map<string, string>,
  infos: Map<string, string>,
  ready: ReadonlySet<string>,
  aggregatorId: string,
): PeerInfo[] {
  return [...members]
    .map(([peerId, record]) => ({ peerId, joinSeq: parseMemberRecord(record).joinSeq }))
    .sort((a, b) => a.joinSeq - b.joinSeq)
    .flatMap(({ peerId }) => {
      const info = infos.get(peerId);
      return info === undefined ? [] : [decodeInfo(peerId, info, ready.has(peerId), aggregatorId)];
    });
}

const hashSchema = z.union([z.array(z.string()), z.record(z.string(), z.string())]);

/** An HGETALL reply (node-redis gives an object; a script gives a flat list) as a Map. */
export function hashReply(reply: unknown): Map<string, string> {
  const parsed = hashSchema.parse(reply);
  return Array.isArray(parsed) ? pairs(parsed) : new Map(Object.entries(parsed));
}

const num = (text: string | undefined): number => {
  const value = Number(text);
  if (text === undefined || !Number.isFinite(value)) throw new Error('corrupt number in Redis');
  return value;
};

/** One session as /status shows it, or undefined if it is gone. */
export async function readSessionStatus(
  redis: RedisCaller,
  prefix: string,
  sessionId: string,
): Promise<SessionStatus | undefined> {
  const base = sessionKey(prefix, sessionId);
  // Issued together, node-redis pipelines them; a change between them shows as a member
  // missing its info, which decodePeers skips.
  const [meta, members, infos, readyReply, health] = await Promise.all([
    redis.sendCommand(['HGETALL', base]).then(hashReply),
    redis.sendCommand(['HGETALL', `${base}:m`]).then(hashReply),
    redis.sendCommand(['HGETALL', `${base}:i`]).then(hashReply),
    redis.sendCommand(['ZRANGE', `${base}:r`, '0', '-1']),
    redis.sendCommand(['HGETALL', `${base}:h`]).then(hashReply),
  ]);
  const configText = meta.get('config');
  if (configText === undefined) return undefined;
  const aggregatorId = meta.get('agg') ?? '';
  const peers = decodePeers(members, infos, new Set(stringList.parse(readyReply)), aggregatorId);
  const lastReportText = meta.get('lastReport') ?? '';
  return {
    sessionId,
    createdAt: num(meta.get('createdAt')),
    config: parseStoredJson(sessionConfigSchema, configText, 'session config'),
    aggregator: {
      sessionId,
      peerId: aggregatorId === '' ? null : aggregatorId,
      term: num(meta.get('term')),
      lastRound: num(meta.get('lastRound')),
    },
    peers: peers.map((peer): PeerStatus => {
      const round = health.get(`${peer.peerId}:r`);
      const stats = health.get(`${peer.peerId}:s`);
      return {
        ...peer,
        lastHeartbeat: num(health.get(`${peer.peerId}:t`) ?? String(peer.connectedAt)),
        ...(round === undefined ? {} : { round: num(round) }),
        ...(stats === undefined ? {} : { stats: parseStoredJson(numericStatsSchema, stats, 'peer stats') }),
      };
    }),
    ...(lastReportText === ''
      ? {}
      : { lastReport: parseStoredJson(storedReportSchema, lastReportText, 'round report') }),
    traffic: {
      up: num(meta.get('up')),
      down: num(meta.get('down')),
      reportedRounds: num(meta.get('reports')),
    },
  };
}
