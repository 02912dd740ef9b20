package webhookverify

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"go.uber.org/zap"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// secret_from: a route's secrets looked up per request, one tenant at a
// time, from Caddy's storage or from a directory, by a key made of
// placeholders (the template: tenants_key.go; the cache: tenants_cache.go).

// Sources of secret_from.
const (
	// SecretFromStorage reads secrets from Caddy's configured storage.
	SecretFromStorage = "storage"
	// SecretFromFile reads secrets from files in a directory.
	SecretFromFile = "file"
)

// Defaults and bounds of secret_from.
const (
	// DefaultTenantTTL is how long a tenant's secrets are used before
	// they are looked up again.
	DefaultTenantTTL = time.Minute
	// DefaultTenantNegativeTTL is how long a tenant without a secret is
	// answered without a new look-up.
	DefaultTenantNegativeTTL = 10 * time.Second
	// DefaultMaxTenants bounds the tenants kept (and, apart, the misses
	// remembered).
	DefaultMaxTenants = 10_000
	// DefaultMaxLookups bounds the look-ups running at once.
	DefaultMaxLookups = 8
	// DefaultLookupRate is the look-ups started per second, beyond a
	// burst of two seconds' worth.
	DefaultLookupRate = 50
	// MaxTenantSecretSize is the largest secret value read (all its lines).
	MaxTenantSecretSize = 64 << 10
	// MaxTenantSecrets is the most secrets (lines) a tenant may have.
	MaxTenantSecrets = 16
)

// tenantPlaceholder holds the expanded key of a secret_from route's
// request; the replay namespace includes it.
const tenantPlaceholder = "http.webhook_verify.tenant"

// SecretSource looks the secrets of a route up per request (`secret_from`),
// for platforms whose tenants each have their own secret on one route: the
// key is a placeholder template such as
// `webhook-secrets/stripe/{http.request.uri.path.2}`. Each placeholder's
// value must be 1 to 64 of `A-Z a-z 0-9 . _ -`, not starting with a dot,
// else the request is refused with 400 before any look-up. The value found
// holds one secret a line (several during a rotation, the current first),
// in the form the `secret` option takes. A tenant with no value is
// answered as a wrong signature would be (401, after the body was read and
// the signature checked against a secret of no tenant); a failed look-up
// with 503. Secrets are cached for `ttl`, misses for `negative_ttl`; a
// tenant whose secret is written works without a reload once its miss, if
// any, expires. Excludes `secret`.
type SecretSource struct {
	// Where the secrets are: `storage` (Caddy's configured storage, shared
	// by a cluster: the file system by default, Redis, Consul, ...) or
	// `file` (a directory: the template's part before the last / that
	// precedes its first placeholder, fixed at load; files are opened
	// beneath it, never through a symlink out of it).
	From string `json:"from"`

	// The key template: a storage key (no leading /), or a file path.
	Key string `json:"key"`

	// How long a tenant's secrets are used before they are looked up
	// again. Default 1m; 1s to 24h.
	TTL caddy.Duration `json:"ttl,omitempty"`

	// How long a tenant without a secret is answered without a new
	// look-up. Default 10s; 1s to 24h.
	NegativeTTL caddy.Duration `json:"negative_ttl,omitempty"`

	// The most tenants kept (least recently used dropped first); as many
	// misses are remembered apart. Default 10000.
	MaxTenants int `json:"max_tenants,omitempty"`

	// The most look-ups running at once; a request that waits more than
	// 2s for one gets 503. Default 8.
	MaxLookups int `json:"max_lookups,omitempty"`

	// The look-ups started per second, beyond a burst of two seconds'
	// worth; a request over it that needs a look-up gets 503. Default 50.
	LookupRate float64 `json:"lookup_rate,omitempty"`
}

// withDefaults fills in the zero fields.
func (s SecretSource) withDefaults() SecretSource {
	if s.TTL == 0 {
		s.TTL = caddy.Duration(DefaultTenantTTL)
	}
	if s.NegativeTTL == 0 {
		s.NegativeTTL = caddy.Duration(DefaultTenantNegativeTTL)
	}
	if s.MaxTenants == 0 {
		s.MaxTenants = DefaultMaxTenants
	}
	if s.MaxLookups == 0 {
		s.MaxLookups = DefaultMaxLookups
	}
	if s.LookupRate == 0 {
		s.LookupRate = DefaultLookupRate
	}
	return s
}

