package webhookverify

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/webhookverify/caddy-webhook-verify/replay"
	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// Unit tests of the hardening fixes (issue 10): configuration bounds,
// placeholders left unresolved, the replay cache shared by namespace, a
// 2xx cut off mid-body, and credentials removed before the request goes on.

func provisionErr(t *testing.T, h *Handler) error {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	err := h.Provision(ctx)
	if err == nil {
		err = h.Validate()
	}
	_ = h.Cleanup()
	return err
}

func TestProvisionBounds(t *testing.T) {
	t.Setenv("WV_HARD_SECRET", "s3cret")
	gh := func(mod func(*Handler)) *Handler {
		h := &Handler{Provider: "github", Secrets: []string{"s"}}
		mod(h)
		return h
	}
	sw := func(mod func(*Handler)) *Handler {
		h := &Handler{Provider: "standard_webhooks", Secrets: []string{swSecret}}
		mod(h)
		return h
	}
	tests := []struct {
		name    string
		h       *Handler
		wantErr string // "" = accepted
	}{
		{"json ttl of 1ns", gh(func(h *Handler) { h.Replay = &ReplayConfig{TTL: 1} }), "ttl must be between"},
		{"json ttl of 999ms", gh(func(h *Handler) { h.Replay = &ReplayConfig{TTL: caddy.Duration(999 * time.Millisecond)} }), "ttl must be between"},
		{"json in_flight_ttl of 1ns", gh(func(h *Handler) { h.Replay = &ReplayConfig{InFlightTTL: 1} }), "in_flight_ttl must be between"},
		{"ttl over a year", gh(func(h *Handler) { h.Replay = &ReplayConfig{TTL: caddy.Duration(400 * 24 * time.Hour)} }), "ttl must be between"},
		{"ttl of 1s", gh(func(h *Handler) { h.Replay = &ReplayConfig{TTL: caddy.Duration(time.Second)} }), ""},
		{"ttl bounds do not apply with replay off", gh(func(h *Handler) { h.Replay = &ReplayConfig{Disabled: true, TTL: 1} }), ""},
		{"tolerance 2000000h", sw(func(h *Handler) { h.Tolerance = caddy.Duration(2_000_000 * time.Hour) }), "tolerance must be at most 24h"},
		{"tolerance 24h", sw(func(h *Handler) { h.Tolerance = caddy.Duration(24 * time.Hour) }), ""},
		{"tolerance off", sw(func(h *Handler) { h.Tolerance = -1 }), ""},
		{"body_timeout 1ns", gh(func(h *Handler) { h.BodyTimeout = 1 }), "body_timeout must be between"},
		{"body_timeout 2h", gh(func(h *Handler) { h.BodyTimeout = caddy.Duration(2 * time.Hour) }), "body_timeout must be between"},
		{"body_timeout 1s", gh(func(h *Handler) { h.BodyTimeout = caddy.Duration(time.Second) }), ""},
		{"mistyped env placeholder", gh(func(h *Handler) { h.Secrets = []string{"{enx.WV_HARD_SECRET}"} }), "secret 1 contains an unknown placeholder"},
		{"request placeholder", gh(func(h *Handler) { h.Secrets = []string{"s", "{http.request.header.X-Key}"} }), "secret 2 contains an unknown placeholder"},
		{"placeholder inside a secret", gh(func(h *Handler) { h.Secrets = []string{"abc{enx.X}def"} }), "secret 1 contains an unknown placeholder"},
		{"resolved env placeholder", gh(func(h *Handler) { h.Secrets = []string{"{env.WV_HARD_SECRET}"} }), ""},
		{"escaped braces are literal", gh(func(h *Handler) { h.Secrets = []string{`a\{b\}c`} }), ""},
		{"unknown placeholder in a public key", &Handler{Provider: "mailchannels", PublicKeys: []verifiers.PublicKey{{Key: "{enx.K}"}}}, "public_key 1 contains an unknown placeholder"},
		{"unknown placeholder in a password", &Handler{Provider: "postmark", Username: "u", Password: "{envv.P}"}, "password 1 contains an unknown placeholder"},
		{"unknown placeholder in a username", &Handler{Provider: "postmark", Username: "{http.request.host}", Password: "p"}, "username 1 contains an unknown placeholder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := provisionErr(t, tt.h)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("accepted, want an error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
			if err != nil && (strings.Contains(err.Error(), "enx") || strings.Contains(err.Error(), "X-Key") || strings.Contains(err.Error(), "abc")) {
				t.Errorf("error %q repeats the value", err)
			}
		})
	}
}

