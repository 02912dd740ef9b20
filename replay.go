package webhookverify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/webhookverify/caddy-webhook-verify/replay"
	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// Replay defaults.
const (
	// DefaultMaxEntries bounds the in-memory replay cache.
	DefaultMaxEntries = 100_000
	// DefaultUntimedTTL is how long an accepted delivery is remembered for
	// providers whose signature covers no timestamp.
	DefaultUntimedTTL = 72 * time.Hour
	// DefaultInFlightTTL is how long a delivery being handled blocks its
	// copies (409) before a copy may be forwarded again.
	DefaultInFlightTTL = 2 * time.Minute
	// storagePrefix is where cluster-mode entries live in Caddy's storage.
	storagePrefix = "webhook_verify/replay"
	// retryAfter is the Retry-After (seconds) sent with 409.
	retryAfter = "5"
)

// ReplayConfig configures replay protection. A verified delivery is
// forwarded once: a copy that arrives while the first is still being
// handled gets 409, and one that arrives after the upstream accepted it
// (2xx) gets 200 without being forwarded. A copy that arrives after the
// upstream failed is forwarded again.
type ReplayConfig struct {
	// Disables replay protection (Caddyfile: `replay off`).
	Disabled bool `json:"disabled,omitempty"`

	// How long an accepted delivery is remembered. Default: twice the
	// timestamp tolerance plus one minute for providers whose signature
	// covers a timestamp (a copy older than that fails the timestamp check
	// anyway), 72h for the others.
	TTL caddy.Duration `json:"ttl,omitempty"`

	// How long a delivery that is being handled blocks its copies (409)
	// before one may be forwarded again, should the first never finish.
	// Default 2m.
	InFlightTTL caddy.Duration `json:"in_flight_ttl,omitempty"`

	// The most entries the in-memory cache keeps. When it is full, the
	// oldest accepted entry is evicted for a new delivery (a copy of an
	// evicted delivery would be forwarded again); deliveries still in
	// flight are never evicted, and a new delivery is refused with 503
	// when only those are left. Default 100000. Routes sharing a namespace
	// share one cache and must set the same value; changing it at a
	// reload resizes the cache and keeps its entries.
	MaxEntries int `json:"max_entries,omitempty"`

	// Separates the keys of this handler from those of other handlers;
	// handlers with the same namespace share their replay state. Default:
	// the provider name and a fingerprint of the verification config
	// (secrets, keys, recipe, URL, topics), so two routes for different
	// senders never drop each other's deliveries, while identical routes
	// (and the same route across reloads) share state. Changing the
	// secrets (a rotation) changes the default namespace and forgets the
	// accepted deliveries: set a namespace to keep them across rotations.
	Namespace string `json:"namespace,omitempty"`

	// Keeps the cache in Caddy's storage, shared by every instance that
	// uses the same storage, instead of in memory.
	Cluster bool `json:"cluster,omitempty"`

	// The storage module to use in cluster mode; default: the global
	// `storage` of the Caddy config.
	StorageRaw json.RawMessage `json:"storage,omitempty" caddy:"namespace=caddy.storage inline_key=module"`

	// What a delivery's replay key is made of: `signature` (the verified
	// signature), `id` (the signed delivery id) or `json <pointer>` (an
	// RFC 6901 pointer into the body, for example `json /id`, read only
	// after the signature verified and only for providers whose signature
	// covers the whole body). Default: the provider's event id in the body
	// where it has one (stripe /id, ...), else the signed id, else the
	// signature. A body field that is missing or not a non-empty string or
	// number falls back to the signed id, else the signature (logged).
	Key string `json:"key,omitempty"`

	// Keeps the cache in Redis or Valkey, shared by every instance that
	// uses the same server and key prefix, one round trip a step. Excludes
	// cluster (storage).
	Redis *RedisReplayConfig `json:"redis,omitempty"`
}

// memoryPool keeps in-memory replay caches across config reloads.
var memoryPool = caddy.NewUsagePool()