// check applies the bounds of the options and parses the key.
func (s SecretSource) check() (keyTemplate, error) {
	if s.From != SecretFromStorage && s.From != SecretFromFile {
		return keyTemplate{}, fmt.Errorf("secret_from %q is not storage or file", s.From)
	}
	for _, d := range []struct {
		name string
		v    caddy.Duration
	}{{"ttl", s.TTL}, {"negative_ttl", s.NegativeTTL}} {
		if v := time.Duration(d.v); v != 0 && (v < time.Second || v > 24*time.Hour) {
			return keyTemplate{}, fmt.Errorf("secret_from: %s must be between 1s and 24h", d.name)
		}
	}
	if s.MaxTenants < 0 || s.MaxLookups < 0 || s.LookupRate < 0 {
		return keyTemplate{}, errors.New("secret_from: max_tenants, max_lookups and lookup_rate must not be negative")
	}
	return parseKeyTemplate(s.Key, s.From)
}

// tenantSource is the provisioned secret_from of a handler.
type tenantSource struct {
	tpl     keyTemplate
	cache   *tenantCache
	poolKey string // of cache in tenantPool
	release func() // removes this handler's look-up from cache
	logger  *zap.Logger
	warn    *rareLog
}

// tenantPoolKey identifies the cache of a route config: what its tenants'
// verifiers are built from (the provider, its options, the secret_from
// options and key) and where the secrets are read (the storage, by its
// type and, for the file system, its path), hashed; a route that changes
// any of them at a reload starts with an empty cache.
func tenantPoolKey(provider string, cfg verifiers.Config, s SecretSource, ctx caddy.Context, tpl keyTemplate) string {
	cfg.HTTPClient = nil
	blob, _ := json.Marshal(struct {
		Provider string
		Config   verifiers.Config
		Source   SecretSource
		Storage  string
	}{provider, cfg, s, storageIdentity(ctx, s.From)})
	sum := sha256.Sum256(blob)
	return "secret_from/" + hex.EncodeToString(sum[:16])
}

// storageIdentity names the storage a secret_from storage reads: its type
// and, when it has one, its String().
func storageIdentity(ctx caddy.Context, from string) string {
	if from != SecretFromStorage {
		return ""
	}
	st := ctx.Storage()
	if s, ok := st.(fmt.Stringer); ok {
		return fmt.Sprintf("%T %s", st, s.String())
	}
	return fmt.Sprintf("%T", st)
}

// releaseTenants gives back what secret_from took (Cleanup).
func (h *Handler) releaseTenants() {
	if h.tenants == nil {
		return
	}
	if h.tenants.release != nil {
		h.tenants.release()
	}
	_, _ = tenantPool.Delete(h.tenants.poolKey)
	h.tenants = nil
}

// newTenantVerifier provisions secret_from: the verifier it returns looks
// up the tenant of each request and verifies with the tenant's verifier,
// built from cfg with the tenant's secrets; a request for a tenant with no
// secret is verified with a decoy, cfg with random secrets, so that it is
// answered as a wrong signature is, by the same code.
func (h *Handler) newTenantVerifier(ctx caddy.Context, cfg verifiers.Config) (verifiers.Verifier, error) {
	s := *h.SecretFrom
	if len(cfg.Secrets) > 0 {
		return nil, errors.New("secret and secret_from exclude each other")
	}
	tpl, err := s.check()
	if err != nil {
		return nil, err
	}
	decoy, err := decoyVerifier(h.Provider, cfg)
	if err != nil {
		return nil, fmt.Errorf("secret_from: %v", err)
	}
	read, err := secretReader(ctx, s.From, tpl)
	if err != nil {
		return nil, err
	}
	src := &tenantSource{tpl: tpl, logger: h.logger, warn: &rareLog{every: 10 * time.Second}}
	provider := h.Provider
	src.poolKey = tenantPoolKey(provider, cfg, s, ctx, tpl)
	val, _, err := tenantPool.LoadOrNew(src.poolKey, func() (caddy.Destructor, error) {
		return pooledTenantCache{newTenantCache(s, nil)}, nil
	})
	if err != nil {
		return nil, err
	}
	// Held from here: Cleanup (called even after a failed Provision)
	// gives the reference back.
	h.tenants = src
	src.cache = val.(pooledTenantCache).tenantCache
	src.release = src.cache.addLoad(func(ctx context.Context, key string) (verifiers.Verifier, error) {
		raw, err := read(ctx, key)
		if errors.Is(err, errNoSecret) {
			return nil, nil
		}
		if err != nil {
			src.warnf("secret_from: looking up a secret failed", key, err)
			return nil, fmt.Errorf("%w: secret_from: secret look-up failed", verifiers.ErrUnavailable)
		}
		secrets, err := secretLines(raw)
		if err != nil {
			src.warnf("secret_from: a tenant's secret is not usable", key, err)
			return nil, fmt.Errorf("%w: secret_from: the tenant's secret is not usable", verifiers.ErrUnavailable)
		}
		if len(secrets) == 0 {
			return nil, nil
		}
		c := cfg
		c.Secrets = secrets
		v, err := verifiers.New(provider, c)
		if err != nil {
			// Factory errors never quote a secret.
			src.warnf("secret_from: a tenant's secret is not usable", key, err)
			return nil, fmt.Errorf("%w: secret_from: the tenant's secret is not usable", verifiers.ErrUnavailable)
		}
		return v, nil
	})
	return &tenantVerifier{decoy: decoy, src: src}, nil
}