// TestNamespaceSharedAcrossSizes: two routes with one namespace share one
// cache whatever their max_entries; within one config they must agree, and
// a reload that changes max_entries keeps the accepted deliveries.
func TestNamespaceSharedAcrossSizes(t *testing.T) {
	mk := func(max int) *Handler {
		return &Handler{Provider: "github", Secrets: []string{"s"}, Replay: &ReplayConfig{Namespace: "shared-sizes", MaxEntries: max}}
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	a := mk(1000)
	if err := a.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	defer a.Cleanup()
	// Same config, same namespace, another size: refused at load.
	b := mk(2000)
	err := b.Provision(ctx)
	b.Cleanup()
	if err == nil || !strings.Contains(err.Error(), `namespace "shared-sizes"`) || !strings.Contains(err.Error(), "max_entries") {
		t.Fatalf("conflicting max_entries in one config: %v, want an error naming the namespace", err)
	}
	// Same config, same size: one cache.
	c := mk(1000)
	if err := c.Provision(ctx); err != nil {
		t.Fatal(err)
	}
	defer c.Cleanup()
	bg := context.Background()
	key := replay.Key(a.replay.namespace, []byte("id:evt_sizes"))
	st, tok, err := a.replay.store.Reserve(bg, key, time.Minute)
	if err != nil || st != replay.New {
		t.Fatalf("reserve: %v %v", st, err)
	}
	if st, _, _ := c.replay.store.Reserve(bg, key, time.Minute); st != replay.InFlight {
		t.Fatalf("second route: %v, want in_flight (one shared cache)", st)
	}
	if err := a.replay.store.Commit(bg, key, tok, time.Hour); err != nil {
		t.Fatal(err)
	}

	// A reload (a new config) with another size resizes in place.
	ctx2, cancel2 := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel2()
	d := mk(5000)
	if err := d.Provision(ctx2); err != nil {
		t.Fatalf("reload with another max_entries: %v", err)
	}
	defer d.Cleanup()
	if st, _, _ := d.replay.store.Reserve(bg, key, time.Minute); st != replay.Accepted {
		t.Fatalf("after the resize: %v, want accepted", st)
	}
	if got := d.replay.store.(*memoryCache).stats().MaxEntries; got != 5000 {
		t.Fatalf("max_entries after the reload = %d, want 5000", got)
	}
	// The old config's handlers use the same cache meanwhile.
	if st, _, _ := a.replay.store.Reserve(bg, key, time.Minute); st != replay.Accepted {
		t.Fatalf("old config after the resize: %v, want accepted", st)
	}
}

// TestForwardOnceCommitsCutOff2xx: reverse_proxy writes the upstream's 2xx
// status, then the body breaks off (upstream closed early, client gone) and
// it panics with http.ErrAbortHandler. The upstream accepted the delivery:
// commit, and let the panic through.
func TestForwardOnceCommitsCutOff2xx(t *testing.T) {
	for _, tt := range []struct {
		name string
		next func(http.ResponseWriter, *http.Request) error
		want string
	}{
		{"2xx then abort", func(w http.ResponseWriter, _ *http.Request) error {
			w.WriteHeader(200)
			_, _ = w.Write([]byte("partial"))
			panic(http.ErrAbortHandler)
		}, "reserve commit:7"},
		{"2xx then error", func(w http.ResponseWriter, _ *http.Request) error {
			w.WriteHeader(202)
			return errors.New("copying the response body: unexpected EOF")
		}, "reserve commit:7"},
		{"5xx then abort", func(w http.ResponseWriter, _ *http.Request) error {
			w.WriteHeader(503)
			panic(http.ErrAbortHandler)
		}, "reserve release:7"},
		{"abort before any status", func(http.ResponseWriter, *http.Request) error { panic(http.ErrAbortHandler) }, "reserve release:7"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			store := &recStore{state: replay.New}
			h, _ := newTestHandler(1 << 20)
			h.logger = zap.NewNop()
			h.replay = &replayState{store: store, namespace: "fake", ttl: time.Hour, inFlightTTL: time.Minute}
			req := httptest.NewRequest("POST", "/hook", strings.NewReader("body"))
			req.Header.Set("X-Fake", "ok")
			req = req.WithContext(context.WithValue(req.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
			var panicked any
			func() {
				defer func() { panicked = recover() }()
				_ = h.ServeHTTP(httptest.NewRecorder(), req, nextFunc(tt.next))
			}()
			if strings.Contains(tt.name, "abort") && panicked != http.ErrAbortHandler {
				t.Errorf("panic = %v, want http.ErrAbortHandler to propagate", panicked)
			}
			if got := strings.Join(store.calls, " "); got != tt.want {
				t.Errorf("store calls = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestCredentialsRemoved: postmark's credentials are gone from the request
// the next handler sees (and so from the upstream and the access log),
// unless keep_credentials.
func TestCredentialsRemoved(t *testing.T) {
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("pm-user:pm-pass"))
	for _, tt := range []struct {
		name   string
		h      Handler
		header string
		value  string
		keep   bool
	}{
		{"shared header", Handler{Provider: "postmark", Header: "X-Webhook-Token", Secrets: []string{"tok-123"}}, "X-Webhook-Token", "tok-123", false},
		{"basic auth", Handler{Provider: "postmark", Username: "pm-user", Password: "pm-pass"}, "Authorization", basic, false},
		{"basic auth, keep_credentials", Handler{Provider: "postmark", Username: "pm-user", Password: "pm-pass", KeepCredentials: true}, "Authorization", basic, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			h := tt.h
			h.Replay = &ReplayConfig{Disabled: true}
			if err := h.Provision(ctx); err != nil {
				t.Fatal(err)
			}
			defer h.Cleanup()
			req := httptest.NewRequest("POST", "/hook", strings.NewReader(`{"RecordType":"Delivery"}`))
			req.Header.Set(tt.header, tt.value)
			req.Header.Set("X-Other", "kept")
			var seen http.Header
			req = req.WithContext(context.WithValue(req.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
			err := h.ServeHTTP(httptest.NewRecorder(), req, nextFunc(func(w http.ResponseWriter, r *http.Request) error {
				seen = r.Header.Clone()
				return nil
			}))
			if err != nil || seen == nil {
				t.Fatalf("not forwarded: %v", err)
			}
			got := seen.Get(tt.header)
			if tt.keep && got != tt.value {
				t.Errorf("keep_credentials: %s = %q, want it kept", tt.header, got)
			}
			if !tt.keep && got != "" {
				t.Errorf("%s still on the forwarded request", tt.header)
			}
			if seen.Get("X-Other") != "kept" {
				t.Error("another header was removed")
			}
		})
	}
}

// TestBodyBufferGrowsWithWhatArrives: a declared Content-Length costs
// nothing before the bytes arrive (issue 10: 64 KiB were allocated per
// request up front), and the buffers are reused.
func TestBodyBufferGrowsWithWhatArrives(t *testing.T) {
	h, _ := newTestHandler(1 << 20)
	// A body that declares 60 KiB and delivers 10 bytes before failing.
	req := httptest.NewRequest("POST", "/hook", io.MultiReader(strings.NewReader("0123456789"), errReader{}))
	req.ContentLength = 60 << 10
	_, buf, err := h.readBody(httptest.NewRecorder(), req)
	if err == nil || buf != nil {
		t.Fatalf("readBody = %v, %v; want an error and no buffer", buf, err)
	}
	// The pooled buffer holds no more than what arrived, rounded up by
	// bytes.Buffer's growth (far below the declared 60 KiB).
	req = httptest.NewRequest("POST", "/hook", strings.NewReader("0123456789"))
	req.ContentLength = -1
	body, buf, err := h.readBody(httptest.NewRecorder(), req)
	if err != nil || string(body) != "0123456789" {
		t.Fatalf("readBody = %q, %v", body, err)
	}
	if buf.Cap() > 4<<10 {
		t.Errorf("buffer capacity %d for a 10-byte body", buf.Cap())
	}
	putBody(buf)
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, fmt.Errorf("connection reset") }

func TestCaddyfileHardeningOptions(t *testing.T) {
	for _, tt := range []struct {
		name, in string
		want     func(*Handler) bool
		wantErr  string
	}{
		{"body_timeout", "webhook_verify github {\n secret s\n body_timeout 30s\n}", func(h *Handler) bool { return time.Duration(h.BodyTimeout) == 30*time.Second }, ""},
		{"body_timeout too short", "webhook_verify github {\n secret s\n body_timeout 500ms\n}", nil, "body_timeout must be between"},
		{"body_timeout too long", "webhook_verify github {\n secret s\n body_timeout 2h\n}", nil, "body_timeout must be between"},
		{"body_timeout bad", "webhook_verify github {\n secret s\n body_timeout soon\n}", nil, "parsing body_timeout"},
		{"keep_credentials", "webhook_verify postmark {\n username u\n password p\n keep_credentials\n}", func(h *Handler) bool { return h.KeepCredentials }, ""},
		{"keep_credentials takes no argument", "webhook_verify postmark {\n username u\n password p\n keep_credentials yes\n}", nil, "wrong argument count"},
		{"tolerance over 24h", "webhook_verify stripe {\n secret s\n tolerance 2000000h\n}", nil, "tolerance must be at most 24h"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var h Handler
			err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want %q", err, tt.wantErr)
				}
				if !strings.Contains(err.Error(), "Testfile:") {
					t.Errorf("error %q names no file and line", err)
				}
				return
			}
			if err != nil || !tt.want(&h) {
				t.Fatalf("err %v, handler %+v", err, h)
			}
		})
	}
}

// TestPooledBodyLifetime: the body given to the next handler lives in a
// pooled buffer. Once next is done (nil error) the readers it kept fail
// rather than show a later request's bytes; when next fails, the bytes stay
// intact for error routes (handle_errors may proxy the request again).
func TestPooledBodyLifetime(t *testing.T) {
	h, _ := newTestHandler(1 << 20)
	send := func(body string, next func(http.ResponseWriter, *http.Request) error) error {
		req := httptest.NewRequest("POST", "/hook", strings.NewReader(body))
		req.Header.Set("X-Fake", "ok")
		req = req.WithContext(context.WithValue(req.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
		return h.ServeHTTP(httptest.NewRecorder(), req, nextFunc(next))
	}
	var kept, keptAfterError io.ReadCloser
	var getBody func() (io.ReadCloser, error)
	if err := send("first body", func(_ http.ResponseWriter, r *http.Request) error {
		kept, getBody = r.Body, r.GetBody
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := send("second body!", func(_ http.ResponseWriter, r *http.Request) error {
		keptAfterError = r.Body
		return errors.New("upstream failed")
	}); err == nil {
		t.Fatal("the next handler's error was lost")
	}
	// Reuse the pool many times over.
	for i := range 20 {
		_ = send(fmt.Sprintf("later body %d", i), func(_ http.ResponseWriter, r *http.Request) error {
			_, err := io.ReadAll(r.Body)
			return err
		})
	}
	if b, err := io.ReadAll(kept); err == nil || len(b) != 0 {
		t.Errorf("a reader kept past the request read %q, %v; want errBodyRetired", b, err)
	}
	if rc, err := getBody(); err == nil {
		if b, err := io.ReadAll(rc); err == nil || len(b) != 0 {
			t.Errorf("GetBody past the request read %q, %v", b, err)
		}
	}
	if b, err := io.ReadAll(keptAfterError); err != nil || string(b) != "second body!" {
		t.Errorf("body after a failed next = %q, %v; want it intact", b, err)
	}
}

// BenchmarkReadBody: what reading a 1 KiB body that declares its length
// costs, with the pooled buffer (it was one 1 KiB allocation per request
// up to 64 KiB declared before, and 64 KiB for a chunked body).
func BenchmarkReadBody(b *testing.B) {
	h, _ := newTestHandler(1 << 20)
	payload := strings.Repeat("a", 1024)
	for _, chunked := range []bool{false, true} {
		b.Run(fmt.Sprintf("chunked=%v", chunked), func(b *testing.B) {
			w := httptest.NewRecorder()
			b.ReportAllocs()
			for b.Loop() {
				req := &http.Request{Method: "POST", ProtoMajor: 1, Body: io.NopCloser(strings.NewReader(payload)), ContentLength: 1024, Header: http.Header{}}
				if chunked {
					req.ContentLength = -1
				}
				_, buf, err := h.readBody(w, req)
				if err != nil {
					b.Fatal(err)
				}
				putBody(buf)
			}
		})
	}
}

// TestReplayFullIs503: a memory store holding only deliveries in flight
// refuses a new one; the handler answers 503 with Retry-After and does not
// forward it.
func TestReplayFullIs503(t *testing.T) {
	h, _ := newTestHandler(1 << 20)
	h.logger = zap.NewNop()
	mem := replay.NewMemory(replay.MemoryOptions{MaxEntries: 1, SweepInterval: -1})
	h.replay = &replayState{store: mem, namespace: "full", ttl: time.Hour, inFlightTTL: time.Minute}
	if _, _, err := mem.Reserve(context.Background(), "held", time.Minute); err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("POST", "/hook", strings.NewReader("body"))
	req.Header.Set("X-Fake", "ok")
	w, next, _, err := serve(h, req)
	if next.called != 0 {
		t.Fatal("forwarded although the replay cache had no room")
	}
	if status := caddyStatus(err); status != 503 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d (%v), Retry-After %q; want 503 with Retry-After", status, err, w.Header().Get("Retry-After"))
	}
}

func caddyStatus(err error) int {
	var he caddyhttp.HandlerError
	if errors.As(err, &he) {
		return he.StatusCode
	}
	return 0
}