// replayState is the provisioned replay protection of one handler.
type replayState struct {
	store       replay.Store
	namespace   string // keys are derived from it
	label       string // names the namespace in logs and metrics
	ttl         time.Duration
	inFlightTTL time.Duration
	poolKey     string           // set when store came from memoryPool
	owned       caddy.Destructor // a store this handler created and must destroy

	// set when the store's client came from redisPool (replay_redis.go)
	redisPoolKey string

	// binder is set when the verifier's signature does not cover the
	// whole body: the body's SHA-256 is then bound to each replay key
	// (Handler.bindBody).
	binder replay.Binder
}

// provisionReplay sets up the replay cache, unless it is disabled, and the
// binding of bodies for verifiers that do not sign the whole body.
func (h *Handler) provisionReplay(ctx caddy.Context, cfg verifiers.Config) error {
	if err := h.provisionReplayStore(ctx, cfg); err != nil || h.replay == nil {
		return err
	}
	if signsBody(h.verifier) {
		return nil
	}
	b, ok := h.replay.store.(replay.Binder)
	if !ok {
		return fmt.Errorf("replay: the store cannot bind bodies to deliveries, which provider %s needs", h.Provider)
	}
	h.replay.binder = b
	return nil
}

// provisionReplayStore sets up the replay store, unless replay is
// disabled.
func (h *Handler) provisionReplayStore(ctx caddy.Context, cfg verifiers.Config) error {
	rc := h.Replay
	if rc == nil {
		rc = new(ReplayConfig)
	}
	if rc.Disabled {
		return nil
	}
	if rc.MaxEntries < 0 || rc.TTL < 0 || rc.InFlightTTL < 0 {
		return errors.New("replay: ttl, in_flight_ttl and max_entries must not be negative")
	}
	rs := &replayState{
		namespace:   rc.Namespace,
		ttl:         time.Duration(rc.TTL),
		inFlightTTL: time.Duration(rc.InFlightTTL),
	}
	rs.label = rs.namespace
	if rs.namespace == "" {
		rs.namespace = verifiers.Canonical(h.Provider) + "/" + configFingerprint(cfg)
		rs.label = defaultNamespaceLabel(h.Provider, h.Name)
	}
	if rs.inFlightTTL == 0 {
		rs.inFlightTTL = DefaultInFlightTTL
	}
	if rs.ttl == 0 {
		rs.ttl = DefaultUntimedTTL
		tol := time.Duration(h.Tolerance)
		if tol == 0 {
			tol = verifiers.DefaultTolerance
		}
		if ts, ok := h.verifier.(verifiers.Timestamped); ok && ts.HasTimestamp() && tol > 0 {
			rs.ttl = 2*tol + time.Minute
		}
	}
	logger := h.logger

	if rc.Redis != nil {
		if rc.Cluster {
			return errors.New("replay: redis and storage exclude each other")
		}
		if err := h.provisionRedisReplay(rs, rc.Redis); err != nil {
			return err
		}
		h.replay = rs
		return nil
	}

	if rc.Cluster {
		storage := ctx.Storage()
		if rc.StorageRaw != nil {
			mod, err := ctx.LoadModule(rc, "StorageRaw")
			if err != nil {
				return fmt.Errorf("replay: loading storage module: %v", err)
			}
			conv, ok := mod.(caddy.StorageConverter)
			if !ok {
				return errors.New("replay: storage module is not a caddy.StorageConverter")
			}
			if storage, err = conv.CertMagicStorage(); err != nil {
				return fmt.Errorf("replay: storage: %v", err)
			}
		}
		st := replay.NewStorage(storage, storagePrefix, replay.StorageOptions{
			OnError: func(err error) {
				logger.Warn("replay storage", zap.String("namespace", rs.label), zap.Error(err))
			},
		})
		rs.store, rs.owned = st, st
		h.replay = rs
		return nil
	}

	max := rc.MaxEntries
	if max == 0 {
		max = DefaultMaxEntries
	}
	// One cache per namespace, whatever its size: two routes with the same
	// namespace share their deliveries.
	rs.poolKey = "memory/" + rs.namespace
	ns := rs.label
	met := h.metrics
	opts := replay.MemoryOptions{
		MaxEntries: max,
		OnEvict: func(n uint64) {
			logger.Warn("replay cache full: evicted oldest accepted entries",
				zap.String("namespace", ns), zap.Uint64("evicted", n), zap.Int("max_entries", max))
			if met != nil {
				met.evictions.WithLabelValues(ns).Add(float64(n))
			}
		},
		OnRefuse: func(n uint64) {
			logger.Warn("replay cache full of deliveries in flight: refused new deliveries with 503",
				zap.String("namespace", ns), zap.Uint64("refused", n), zap.Int("max_entries", max))
		},
	}
	val, _, err := memoryPool.LoadOrNew(rs.poolKey, func() (caddy.Destructor, error) {
		return &memoryCache{mem: replay.NewMemory(opts), size: max, load: ctx.Context}, nil
	})
	if err != nil {
		return err
	}
	mc := val.(*memoryCache)
	rs.store = mc
	// Held from here, so that Cleanup (called even after a failed
	// Provision) gives back this instance's reference.
	h.replay = rs
	return mc.fit(ctx.Context, max, opts, logger, ns)
}

