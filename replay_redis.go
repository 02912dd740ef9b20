package webhookverify

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/redis/go-redis/v9"
	"go.uber.org/zap"

	"github.com/webhookverify/caddy-webhook-verify/replay"
)

// RedisReplayConfig keeps the replay cache in Redis or Valkey, shared by
// every Caddy instance that uses the same server and key prefix. Each step
// of a delivery is one round trip (at most four Redis commands for a new
// delivery, two for a duplicate), and Redis expires the entries itself.
//
// Redis keeps the entries in memory: if it restarts without persistence
// (or fails over to a replica that had not received the latest writes),
// the accepted deliveries and reservations it held are forgotten, and a
// copy of one of them sent afterwards is forwarded again. Turn on AOF
// (`appendonly yes`, `appendfsync everysec` loses at most about a second)
// where that matters.
type RedisReplayConfig struct {
	// The servers, as redis://[user:password@]host[:port][/db] or
	// rediss:// (TLS). One URL is a single server; several are the seed
	// nodes of a Redis Cluster, or the Sentinels with `sentinel`. All
	// URLs must agree on the user, password, database and scheme. No
	// query string: options go in their own fields. Placeholders are
	// resolved at provision.
	URLs []string `json:"urls,omitempty"`

	// The ACL user; overrides the one in the URLs. Placeholders are
	// resolved.
	Username string `json:"username,omitempty"`

	// The password; overrides the one in the URLs (and needs no URL
	// escaping). Placeholders are resolved, e.g. {env.REDIS_PASSWORD}.
	Password string `json:"password,omitempty"`

	// Put before every key, so several applications can share a Redis.
	// Default "webhook_verify:replay:".
	KeyPrefix string `json:"key_prefix,omitempty"`

	// Bounds every replay step (and dialling, reading and writing): past
	// it the delivery gets 503. Default 2s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	// Connections per node; default go-redis's (10 per CPU).
	PoolSize int `json:"pool_size,omitempty"`

	// Redis Cluster, even with one seed URL.
	Cluster bool `json:"cluster,omitempty"`

	// The Sentinel master name: the URLs are Sentinels, which tell where
	// the master of this name is. The credentials are the master's; the
	// Sentinels are reached without authentication.
	Sentinel string `json:"sentinel,omitempty"`

	// TLS settings for rediss:// URLs.
	TLS *RedisTLSConfig `json:"tls,omitempty"`

	// Accepts a Redis whose maxmemory-policy may evict keys (anything but
	// noeviction: volatile-*, allkeys-*). Without it such a Redis is
	// refused at provision, since every replay entry has a TTL and an
	// evicted entry lets a copy of its delivery through again; with it,
	// it is a warning. A Redis that does not let the gate read the policy
	// (an ACL without CONFIG, a managed Redis that renamed it) is a
	// warning either way.
	AllowEviction bool `json:"allow_eviction,omitempty"`
}

// RedisTLSConfig configures TLS to Redis (rediss:// URLs). The server's
// certificate is always verified.
type RedisTLSConfig struct {
	// A PEM file of the CAs that sign the server's certificate, instead of
	// the system's. Placeholders are resolved.
	CA string `json:"ca,omitempty"`

	// The name to verify the server's certificate against; default the
	// URL's host.
	ServerName string `json:"server_name,omitempty"`
}

// redisPool shares Redis clients (and their connection pools) between
// handlers and across config reloads, keyed by the connection settings.
var redisPool = caddy.NewUsagePool()

// redisClient is a pooled client.
type redisClient struct{ redis.UniversalClient }

// Destruct closes the client when the last config using it goes.
func (c redisClient) Destruct() error { return c.Close() }

// redisLogger sends go-redis's own messages (dial failures, pool
// notices) to Caddy's log at debug level instead of stderr; the handler
// logs every delivery the replay store refused anyway. go-redis has one
// process-wide logger, so this also applies to other modules that use it.
type redisLogger struct{}

func (redisLogger) Printf(_ context.Context, format string, v ...any) {
	if ce := caddy.Log().Named("redis").Check(zap.DebugLevel, "go-redis"); ce != nil {
		ce.Write(zap.String("message", fmt.Sprintf(format, v...)))
	}
}

var setRedisLogger sync.Once

