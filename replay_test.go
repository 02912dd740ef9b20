package webhookverify

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/webhookverify/caddy-webhook-verify/replay"
	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// recStore is a replay.Store that records calls and answers Reserve as told.
type recStore struct {
	state    replay.State
	err      error
	calls    []string
	keys     []string
	ttl      time.Duration
	inflight time.Duration
}

func (s *recStore) Reserve(_ context.Context, key string, inflight time.Duration) (replay.State, replay.Token, error) {
	s.calls = append(s.calls, "reserve")
	s.keys = append(s.keys, key)
	s.inflight = inflight
	if s.err != nil {
		return 0, 0, s.err
	}
	return s.state, 7, nil
}

func (s *recStore) Commit(_ context.Context, key string, tok replay.Token, ttl time.Duration) error {
	s.calls = append(s.calls, fmt.Sprintf("commit:%d", tok))
	s.ttl = ttl
	return nil
}

func (s *recStore) Release(_ context.Context, key string, tok replay.Token) error {
	s.calls = append(s.calls, fmt.Sprintf("release:%d", tok))
	return nil
}

// nextFunc adapts a function to caddyhttp.Handler.
type nextFunc func(http.ResponseWriter, *http.Request) error

func (f nextFunc) ServeHTTP(w http.ResponseWriter, r *http.Request) error { return f(w, r) }

func TestForwardOnce(t *testing.T) {
	upstreamErr := errors.New("dial upstream: connection refused")
	tests := []struct {
		name       string
		state      replay.State
		storeErr   error
		next       func(http.ResponseWriter, *http.Request) error
		wantStatus int
		wantNext   bool
		wantCalls  string
	}{
		{"new, upstream 2xx commits", replay.New, nil,
			func(w http.ResponseWriter, _ *http.Request) error { w.WriteHeader(204); return nil }, 204, true, "reserve commit:7"},
		{"new, upstream writes body without header commits", replay.New, nil,
			func(w http.ResponseWriter, _ *http.Request) error { _, err := w.Write([]byte("ok")); return err }, 200, true, "reserve commit:7"},
		{"new, next writes nothing and returns nil commits (net/http sends 200)", replay.New, nil,
			func(http.ResponseWriter, *http.Request) error { return nil }, 200, true, "reserve commit:7"},
		{"new, upstream 500 releases", replay.New, nil,
			func(w http.ResponseWriter, _ *http.Request) error { w.WriteHeader(500); return nil }, 500, true, "reserve release:7"},
		{"new, 103 then 500 releases", replay.New, nil,
			func(w http.ResponseWriter, _ *http.Request) error { w.WriteHeader(103); w.WriteHeader(500); return nil }, 0, true, "reserve release:7"}, // the recorder keeps 103 as its Code
		{"new, next handler error releases", replay.New, nil,
			func(http.ResponseWriter, *http.Request) error { return caddyhttp.Error(502, upstreamErr) }, 502, true, "reserve release:7"},
		{"accepted: 200, not forwarded", replay.Accepted, nil, nil, 200, false, "reserve"},
		{"in flight: 409, not forwarded", replay.InFlight, nil, nil, 409, false, "reserve"},
		{"store down: 503, not forwarded", 0, fmt.Errorf("%w: lock: connection refused", replay.ErrUnavailable), nil, 503, false, "reserve"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			store := &recStore{state: tt.state, err: tt.storeErr}
			h, _ := newTestHandler(1 << 20)
			h.logger = zap.NewNop()
			h.replay = &replayState{store: store, namespace: "fake", ttl: time.Hour, inFlightTTL: time.Minute}
			called := false
			next := nextFunc(func(w http.ResponseWriter, r *http.Request) error {
				called = true
				return tt.next(w, r)
			})
			req := httptest.NewRequest("POST", "/hook", strings.NewReader("body"))
			req.Header.Set("X-Fake", "ok")
			repl := caddy.NewReplacer()
			req = req.WithContext(context.WithValue(req.Context(), caddy.ReplacerCtxKey, repl))
			w := httptest.NewRecorder()
			err := h.ServeHTTP(w, req, next)
			status := w.Code
			var he caddyhttp.HandlerError
			if errors.As(err, &he) {
				status = he.StatusCode
			}
			if tt.wantStatus != 0 && status != tt.wantStatus {
				t.Errorf("status = %d, want %d (err %v)", status, tt.wantStatus, err)
			}
			if called != tt.wantNext {
				t.Errorf("next called = %v, want %v", called, tt.wantNext)
			}
			if got := strings.Join(store.calls, " "); got != tt.wantCalls {
				t.Errorf("store calls = %q, want %q", got, tt.wantCalls)
			}
			if tt.wantStatus == 409 && w.Header().Get("Retry-After") == "" {
				t.Error("409 without Retry-After")
			}
			if strings.Contains(store.calls[len(store.calls)-1], "commit") && store.ttl != time.Hour {
				t.Errorf("committed with ttl %v, want the configured 1h", store.ttl)
			}
			if store.inflight != time.Minute {
				t.Errorf("reserved with in-flight ttl %v, want 1m", store.inflight)
			}
		})
	}
}

