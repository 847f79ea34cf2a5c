/**
 * The Redis store's atomic operations as Lua scripts: each runs alone on the server, so a check and the
 * writes it guards cannot interleave with another replica's. Values are JSON strings written as the
 * client encoded them (never re-encoded by Lua's cjson, which would turn [] into {}).
 */

/**
 * Commit one change.
 * KEYS: version, values, revisions, changes, feed, leader, generation, and the idempotency record when
 * the commit is made under an Idempotency-Key (recorded with the change, for a day)
 * ARGV: expectVersion ('' = any), fence ('' = none), feed max length, record body without its leading
 * "{" (the version is put in front), expected count N, then N pairs (key, revision), then op count M,
 * then M triples ('p'|'d', key, value JSON), then a deadline in the server's clock (epoch ms; 0: none)
 * past which the commit is refused, and last the generation the replica follows.
 * Returns {'OK', version} | {'GENERATION', actual} | {'DUPLICATE', record} | {'EXPIRED', ms late} |
 * {'FENCED', holder} |
 * {'VERSION', actual} | {'REVISION', key, actual}.
 */
export const COMMIT = `
local gen = redis.call('GET', KEYS[7])
if gen ~= ARGV[#ARGV] then return {'GENERATION', gen or ''} end
if KEYS[8] then
  local prior = redis.call('GET', KEYS[8])
  if prior then return {'DUPLICATE', prior} end
end
local deadline = tonumber(ARGV[#ARGV - 1])
if deadline > 0 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  if now > deadline then return {'EXPIRED', tostring(now - deadline)} end
end
if ARGV[2] ~= '' then
  local holder = redis.call('GET', KEYS[6])
  if holder ~= ARGV[2] then return {'FENCED', holder or ''} end
end
local v = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[1] ~= '' and tonumber(ARGV[1]) ~= v then return {'VERSION', tostring(v)} end
local i = 5
local n = tonumber(ARGV[i])
for j = 1, n do
  local key, want = ARGV[i + 2 * j - 1], tonumber(ARGV[i + 2 * j])
  local have = tonumber(redis.call('HGET', KEYS[3], key) or '0')
  if have ~= want then return {'REVISION', key, tostring(have)} end
end
i = i + 2 * n + 1
local m = tonumber(ARGV[i])
local nv = v + 1
for j = 0, m - 1 do
  local kind, key, value = ARGV[i + 3 * j + 1], ARGV[i + 3 * j + 2], ARGV[i + 3 * j + 3]
  if kind == 'p' then
    redis.call('HSET', KEYS[2], key, value)
    redis.call('HSET', KEYS[3], key, nv)
  else
    redis.call('HDEL', KEYS[2], key)
    redis.call('HDEL', KEYS[3], key)
  end
end
local body = '{"version":' .. nv .. ',' .. ARGV[4]
redis.call('SET', KEYS[1], nv)
redis.call('HSET', KEYS[4], nv, body)
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[3], '*', 'v', nv, 'c', body)
if KEYS[8] then redis.call('SET', KEYS[8], '{"version":' .. nv .. '}', 'PX', 86400000) end
return {'OK', tostring(nv)}
`;

/**
 * Everything at once, for a replica that starts or fell behind a trimmed feed.
 * KEYS: version, values, revisions, feed, generation, generation info, diverged marker.
 * Returns {version, flat values, flat revisions, last feed id, generation, its info, the marker}
 * ('' for each of the last three that is absent).
 */
export const LOAD = `
local last = redis.call('XREVRANGE', KEYS[4], '+', '-', 'COUNT', 1)
local id = '0-0'
if #last > 0 then id = last[1][1] end
return {redis.call('GET', KEYS[1]) or '0', redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3]), id,
  redis.call('GET', KEYS[5]) or '', redis.call('GET', KEYS[6]) or '', redis.call('GET', KEYS[7]) or ''}
`;

/**
 * Gives a store its identity, once: a generation id for a store that has none (new, or written before
 * stores had one), unless replicas marked it as having lost their data.
 * KEYS: generation, generation info, diverged marker; ARGV: the new id, its info JSON.
 * Returns {'NEW', id} | {'HAS', id} | {'DIVERGED', marker}.
 */