// provisionRedisReplay connects the replay cache to Redis. An unreachable
// Redis is a warning, not an error: Caddy starts, and verified deliveries
// get 503 until Redis answers.
func (h *Handler) provisionRedisReplay(rs *replayState, rc *RedisReplayConfig) error {
	c, err := pooledRedisClient(rc, "replay: redis")
	if err != nil {
		return err
	}
	st := replay.NewRedis(c.client, replay.RedisOptions{Prefix: rc.KeyPrefix, Timeout: c.timeout})
	if !c.loaded {
		if err := st.Ping(context.Background()); err != nil {
			h.logger.Warn("replay: redis does not answer; verified deliveries get 503 until it does (its maxmemory-policy is not checked: make sure it is noeviction)",
				zap.Strings("addrs", c.addrs), zap.Error(err))
			rs.redisPoolKey, rs.store = c.key, st
			return nil
		}
	}
	if err := h.checkRedisEviction(st, c.addrs, rc.AllowEviction); err != nil {
		// This instance holds the client only once it succeeded.
		_, _ = redisPool.Delete(c.key)
		return err
	}
	rs.redisPoolKey, rs.store = c.key, st
	return nil
}

// pooledRedis is a client taken from redisPool.
type pooledRedis struct {
	client  redis.UniversalClient
	key     string        // its key in redisPool; the taker releases it with redisPool.Delete
	timeout time.Duration // the step timeout
	loaded  bool          // the client was in use already
	addrs   []string      // the servers (no credentials)
}

