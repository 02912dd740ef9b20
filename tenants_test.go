package webhookverify

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

var errAny = errors.New("any error")

// fakeClock is a time source tests move.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// fakeTenants is a tenant store for the cache: a verifier per known
// tenant, an error per failing one, and a count of look-ups per key.
type fakeTenants struct {
	mu    sync.Mutex
	known map[string]verifiers.Verifier
	fail  map[string]error
	loads map[string]int
}

func (f *fakeTenants) load(_ context.Context, key string) (verifiers.Verifier, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.loads[key]++
	if err := f.fail[key]; err != nil {
		return nil, err
	}
	return f.known[key], nil
}

func (f *fakeTenants) set(key string, v verifiers.Verifier, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.known[key], f.fail[key] = v, err
}

func (f *fakeTenants) count(key string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.loads[key]
}

type nopVerifier struct{ name string }

func (nopVerifier) Verify(*verifiers.Request) (*verifiers.Result, error) {
	return &verifiers.Result{}, nil
}

// TestTenantCacheTTL: a tenant's verifier is reused for the ttl, then
// looked up again; a tenant without a secret for negative_ttl (and works
// as soon as that ends once its secret is written); a failed look-up is
// remembered for tenantErrorTTL only.
func TestTenantCacheTTL(t *testing.T) {
	f := &fakeTenants{known: map[string]verifiers.Verifier{}, fail: map[string]error{}, loads: map[string]int{}}
	clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	c := newTenantCache(SecretSource{TTL: caddy.Duration(time.Minute), NegativeTTL: caddy.Duration(10 * time.Second)}, f.load)
	c.now = clock.now
	ctx := context.Background()
	a1, a2 := nopVerifier{"a1"}, nopVerifier{"a2"}
	f.set("a", a1, nil)
	step := func(what, key string, want verifiers.Verifier, wantErr bool, loads int) {
		t.Helper()
		v, err := c.get(ctx, key)
		if v != want || (err != nil) != wantErr || f.count(key) != loads {
			t.Fatalf("%s: %v, %v after %d look-ups; want %v (error %v) after %d", what, v, err, f.count(key), want, wantErr, loads)
		}
	}
	step("first", "a", a1, false, 1)
	clock.add(59 * time.Second)
	f.set("a", a2, nil)
	step("within the ttl", "a", a1, false, 1)
	clock.add(time.Second)
	step("ttl over", "a", a2, false, 2)

	step("unknown", "b", nil, false, 1)
	f.set("b", a1, nil)
	clock.add(9 * time.Second)
	step("unknown, within negative_ttl", "b", nil, false, 1)
	clock.add(time.Second)
	step("written, negative_ttl over", "b", a1, false, 2)

	f.set("c", nil, errors.New("storage down"))
	step("storage error", "c", nil, true, 1)
	step("storage error remembered", "c", nil, true, 1)
	clock.add(tenantErrorTTL)
	f.set("c", a2, nil)
	step("storage back", "c", a2, false, 2)

	// A tenant whose look-up fails after its ttl is not served stale.
	f.set("a", nil, errors.New("storage down"))
	clock.add(time.Minute)
	step("known, then a failed look-up", "a", nil, true, 3)
	// A tenant whose secret is removed is unknown after its ttl.
	f.set("c", nil, nil)
	clock.add(time.Minute)
	step("secret removed", "c", nil, false, 3)
}

