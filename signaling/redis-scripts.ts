/**
 * The Lua scripts of the Redis session store. Each runs atomically inside Redis (EVALSHA):
 * no other command of any instance runs between its reads and its writes, so a membership
 * change, the election it triggers and the term increment happen as one step, and two
 * instances can never elect two aggregators for one term or bump the term twice for one
 * change. (A WATCH/MULTI transaction would need retries under contention, and every join
 * to a popular session contends.)
 *
 * Keys, under the configured prefix P (e.g. "liec:"), for session S and instance I:
 *   P sessions        SET of session ids             P empty        ZSET id -> empty since (ms)
 *   P s:S             HASH config, createdAt, agg ('' = none), term, lastRound,
 *                     lastReport ('' = none), up, down, reports, seq (join counter),
 *                     rollback (RollbackMark JSON, absent before the first)
 *   P s:S:m           HASH peerId -> "<joinSeq> <socketId> <instanceId>"
 *   P s:S:i           HASH peerId -> PeerInfo JSON (kind, capabilities, connectedAt)
 *   P s:S:r           ZSET ready members, scored by joinSeq (the election reads only this)
 *   P s:S:h           HASH "<peerId>:t|r|s" -> last heartbeat ms, round, stats JSON
 *   P s:S:u           HASH peerId -> "<term> <ms> <reason>": its last report that the
 *                     aggregator of that term is unreachable (only reports of the current
 *                     term count)
 *   P s:S:x           SET peers barred from the aggregator role (replaced for a fault)
 *   P s:S:o           HASH peerId -> its offences, space-separated in the order they counted
 *                     ('barred', 'report:<aggregator id>'; SessionRecord.offences)
 *   P s:S:e           SET peers expelled at the offence limit (their id cannot join again)
 *   P inst            SET of live instance ids      P inst:I       lease (PX)
 *   P inst:I:m        SET "<sessionId> <peerId> <socketId>" of members held by I
 * Scripts derive the keys of a session from KEYS[1] and the instance keys from the prefix,
 * so they need a single Redis (or a primary with replicas/Sentinel), not Redis Cluster.
 *
 * The election mirrors election.ts (tested equal): keep the current aggregator while it is
 * a ready member, else the ready member with the smallest joinSeq, else none; bump the term
 * whenever the choice changes.
 *
 * @example
 * await redis.sendCommand(['EVALSHA', sha, '1', `${prefix}s:${sessionId}`, ...args]);
 */

const PRELUDE = `
local META = KEYS[1]
local MEM, INFO, READY, HEALTH = META .. ':m', META .. ':i', META .. ':r', META .. ':h'
local UNREACH, BARRED = META .. ':u', META .. ':x'
local OFFENCES, EXPELLED = META .. ':o', META .. ':e'
local function member(peerId)
  local rec = redis.call('HGET', MEM, peerId)
  if not rec then return nil end
  local seq, sock, owner = string.match(rec, '^(%d+) (%S+) (%S+)$')
  return tonumber(seq), sock, owner
end
local function owned(peerId, socketId)
  local seq, sock, owner = member(peerId)
  if seq == nil or sock ~= socketId then return nil end
  return seq, sock, owner
end
-- Removes a member whatever socket holds it (LEAVE without the ownership check, no election).
local function remove(sessionId, peerId, now, prefix)
  local seq, sock, owner = member(peerId)
  if seq == nil then return nil end
  redis.call('HDEL', MEM, peerId)
  redis.call('HDEL', INFO, peerId)
  redis.call('HDEL', HEALTH, peerId .. ':t', peerId .. ':r', peerId .. ':s')
  redis.call('HDEL', UNREACH, peerId)
  redis.call('ZREM', READY, peerId)
  redis.call('SREM', prefix .. 'inst:' .. owner .. ':m', sessionId .. ' ' .. peerId .. ' ' .. sock)
  if redis.call('HLEN', MEM) == 0 then redis.call('ZADD', prefix .. 'empty', now, sessionId) end
  return sock
end
-- Counts \`offence\` against peerId, each key once (SessionRegistry.offend); at \`limit\` bars
-- its id and removes it. Returns its offences (space-separated) and the socket id of the
-- removed member ('' when it stays, or was no member).
local function offend(sessionId, peerId, offence, limit, now, prefix)
  local rec = redis.call('HGET', OFFENCES, peerId) or ''
  local count, seen = 0, false
  for key in string.gmatch(rec, '%S+') do
    count = count + 1
    if key == offence then seen = true end
  end
  if not seen then
    rec = (rec == '') and offence or (rec .. ' ' .. offence)
    count = count + 1
    redis.call('HSET', OFFENCES, peerId, rec)
  end
  if count < limit then return rec, '' end
  redis.call('SADD', EXPELLED, peerId)
  return rec, remove(sessionId, peerId, now, prefix) or ''
end
-- The ready member with the smallest joinSeq that is neither barred nor \`excluded\`.
local function firstCandidate(excluded)
  for _, candidate in ipairs(redis.call('ZRANGE', READY, 0, -1)) do
    if candidate ~= excluded and redis.call('SISMEMBER', BARRED, candidate) == 0 then return candidate end
  end
  return ''
end
local function elect()
  local cur = redis.call('HGET', META, 'agg') or ''
  local chosen = ''
  if cur ~= '' and redis.call('ZSCORE', READY, cur) and redis.call('SISMEMBER', BARRED, cur) == 0 then
    chosen = cur
  else
    chosen = firstCandidate(nil)
  end
  if chosen == cur then return 0 end
  redis.call('HSET', META, 'agg', chosen)
  redis.call('HINCRBY', META, 'term', 1)
  return 1
end
`;