func TestForwardOncePanicReleases(t *testing.T) {
	store := &recStore{state: replay.New}
	h, _ := newTestHandler(1 << 20)
	h.logger = zap.NewNop()
	h.replay = &replayState{store: store, namespace: "fake", ttl: time.Hour, inFlightTTL: time.Minute}
	req := httptest.NewRequest("POST", "/hook", strings.NewReader("body"))
	req.Header.Set("X-Fake", "ok")
	req = req.WithContext(context.WithValue(req.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not propagate")
			}
		}()
		_ = h.ServeHTTP(httptest.NewRecorder(), req, nextFunc(func(http.ResponseWriter, *http.Request) error { panic("boom") }))
	}()
	if got := strings.Join(store.calls, " "); got != "reserve release:7" {
		t.Errorf("store calls = %q, want a release after the panic", got)
	}
}

func TestReplayMaterial(t *testing.T) {
	signed := replayMaterial(&verifiers.Result{SignedID: "msg_1", Signature: []byte("a")})
	signed2 := replayMaterial(&verifiers.Result{SignedID: "msg_1", Signature: []byte("b")})
	if string(signed) != string(signed2) {
		t.Error("a signed id must decide the key whatever the signature")
	}
	bySig := replayMaterial(&verifiers.Result{ID: "unsigned-delivery", Signature: []byte("a")})
	bySig2 := replayMaterial(&verifiers.Result{ID: "other-delivery", Signature: []byte("a")})
	if string(bySig) != string(bySig2) {
		t.Error("an unsigned id must not change the key")
	}
	if string(bySig) == string(replayMaterial(&verifiers.Result{Signature: []byte("b")})) {
		t.Error("different signatures gave the same material")
	}
	// An id equal to a signature's hash text cannot collide with it.
	if string(replayMaterial(&verifiers.Result{SignedID: string(bySig[4:])})) == string(bySig) {
		t.Error("id and signature material share a space")
	}
	if replayMaterial(&verifiers.Result{}) != nil {
		t.Error("no material must be reported as nil")
	}
}

// TestReplayDefaults checks the TTLs chosen from the provider and tolerance.
func TestReplayDefaults(t *testing.T) {
	tests := []struct {
		provider  string
		secret    string
		tolerance caddy.Duration
		want      time.Duration
	}{
		{"stripe", "s", 0, 11 * time.Minute},
		{"stripe", "s", caddy.Duration(time.Minute), 3 * time.Minute},
		{"stripe", "s", -1, DefaultUntimedTTL},
		{"github", "s", 0, DefaultUntimedTTL},
		{"autosend", "s", 0, DefaultUntimedTTL}, // its timestamp is not signed
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%s/%v", tt.provider, tt.tolerance), func(t *testing.T) {
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			h := &Handler{Provider: tt.provider, Secrets: []string{tt.secret}, Tolerance: tt.tolerance}
			if err := h.Provision(ctx); err != nil {
				t.Fatal(err)
			}
			defer h.Cleanup()
			if h.replay == nil || h.replay.ttl != tt.want {
				t.Fatalf("ttl = %v, want %v", h.replay.ttl, tt.want)
			}
		})
	}
}

// TestReplaySurvivesReload provisions a handler, records a delivery, then
// provisions its replacement before cleaning up the old one, as Caddy does
// on a config reload: the replacement still knows the delivery.
func TestReplaySurvivesReload(t *testing.T) {
	provision := func() *Handler {
		ctx, _ := caddy.NewContext(caddy.Context{Context: context.Background()})
		h := &Handler{Provider: "github", Secrets: []string{"s"}, Replay: &ReplayConfig{Namespace: "reload-test"}}
		if err := h.Provision(ctx); err != nil {
			t.Fatal(err)
		}
		return h
	}
	old := provision()
	key := replay.Key(old.replay.namespace, []byte("id:evt_1"))
	ctx := context.Background()
	st, tok, err := old.replay.store.Reserve(ctx, key, time.Minute)
	if err != nil || st != replay.New {
		t.Fatalf("reserve: %v %v", st, err)
	}
	if err := old.replay.store.Commit(ctx, key, tok, time.Hour); err != nil {
		t.Fatal(err)
	}

	nu := provision()
	if err := old.Cleanup(); err != nil {
		t.Fatal(err)
	}
	st, _, err = nu.replay.store.Reserve(ctx, key, time.Minute)
	if err != nil || st != replay.Accepted {
		t.Fatalf("after reload: state %v err %v, want accepted", st, err)
	}
	if err := nu.Cleanup(); err != nil {
		t.Fatal(err)
	}
	// With no config left using it, the store is destroyed: a new one is empty.
	again := provision()
	defer again.Cleanup()
	if st, _, _ := again.replay.store.Reserve(ctx, key, time.Minute); st != replay.New {
		t.Fatalf("a fresh store after the last user: state %v, want new", st)
	}
}