// decoyVerifier builds the provider's verifier with a random secret of
// the usual forms (the stand-ins of verifiers.Check: 64 hex digits, also
// valid base64; a whsec_ secret).
func decoyVerifier(provider string, cfg verifiers.Config) (verifiers.Verifier, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	var first error
	for _, s := range []string{hex.EncodeToString(key), "whsec_" + base64.StdEncoding.EncodeToString(key)} {
		c := cfg
		c.Secrets = []string{s}
		v, err := verifiers.New(provider, c)
		if err == nil {
			return v, nil
		}
		if first == nil {
			first = err
		}
	}
	return nil, first
}

// errNoSecret: the key names nothing.
var errNoSecret = errors.New("no secret")

// warnf logs a failed look-up (at most one line every 10s, with the count
// of those left out), without the value read.
func (s *tenantSource) warnf(msg, key string, err error) {
	if s.logger == nil {
		return
	}
	if n, ok := s.warn.allow(time.Now()); ok {
		s.logger.Warn(msg, zap.String("tenant", key), zap.Error(err), zap.Int("suppressed", n))
	}
}

// verifier returns the verifier of the request's tenant (the decoy for a
// tenant with no secret) and sets the tenant placeholder.
func (t *tenantVerifier) verifier(r *verifiers.Request) (verifiers.Verifier, error) {
	repl, _ := r.Context.Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if repl == nil {
		return nil, errors.New("secret_from: no replacer in the request context")
	}
	key, err := t.src.tpl.expand(func(name string) (string, bool) {
		v, err := repl.ReplaceOrErr("{"+name+"}", true, true)
		return v, err == nil
	})
	if err != nil {
		return nil, err
	}
	repl.Set(tenantPlaceholder, key)
	v, err := t.src.cache.get(r.Context, key)
	if err != nil {
		return nil, err
	}
	if v == nil {
		if t.src.logger == nil {
			return t.decoy, nil
		}
		if ce := t.src.logger.Check(zap.DebugLevel, "secret_from: no secret for this tenant; answered as a wrong signature"); ce != nil {
			ce.Write(zap.String("tenant", key))
		}
		return t.decoy, nil
	}
	return v, nil
}

// tenantVerifier is the verifier of a secret_from route. Its optional
// interfaces are the decoy's (the provider's): what they tell does not
// depend on the secrets.
type tenantVerifier struct {
	decoy verifiers.Verifier
	src   *tenantSource
}

// Verify implements verifiers.Verifier.
func (t *tenantVerifier) Verify(r *verifiers.Request) (*verifiers.Result, error) {
	v, err := t.verifier(r)
	if err != nil {
		return nil, err
	}
	res, err := v.Verify(r)
	if err == nil && v == t.decoy {
		return nil, fmt.Errorf("%w: no secret matched", verifiers.ErrSignature)
	}
	return res, err
}

// Handshake implements verifiers.Handshaker for the providers that have
// one, with the tenant's verifier (Twitter's CRC answer is made with the
// secret).
func (t *tenantVerifier) Handshake(r *verifiers.Request) (*verifiers.Response, bool, error) {
	if _, ok := t.decoy.(verifiers.Handshaker); !ok {
		return nil, false, nil
	}
	v, err := t.verifier(r)
	if err != nil {
		return nil, false, err
	}
	return v.(verifiers.Handshaker).Handshake(r)
}

// HasTimestamp implements verifiers.Timestamped.
func (t *tenantVerifier) HasTimestamp() bool {
	ts, ok := t.decoy.(verifiers.Timestamped)
	return ok && ts.HasTimestamp()
}

// SignsBody implements verifiers.BodySigner.
func (t *tenantVerifier) SignsBody() bool { return signsBody(t.decoy) }

// EventIDPointer implements verifiers.EventIDer.
func (t *tenantVerifier) EventIDPointer() string {
	if e, ok := t.decoy.(verifiers.EventIDer); ok {
		return e.EventIDPointer()
	}
	return ""
}

