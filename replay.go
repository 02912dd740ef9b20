package webhookverify

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
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
		rs.label = verifiers.Canonical(h.Provider)
		rs.namespace = rs.label + "/" + configFingerprint(cfg)
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

// Cleanup releases what this instance acquired.
func (h *Handler) Cleanup() error {
	h.closeLogs()
	if h.replay == nil {
		return nil
	}
	if h.replay.redisPoolKey != "" {
		_, err := redisPool.Delete(h.replay.redisPoolKey)
		return err
	}
	if h.replay.poolKey != "" {
		_, err := memoryPool.Delete(h.replay.poolKey)
		return err
	}
	if h.replay.owned != nil {
		return h.replay.owned.Destruct()
	}
	return nil
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

// replayUnit is one replay key of a delivery and the reservation held on
// it (zero when none is).
type replayUnit struct {
	key string
	tok replay.Token
}

// errBodyMismatch refuses a copy whose body differs from the one first
// seen with its replay key, for schemes whose signature does not cover the
// whole body (see bindBody).
var errBodyMismatch = fmt.Errorf("%w: body does not match the signed delivery", verifiers.ErrSignature)

// replayUnits returns the replay keys of a verified delivery: one per item
// of a batch (Result.Items), else one from its replay material.
func (h *Handler) replayUnits(r *http.Request, res *verifiers.Result) ([]replayUnit, error) {
	if len(res.Items) > 0 {
		units := make([]replayUnit, len(res.Items))
		seen := make(map[string]bool, len(res.Items))
		for i, m := range res.Items {
			if len(m) == 0 {
				return nil, errors.New("verifier gave no replay material for a batch item")
			}
			units[i].key = replay.Key(h.replay.namespace, sigMaterial(m))
			if seen[units[i].key] {
				return nil, fmt.Errorf("%w: batch item %d repeats an earlier item", verifiers.ErrMalformed, i+1)
			}
			seen[units[i].key] = true
		}
		return units, nil
	}
	material, err := h.replayMaterial(r, res)
	if err != nil {
		return nil, err
	}
	if material == nil {
		return nil, errors.New("verifier gave no replay material")
	}
	return []replayUnit{{key: replay.Key(h.replay.namespace, material)}}, nil
}

// forwardOnce passes a verified request to next unless it is a duplicate,
// and records the outcome: commit on a 2xx answer, release otherwise. For
// a verifier that does not sign the whole body, the body's SHA-256 is
// bound to each replay key first (bindBody). A batch (Result.Items) is
// forwarded only if every item is new, answered as a duplicate if every
// item was accepted, and refused with 409 otherwise, so that neither a
// subset nor a superset of an accepted batch is forwarded; its keys are
// committed or released together.
func (h *Handler) forwardOnce(w http.ResponseWriter, r *http.Request, repl *caddy.Replacer, res *verifiers.Result, body []byte, next caddyhttp.Handler) error {
	units, err := h.replayUnits(r, res)
	if err != nil {
		if h.logOnly() && errors.Is(err, verifiers.ErrMalformed) {
			return h.fail(w, r, repl, next, err)
		}
		return h.reject(w, r, repl, res.ID, err)
	}
	// The outcome must be recorded even when the client goes away.
	ctx := context.WithoutCancel(r.Context())
	if err := h.bindBody(ctx, units, body); err != nil {
		if errors.Is(err, errBodyMismatch) {
			repl.Set("http.webhook_verify.verified", "false")
			return h.fail(w, r, repl, next, err)
		}
		return h.storeUnavailable(w, r, repl, res, next, err)
	}
	var accepted, inFlight, fresh int
	for i := range units {
		state, tok, err := h.replay.store.Reserve(ctx, units[i].key, h.replay.inFlightTTL)
		if err != nil {
			h.releaseUnits(ctx, units, res)
			return h.storeUnavailable(w, r, repl, res, next, err)
		}
		if state != replay.New && state != replay.Accepted && state != replay.InFlight {
			h.releaseUnits(ctx, units, res)
			return h.reject(w, r, repl, res.ID, fmt.Errorf("replay: unexpected state %v", state))
		}
		switch state {
		case replay.New:
			units[i].tok = tok
			fresh++
		case replay.Accepted:
			accepted++
		case replay.InFlight:
			inFlight++
		}
	}
	state := replay.New
	switch {
	case inFlight > 0:
		state = replay.InFlight
	case accepted > 0:
		state = replay.Accepted
	}
	repl.Set("http.webhook_verify.replay", replayPlaceholder(state))
	if state != replay.New && h.logOnly() {
		// Shadow mode never blocks: the copy is counted, logged and
		// passed on, marked by the replay placeholder; the new items of
		// a batch are settled as usual.
		h.outcome(r, replayPlaceholder(state), res.ID, nil)
		return h.forward(ctx, w, r, res, units, next)
	}
	if state != replay.New {
		h.releaseUnits(ctx, units, res)
	}
	switch {
	case state == replay.Accepted && fresh == 0:
		if rc, ok := next.(*recycler); ok {
			// Answered here, successfully: the body is not needed.
			rc.recycle()
		}
		h.outcome(r, "duplicate", res.ID, nil)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, err := io.WriteString(w, "duplicate delivery: already accepted\n")
		return err
	case state == replay.InFlight:
		h.outcome(r, "in_flight", res.ID, nil)
		w.Header().Set("Retry-After", retryAfter)
		repl.Set("http.webhook_verify.error", "delivery in flight")
		return caddyhttp.Error(http.StatusConflict, errors.New("duplicate delivery still in flight"))
	case state == replay.Accepted:
		// Some items of the batch were accepted, the others are new: a
		// subset or superset of an accepted batch, which is not forwarded
		// (its accepted items would reach the app twice). A retry does
		// not help, so no Retry-After.
		h.outcome(r, "duplicate", res.ID, nil)
		repl.Set("http.webhook_verify.error", "batch mixes accepted and new items")
		return caddyhttp.Error(http.StatusConflict, errors.New("batch repeats items already accepted"))
	}
	if res.Act == nil {
		h.outcome(r, "verified", res.ID, nil)
	}
	return h.forward(ctx, w, r, res, units, next)
}

// bindBody binds the SHA-256 of the body to every replay key of the
// delivery when the verifier's signature does not cover the whole body
// (replayState.binder is set): the first verified copy's body stands for
// the replay TTL, whether it is committed or released, so a copy with the
// same signed id and another body (PayPal's CRC32 forged, Adyen's or
// Mailgun's unsigned fields changed) gets errBodyMismatch, while the
// provider's genuine retry, the same body, passes.
func (h *Handler) bindBody(ctx context.Context, units []replayUnit, body []byte) error {
	if h.replay.binder == nil {
		return nil
	}
	sum := sha256.Sum256(body)
	for _, u := range units {
		match, err := h.replay.binder.Bind(ctx, u.key, sum[:], h.replay.ttl)
		if err != nil {
			return err
		}
		if !match {
			return errBodyMismatch
		}
	}
	return nil
}

// forward calls next and settles the reservations held in units.
func (h *Handler) forward(ctx context.Context, w http.ResponseWriter, r *http.Request, res *verifiers.Result, units []replayUnit, next caddyhttp.Handler) error {
	sw := &statusWriter{ResponseWriterWrapper: &caddyhttp.ResponseWriterWrapper{ResponseWriter: w}}
	// settle runs even when next panics (reverse_proxy aborts with
	// http.ErrAbortHandler when the upstream's body or the client breaks
	// off after the status was written); the panic goes on unrecovered.
	// A 2xx status written is an accepted delivery, whatever happened to
	// the body after it: the upstream took the delivery, and forwarding
	// the provider's retry would deliver it twice.
	defer h.settle(ctx, sw, units, res)
	err := next.ServeHTTP(sw, r)
	if sw.status == 0 && err == nil {
		// Nothing written and no error: net/http answers 200.
		sw.status = http.StatusOK
	}
	return err
}

// settle records the outcome of a forwarded delivery on every key it
// holds a reservation on: commit on a 2xx status, release otherwise.
func (h *Handler) settle(ctx context.Context, sw *statusWriter, units []replayUnit, res *verifiers.Result) {
	if sw.status < 200 || sw.status >= 300 {
		h.releaseUnits(ctx, units, res)
		return
	}
	for _, u := range units {
		if u.tok == 0 {
			continue
		}
		if cerr := h.replay.store.Commit(ctx, u.key, u.tok, h.replay.ttl); cerr != nil {
			h.logger.Error("replay: recording an accepted delivery failed; a copy may be forwarded again",
				zap.String("provider", h.Provider), zap.String("delivery_id", truncate(res.ID, 128)), zap.Error(cerr))
		}
	}
}

// releaseUnits drops the reservations held in units.
func (h *Handler) releaseUnits(ctx context.Context, units []replayUnit, res *verifiers.Result) {
	for i, u := range units {
		if u.tok == 0 {
			continue
		}
		if rerr := h.replay.store.Release(ctx, u.key, u.tok); rerr != nil {
			h.logger.Warn("replay: releasing a delivery failed; its copies get 409 until the reservation expires",
				zap.String("provider", h.Provider), zap.String("delivery_id", truncate(res.ID, 128)), zap.Error(rerr))
		}
		units[i].tok = 0
	}
}

// statusWriter records the final status code written.
type statusWriter struct {
	*caddyhttp.ResponseWriterWrapper
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 && code >= 200 {
		s.status = code
	}
	s.ResponseWriterWrapper.WriteHeader(code)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriterWrapper.Write(b)
}

func (s *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriterWrapper.ReadFrom(r)
}

// Interface guards
var (
	_ caddy.CleanerUpper  = (*Handler)(nil)
	_ http.ResponseWriter = (*statusWriter)(nil)
)
