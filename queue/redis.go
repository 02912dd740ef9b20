package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix is the key prefix of a Redis store when RedisOptions
// gives none.
const DefaultRedisPrefix = "webhook_queue:"

// DefaultRedisTimeout bounds one operation of a Redis store (every round
// trip of it) when RedisOptions.Timeout is 0.
const DefaultRedisTimeout = 2 * time.Second

// redisBatch is how many entries one Requeue or Purge script moves or
// deletes, so that a large purge never blocks Redis for long: the store
// runs the script again until it has done everything.
const redisBatch = 500

// redisAsideMax bounds the stream of entries moved aside (approximately,
// MAXLEN ~): the newest ones are kept for inspection.
const redisAsideMax = 1000

// RedisOptions configures NewRedis. The zero value is usable.
type RedisOptions struct {
	// Prefix is put before every key. Give every deployment (tenant,
	// test) that must not share queues its own prefix; never put a
	// secret in it. Empty means DefaultRedisPrefix.
	Prefix string

	// Consumer names this process in the lease tokens it hands out and
	// in the owner it records on an entry in flight, so an operator can
	// tell which Caddy instance holds it. Empty means the host name, the
	// process id and a random suffix. A consumer owns nothing: a lease is
	// a time (the entry's score in the schedule) and a token with a
	// random part per Claim, so a process restarted under the same name
	// neither settles nor frees its predecessor's leases; their entries
	// are claimed again, by any instance, when the lease ends (unlike
	// Bolt, which frees them at open: with Redis, another live instance
	// may hold them).
	Consumer string

	// Timeout bounds each operation, on top of the caller's context. 0
	// means DefaultRedisTimeout. Give the client ContextTimeoutEnabled
	// (and read, write and dial timeouts no longer than this), or a
	// stalled server holds an operation for the client's own timeouts.
	Timeout time.Duration

	// OnCorrupt, if set, is called (once per entry) when a stored entry
	// cannot be decoded and is moved aside, so the caller can log it.
	// err wraps ErrCorrupt and holds no entry content.
	OnCorrupt func(queue, id string, err error)
}

