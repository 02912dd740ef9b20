package replay

import (
	"context"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisPrefix is the key prefix of a Redis store when RedisOptions
// gives none.
const DefaultRedisPrefix = "webhook_verify:replay:"

// DefaultRedisTimeout bounds one step of a Redis store (every round trip
// of it) when RedisOptions.Timeout is 0.
const DefaultRedisTimeout = 2 * time.Second

// RedisOptions configures NewRedis. The zero value is usable.
type RedisOptions struct {
	// Prefix is put before every key. Give every replay cache that must
	// not share entries its own prefix, and never put a secret in it.
	// Empty means DefaultRedisPrefix.
	Prefix string

	// Timeout bounds each Reserve, Commit and Release, on top of the
	// caller's context. 0 means DefaultRedisTimeout.
	Timeout time.Duration
}

// Redis is a Store kept in Redis or Valkey (a single server, Sentinel or
// Cluster, through a redis.UniversalClient), so several Caddy instances
// that use the same Redis forward a delivery once between them.
//
// Each step is one atomic round trip, and Redis expires the keys itself:
//
//	Reserve  SET <key> f<token> NX PX <inflightTTL> GET: sets the key if it
//	         is absent, else returns what it holds (in flight or accepted)
//	Commit   a script: unless the key is already accepted, SET <key> a PX <ttl>
//	Release  a script: DEL <key> if it still holds f<token>
//
// so a new delivery costs two round trips (SET, then EVALSHA, which runs
// GET and SET inside Redis) and a duplicate one (SET). A server older than
// Redis 7.0, which refuses NX with GET, gets SET NX PX and then, when the
// key exists, a GET (two round trips for a duplicate); the store switches
// to that the first time the server answers the combined form with a
// syntax error. The scripts are
// sent with EVALSHA, and with EVAL once if the server does not know them
// (redis.Script). Every command touches one key, so the store works
// with Redis Cluster. Expiry is Redis's own (relative TTLs, PX), so the
// clocks of the Caddy instances do not matter.
//
// Keys are <prefix><64 hex digits>: the key given to Reserve, hashed (see
// Key), so no delivery id or signature is written in clear. Values are "a"
// (accepted) or "f" and the decimal token (in flight). Bindings (Bind) are
// kept at <prefix>b:<64 hex digits>, "b" and the hex digest.
//
// Failures fail closed: every error from Redis (unreachable, a step slower
// than Timeout, READONLY from a replica, OOM, NOPERM from an ACL, a value
// this store did not write) is returned wrapped in ErrUnavailable, which
// the handler turns into 503. What a failure leaves behind is what it
// leaves with Storage: a failed Commit leaves the key in flight until its
// inflightTTL, a failed Release leaves it in flight (409) until then.
//
// Redis keeps the state in memory: a Redis restart without persistence
// (or a failover to a replica that had not received the latest writes)
// forgets the accepted deliveries and reservations it held, so a copy
// sent afterwards is forwarded again.
//
// Redis does not own its client: closing it is the caller's business, and
// several stores may share one client.
type Redis struct {
	client  redis.UniversalClient
	prefix  string
	timeout time.Duration
	noGetNX atomic.Bool // the server refused SET NX GET (Redis < 7.0)
}

var (
	_ Store  = (*Redis)(nil)
	_ Binder = (*Redis)(nil)
)

// Values stored in Redis.
const (
	redisAccepted = "a"
	redisInFlight = "f" // followed by the decimal token
	redisBound    = "b" // followed by the hex digest (bindings)
)

// commitScript marks KEYS[1] accepted for ARGV[1] milliseconds unless it
// is accepted already (the contract: a commit never extends or shortens an
// accepted entry, and wins over any reservation, its own or a newer one).
var commitScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == 'a' then return 0 end
redis.call('SET', KEYS[1], 'a', 'PX', ARGV[1])
return 1
`)

// releaseScript deletes KEYS[1] if it still holds the reservation ARGV[1].
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`)