// TestTenantCacheBounds: at most max_tenants kept (least recently used
// dropped), misses apart (made-up tenants do not evict known ones), one
// look-up per key for concurrent requests, at most max_lookups at once,
// at most lookup_rate started a second beyond the burst.
func TestTenantCacheBounds(t *testing.T) {
	ctx := context.Background()
	t.Run("lru and misses apart", func(t *testing.T) {
		f := &fakeTenants{known: map[string]verifiers.Verifier{}, fail: map[string]error{}, loads: map[string]int{}}
		c := newTenantCache(SecretSource{MaxTenants: 2, LookupRate: 1e6}, f.load)
		for _, k := range []string{"a", "b", "c"} {
			f.set(k, nopVerifier{k}, nil)
		}
		get := func(k string) {
			t.Helper()
			if _, err := c.get(ctx, k); err != nil {
				t.Fatal(err)
			}
		}
		get("a")
		get("b")
		get("a") // b is now the least recently used
		for i := range 50 {
			get("nobody-" + string(rune('a'+i%26)) + string(rune('a'+i/26)))
		}
		if known, missing := c.size(); known != 2 || missing != 2 {
			t.Fatalf("kept %d known, %d misses; want 2 and 2", known, missing)
		}
		get("a")
		get("b")
		if f.count("a") != 1 || f.count("b") != 1 {
			t.Fatalf("misses evicted known tenants: %d, %d look-ups", f.count("a"), f.count("b"))
		}
		get("c") // evicts a
		get("b")
		get("a")
		if f.count("a") != 2 || f.count("b") != 1 {
			t.Fatalf("look-ups a %d, b %d; want 2 and 1 (least recently used dropped)", f.count("a"), f.count("b"))
		}
	})
	t.Run("shared look-up, concurrency bound", func(t *testing.T) {
		var running, peak, loads atomic.Int32
		release := make(chan struct{})
		load := func(ctx context.Context, key string) (verifiers.Verifier, error) {
			loads.Add(1)
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			<-release
			running.Add(-1)
			return nopVerifier{key}, nil
		}
		c := newTenantCache(SecretSource{MaxLookups: 2, LookupRate: 1e6}, load)
		var wg sync.WaitGroup
		for i := range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key := []string{"a", "b", "c", "d"}[i%4]
				if v, err := c.get(ctx, key); err != nil || v != (nopVerifier{key}) {
					t.Errorf("%s: %v, %v", key, v, err)
				}
			}()
		}
		deadline := time.Now().Add(5 * time.Second)
		for running.Load() < 2 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		close(release)
		wg.Wait()
		if peak.Load() != 2 || loads.Load() != 4 {
			t.Fatalf("%d look-ups at once, %d in all; want 2 and 4", peak.Load(), loads.Load())
		}
	})
	t.Run("rate", func(t *testing.T) {
		f := &fakeTenants{known: map[string]verifiers.Verifier{}, fail: map[string]error{}, loads: map[string]int{}}
		clock := &fakeClock{t: time.Unix(1_700_000_000, 0)}
		c := newTenantCache(SecretSource{LookupRate: 2}, f.load)
		c.now = clock.now
		var limited int
		for i := range 10 {
			if _, err := c.get(ctx, "t"+string(rune('a'+i))); errors.Is(err, errTenantRate) {
				limited++
			}
		}
		if limited != 10-lookupBurst(2) {
			t.Fatalf("%d of 10 look-ups rate limited, want %d", limited, 10-lookupBurst(2))
		}
		// Not remembered: the same tenant is looked up once tokens are back.
		clock.add(time.Second)
		if _, err := c.get(ctx, "tj"); err != nil || f.count("tj") != 1 {
			t.Fatalf("after a second: %v, %d look-ups", err, f.count("tj"))
		}
	})
	t.Run("cancelled request", func(t *testing.T) {
		release := make(chan struct{})
		c := newTenantCache(SecretSource{}, func(ctx context.Context, key string) (verifiers.Verifier, error) {
			<-release
			return nopVerifier{key}, nil
		})
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if _, err := c.get(cctx, "a"); !errors.Is(err, verifiers.ErrUnavailable) {
			t.Fatalf("cancelled: %v", err)
		}
		close(release)
		// The look-up went on, detached, and is cached for the next one.
		if v, err := c.get(ctx, "a"); err != nil || v != (nopVerifier{"a"}) {
			t.Fatalf("next: %v, %v", v, err)
		}
	})
}

func TestUnmarshalSecretFrom(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  *SecretSource
		err   string
	}{
		{
			name:  "storage",
			input: "webhook_verify stripe {\n\tsecret_from storage webhook-secrets/stripe/{http.request.uri.path.2}\n}",
			want:  &SecretSource{From: "storage", Key: "webhook-secrets/stripe/{http.request.uri.path.2}"},
		},
		{
			name: "file with options",
			input: "webhook_verify github {\n\tsecret_from file /etc/caddy/secrets/github/{http.request.uri.path.2} {\n" +
				"\t\tttl 5m\n\t\tnegative_ttl 2s\n\t\tmax_tenants 100\n\t\tmax_lookups 2\n\t\tlookup_rate 5\n\t}\n}",
			want: &SecretSource{From: "file", Key: "/etc/caddy/secrets/github/{http.request.uri.path.2}",
				TTL: caddy.Duration(5 * time.Minute), NegativeTTL: caddy.Duration(2 * time.Second), MaxTenants: 100, MaxLookups: 2, LookupRate: 5},
		},
		{
			name:  "standard webhooks (whsec_ secrets)",
			input: "webhook_verify standard_webhooks {\n\tsecret_from storage s/{http.request.uri.path.1}\n}",
			want:  &SecretSource{From: "storage", Key: "s/{http.request.uri.path.1}"},
		},
		{
			name:  "hmac recipe",
			input: "webhook_verify hmac {\n\tsecret_from storage s/{http.request.uri.path.1}\n\tsignature_header X-Sig\n\tprefix sha256=\n}",
			want:  &SecretSource{From: "storage", Key: "s/{http.request.uri.path.1}"},
		},
		{name: "with secret", input: "webhook_verify stripe {\n\tsecret_from storage s/{x}\n\tsecret whsec_x\n}", err: "secret and secret_from exclude each other, at Testfile:3"},
		{name: "twice", input: "webhook_verify stripe {\n\tsecret_from storage s/{x}\n\tsecret_from storage t/{x}\n}", err: "given twice, at Testfile:3"},
		{name: "unknown source", input: "webhook_verify stripe {\n\tsecret_from vault s/{x}\n}", err: `"vault" is not storage or file, at Testfile:2`},
		{name: "traversal in the template", input: "webhook_verify stripe {\n\tsecret_from file /etc/../{x}\n}", err: ". or .. path segment, at Testfile:2"},
		{name: "no directory", input: "webhook_verify stripe {\n\tsecret_from file {x}\n}", err: "needs a directory"},
		{name: "one argument", input: "webhook_verify stripe {\n\tsecret_from storage\n}", err: "Testfile:2"},
		{name: "ttl too short", input: "webhook_verify stripe {\n\tsecret_from storage s/{x} {\n\t\tttl 10ms\n\t}\n}", err: "ttl must be between 1s and 24h"},
		{name: "unknown option", input: "webhook_verify stripe {\n\tsecret_from storage s/{x} {\n\t\tcache 1\n\t}\n}", err: `unrecognized secret_from option "cache", at Testfile:3`},
		{name: "provider without secrets", input: "webhook_verify sns {\n\tsecret_from storage s/{x}\n}", err: "does not take secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.input))
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if *h.SecretFrom != *tt.want {
				t.Fatalf("%+v, want %+v", *h.SecretFrom, *tt.want)
			}
		})
	}
}

