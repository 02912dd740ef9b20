package queue

import (
	"github.com/redis/go-redis/v9"
)

// The Lua scripts that are a Redis queue's operations, one script each,
// and the order of the keys they are given (Redis.keys: one hash tag a
// queue, so a Cluster keeps them in one slot).

// Key indexes in the KEYS of every script.
const (
	kStream = iota
	kSchedule
	kLive
	kDead
	kState
	kCounters
	kAside
	kCount
)

// luaLib holds the helpers every script shares; they see KEYS as the k*
// constants order them.
const luaLib = `
local S, Z, C, D, M, N, BAD = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7]
local function field(fs, name)
  for i = 1, #fs, 2 do if fs[i] == name then return fs[i + 1] end end
  return false
end
-- sid is the stream id in an entry id (<stream id>.<random>), or false.
local function sid(id)
  return string.match(id, '^(%d+%-%d+)%.%x+$') or false
end
-- entry returns the stream entry's fields, or false.
local function entry(id)
  local s = sid(id)
  if not s then return false end
  local r = redis.call('XRANGE', S, s, s)
  if #r == 0 then return false end
  return r[1][2]
end
-- row returns {id, blob, attempts, next_ns, status, error, token, has_outcome}
-- or false if the stream holds no entry id.
local function row(id)
  local fs = entry(id)
  if not fs then return false end
  local st = redis.call('HMGET', M, id .. '.a', id .. '.n', id .. '.s', id .. '.e', id .. '.t')
  local has = '0'
  if st[3] then has = '1' end
  return {id, field(fs, 'e') or '', st[1] or '', st[2] or '', st[3] or '', st[4] or '', st[5] or '', has}
end
-- forget deletes entry id in every state; it returns 1 if it was live or dead.
local function forget(id)
  local had = redis.call('ZREM', C, id) + redis.call('ZREM', D, id)
  redis.call('ZREM', Z, id)
  if redis.call('HDEL', M, id .. '.t') == 1 then redis.call('HINCRBY', N, 'inflight', -1) end
  redis.call('HDEL', M, id .. '.a', id .. '.n', id .. '.s', id .. '.e')
  if had == 0 then return 0 end
  local fs = entry(id)
  if fs then
    local size = tonumber(field(fs, 'b')) or 0
    if size ~= 0 then redis.call('HINCRBY', N, 'bytes', -size) end
    redis.call('XDEL', S, sid(id))
  end
  return 1
end
local function settle(id, tok)
  if redis.call('HGET', M, id .. '.t') ~= tok then return false end
  redis.call('HDEL', M, id .. '.t')
  redis.call('HINCRBY', N, 'inflight', -1)
  return true
end
`

// appendScript: ARGV blob, size, created_ns, created_us, next_us,
// max_entries, max_bytes, attempts, random suffix. It returns the new id,
// or false (nil) when the queue is full.
var appendScript = redis.NewScript(luaLib + `
local size = tonumber(ARGV[2])
local maxe, maxb = tonumber(ARGV[6]), tonumber(ARGV[7])
if maxe > 0 and redis.call('ZCARD', C) + redis.call('ZCARD', D) >= maxe then return false end
if maxb > 0 and (tonumber(redis.call('HGET', N, 'bytes')) or 0) + size > maxb then return false end
local id = redis.call('XADD', S, '*', 'e', ARGV[1], 'b', ARGV[2], 'c', ARGV[3]) .. '.' .. ARGV[9]
redis.call('ZADD', C, ARGV[4], id)
redis.call('ZADD', Z, ARGV[5], id)
redis.call('HINCRBY', N, 'bytes', size)
if ARGV[8] ~= '0' then redis.call('HSET', M, id .. '.a', ARGV[8]) end
return id
`)

// claimScript: ARGV now_us, lease_end_us, n, token prefix. It returns the
// rows claimed; an index without its stream entry is dropped.
var claimScript = redis.NewScript(luaLib + `
local ids = redis.call('ZRANGEBYSCORE', Z, '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local r = row(id)
  if not r then
    forget(id)
  else
    local a = redis.call('HINCRBY', M, id .. '.a', 1)
    local tok = ARGV[4] .. a
    if redis.call('HSET', M, id .. '.t', tok) == 1 then redis.call('HINCRBY', N, 'inflight', 1) end
    redis.call('ZADD', Z, ARGV[2], id)
    r[3] = tostring(a)
    r[7] = tok
    out[#out + 1] = r
  end
end
return out
`)