// bindScript returns the binding KEYS[1] holds, else sets it to ARGV[1]
// for ARGV[2] milliseconds and returns that.
var bindScript = redis.NewScript(`
local v = redis.call('GET', KEYS[1])
if v then return v end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
`)

// NewRedis returns a Redis store that uses client. Give the client
// ContextTimeoutEnabled (and read, write and dial timeouts no longer than
// RedisOptions.Timeout), or a stalled server holds a step for the client's
// own read timeout rather than Timeout.
func NewRedis(client redis.UniversalClient, opts RedisOptions) *Redis {
	s := &Redis{client: client, prefix: opts.Prefix, timeout: opts.Timeout}
	if s.prefix == "" {
		s.prefix = DefaultRedisPrefix
	}
	if s.timeout <= 0 {
		s.timeout = DefaultRedisTimeout
	}
	return s
}

// Reserve implements Store.
func (s *Redis) Reserve(ctx context.Context, key string, inflightTTL time.Duration) (State, Token, error) {
	if err := checkTTL(inflightTTL); err != nil {
		return 0, 0, err
	}
	k := s.redisKey(key)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()

	tok := newToken()
	mine := redisInFlight + strconv.FormatUint(uint64(tok), 10)
	if !s.noGetNX.Load() {
		v, err := s.client.Do(ctx, "set", k, mine, "px", millis(inflightTTL).Milliseconds(), "nx", "get").Text()
		switch {
		case errors.Is(err, redis.Nil):
			return New, tok, nil
		case err == nil:
			return s.reserved(v, mine, tok)
		case isSyntaxError(err):
			s.noGetNX.Store(true)
		default:
			return 0, 0, redisErr("set", err)
		}
	}
	// Two rounds at most: the entry found by the first SET may expire
	// before the GET, and the key is then free again.
	for range 2 {
		ok, err := s.client.SetNX(ctx, k, mine, millis(inflightTTL)).Result()
		if err != nil {
			return 0, 0, redisErr("set", err)
		}
		if ok {
			return New, tok, nil
		}
		v, err := s.client.Get(ctx, k).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			return 0, 0, redisErr("get", err)
		}
		return s.reserved(v, mine, tok)
	}
	// Expired twice in a row between SET and GET: someone is racing us on
	// a key with a tiny TTL; report it as in flight rather than loop.
	return InFlight, 0, nil
}

// reserved is Reserve's outcome when the key held v (mine is the value
// this Reserve tried to set, with the token tok).
func (s *Redis) reserved(v, mine string, tok Token) (State, Token, error) {
	switch {
	case v == redisAccepted:
		return Accepted, 0, nil
	case v == mine:
		// The client retried a SET whose first attempt had been
		// executed: the reservation is ours.
		return New, tok, nil
	case isInFlightValue(v):
		return InFlight, 0, nil
	default:
		return 0, 0, fmt.Errorf("%w: %w", ErrUnavailable, errCorrupt)
	}
}

// isSyntaxError reports whether Redis refused a command's form (a server
// older than 7.0 refuses SET with both NX and GET).
func isSyntaxError(err error) bool {
	var re redis.Error
	return errors.As(err, &re) && strings.HasPrefix(re.Error(), "ERR syntax error")
}

// Commit implements Store.
func (s *Redis) Commit(ctx context.Context, key string, tok Token, ttl time.Duration) error {
	if err := checkTTL(ttl); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := commitScript.Run(ctx, s.client, []string{s.redisKey(key)}, millis(ttl).Milliseconds()).Err(); err != nil {
		return redisErr("commit script", err)
	}
	return nil
}

// Release implements Store.
func (s *Redis) Release(ctx context.Context, key string, tok Token) error {
	if tok == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	v := redisInFlight + strconv.FormatUint(uint64(tok), 10)
	if err := releaseScript.Run(ctx, s.client, []string{s.redisKey(key)}, v).Err(); err != nil {
		return redisErr("release script", err)
	}
	return nil
}