// TestTenantVerifierInterfaces: a secret_from route's verifier tells what
// the provider's tells through every optional interface the handler
// consults, for every provider that takes a secret.
func TestTenantVerifierInterfaces(t *testing.T) {
	n := 0
	for _, name := range verifiers.Names() {
		cfg := verifiers.Config{Provider: name}
		if verifiers.Canonical(name) == "hmac" {
			cfg.HMAC = &verifiers.HMACRecipe{SignatureHeader: "X-Sig"}
		}
		decoy, err := decoyVerifier(name, cfg)
		if err != nil {
			continue // takes no secret alone (sns, url-signing providers, ...)
		}
		n++
		tv := &tenantVerifier{decoy: decoy}
		_, hs := decoy.(verifiers.Handshaker)
		ts, _ := decoy.(verifiers.Timestamped)
		ev, _ := decoy.(verifiers.EventIDer)
		cc, _ := decoy.(verifiers.CredentialCarrier)
		ch, _ := decoy.(verifiers.Challenger)
		if tv.HasTimestamp() != (ts != nil && ts.HasTimestamp()) || tv.SignsBody() != signsBody(decoy) ||
			tv.EventIDPointer() != func() string {
				if ev == nil {
					return ""
				}
				return ev.EventIDPointer()
			}() ||
			strings.Join(tv.CredentialHeaders(), ",") != func() string {
				if cc == nil {
					return ""
				}
				return strings.Join(cc.CredentialHeaders(), ",")
			}() ||
			tv.Challenge() != func() string {
				if ch == nil {
					return ""
				}
				return ch.Challenge()
			}() {
			t.Errorf("%s: the tenant verifier tells otherwise than the provider's", name)
		}
		if !hs {
			if _, ok, err := tv.Handshake(&verifiers.Request{Context: context.Background()}); ok || err != nil {
				t.Errorf("%s: handshake without a Handshaker: %v, %v", name, ok, err)
			}
		}
	}
	if n < 50 {
		t.Fatalf("only %d providers take a secret alone", n)
	}
}