// Redis is a Store kept in Redis or Valkey (a single server, Sentinel or
// Cluster, through a redis.UniversalClient), so several Caddy instances
// can share one queue: any of them accepts, any of them delivers, and the
// entries a dead instance held are delivered by the others once their
// lease has expired.
//
// # Keys
//
// The keys of queue q are <prefix>{q}:<kind>, q with "%" and "}" escaped:
// the braces are a hash tag, so every key of a queue lives in one Cluster
// slot and every operation is one script on one node. <prefix>queues (a
// set) names the queues this store has appended to, for Queues.
//
//	{q}:s    stream: one stream entry per queue entry, fields e (the
//	         encoded Entry, as appended), b (its Size) and c (Created,
//	         Unix nanoseconds). The Entry's ID is the stream id (assigned
//	         by Redis, unique and in order of append across all instances)
//	         with a dot and 16 random hex digits, so that ids differ
//	         between queues too (an app fed by several queues deduplicates
//	         on them). The sets and hashes below are keyed by Entry ID.
//	{q}:z    sorted set, the schedule of the live entries: the score is the
//	         time (Unix microseconds) an entry can next be claimed: its
//	         NextAt while it waits, its lease's end while it is in flight.
//	{q}:c    sorted set of the live (pending and in-flight) entries by
//	         Created: OldestPending, List, MaxEntries.
//	{q}:d    sorted set of the dead letters by Created (they stay in the
//	         stream; their last outcome is in {q}:m).
//	{q}:m    hash of the mutable state, fields <id>.a (attempts), .n
//	         (NextAt, Unix nanoseconds), .s and .e (last status and error),
//	         .t (the current lease's token, present while in flight).
//	{q}:n    hash of counters: bytes (the Size of live and dead entries),
//	         inflight.
//	{q}:bad  stream of the entries moved aside because they could not be
//	         decoded (the raw fields and the original id), capped at about
//	         1000.
//
// # Round trips
//
// Each operation is one script (EVALSHA; EVAL once if the server does not
// know it yet), so one round trip, and atomic: Append checks the limits
// and appends (XADD, ZADD, ZADD, HINCRBY) in the same script, so
// concurrent appends never overshoot MaxEntries or MaxBytes; Claim takes
// the due entries (ZRANGEBYSCORE on the schedule, which holds the waiting
// retries and the expired leases alike), counts an attempt on each
// (HINCRBY), records the new lease and pushes the entry's schedule to the
// lease's end, so an entry is handed out at most once per lease; Ack,
// Retry and Dead first check that the lease's token is still the entry's
// current one (else ErrLeaseLost). The first Append of a queue in a
// process (and then one a minute) adds one SADD for Queues; an entry that
// does not decode costs one more script to move it aside.
//
// # Clocks
//
// Due times and lease ends are the callers' clocks (Claim's now, Retry's
// at), like the bbolt store's, so Redis's clock plays no part; Caddy
// instances sharing a queue should keep their clocks in sync (NTP): a
// clock ahead by d takes expired leases over d early. This is also why
// leases are not kept in a consumer group's pending entries list:
// XAUTOCLAIM selects by idle time on Redis's clock and could not honour
// the now of the Store contract, and one schedule for retries and leases
// keeps Claim at one round trip instead of three (move the due retries,
// XAUTOCLAIM, XREADGROUP).
//
// # Durability
//
// Append returns once Redis has executed the script; what survives then is
// Redis's persistence setting, not this store's:
//
//   - appendonly yes, appendfsync always: Redis fsyncs the AOF before it
//     answers, so an acknowledged entry survives a crash of Redis, of the
//     host and a power cut (at the cost of an fsync per write, shared by
//     the writes of one event-loop turn).
//   - appendonly yes, appendfsync everysec (Redis's default with AOF): the
//     AOF is fsynced about every second, and while a background fsync is
//     still running (a slow or busy disk) Redis postpones even the write
//     to the AOF by up to 2s and answers meanwhile. So a host crash or
//     power cut loses up to about the last 2s of acknowledged entries,
//     attempts and acks, and so can a crash or kill -9 of redis-server
//     alone (measured here: 20 appends to a freshly started server, then
//     kill -9 at once: all 20 lost in 3 runs of 20; with always, none in
//     20). Once Redis has written them (INFO persistence
//     aof_buffer_length:0) they survive a crash of Redis, not of the host.
//   - appendonly no (RDB snapshots only): a crash loses everything since
//     the last snapshot; without snapshots, everything.
//   - Replication is asynchronous: a failover to a replica that had not
//     received the latest writes loses them, whatever the fsync setting.
//     The store sends no WAIT; Redis's min-replicas-to-write makes the
//     primary refuse writes (so 503) while too few replicas keep up.
//
// An ack, retry or attempt count lost that way is redone (the entry is
// delivered again: at least once); an append lost that way is an entry
// lost after its provider was answered 2xx. Use appendfsync always where
// that matters. Redis must never evict the keys (CheckEviction refuses a
// maxmemory-policy that could; the keys carry no TTL, so volatile-*
// policies never pick them).
//
// Every error from Redis (unreachable, slower than Timeout, READONLY,
// OOM, NOPERM, a script error) is returned wrapped in ErrUnavailable.
// Redis does not own its client: closing the client is the caller's
// business (Close does nothing), and several stores may share one client.
type Redis struct {
	client   redis.UniversalClient
	prefix   string
	consumer string
	timeout  time.Duration
	corrupt  func(queue, id string, err error)

	registered sync.Map // queue name → time.Time it was last SADDed to <prefix>queues
}

var _ Store = (*Redis)(nil)