export const INIT_GENERATION = `
local gen = redis.call('GET', KEYS[1])
if gen then return {'HAS', gen} end
local marker = redis.call('GET', KEYS[3])
if marker then return {'DIVERGED', marker} end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SET', KEYS[2], ARGV[2])
return {'NEW', ARGV[1]}
`;

/**
 * Replaces the whole configuration, as an operator's explicit way on from a store that lost or changed
 * its data: reseed (this replica's state) or restore (a backup). Writes a new generation that names
 * the one it supersedes, so replicas that followed that one adopt it, and clears the diverged marker.
 * KEYS: version, values, revisions, changes, feed, generation, generation info, diverged marker
 * ARGV: new generation id, its info JSON, the new version, feed max length, record body without its
 * leading "{", then triples (key, value JSON, revision).
 * Returns {'OK', version}.
 */
export const RESEED = `
local nv = tonumber(ARGV[3])
redis.call('DEL', KEYS[2], KEYS[3])
for j = 6, #ARGV, 3 do
  redis.call('HSET', KEYS[2], ARGV[j], ARGV[j + 1])
  redis.call('HSET', KEYS[3], ARGV[j], ARGV[j + 2])
end
local body = '{"version":' .. nv .. ',' .. ARGV[5]
redis.call('SET', KEYS[1], nv)
redis.call('HSET', KEYS[4], nv, body)
redis.call('SET', KEYS[6], ARGV[1])
redis.call('SET', KEYS[7], ARGV[2])
redis.call('DEL', KEYS[8])
redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[4], '*', 'v', nv, 'c', body)
return {'OK', tostring(nv)}
`;

/**
 * Set or remove fields of one shared namespace.
 * KEYS: namespace hash, shared feed, shared sequence, leader, namespace index, generation
 * ARGV: fence ('' = none), namespace, feed max length, the generation the replica follows, then pairs
 * (field, value JSON or '' to remove).
 * Returns {'OK', first sequence number} | {'GENERATION', actual} | {'FENCED', holder}.
 */
export const PUT_SHARED = `
local gen = redis.call('GET', KEYS[6])
if gen ~= ARGV[4] then return {'GENERATION', gen or ''} end
if ARGV[1] ~= '' then
  local holder = redis.call('GET', KEYS[4])
  if holder ~= ARGV[1] then return {'FENCED', holder or ''} end
end
redis.call('SADD', KEYS[5], ARGV[2])
local first = nil
for j = 5, #ARGV, 2 do
  local s = redis.call('INCR', KEYS[3])
  if first == nil then first = s end
  if ARGV[j + 1] == '' then redis.call('HDEL', KEYS[1], ARGV[j]) else redis.call('HSET', KEYS[1], ARGV[j], ARGV[j + 1]) end
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], '*', 's', s, 'n', ARGV[2], 'f', ARGV[j], 'v', ARGV[j + 1])
end
return {'OK', tostring(first or 0)}
`;

/**
 * All shared state. KEYS: namespace index, shared sequence, shared feed; ARGV: the hash key prefix.
 * Returns {sequence, last feed id, ns1, flat fields1, ns2, flat fields2, …}.
 */
export const LOAD_SHARED = `
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local id = '0-0'
if #last > 0 then id = last[1][1] end
local out = {redis.call('GET', KEYS[2]) or '0', id}
for _, ns in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  table.insert(out, ns)
  table.insert(out, redis.call('HGETALL', ARGV[1] .. ns))
end
return out
`;

/** KEYS: leader, epoch; ARGV: holder, ttl ms. Returns the fence, or false when another holds it. */
export const ACQUIRE = `
local cur = redis.call('GET', KEYS[1])
if cur then
  if string.sub(cur, 1, #ARGV[1] + 1) == ARGV[1] .. ':' then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return cur
  end
  return false
end
local fence = ARGV[1] .. ':' .. redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], fence, 'PX', ARGV[2])
return fence
`;

/** KEYS: leader; ARGV: fence, ttl ms. 1 when extended, 0 when the fence no longer holds. */
export const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
`;

/** KEYS: leader; ARGV: fence. */
export const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;

/**
 * A write to WAIT on, and the version it covers: every change the store held when it ran.
 * KEYS: version, confirm mark; ARGV: a value for the mark. Returns the version.
 */
export const CONFIRM_MARK = `
redis.call('SET', KEYS[2], ARGV[1])
return redis.call('GET', KEYS[1]) or '0'
`;