// TestDefaultNamespace: without a namespace, the same config shares replay
// state (across reloads), and routes for different senders do not, so one
// sender's delivery id cannot make another's look like a duplicate.
func TestDefaultNamespace(t *testing.T) {
	provision := func(secrets ...string) *Handler {
		t.Helper()
		ctx, _ := caddy.NewContext(caddy.Context{Context: context.Background()})
		h := &Handler{Provider: "svix", Secrets: secrets}
		if err := h.Provision(ctx); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { h.Cleanup() })
		return h
	}
	secretA := "whsec_" + base64.StdEncoding.EncodeToString([]byte("sender A secret"))
	secretB := "whsec_" + base64.StdEncoding.EncodeToString([]byte("sender B secret"))
	a, aAgain, b := provision(secretA), provision(secretA), provision(secretB)
	rotated := provision(secretB, secretA)

	if a.replay.namespace != aAgain.replay.namespace {
		t.Error("the same config got two namespaces: state would not survive a reload")
	}
	if a.replay.namespace == b.replay.namespace || a.replay.namespace == rotated.replay.namespace {
		t.Error("different secrets share a namespace")
	}
	for _, h := range []*Handler{a, b} {
		if strings.Contains(h.replay.namespace, "sender") || !strings.HasPrefix(h.replay.namespace, "standard_webhooks/") {
			t.Errorf("namespace %q: want the provider and a fingerprint, never the secret", h.replay.namespace)
		}
		if h.replay.label != "standard_webhooks" {
			t.Errorf("label %q: logs and metrics must name the provider, not the fingerprint", h.replay.label)
		}
	}

	// One message id reaching both senders' routes: both are forwarded.
	ctx := context.Background()
	for _, h := range []*Handler{a, b} {
		key := replay.Key(h.replay.namespace, []byte("id:msg_shared"))
		st, tok, err := h.replay.store.Reserve(ctx, key, time.Minute)
		if err != nil || st != replay.New {
			t.Fatalf("namespace %s: state %v err %v, want new", h.replay.namespace, st, err)
		}
		if err := h.replay.store.Commit(ctx, key, tok, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	// And the reloaded twin of a knows it.
	if st, _, _ := aAgain.replay.store.Reserve(ctx, replay.Key(aAgain.replay.namespace, []byte("id:msg_shared")), time.Minute); st != replay.Accepted {
		t.Errorf("reloaded route: state %v, want accepted", st)
	}
}

// TestConfigFingerprint: routes that verify different senders get
// different default namespaces (two PayPal webhooks, two MailChannels
// customers), and the order of repeatable options does not matter.
func TestConfigFingerprint(t *testing.T) {
	base := verifiers.Config{Provider: "paypal", WebhookID: "WH-1", Certificates: []string{"pem"}}
	other := base
	other.WebhookID = "WH-2"
	mc1 := verifiers.Config{Provider: "mailchannels", CustomerHandles: []string{"a", "b"}}
	mc2 := verifiers.Config{Provider: "mailchannels", CustomerHandles: []string{"c"}}
	mc1r := verifiers.Config{Provider: "mailchannels", CustomerHandles: []string{"b", "a"}}
	if configFingerprint(base) == configFingerprint(other) {
		t.Error("two PayPal webhook ids share one fingerprint")
	}
	if configFingerprint(mc1) == configFingerprint(mc2) {
		t.Error("two MailChannels customer handle lists share one fingerprint")
	}
	if configFingerprint(mc1) != configFingerprint(mc1r) {
		t.Error("the order of customer handles changes the fingerprint")
	}
	s1 := verifiers.Config{Provider: "stripe", Secrets: []string{"whsec_a"}}
	s2 := verifiers.Config{Provider: "stripe", Secrets: []string{"whsec_b"}}
	if configFingerprint(s1) == configFingerprint(s2) {
		t.Error("two Stripe secrets share one fingerprint")
	}
}