// NewRedis returns a Redis store that uses client (see RedisOptions for
// the client's timeouts).
func NewRedis(client redis.UniversalClient, opts RedisOptions) (*Redis, error) {
	if client == nil {
		return nil, errors.New("redis queue store: no client")
	}
	s := &Redis{client: client, prefix: opts.Prefix, consumer: opts.Consumer, timeout: opts.Timeout, corrupt: opts.OnCorrupt}
	if s.prefix == "" {
		s.prefix = DefaultRedisPrefix
	}
	if s.timeout <= 0 {
		s.timeout = DefaultRedisTimeout
	}
	if s.consumer == "" {
		host, _ := os.Hostname()
		if host == "" {
			host = "caddy"
		}
		s.consumer = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), randomHex(4))
	}
	if strings.ContainsAny(s.consumer, "/") {
		return nil, errors.New("redis queue store: consumer name must not contain '/'")
	}
	return s, nil
}

// Consumer returns the name this store puts in its lease tokens.
func (s *Redis) Consumer() string { return s.consumer }

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

// keys returns the keys of queue name, in the order of the k* constants.
func (s *Redis) keys(name string) []string {
	p := s.prefix + "{" + escapeTag(name) + "}:"
	return []string{p + "s", p + "z", p + "c", p + "d", p + "m", p + "n", p + "bad"}
}

// escapeTag makes name safe between the braces of a hash tag: "}" would
// end the tag early (an empty tag, "{}", hashes the whole key, which would
// scatter the queue's keys over several slots). "%" is escaped too, so
// that distinct names stay distinct.
func escapeTag(name string) string {
	if !strings.ContainsAny(name, "%}") {
		return name
	}
	return strings.NewReplacer("%", "%25", "}", "%7D").Replace(name)
}

func (s *Redis) registryKey() string { return s.prefix + "queues" }

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

// run runs a script on queue name's keys with the store's timeout.
func (s *Redis) run(ctx context.Context, sc *redis.Script, name string, args ...any) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return sc.Run(ctx, s.client, s.keys(name), args...).Result()
}

// Append implements Store. It is one script (plus, the first time this
// process appends to a queue, an SADD to the queue registry).
func (s *Redis) Append(ctx context.Context, name string, e *Entry, lim Limits) (string, error) {
	if err := checkName(name); err != nil {
		return "", err
	}
	if err := Check(e); err != nil {
		return "", err
	}
	if e.Created.IsZero() {
		e.Created = time.Now()
	}
	if e.NextAt.IsZero() {
		e.NextAt = e.Created
	}
	e.ID = ""
	if err := s.register(ctx, name); err != nil {
		return "", err
	}
	id, err := s.appendRaw(ctx, name, Encode(e), e.Size(), e.Created, e.NextAt, lim, e.Attempts)
	if err != nil {
		return "", err
	}
	e.ID = id
	return id, nil
}

// appendRaw appends an already encoded entry (tests use it to store one
// that does not decode).
func (s *Redis) appendRaw(ctx context.Context, name string, blob []byte, size int64, created, next time.Time, lim Limits, attempts int) (string, error) {
	v, err := s.run(ctx, appendScript, name, blob, size, created.UnixNano(), created.UnixMicro(), next.UnixMicro(),
		max(lim.MaxEntries, 0), max(lim.MaxBytes, 0), attempts, randomHex(8))
	if errors.Is(err, redis.Nil) {
		return "", fmt.Errorf("%w: queue %q", ErrFull, name)
	}
	if err != nil {
		return "", redisErr("append", err)
	}
	id, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%w: redis append: unexpected reply %T", ErrUnavailable, v)
	}
	return id, nil
}

// registerEvery is how often a process adds a queue it appends to to the
// registry again, in case the registry was lost (a Redis restarted without
// persistence) while this process kept appending.
const registerEvery = time.Minute