// ackScript: ARGV id, token. 1 if acked, 0 if the lease is lost.
var ackScript = redis.NewScript(luaLib + `
if not settle(ARGV[1], ARGV[2]) then return 0 end
forget(ARGV[1])
return 1
`)

// retryScript: ARGV id, token, at_us, at_ns, status, error.
var retryScript = redis.NewScript(luaLib + `
local id = ARGV[1]
if not settle(id, ARGV[2]) then return 0 end
redis.call('ZADD', Z, ARGV[3], id)
redis.call('HSET', M, id .. '.n', ARGV[4], id .. '.s', ARGV[5], id .. '.e', ARGV[6])
return 1
`)

// deadScript: ARGV id, token, status, error.
var deadScript = redis.NewScript(luaLib + `
local id = ARGV[1]
if not settle(id, ARGV[2]) then return 0 end
local sc = redis.call('ZSCORE', C, id) or '0'
redis.call('ZREM', Z, id)
redis.call('ZREM', C, id)
redis.call('ZADD', D, sc, id)
redis.call('HSET', M, id .. '.s', ARGV[3], id .. '.e', ARGV[4])
return 1
`)

// requeueScript: ARGV id (empty for a batch of all), now_us, now_ns, batch.
// It returns how many it moved, -1 if id is not a dead letter.
var requeueScript = redis.NewScript(luaLib + `
local ids
if ARGV[1] ~= '' then
  if not redis.call('ZSCORE', D, ARGV[1]) then return -1 end
  ids = {ARGV[1]}
else
  ids = redis.call('ZRANGE', D, 0, tonumber(ARGV[4]) - 1)
end
for _, id in ipairs(ids) do
  local sc = redis.call('ZSCORE', D, id)
  redis.call('ZREM', D, id)
  redis.call('ZADD', C, sc, id)
  redis.call('ZADD', Z, ARGV[2], id)
  redis.call('HSET', M, id .. '.a', '0', id .. '.n', ARGV[3])
end
return #ids
`)

// purgeScript: ARGV id (empty for a batch), dead ('1': dead letters only),
// batch. It returns how many it deleted, -1 if id is unknown.
var purgeScript = redis.NewScript(luaLib + `
if ARGV[1] ~= '' then
  if forget(ARGV[1]) == 0 then return -1 end
  return 1
end
local batch = tonumber(ARGV[3])
local ids = {}
if ARGV[2] ~= '1' then ids = redis.call('ZRANGE', C, 0, batch - 1) end
if #ids < batch then
  for _, id in ipairs(redis.call('ZRANGE', D, 0, batch - #ids - 1)) do ids[#ids + 1] = id end
end
for _, id in ipairs(ids) do forget(id) end
return #ids
`)

// asideScript: ARGV id, reason. It copies the raw entry to the aside
// stream and forgets it.
var asideScript = redis.NewScript(luaLib + `
local id = ARGV[1]
local fs = entry(id)
if fs then
  redis.call('XADD', BAD, 'MAXLEN', '~', ARGV[3], '*', 'id', id, 'e', field(fs, 'e') or '', 'error', ARGV[2])
end
return forget(id)
`)

// statsScript returns {live, dead, inflight, bytes, oldest created_ns}.
var statsScript = redis.NewScript(luaLib + `
local oldest = ''
local o = redis.call('ZRANGE', C, 0, 0)
if #o > 0 then
  local fs = entry(o[1])
  if fs then oldest = field(fs, 'c') or '' end
end
return {redis.call('ZCARD', C), redis.call('ZCARD', D), tonumber(redis.call('HGET', N, 'inflight')) or 0,
  tonumber(redis.call('HGET', N, 'bytes')) or 0, oldest}
`)

// listScript: ARGV dead ('1'), limit (-1: all). Rows, oldest (by
// Created) first.
var listScript = redis.NewScript(luaLib + `
local set = C
if ARGV[1] == '1' then set = D end
local out = {}
local stop = tonumber(ARGV[2])
if stop > 0 then stop = stop - 1 end
for _, id in ipairs(redis.call('ZRANGE', set, 0, stop)) do
  local r = row(id)
  if r then out[#out + 1] = r end
end
return out
`)

// getScript: ARGV id. The row, or false if id is neither live nor dead.
var getScript = redis.NewScript(luaLib + `
local id = ARGV[1]
if not redis.call('ZSCORE', C, id) and not redis.call('ZSCORE', D, id) then return false end
return row(id)
`)