// pooledRedisClient returns the shared client for rc's connection
// settings. Errors start with what.
func pooledRedisClient(rc *RedisReplayConfig, what string) (*pooledRedis, error) {
	setRedisLogger.Do(func() { redis.SetLogger(redisLogger{}) })
	repl := caddy.NewReplacer()
	urls := make([]string, len(rc.URLs))
	for i, u := range rc.URLs {
		urls[i] = repl.ReplaceAll(u, "")
	}
	opts, err := replay.RedisURLOptions(urls, rc.Cluster, rc.Sentinel)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	if rc.Username != "" {
		opts.Username = repl.ReplaceAll(rc.Username, "")
	}
	if rc.Password != "" {
		opts.Password = repl.ReplaceAll(rc.Password, "")
	}
	if rc.PoolSize < 0 || rc.Timeout < 0 {
		return nil, fmt.Errorf("%s: pool_size and timeout must not be negative", what)
	}
	timeout := time.Duration(rc.Timeout)
	if timeout == 0 {
		timeout = replay.DefaultRedisTimeout
	}
	var caPEM []byte
	if rc.TLS != nil {
		if opts.TLSConfig == nil {
			return nil, fmt.Errorf("%s: tls settings need rediss:// urls", what)
		}
		if rc.TLS.CA != "" {
			caFile := repl.ReplaceAll(rc.TLS.CA, "")
			if caPEM, err = os.ReadFile(caFile); err != nil {
				return nil, fmt.Errorf("%s: reading tls ca: %v", what, err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(caPEM) {
				return nil, fmt.Errorf("%s: tls ca %s holds no PEM certificate", what, caFile)
			}
			opts.TLSConfig.RootCAs = pool
		}
		if rc.TLS.ServerName != "" {
			opts.TLSConfig.ServerName = rc.TLS.ServerName
		}
	}
	if opts.TLSConfig != nil {
		opts.TLSConfig.MinVersion = tls.VersionTLS12
	}
	opts.PoolSize = rc.PoolSize
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = timeout, timeout, timeout
	opts.ContextTimeoutEnabled = true
	opts.DialerRetries = 1
	opts.MaxRetries = 1 // each step is safe to repeat; the timeout bounds both tries
	opts.ClientName = "caddy-webhook-verify"

	key, err := redisPoolKey(opts, caPEM)
	if err != nil {
		return nil, err
	}
	val, loaded, err := redisPool.LoadOrNew(key, func() (caddy.Destructor, error) {
		return redisClient{redis.NewUniversalClient(opts)}, nil
	})
	if err != nil {
		return nil, err
	}
	return &pooledRedis{client: val.(redisClient).UniversalClient, key: key, timeout: timeout, loaded: loaded, addrs: opts.Addrs}, nil
}

// checkRedisEviction refuses a Redis whose maxmemory-policy may evict the
// replay entries (warns with allow), and warns when the policy cannot be
// read. It runs at every provision, so a reload checks again.
func (h *Handler) checkRedisEviction(st *replay.Redis, addrs []string, allow bool) error {
	policies, err := st.EvictionPolicies(context.Background())
	if err != nil {
		h.logger.Warn("replay: could not check redis maxmemory-policy; make sure it is noeviction, or Redis may evict replay entries and let copies of deliveries through",
			zap.Strings("addrs", addrs), zap.Error(err))
		return nil
	}
	for _, p := range policies {
		if replay.EvictionSafe(p) {
			continue
		}
		if allow {
			h.logger.Warn("replay: redis maxmemory-policy may evict replay entries (allow_eviction is set): a copy of an evicted delivery is forwarded again",
				zap.Strings("addrs", addrs), zap.String("maxmemory_policy", p))
			return nil
		}
		return fmt.Errorf("replay: redis maxmemory-policy is %q, which lets Redis evict replay entries (all have a TTL) when it reaches maxmemory, so copies of deliveries would be forwarded again; set maxmemory-policy noeviction (a full Redis then refuses writes and deliveries get 503), or set allow_eviction to accept the risk", p)
	}
	return nil
}

// redisPoolKey names a client by everything that shapes its connections.
// It is a hash, so the password is never kept or logged in clear.
func redisPoolKey(o *redis.UniversalOptions, caPEM []byte) (string, error) {
	var serverName string
	if o.TLSConfig != nil {
		serverName = o.TLSConfig.ServerName
	}
	ca := sha256.Sum256(caPEM)
	b, err := json.Marshal([]any{
		o.Addrs, o.Username, o.Password, o.DB, o.IsClusterMode, o.MasterName,
		o.TLSConfig != nil, serverName, hex.EncodeToString(ca[:]), o.PoolSize, o.ReadTimeout,
	})
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(b)
	return "redis/" + hex.EncodeToString(sum[:]), nil
}

// unmarshalRedis parses `redis <url> [<url>...] [{ ... }]` inside a
// replay block:
//
//	redis <url> [<url>...] {
//		username <user>
//		password <password>
//		key_prefix <prefix>
//		timeout <duration>
//		pool_size <n>
//		cluster
//		sentinel <master>
//		allow_eviction
//		tls {
//			ca <pem file>
//			server_name <name>
//		}
//	}
func unmarshalRedis(d *caddyfile.Dispenser) (*RedisReplayConfig, error) {
	rc := new(RedisReplayConfig)
	for d.NextArg() {
		u := d.Val()
		if !strings.Contains(u, "{") {
			if _, err := replay.RedisURLOptions([]string{u}, false, ""); err != nil {
				return nil, d.Errf("redis url %d: %v", len(rc.URLs)+1, strings.TrimPrefix(err.Error(), "redis url 1: "))
			}
		}
		rc.URLs = append(rc.URLs, u)
	}
	if len(rc.URLs) == 0 {
		return nil, d.Err("redis needs at least one url: redis://[user:password@]host:port[/db] or rediss://")
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		switch opt {
		case "username", "password", "key_prefix", "sentinel":
			v, err := oneArg(d)
			if err != nil {
				return nil, err
			}
			switch opt {
			case "username":
				rc.Username = v
			case "password":
				rc.Password = v
			case "key_prefix":
				rc.KeyPrefix = v
			case "sentinel":
				rc.Sentinel = v
			}
		case "timeout":
			v, err := oneArg(d)
			if err != nil {
				return nil, err
			}
			dur, err := caddy.ParseDuration(v)
			if err != nil || dur <= 0 {
				return nil, d.Errf("redis timeout must be a positive duration")
			}
			rc.Timeout = caddy.Duration(dur)
		case "pool_size":
			v, err := oneArg(d)
			if err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return nil, d.Errf("redis pool_size must be a positive integer")
			}
			rc.PoolSize = n
		case "cluster":
			if d.NextArg() {
				return nil, d.ArgErr()
			}
			rc.Cluster = true
		case "allow_eviction":
			if d.NextArg() {
				return nil, d.ArgErr()
			}
			rc.AllowEviction = true
		case "tls":
			if d.NextArg() {
				return nil, d.ArgErr()
			}
			if rc.TLS == nil {
				rc.TLS = new(RedisTLSConfig)
			}
			for n := d.Nesting(); d.NextBlock(n); {
				switch d.Val() {
				case "ca":
					v, err := oneArg(d)
					if err != nil {
						return nil, err
					}
					rc.TLS.CA = v
				case "server_name":
					v, err := oneArg(d)
					if err != nil {
						return nil, err
					}
					rc.TLS.ServerName = v
				default:
					return nil, d.Errf("unrecognized redis tls option %q", d.Val())
				}
			}
		default:
			return nil, d.Errf("unrecognized redis option %q", opt)
		}
	}
	if rc.Cluster && rc.Sentinel != "" {
		return nil, d.Err("redis: cluster and sentinel exclude each other")
	}
	literal := true
	for _, u := range rc.URLs {
		literal = literal && !strings.Contains(u, "{")
	}
	if literal {
		o, err := replay.RedisURLOptions(rc.URLs, rc.Cluster, rc.Sentinel)
		if err != nil {
			return nil, d.Errf("redis: %v", err)
		}
		if rc.TLS != nil && o.TLSConfig == nil {
			return nil, d.Err("redis: tls settings need rediss:// urls")
		}
	}
	return rc, nil
}