// register adds name to the registry of queues, at most once per
// registerEvery.
func (s *Redis) register(ctx context.Context, name string) error {
	if at, ok := s.registered.Load(name); ok && time.Since(at.(time.Time)) < registerEvery {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.client.SAdd(ctx, s.registryKey(), name).Err(); err != nil {
		return redisErr("sadd", err)
	}
	s.registered.Store(name, time.Now())
	return nil
}

// Claim implements Store: one script, plus one per entry that does not
// decode (moved aside, not returned).
func (s *Redis) Claim(ctx context.Context, name string, n int, visibility time.Duration, now time.Time) ([]Lease, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if n <= 0 {
		return []Lease{}, nil
	}
	if visibility <= 0 {
		visibility = time.Microsecond // as Bolt: expired at once
	}
	prefix := s.consumer + "/" + randomHex(8) + "/"
	v, err := s.run(ctx, claimScript, name, now.UnixMicro(), now.Add(visibility).UnixMicro(), n, prefix)
	if err != nil {
		return nil, redisErr("claim", err)
	}
	rows, err := parseRows(v)
	if err != nil {
		return nil, err
	}
	leases := make([]Lease, 0, len(rows))
	for _, r := range rows {
		e, err := r.entry()
		if err != nil {
			s.moveAside(ctx, name, r.id, err)
			continue
		}
		leases = append(leases, Lease{Entry: e, Token: r.token})
	}
	return leases, nil
}

// moveAside moves an entry that does not decode to the aside stream.
// A failure to do so leaves it where it is (it is then claimed and moved
// again after its lease).
func (s *Redis) moveAside(ctx context.Context, name, id string, err error) {
	if s.corrupt != nil {
		s.corrupt(name, id, err)
	}
	_, _ = s.run(ctx, asideScript, name, id, err.Error(), redisAsideMax)
}

// settle runs the Ack, Retry or Dead script; 0 means the lease is lost.
func (s *Redis) settle(ctx context.Context, op string, sc *redis.Script, name string, l Lease, args ...any) error {
	if l.Entry == nil || l.Entry.ID == "" || l.Token == "" {
		return fmt.Errorf("%w: empty lease", ErrLeaseLost)
	}
	if err := checkName(name); err != nil {
		return err
	}
	v, err := s.run(ctx, sc, name, append([]any{l.Entry.ID, l.Token}, args...)...)
	if err != nil {
		return redisErr(op, err)
	}
	if n, _ := v.(int64); n != 1 {
		return fmt.Errorf("%w: entry %s", ErrLeaseLost, l.Entry.ID)
	}
	return nil
}

// Ack implements Store.
func (s *Redis) Ack(ctx context.Context, name string, l Lease) error {
	return s.settle(ctx, "ack", ackScript, name, l)
}

// Retry implements Store.
func (s *Redis) Retry(ctx context.Context, name string, l Lease, at time.Time, o Outcome) error {
	return s.settle(ctx, "retry", retryScript, name, l, at.UnixMicro(), at.UnixNano(), o.Status, o.Error)
}

// Dead implements Store.
func (s *Redis) Dead(ctx context.Context, name string, l Lease, o Outcome) error {
	return s.settle(ctx, "dead", deadScript, name, l, o.Status, o.Error)
}

// Stats implements Store: one script.
func (s *Redis) Stats(ctx context.Context, name string) (Stats, error) {
	if err := checkName(name); err != nil {
		return Stats{}, err
	}
	v, err := s.run(ctx, statsScript, name)
	if err != nil {
		return Stats{}, redisErr("stats", err)
	}
	a, ok := v.([]any)
	if !ok || len(a) != 5 {
		return Stats{}, fmt.Errorf("%w: redis stats: unexpected reply", ErrUnavailable)
	}
	live, _ := a[0].(int64)
	dead, _ := a[1].(int64)
	inflight, _ := a[2].(int64)
	bytes, _ := a[3].(int64)
	st := Stats{Pending: live - inflight, InFlight: inflight, Dead: dead, Bytes: bytes}
	if ns, err := strconv.ParseInt(fmt.Sprint(a[4]), 10, 64); err == nil {
		st.OldestPending = time.Unix(0, ns)
	}
	return st, nil
}

// List implements Store: one script. Entries that do not decode are moved
// aside and left out.
func (s *Redis) List(ctx context.Context, name string, dead bool, limit int, withBody bool) ([]*Entry, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = -1 // everything, as in Bolt
	}
	v, err := s.run(ctx, listScript, name, flag(dead), limit)
	if err != nil {
		return nil, redisErr("list", err)
	}
	rows, err := parseRows(v)
	if err != nil {
		return nil, err
	}
	out := make([]*Entry, 0, len(rows))
	for _, r := range rows {
		e, err := r.entry()
		if err != nil {
			s.moveAside(ctx, name, r.id, err)
			continue
		}
		if !withBody {
			e.Body = nil
		}
		out = append(out, e)
	}
	return out, nil
}