/** KEYS: session. ARGV: sessionId, configJson, now, maxSessions, prefix. */
const CREATE = `
local n = redis.call('SCARD', ARGV[5] .. 'sessions')
if n >= tonumber(ARGV[4]) then return {'ERR', 'TOO_MANY_SESSIONS', tostring(n)} end
if redis.call('EXISTS', META) == 1 then return {'ERR', 'RETRY'} end
redis.call('SADD', ARGV[5] .. 'sessions', ARGV[1])
redis.call('HSET', META, 'config', ARGV[2], 'createdAt', ARGV[3], 'agg', '', 'term', 0, 'lastRound', 0,
  'lastReport', '', 'up', 0, 'down', 0, 'reports', 0, 'seq', 0)
redis.call('ZADD', ARGV[5] .. 'empty', ARGV[3], ARGV[1])
return {'OK'}
`;

/**
 * KEYS: session. ARGV: sessionId, peerId, requested (1|0), socketId, instanceId, infoJson,
 * ready (1|0), now, maxPeers, prefix. Replies with the state the joiner needs.
 */
const JOIN = `
if redis.call('EXISTS', META) == 0 then return {'ERR', 'UNKNOWN_SESSION'} end
if redis.call('SISMEMBER', EXPELLED, ARGV[2]) == 1 then
  if ARGV[3] == '1' then return {'ERR', 'EXPELLED'} end
  return {'ERR', 'RETRY'}
end
local count = redis.call('HLEN', MEM)
if count >= tonumber(ARGV[9]) then return {'ERR', 'SESSION_FULL', tostring(count)} end
if redis.call('HEXISTS', MEM, ARGV[2]) == 1 then
  if ARGV[3] == '1' then return {'ERR', 'PEER_ID_TAKEN'} end
  return {'ERR', 'RETRY'}
end
local seq = redis.call('HINCRBY', META, 'seq', 1)
redis.call('HSET', MEM, ARGV[2], seq .. ' ' .. ARGV[4] .. ' ' .. ARGV[5])
redis.call('HSET', INFO, ARGV[2], ARGV[6])
redis.call('HSET', HEALTH, ARGV[2] .. ':t', ARGV[8])
if ARGV[7] == '1' then redis.call('ZADD', READY, seq, ARGV[2]) end
redis.call('ZREM', ARGV[10] .. 'empty', ARGV[1])
redis.call('SADD', ARGV[10] .. 'inst:' .. ARGV[5] .. ':m', ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. ARGV[4])
local changed = elect()
local s = redis.call('HMGET', META, 'config', 'agg', 'term', 'lastRound')
return {'OK', changed, s[1], s[2], s[3], s[4],
  redis.call('HGETALL', MEM), redis.call('HGETALL', INFO), redis.call('ZRANGE', READY, 0, -1)}
`;

