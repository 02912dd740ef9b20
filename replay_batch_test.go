package webhookverify

import (
	"context"
	"errors"
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

// Unit tests of the replay flow with several keys (Result.Items, issue 13
// item 3) and of body binding (item 2), against the memory store.

// batchVerifier verifies every request: X-Items (comma-separated) are the
// batch's items, X-Id the signed id; it signs the whole body or not as
// told.
type batchVerifier struct{ wholeBody bool }

func (v batchVerifier) Verify(r *verifiers.Request) (*verifiers.Result, error) {
	res := &verifiers.Result{ID: "d", SignedID: r.Header.Get("X-Id"), Signature: []byte("sig")}
	if items := r.Header.Get("X-Items"); items != "" {
		for _, it := range strings.Split(items, ",") {
			res.Items = append(res.Items, []byte(it))
		}
	}
	return res, nil
}

func (v batchVerifier) SignsBody() bool { return v.wholeBody }

// replayHandler is a handler with a memory replay store, binding bodies
// unless v signs them.
func replayHandler(t *testing.T, v batchVerifier, mode string) (*Handler, *replay.Memory) {
	t.Helper()
	mem := replay.NewMemory(replay.MemoryOptions{SweepInterval: -1})
	t.Cleanup(func() { mem.Destruct() })
	h := &Handler{Provider: "fake", verifier: v, maxSize: 1 << 20, Mode: mode, logger: zap.NewNop()}
	h.replay = &replayState{store: mem, namespace: "ns", ttl: time.Hour, inFlightTTL: time.Minute}
	if !v.wholeBody {
		h.replay.binder = mem
	}
	return h, mem
}

// send posts body with headers kv through h to a next handler answering
// status, and returns the status the client sees and whether next ran.
func send(t *testing.T, h *Handler, status int, body string, kv ...string) (int, bool, http.Header) {
	t.Helper()
	req := httptest.NewRequest("POST", "/hook", strings.NewReader(body))
	for i := 0; i+1 < len(kv); i += 2 {
		req.Header.Set(kv[i], kv[i+1])
	}
	req = req.WithContext(context.WithValue(req.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer()))
	w := httptest.NewRecorder()
	called := false
	err := h.ServeHTTP(w, req, nextFunc(func(w http.ResponseWriter, _ *http.Request) error {
		called = true
		w.WriteHeader(status)
		return nil
	}))
	got := w.Code
	var he caddyhttp.HandlerError
	if errors.As(err, &he) {
		got = he.StatusCode
	}
	return got, called, w.Header()
}

func TestForwardOnceBatch(t *testing.T) {
	type step struct {
		items    string
		upstream int // the upstream's answer, if forwarded
		want     int
		forward  bool
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"accepted item, then a superset", []step{{"A", 200, 200, true}, {"A,B", 200, 409, false}, {"B", 200, 200, true}}},
		{"accepted batch, then a subset", []step{{"A,B", 200, 200, true}, {"A", 200, 200, false}, {"B", 200, 200, false}, {"B,A", 200, 200, false}}},
		{"accepted batch, then an overlapping one", []step{{"A,B", 200, 200, true}, {"B,C", 200, 409, false}, {"C", 200, 200, true}}},
		{"released batch: all items new again", []step{{"A,B", 500, 500, true}, {"A", 200, 200, true}, {"B", 200, 200, true}, {"A,B", 200, 200, false}}},
		{"item repeated in a batch", []step{{"A,A", 200, 400, false}, {"A", 200, 200, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, mem := replayHandler(t, batchVerifier{wholeBody: true}, "")
			for i, s := range tt.steps {
				got, called, hdr := send(t, h, s.upstream, "{}", "X-Items", s.items)
				if got != s.want || called != s.forward {
					t.Fatalf("step %d [%s]: status %d, forwarded %v; want %d, %v", i+1, s.items, got, called, s.want, s.forward)
				}
				if got == 409 && hdr.Get("Retry-After") != "" {
					t.Errorf("step %d: a batch mixing accepted and new items gets Retry-After", i+1)
				}
			}
			// Nothing is left in flight: every reservation was settled.
			for _, k := range []string{"A", "B", "C"} {
				key := replay.Key("ns", sigMaterial([]byte(k)))
				if st, tok, _ := mem.Reserve(context.Background(), key, time.Minute); st == replay.InFlight {
					t.Errorf("item %s left in flight", k)
				} else if st == replay.New {
					_ = mem.Release(context.Background(), key, tok)
				}
			}
		})
	}

	t.Run("an item in flight: 409 with Retry-After, the new items released", func(t *testing.T) {
		h, mem := replayHandler(t, batchVerifier{wholeBody: true}, "")
		keyA := replay.Key("ns", sigMaterial([]byte("A")))
		if st, _, err := mem.Reserve(context.Background(), keyA, time.Minute); st != replay.New || err != nil {
			t.Fatal(st, err)
		}
		got, called, hdr := send(t, h, 200, "{}", "X-Items", "B,A")
		if got != 409 || called || hdr.Get("Retry-After") == "" {
			t.Fatalf("status %d, forwarded %v, Retry-After %q; want 409 with Retry-After", got, called, hdr.Get("Retry-After"))
		}
		if got, called, _ := send(t, h, 200, "{}", "X-Items", "B"); got != 200 || !called {
			t.Fatalf("B after the refused batch: %d, forwarded %v; want it new", got, called)
		}
	})

	t.Run("log_only forwards a mixed batch and settles its new items", func(t *testing.T) {
		h, _ := replayHandler(t, batchVerifier{wholeBody: true}, ModeLogOnly)
		send(t, h, 200, "{}", "X-Items", "A")
		if got, called, _ := send(t, h, 200, "{}", "X-Items", "A,B"); got != 200 || !called {
			t.Fatalf("log_only: %d, forwarded %v", got, called)
		}
		h.Mode = ""
		if got, called, _ := send(t, h, 200, "{}", "X-Items", "B"); got != 200 || called {
			t.Fatalf("B after log_only forwarded it: %d, forwarded %v; want a duplicate", got, called)
		}
	})
}

func TestForwardOnceBindsBody(t *testing.T) {
	const genuine, forged = `{"amount":"0.48"}`, `{"amount":"9.99"}`
	t.Run("released, then a forged body, then the genuine retry", func(t *testing.T) {
		h, _ := replayHandler(t, batchVerifier{}, "")
		steps := []struct {
			body     string
			upstream int
			want     int
			forward  bool
		}{
			{genuine, 500, 500, true},  // the app failed: released
			{forged, 200, 401, false},  // same signed id, other body
			{genuine, 200, 200, true},  // the provider's retry
			{genuine, 200, 200, false}, // a duplicate
			{forged, 200, 401, false},  // still refused after the commit
		}
		for i, s := range steps {
			if got, called, _ := send(t, h, s.upstream, s.body, "X-Id", "tx-1"); got != s.want || called != s.forward {
				t.Fatalf("step %d: status %d, forwarded %v; want %d, %v", i+1, got, called, s.want, s.forward)
			}
		}
		if got, called, _ := send(t, h, 200, forged, "X-Id", "tx-2"); got != 200 || !called {
			t.Fatalf("another id: %d, forwarded %v", got, called)
		}
	})
	t.Run("each item of a batch is bound", func(t *testing.T) {
		h, _ := replayHandler(t, batchVerifier{}, "")
		if got, _, _ := send(t, h, 500, genuine, "X-Items", "A,B"); got != 500 {
			t.Fatal(got)
		}
		for _, items := range []string{"A", "B", "B,C", "C,A"} {
			if got, called, _ := send(t, h, 200, forged, "X-Items", items); got != 401 || called {
				t.Fatalf("[%s] with another body: %d, forwarded %v; want 401", items, got, called)
			}
		}
		if got, called, _ := send(t, h, 200, genuine, "X-Items", "A,B"); got != 200 || !called {
			t.Fatalf("the genuine retry: %d, forwarded %v", got, called)
		}
	})
	t.Run("body signers are not bound", func(t *testing.T) {
		h, mem := replayHandler(t, batchVerifier{wholeBody: true}, "")
		send(t, h, 500, genuine, "X-Id", "tx-1")
		if got, called, _ := send(t, h, 200, forged, "X-Id", "tx-1"); got != 200 || !called {
			t.Fatalf("%d, forwarded %v", got, called)
		}
		if n := mem.Stats().Entries; n != 1 {
			t.Errorf("%d entries, want 1 (no binding)", n)
		}
	})
	t.Run("log_only forwards a mismatch, marked unverified", func(t *testing.T) {
		h, _ := replayHandler(t, batchVerifier{}, ModeLogOnly)
		send(t, h, 500, genuine, "X-Id", "tx-1")
		if got, called, _ := send(t, h, 200, forged, "X-Id", "tx-1"); got != 200 || !called {
			t.Fatalf("%d, forwarded %v", got, called)
		}
	})
}

// TestProvisionBindsBody: the handler binds bodies for every provider that
// is not a BodySigner, whatever the store.
func TestProvisionBindsBody(t *testing.T) {
	for _, tc := range []struct {
		h    *Handler
		bind bool
	}{
		{&Handler{Provider: "github", Secrets: []string{"s"}}, false},
		{&Handler{Provider: "mailgun", Secrets: []string{"s"}}, true},
		{&Handler{Provider: "adyen", Secrets: []string{"00ff"}}, true},
		{&Handler{Provider: "paypal", WebhookID: "WH-1", Certificates: []string{e2ePayPalCert()}}, true},
		{&Handler{Provider: "mailgun", Secrets: []string{"s"}, Replay: &ReplayConfig{Disabled: true}}, false},
	} {
		ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
		err := tc.h.Provision(ctx)
		if err != nil {
			t.Fatalf("%s: %v", tc.h.Provider, err)
		}
		if got := tc.h.replay != nil && tc.h.replay.binder != nil; got != tc.bind {
			t.Errorf("%s (replay %+v): binds bodies %v, want %v", tc.h.Provider, tc.h.Replay, got, tc.bind)
		}
		_ = tc.h.Cleanup()
		cancel()
	}
}