// memoryCache is the in-memory replay cache of one namespace, shared by
// every route with that namespace and kept across config reloads. Its size
// follows max_entries: a reload with another size resizes it in place,
// keeping its entries.
type memoryCache struct {
	mu   sync.RWMutex
	mem  *replay.Memory
	size int
	load context.Context // the config load that set size
}

// fit makes the cache hold max entries. Two routes of one config that
// share a namespace must agree on max_entries; a new config may change it.
func (c *memoryCache) fit(load context.Context, max int, opts replay.MemoryOptions, logger *zap.Logger, ns string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.size == max {
		c.load = load
		return nil
	}
	if c.load == load {
		return fmt.Errorf("replay: routes sharing namespace %q set different max_entries (%d and %d); they share one cache, so give them the same", ns, c.size, max)
	}
	logger.Info("replay: resizing the in-memory cache, keeping its entries",
		zap.String("namespace", ns), zap.Int("from", c.size), zap.Int("to", max))
	c.mem = c.mem.Resized(opts)
	c.size, c.load = max, load
	return nil
}

// Reserve implements replay.Store.
func (c *memoryCache) Reserve(ctx context.Context, key string, ttl time.Duration) (replay.State, replay.Token, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.mem.Reserve(ctx, key, ttl)
}

// Commit implements replay.Store.
func (c *memoryCache) Commit(ctx context.Context, key string, tok replay.Token, ttl time.Duration) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.mem.Commit(ctx, key, tok, ttl)
}

// Bind implements replay.Binder.
func (c *memoryCache) Bind(ctx context.Context, key string, digest []byte, ttl time.Duration) (bool, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.mem.Bind(ctx, key, digest, ttl)
}

// Release implements replay.Store.
func (c *memoryCache) Release(ctx context.Context, key string, tok replay.Token) error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.mem.Release(ctx, key, tok)
}

// Destruct implements caddy.Destructor.
func (c *memoryCache) Destruct() error {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.mem.Destruct()
}

// stats is for tests.
func (c *memoryCache) stats() replay.MemoryStats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.mem.Stats()
}

// configFingerprint identifies a verification config without revealing
// it: a SHA-256 over its canonical provider and its secrets, keys and
// options, sorted where order does not matter. It never leaves memory in
// clear: storage keys hash it again with the delivery material.
func configFingerprint(cfg verifiers.Config) string {
	var parts []string
	add := func(kind string, vals ...string) {
		for _, v := range vals {
			parts = append(parts, kind+"\x00"+v)
		}
	}
	add("secret", cfg.Secrets...)
	for _, k := range cfg.PublicKeys {
		add("public_key", k.KeyID+"\x00"+k.Key)
	}
	add("topic_arn", cfg.TopicARNs...)
	add("certificate", cfg.Certificates...)
	if cfg.HMAC != nil {
		recipe, _ := json.Marshal(cfg.HMAC)
		add("hmac", string(recipe))
	}
	add("url", cfg.URL)
	add("webhook_id", cfg.WebhookID)
	add("customer_handle", cfg.CustomerHandles...)
	add("header", cfg.Header)
	add("username", cfg.Username)
	add("password", cfg.Password)
	sort.Strings(parts)
	h := sha256.New()
	fmt.Fprintf(h, "webhook_verify replay namespace v1\x00%s\x00", verifiers.Canonical(cfg.Provider))
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil)[:16])
}