/** KEYS: session. ARGV: sessionId, peerId, socketId, now, prefix. */
const LEAVE = `
local seq, sock, owner = owned(ARGV[2], ARGV[3])
if seq == nil then return {0} end
redis.call('HDEL', MEM, ARGV[2])
redis.call('HDEL', INFO, ARGV[2])
redis.call('HDEL', HEALTH, ARGV[2] .. ':t', ARGV[2] .. ':r', ARGV[2] .. ':s')
redis.call('HDEL', UNREACH, ARGV[2])
redis.call('ZREM', READY, ARGV[2])
redis.call('SREM', ARGV[5] .. 'inst:' .. owner .. ':m', ARGV[1] .. ' ' .. ARGV[2] .. ' ' .. sock)
if redis.call('HLEN', MEM) == 0 then redis.call('ZADD', ARGV[5] .. 'empty', ARGV[4], ARGV[1]) end
local changed = elect()
local s = redis.call('HMGET', META, 'agg', 'term', 'lastRound')
return {1, changed, s[1], s[2], s[3]}
`;

/** KEYS: session. ARGV: peerId, socketId, ready (1|0). */
const READY_SCRIPT = `
local seq = owned(ARGV[1], ARGV[2])
if seq == nil then return {'ERR', 'NOT_JOINED'} end
local was = redis.call('ZSCORE', READY, ARGV[1]) and '1' or '0'
if ARGV[3] == '1' then redis.call('ZADD', READY, seq, ARGV[1]) else redis.call('ZREM', READY, ARGV[1]) end
local changed = elect()
local s = redis.call('HMGET', META, 'agg', 'term', 'lastRound')
return {'OK', was ~= ARGV[3] and 1 or 0, changed, s[1], s[2], s[3], redis.call('HGET', INFO, ARGV[1])}
`;

/** KEYS: session. ARGV: peerId, socketId, to. */
const SIGNAL_TARGET = `
if owned(ARGV[1], ARGV[2]) == nil then return {'ERR', 'NOT_JOINED'} end
local seq, sock = member(ARGV[3])
if seq == nil or ARGV[3] == ARGV[1] then return {'ERR', 'UNKNOWN_PEER'} end
return {'OK', sock}
`;

/** KEYS: session. ARGV: peerId, socketId, now, round ('' = none), statsJson ('' = none). */
const HEARTBEAT = `
if owned(ARGV[1], ARGV[2]) == nil then return {'ERR', 'NOT_JOINED'} end
redis.call('HSET', HEALTH, ARGV[1] .. ':t', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', HEALTH, ARGV[1] .. ':r', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', HEALTH, ARGV[1] .. ':s', ARGV[5]) end
return {'OK'}
`;

/** KEYS: session. ARGV: peerId, socketId, term, round, reportJson, bytesUp, bytesDown. */
const REPORT = `
if owned(ARGV[1], ARGV[2]) == nil then return {'ERR', 'NOT_JOINED'} end
local s = redis.call('HMGET', META, 'term', 'agg', 'lastRound', 'reports', 'config')
if tonumber(ARGV[3]) ~= tonumber(s[1]) then return {'ERR', 'STALE_TERM', s[1]} end
if s[2] ~= ARGV[1] then return {'ERR', 'NOT_AGGREGATOR', s[1]} end
-- The last round reported: no report is taken any more (sessions.ts lastRoundReported).
local finished = (tonumber(s[4]) or 0) > 0 and tonumber(s[3]) >= cjson.decode(s[5]).rounds - 1
if tonumber(ARGV[4]) < tonumber(s[3]) then return {'ERR', 'STALE_ROUND', s[3]} end
if finished then return {'ERR', 'STALE_ROUND', s[3] .. ', the session is over'} end
redis.call('HSET', META, 'lastRound', ARGV[4], 'lastReport', ARGV[5])
redis.call('HINCRBYFLOAT', META, 'up', ARGV[6])
redis.call('HINCRBYFLOAT', META, 'down', ARGV[7])
redis.call('HINCRBY', META, 'reports', 1)
return {'OK'}
`;