// Bind implements Binder: one script (EVALSHA, and inside it GET, then SET
// with PX when the key holds no binding yet) on the key
// <prefix>b:<64 hex digits>, apart from the reservation's.
func (s *Redis) Bind(ctx context.Context, key string, digest []byte, ttl time.Duration) (bool, error) {
	if err := checkTTL(ttl); err != nil {
		return false, err
	}
	if err := checkDigest(digest); err != nil {
		return false, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	want := redisBound + hex.EncodeToString(digest)
	got, err := bindScript.Run(ctx, s.client, []string{s.bindKey(key)}, want, millis(ttl).Milliseconds()).Text()
	if err != nil {
		return false, redisErr("bind script", err)
	}
	if len(got) != len(want) || !strings.HasPrefix(got, redisBound) {
		return false, fmt.Errorf("%w: %w", ErrUnavailable, errCorrupt)
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(want)) == 1, nil
}

// Ping checks that Redis answers, within the store's timeout.
func (s *Redis) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	if err := s.client.Ping(ctx).Err(); err != nil {
		return redisErr("ping", err)
	}
	return nil
}

// EvictionPolicies returns the maxmemory-policy of every server the store
// writes to (the server, the Sentinels' master, or every master of a
// Cluster), within the store's timeout, as CONFIG GET reports it. An ACL
// that refuses CONFIG (NOPERM) or a managed Redis that renamed it gives an
// error wrapped in ErrUnavailable, like an unreachable server.
func (s *Redis) EvictionPolicies(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	get := func(ctx context.Context, c redis.Cmdable) (string, error) {
		m, err := c.ConfigGet(ctx, "maxmemory-policy").Result()
		if err != nil {
			return "", redisErr("config get maxmemory-policy", err)
		}
		p, ok := m["maxmemory-policy"]
		if !ok {
			return "", fmt.Errorf("%w: redis config get returned no maxmemory-policy", ErrUnavailable)
		}
		return p, nil
	}
	cc, ok := s.client.(*redis.ClusterClient)
	if !ok {
		p, err := get(ctx, s.client)
		if err != nil {
			return nil, err
		}
		return []string{p}, nil
	}
	var (
		mu       sync.Mutex
		policies []string
	)
	err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		p, err := get(ctx, c)
		if err == nil {
			mu.Lock()
			policies = append(policies, p)
			mu.Unlock()
		}
		return err
	})
	if err != nil {
		return nil, redisErr("cluster masters", err)
	}
	return policies, nil
}

// EvictionSafe reports whether a maxmemory-policy keeps every key with a
// TTL until it expires: only "noeviction" does. Every other policy
// (volatile-* and allkeys-*, and any this package does not know) may
// evict replay entries, all of which have a TTL, when Redis reaches
// maxmemory, and a copy of an evicted delivery is then forwarded again.
func EvictionSafe(policy string) bool { return policy == "noeviction" }

// RedisKey returns the Redis key under which s keeps key (for tests and
// operators who want to inspect an entry).
func (s *Redis) RedisKey(key string) string { return s.redisKey(key) }

func (s *Redis) redisKey(key string) string { return s.prefix + hashedKey(key) }

func (s *Redis) bindKey(key string) string {
	d := bindDigest(key)
	return s.prefix + redisBound + ":" + hex.EncodeToString(d[:])
}

func isInFlightValue(v string) bool {
	rest, ok := strings.CutPrefix(v, redisInFlight)
	if !ok || rest == "" {
		return false
	}
	_, err := strconv.ParseUint(rest, 10, 64)
	return err == nil
}

// maxRedisTTL keeps PX arguments far from Redis's overflow check (now +
// ms must fit an int64 of milliseconds): about 292 years.
const maxRedisTTL = time.Duration(1<<63 - 1)