// Get implements Store. An entry that does not decode is an error
// wrapping ErrCorrupt (and stays where it is).
func (s *Redis) Get(ctx context.Context, name, id string) (*Entry, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	v, err := s.run(ctx, getScript, name, id)
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, redisErr("get", err)
	}
	rows, err := parseRows([]any{v})
	if err != nil {
		return nil, err
	}
	return rows[0].entry()
}

// Requeue implements Store.
func (s *Redis) Requeue(ctx context.Context, name, id string) (int, error) {
	return s.batched(ctx, "requeue", name, id, func(ctx context.Context) (any, error) {
		now := time.Now()
		return s.run(ctx, requeueScript, name, id, now.UnixMicro(), now.UnixNano(), redisBatch)
	})
}

// Purge implements Store.
func (s *Redis) Purge(ctx context.Context, name, id string, dead bool) (int, error) {
	return s.batched(ctx, "purge", name, id, func(ctx context.Context) (any, error) {
		return s.run(ctx, purgeScript, name, id, flag(dead), redisBatch)
	})
}

// batched runs a Requeue or Purge script: once for one id (-1: not
// found), else again until a batch comes back short.
func (s *Redis) batched(ctx context.Context, op, name, id string, run func(context.Context) (any, error)) (int, error) {
	if err := checkName(name); err != nil {
		return 0, err
	}
	total := 0
	for {
		v, err := run(ctx)
		if err != nil {
			return total, redisErr(op, err)
		}
		n, _ := v.(int64)
		if n < 0 {
			return 0, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		total += int(n)
		if id != "" || n < redisBatch {
			return total, nil
		}
	}
}

// Queues implements Store: the queues this store's prefix has seen an
// append to, that hold at least one entry.
func (s *Redis) Queues(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	names, err := s.client.SMembers(ctx, s.registryKey()).Result()
	if err != nil {
		return nil, redisErr("smembers", err)
	}
	cmds := make([][2]*redis.IntCmd, len(names))
	_, err = s.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, n := range names {
			k := s.keys(n)
			cmds[i] = [2]*redis.IntCmd{p.ZCard(ctx, k[kLive]), p.ZCard(ctx, k[kDead])}
		}
		return nil
	})
	if err != nil {
		return nil, redisErr("zcard", err)
	}
	out := []string{}
	for i, n := range names {
		if cmds[i][0].Val()+cmds[i][1].Val() > 0 {
			out = append(out, n)
		}
	}
	return out, nil
}

// Close implements Store. It does not close the client, which belongs to
// the caller.
func (s *Redis) Close() error { return nil }

// redisRow is one entry as the scripts return it.
type redisRow struct {
	id, blob, attempts, next, status, errText, token string
	hasOutcome                                       bool
}