/**
 * KEYS: session. ARGV: peerId, socketId, term, accused, now, ttlMs, reason, maxOffences,
 * sessionId, prefix. Counts the report like SessionRegistry.reportUnreachable (no `silent` one
 * once the last round is reported) and, at a
 * majority, bars the accused when a counted report is not 'silent' (an offence: at the limit
 * it is expelled), takes the accused out of the ready set, elects the first ready member by
 * join order but the barred, and bumps the term. Replies {'OK', changed, reports, needed, agg, term, lastRound,
 * barred, offences, expelledSocketId}.
 */
const UNREACHABLE = `
if owned(ARGV[1], ARGV[2]) == nil then return {'ERR', 'NOT_JOINED'} end
local s = redis.call('HMGET', META, 'term', 'agg', 'lastRound', 'reports', 'config')
if tonumber(ARGV[3]) ~= tonumber(s[1]) then return {'ERR', 'STALE_TERM', s[1]} end
local accused = ARGV[4]
if s[2] ~= accused then return {'ERR', 'NOT_AGGREGATOR', s[1]} end
local now, ttl = tonumber(ARGV[5]), tonumber(ARGV[6])
if ARGV[1] ~= accused then redis.call('HSET', UNREACH, ARGV[1], s[1] .. ' ' .. ARGV[5] .. ' ' .. ARGV[7]) end
-- The last round reported: silence no longer counts (sessions.ts lastRoundReported).
local finished = (tonumber(s[4]) or 0) > 0 and tonumber(s[3]) >= cjson.decode(s[5]).rounds - 1
local electorate, reports, faults = 0, 0, 0
for _, voter in ipairs(redis.call('ZRANGE', READY, 0, -1)) do
  if voter ~= accused then
    electorate = electorate + 1
    local rec = redis.call('HGET', UNREACH, voter)
    if rec then
      local t, at, reason = string.match(rec, '^(%S+) (%S+) (%S+)$')
      if tonumber(t) == tonumber(s[1]) and now - tonumber(at) <= ttl and not (finished and reason == 'silent') then
        reports = reports + 1
        if reason ~= 'silent' then faults = faults + 1 end
      end
    end
  end
end
local needed = math.floor(electorate / 2) + 1
if reports < needed then return {'OK', 0, reports, needed, s[2], s[1], s[3], 0, '', '', ''} end
local barred = 0
if faults > 0 then
  redis.call('SADD', BARRED, accused)
  barred = 1
end
redis.call('ZREM', READY, accused)
local chosen = firstCandidate(accused)
redis.call('HSET', META, 'agg', chosen)
local term = redis.call('HINCRBY', META, 'term', 1)
redis.call('DEL', UNREACH)
local offences, expelled = '', ''
if barred == 1 then offences, expelled = offend(ARGV[9], accused, 'barred', tonumber(ARGV[8]), ARGV[5], ARGV[10]) end
return {'OK', 1, reports, needed, chosen, term, s[3], barred, offences, expelled, redis.call('HGET', INFO, accused) or ''}
`;

/**
 * KEYS: session. ARGV: peerId, socketId, term, accused, maxOffences, sessionId, now, prefix.
 * The aggregator of the term dropped \`accused\` for invalid frames: an offence, like
 * SessionRegistry.reportPeer. Replies {'OK', offences, expelledSocketId}.
 */
const PEER_REPORT = `
if owned(ARGV[1], ARGV[2]) == nil then return {'ERR', 'NOT_JOINED'} end
local s = redis.call('HMGET', META, 'term', 'agg')
if tonumber(ARGV[3]) ~= tonumber(s[1]) then return {'ERR', 'STALE_TERM', s[1]} end
if s[2] ~= ARGV[1] then return {'ERR', 'NOT_AGGREGATOR', s[1]} end
if ARGV[4] == ARGV[1] or member(ARGV[4]) == nil then return {'ERR', 'UNKNOWN_PEER'} end
local offences, expelled = offend(ARGV[6], ARGV[4], 'report:' .. ARGV[1], tonumber(ARGV[5]), ARGV[7], ARGV[8])
return {'OK', offences, expelled}
`;