// millis rounds d up to whole milliseconds (Redis's resolution), at least
// one.
func millis(d time.Duration) time.Duration {
	if d > maxRedisTTL-time.Millisecond {
		return maxRedisTTL.Truncate(time.Millisecond)
	}
	if d < time.Millisecond {
		return time.Millisecond
	}
	return (d + time.Millisecond - 1).Truncate(time.Millisecond)
}

// redisErr wraps a Redis error in ErrUnavailable. Errors from go-redis
// name the command and the server's reply (NOPERM, READONLY, OOM) or the
// network error, never a password.
func redisErr(op string, err error) error {
	return fmt.Errorf("%w: redis %s: %w", ErrUnavailable, op, err)
}

// RedisURLOptions turns redis:// and rediss:// URLs
// (redis[s]://[user:password@]host[:port][/db], no query) into the options
// of a redis.UniversalClient: one URL is a single server, several are a
// Cluster's seed nodes (or Sentinels, with master), and cluster selects
// Cluster mode with one URL. All URLs must agree on everything but the
// address. Errors never repeat the URL, which may hold a password.
func RedisURLOptions(urls []string, cluster bool, master string) (*redis.UniversalOptions, error) {
	if len(urls) == 0 {
		return nil, errors.New("no redis url")
	}
	if cluster && master != "" {
		return nil, errors.New("cluster and sentinel exclude each other")
	}
	var first *redis.Options
	u := new(redis.UniversalOptions)
	for i, raw := range urls {
		o, err := parseRedisURL(raw)
		if err != nil {
			return nil, fmt.Errorf("redis url %d: %w", i+1, err)
		}
		if first == nil {
			first = o
		} else if o.Username != first.Username || o.Password != first.Password || o.DB != first.DB ||
			(o.TLSConfig == nil) != (first.TLSConfig == nil) {
			return nil, fmt.Errorf("redis url %d: user, password, database and scheme must be the same in every url", i+1)
		}
		u.Addrs = append(u.Addrs, o.Addr)
	}
	if (cluster || (len(urls) > 1 && master == "")) && first.DB != 0 {
		return nil, errors.New("redis cluster has no database other than 0")
	}
	u.Username, u.Password, u.DB = first.Username, first.Password, first.DB
	if first.TLSConfig != nil {
		u.TLSConfig = first.TLSConfig
	}
	u.IsClusterMode = cluster
	// With a master name the URLs are Sentinels; the credentials are the
	// master's (the Sentinels are reached without authentication).
	u.MasterName = master
	return u, nil
}

// parseRedisURL checks a URL's shape before go-redis parses it, so that
// an error never quotes the URL (url.Parse errors do).
func parseRedisURL(raw string) (*redis.Options, error) {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok || (scheme != "redis" && scheme != "rediss") {
		return nil, errors.New("scheme must be redis:// or rediss://")
	}
	if rest == "" || strings.HasPrefix(rest, "/") {
		return nil, errors.New("no host")
	}
	pu, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("malformed url")
	}
	if pu.Host == "" || pu.Hostname() == "" {
		return nil, errors.New("no host")
	}
	if p := pu.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, errors.New("port must be 1..65535")
		}
	}
	if pu.RawQuery != "" || pu.ForceQuery || pu.Fragment != "" {
		return nil, errors.New("no query or fragment allowed: options go in the redis block")
	}
	o, err := redis.ParseURL(raw)
	if err != nil {
		// go-redis's messages name the part (database number, unknown
		// parameter) but may quote the URL: keep only a safe summary.
		msg := err.Error()
		switch {
		case strings.Contains(msg, "invalid database number"):
			return nil, errors.New("invalid database number")
		case strings.Contains(msg, "invalid URL path"):
			return nil, errors.New("path must be at most one database number")
		}
		return nil, errors.New("malformed url")
	}
	return o, nil
}