// TestProvisionSecretFromErrors: a secret_from in JSON is checked at load
// as the Caddyfile's is.
func TestProvisionSecretFromErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name    string
		h       Handler
		wantErr string
	}{
		{"with secret", Handler{Provider: "github", Secrets: []string{"s"}, SecretFrom: &SecretSource{From: "file", Key: dir + "/{x}"}}, "secret and secret_from exclude each other"},
		{"unknown source", Handler{Provider: "github", SecretFrom: &SecretSource{From: "vault", Key: "a/{x}"}}, `"vault" is not storage or file`},
		{"traversal in the template", Handler{Provider: "github", SecretFrom: &SecretSource{From: "file", Key: dir + "/../{x}"}}, ". or .."},
		{"no such directory", Handler{Provider: "github", SecretFrom: &SecretSource{From: "file", Key: dir + "/nope/{x}"}}, "is not a directory"},
		{"ttl out of range", Handler{Provider: "github", SecretFrom: &SecretSource{From: "file", Key: dir + "/{x}", TTL: caddy.Duration(time.Hour * 25)}}, "ttl must be between"},
		{"negative bound", Handler{Provider: "github", SecretFrom: &SecretSource{From: "file", Key: dir + "/{x}", MaxLookups: -1}}, "must not be negative"},
		{"provider without secrets", Handler{Provider: "sns", SecretFrom: &SecretSource{From: "file", Key: dir + "/{x}"}}, "does not take secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			h := tt.h
			err := h.Provision(ctx)
			defer h.Cleanup()
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestDocsTenants adapts and validates the full configs of docs/tenants.md
// (the blocks that start with global options).
func TestDocsTenants(t *testing.T) {
	raw, err := os.ReadFile("docs/tenants.md")
	if err != nil {
		t.Fatal(err)
	}
	secrets := t.TempDir()
	if err := os.MkdirAll(filepath.Join(secrets, "github"), 0o755); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, block := range strings.Split(string(raw), "```caddyfile\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		if !strings.HasPrefix(block, "{") {
			continue
		}
		n++
		block = strings.ReplaceAll(block, "/etc/caddy/secrets", secrets)
		block = strings.ReplaceAll(block, "/var/lib/caddy", t.TempDir())
		block = strings.Replace(block, "{\n", "{\n\tauto_https off\n\tadmin off\n", 1)
		js, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(block), nil)
		if err != nil {
			t.Fatalf("block %d: adapt: %v", n, err)
		}
		var cfg caddy.Config
		if err := json.Unmarshal(js, &cfg); err != nil {
			t.Fatal(err)
		}
		if err := caddy.Validate(&cfg); err != nil {
			t.Fatalf("block %d: validate: %v", n, err)
		}
	}
	if n == 0 {
		t.Fatal("no config in docs/tenants.md")
	}
}

// TestTenantCacheAcrossReloads: routes with the same config (the same
// route across a reload) share one cache, so a reload does not look every
// tenant up again; the newest config's look-up is used; another config
// has its own; Cleanup gives the cache back.
func TestTenantCacheAcrossReloads(t *testing.T) {
	dir := t.TempDir()
	provision := func(ttl time.Duration) *Handler {
		t.Helper()
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		t.Cleanup(cancel)
		h := &Handler{Provider: "github", SecretFrom: &SecretSource{From: "file", Key: dir + "/{x}", TTL: caddy.Duration(ttl)}}
		if err := h.Provision(ctx); err != nil {
			t.Fatal(err)
		}
		return h
	}
	old := provision(time.Minute)
	key := old.tenants.poolKey
	cache := old.tenants.cache
	renewed := provision(time.Minute)
	other := provision(2 * time.Minute)
	if renewed.tenants.cache != cache || other.tenants.cache == cache {
		t.Fatal("the same config does not share its cache, or another config does")
	}
	cache.mu.Lock()
	loads := len(cache.loads)
	cache.mu.Unlock()
	if loads != 2 {
		t.Fatalf("%d look-ups registered, want 2", loads)
	}
	if err := old.Cleanup(); err != nil {
		t.Fatal(err)
	}
	if n, ok := tenantPool.References(key); !ok || n != 1 {
		t.Fatalf("after the old config's Cleanup: %d references (%v), want 1", n, ok)
	}
	cache.mu.Lock()
	loads = len(cache.loads)
	cache.mu.Unlock()
	if loads != 1 {
		t.Fatalf("%d look-ups registered after Cleanup, want 1", loads)
	}
	_ = renewed.Cleanup()
	_ = other.Cleanup()
	if _, ok := tenantPool.References(key); ok {
		t.Fatal("the cache is still in the pool after every Cleanup")
	}
}

// BenchmarkTenantLookupCached is what secret_from adds to a request whose
// tenant is cached: the key's expansion and check, and the cache hit.
func BenchmarkTenantLookupCached(b *testing.B) {
	tpl, err := parseKeyTemplate("webhook-secrets/stripe/{http.request.uri.path.2}", SecretFromStorage)
	if err != nil {
		b.Fatal(err)
	}
	c := newTenantCache(SecretSource{}, func(context.Context, string) (verifiers.Verifier, error) { return nopVerifier{"a"}, nil })
	tv := &tenantVerifier{decoy: nopVerifier{"decoy"}, src: &tenantSource{tpl: tpl, cache: c}}
	repl := caddy.NewReplacer()
	repl.Set("http.request.uri.path.2", "acct_1234567890")
	r := &verifiers.Request{Context: context.WithValue(context.Background(), caddy.ReplacerCtxKey, repl)}
	b.ReportAllocs()
	for b.Loop() {
		if v, err := tv.verifier(r); err != nil || v != (nopVerifier{"a"}) {
			b.Fatal(v, err)
		}
	}
}