/** KEYS: session. ARGV: sessionId, deadline, prefix. Deletes the session if still empty since <= deadline. */
const PRUNE = `
local since = redis.call('ZSCORE', ARGV[3] .. 'empty', ARGV[1])
if not since or tonumber(since) > tonumber(ARGV[2]) or redis.call('HLEN', MEM) > 0 then return 0 end
redis.call('DEL', META, MEM, INFO, READY, HEALTH, UNREACH, BARRED, OFFENCES, EXPELLED)
redis.call('SREM', ARGV[3] .. 'sessions', ARGV[1])
redis.call('ZREM', ARGV[3] .. 'empty', ARGV[1])
return 1
`;

/**
 * KEYS: none. ARGV: prefix, instanceId, leaseMs, first (1|0). Renews the lease. Replies
 * {lapsed, ...members}: lapsed is 1 when the lease had expired since the last renewal
 * (other instances may have claimed our members); on the first renewal the members are
 * those a previous process with the same instance id left behind (their sockets are gone).
 */
const RENEW_LEASE = `
local lease = ARGV[1] .. 'inst:' .. ARGV[2]
local lapsed = 0
if ARGV[4] ~= '1' and redis.call('EXISTS', lease) == 0 then lapsed = 1 end
redis.call('SET', lease, '1', 'PX', ARGV[3])
redis.call('SADD', ARGV[1] .. 'inst', ARGV[2])
local reply = {lapsed}
if ARGV[4] == '1' then
  for _, m in ipairs(redis.call('SMEMBERS', lease .. ':m')) do reply[#reply + 1] = m end
end
return reply
`;

/**
 * KEYS: none. ARGV: prefix, deadInstanceId, claimerId, claimMs. If the instance's lease is
 * gone: forgets it when it holds no members, else claims it (one claimer at a time, for
 * claimMs) and replies with its members.
 */
const CLAIM_ORPHANS = `
local inst = ARGV[1] .. 'inst:' .. ARGV[2]
if redis.call('EXISTS', inst) == 1 then return {} end
if redis.call('SCARD', inst .. ':m') == 0 then
  redis.call('SREM', ARGV[1] .. 'inst', ARGV[2])
  redis.call('DEL', inst .. ':claim')
  return {}
end
if not redis.call('SET', inst .. ':claim', ARGV[3], 'PX', ARGV[4], 'NX') then return {} end
return redis.call('SMEMBERS', inst .. ':m')
`;

/** KEYS: none. ARGV: prefix, instanceId. A clean stop: the instance holds no members any more. */
const RELEASE_LEASE = `
local inst = ARGV[1] .. 'inst:' .. ARGV[2]
if redis.call('SCARD', inst .. ':m') == 0 then redis.call('SREM', ARGV[1] .. 'inst', ARGV[2]) end
redis.call('DEL', inst)
return 1
`;

/** Session scripts get the prelude; instance scripts work on prefix keys only. */
/** KEYS: session. ARGV: RollbackMark JSON. Only on a live session (HSET alone would create one). */
const ROLLBACK = `
if redis.call('EXISTS', META) == 0 then return 0 end
redis.call('HSET', META, 'rollback', ARGV[1])
return 1
`;

export const SCRIPTS = {
  create: PRELUDE + CREATE,
  join: PRELUDE + JOIN,
  leave: PRELUDE + LEAVE,
  ready: PRELUDE + READY_SCRIPT,
  signalTarget: PRELUDE + SIGNAL_TARGET,
  heartbeat: PRELUDE + HEARTBEAT,
  report: PRELUDE + REPORT,
  unreachable: PRELUDE + UNREACHABLE,
  peerReport: PRELUDE + PEER_REPORT,
  rollback: PRELUDE + ROLLBACK,
  prune: PRELUDE + PRUNE,
  renewLease: RENEW_LEASE,
  claimOrphans: CLAIM_ORPHANS,
  releaseLease: RELEASE_LEASE,
} as const;

export type ScriptName = keyof typeof SCRIPTS;