// CredentialHeaders implements verifiers.CredentialCarrier.
func (t *tenantVerifier) CredentialHeaders() []string {
	if c, ok := t.decoy.(verifiers.CredentialCarrier); ok {
		return c.CredentialHeaders()
	}
	return nil
}

// Challenge implements verifiers.Challenger.
func (t *tenantVerifier) Challenge() string {
	if c, ok := t.decoy.(verifiers.Challenger); ok {
		return c.Challenge()
	}
	return ""
}

// newVerifier builds the handler's verifier: from its secrets, or, with
// secret_from, one that looks them up per request.
func (h *Handler) newVerifier(ctx caddy.Context, cfg verifiers.Config) (verifiers.Verifier, error) {
	if h.SecretFrom == nil {
		return verifiers.New(h.Provider, cfg)
	}
	return h.newTenantVerifier(ctx, cfg)
}

// replayNamespace is the replay namespace of a request: the handler's,
// and with secret_from the tenant's key, so that tenants never share a
// delivery.
func (h *Handler) replayNamespace(r *http.Request) string {
	if h.SecretFrom == nil {
		return h.replay.namespace
	}
	tenant := ""
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		tenant, _ = repl.GetString(tenantPlaceholder)
	}
	return h.replay.namespace + "\x00tenant\x00" + tenant
}

// shapeSecrets are the secrets the Caddyfile's shape check builds the
// verifier with: with secret_from, a stand-in.
func (h *Handler) shapeSecrets() []string {
	if h.SecretFrom != nil && len(h.Secrets) == 0 {
		return []string{"{secret_from}"}
	}
	return h.Secrets
}

// checkSecretFrom is the Caddyfile check of secret_from with the rest of
// the block.
func (h *Handler) checkSecretFrom() error {
	if h.SecretFrom != nil && len(h.Secrets) > 0 {
		return errors.New("secret and secret_from exclude each other")
	}
	return nil
}

// unmarshalSecretFrom parses
//
//	secret_from storage|file <key template> {
//		ttl <duration>
//		negative_ttl <duration>
//		max_tenants <n>
//		max_lookups <n>
//		lookup_rate <per second>
//	}
func (h *Handler) unmarshalSecretFrom(d *caddyfile.Dispenser) error {
	if h.SecretFrom != nil {
		return d.Err("secret_from given twice")
	}
	args := d.RemainingArgs()
	if len(args) != 2 {
		return d.ArgErr()
	}
	s := &SecretSource{From: args[0], Key: args[1]}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		v, err := oneArg(d)
		if err != nil {
			return err
		}
		switch opt {
		case "ttl", "negative_ttl":
			dur, err := caddy.ParseDuration(v)
			if err != nil {
				return d.Errf("parsing %s: %v", opt, err)
			}
			if opt == "ttl" {
				s.TTL = caddy.Duration(dur)
			} else {
				s.NegativeTTL = caddy.Duration(dur)
			}
		case "max_tenants", "max_lookups":
			n, err := strconv.Atoi(v)
			if err != nil || n <= 0 {
				return d.Errf("%s must be a positive integer", opt)
			}
			if opt == "max_tenants" {
				s.MaxTenants = n
			} else {
				s.MaxLookups = n
			}
		case "lookup_rate":
			f, err := strconv.ParseFloat(v, 64)
			if err != nil || !(f > 0) || f > 1e6 {
				return d.Err("lookup_rate must be a positive number of look-ups per second")
			}
			s.LookupRate = f
		default:
			return d.Errf("unrecognized secret_from option %q", opt)
		}
	}
	if _, err := s.check(); err != nil {
		return d.Err(err.Error())
	}
	h.SecretFrom = s
	return nil
}

// rareLog lets one line through every interval and counts the others.
type rareLog struct {
	every time.Duration

	mu         sync.Mutex
	last       time.Time
	suppressed int
}

// allow reports whether a line may be written at now, with the number of
// lines left out since the last one.
func (l *rareLog) allow(now time.Time) (int, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.last.IsZero() && now.Sub(l.last) < l.every {
		l.suppressed++
		return 0, false
	}
	n := l.suppressed
	l.last, l.suppressed = now, 0
	return n, true
}

// Interface guards
var (
	_ verifiers.Verifier          = (*tenantVerifier)(nil)
	_ verifiers.Handshaker        = (*tenantVerifier)(nil)
	_ verifiers.Timestamped       = (*tenantVerifier)(nil)
	_ verifiers.BodySigner        = (*tenantVerifier)(nil)
	_ verifiers.EventIDer         = (*tenantVerifier)(nil)
	_ verifiers.CredentialCarrier = (*tenantVerifier)(nil)
	_ verifiers.Challenger        = (*tenantVerifier)(nil)
)