func parseRows(v any) ([]redisRow, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%w: redis: unexpected reply %T", ErrUnavailable, v)
	}
	rows := make([]redisRow, 0, len(a))
	for _, x := range a {
		f, ok := x.([]any)
		if !ok || len(f) != 8 {
			return nil, fmt.Errorf("%w: redis: unexpected row", ErrUnavailable)
		}
		str := func(i int) string { s, _ := f[i].(string); return s }
		rows = append(rows, redisRow{str(0), str(1), str(2), str(3), str(4), str(5), str(6), str(7) == "1"})
	}
	return rows, nil
}

// entry decodes the row and lays the mutable state over the entry as
// appended.
func (r redisRow) entry() (*Entry, error) {
	e, err := Decode([]byte(r.blob))
	if err != nil {
		if !errors.Is(err, ErrCorrupt) {
			err = fmt.Errorf("%w: %w", ErrCorrupt, err)
		}
		return nil, err
	}
	e.ID = r.id
	if r.attempts != "" {
		n, err := strconv.Atoi(r.attempts)
		if err != nil {
			return nil, fmt.Errorf("%w: attempts of %s", ErrCorrupt, r.id)
		}
		e.Attempts = n
	}
	if r.next != "" {
		ns, err := strconv.ParseInt(r.next, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%w: next attempt of %s", ErrCorrupt, r.id)
		}
		e.NextAt = time.Unix(0, ns)
	}
	if r.hasOutcome {
		st, err := strconv.Atoi(r.status)
		if err != nil {
			return nil, fmt.Errorf("%w: status of %s", ErrCorrupt, r.id)
		}
		e.LastStatus, e.LastError = st, r.errText
	}
	return e, nil
}

func flag(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// redisErr wraps a Redis error in ErrUnavailable. Errors from go-redis
// name the command and the server's reply (NOPERM, READONLY, OOM) or the
// network error, never a password.
func redisErr(op string, err error) error {
	return fmt.Errorf("%w: redis %s: %w", ErrUnavailable, op, err)
}

// ErrEvictionUnchecked is wrapped by CheckEviction when the server refused
// to say its maxmemory-policy (CONFIG denied by an ACL, or renamed as on
// several managed services): the caller cannot know whether Redis may
// evict entries, and should warn and tell the operator to check.
var ErrEvictionUnchecked = errors.New("redis maxmemory-policy not checked")

// ErrEvicting is wrapped by CheckEviction when a server's maxmemory-policy
// could evict queue entries.
var ErrEvicting = errors.New("redis may evict queue entries")

// CheckEviction checks that Redis will not evict queue entries to free
// memory: every server (each master of a Cluster) must have the
// maxmemory-policy noeviction, or a volatile-* one (these evict only keys
// with a TTL, and the queue's keys have none). A full Redis then refuses
// appends (OOM, so 503) instead of dropping acknowledged entries. It
// returns an error wrapping ErrEvicting for an allkeys-* policy (or one it
// does not know), ErrEvictionUnchecked if CONFIG GET is refused, and
// ErrUnavailable if Redis cannot be reached.
func CheckEviction(ctx context.Context, client redis.UniversalClient) error {
	if c, ok := client.(*redis.ClusterClient); ok {
		return c.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return checkEviction(ctx, n, n.Options().Addr)
		})
	}
	return checkEviction(ctx, client, "")
}

func checkEviction(ctx context.Context, c redis.Cmdable, node string) error {
	where := ""
	if node != "" {
		where = " on " + node
	}
	m, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
	if err != nil {
		var rerr redis.Error
		if errors.As(err, &rerr) {
			return fmt.Errorf("%w%s: config get: %w", ErrEvictionUnchecked, where, err)
		}
		return redisErr("config get"+where, err)
	}
	p, ok := m["maxmemory-policy"]
	if !ok {
		return fmt.Errorf("%w%s: config get returned no maxmemory-policy", ErrEvictionUnchecked, where)
	}
	switch {
	case p == "noeviction", strings.HasPrefix(p, "volatile-"):
		return nil
	}
	return fmt.Errorf("%w: maxmemory-policy is %q%s; set it to noeviction", ErrEvicting, p, where)
}
