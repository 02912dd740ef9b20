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

// run runs a script on queue name's keys with the store's timeout.
func (s *Redis) run(ctx context.Context, sc *redis.Script, name string, args ...any) (any, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	return sc.Run(ctx, s.client, s.keys(name), args...).Result()
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

// moveAside moves an entry that does not decode to the aside stream.
// A failure to do so leaves it where it is (it is then claimed and moved
// again after its lease).
func (s *Redis) moveAside(ctx context.Context, name, id string, err error) {
	if s.corrupt != nil {
		s.corrupt(name, id, err)
	}
	_, _ = s.run(ctx, asideScript, name, id, err.Error(), redisAsideMax)
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
