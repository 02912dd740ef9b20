package main

// Smoke test of the bench command with a tiny N. It loads a Caddy in this
// process (caddy.Load, global state): it lives in this package, apart from
// the root package's caddytest tests, and uses free ports picked at run
// time.

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

func TestRunSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Caddy")
	}
	for _, tc := range []struct {
		provider string
		replay   bool
	}{
		{"github", true},
		{"standard_webhooks", false},
		{"sendgrid", true},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var out bytes.Buffer
			o := options{provider: tc.provider, n: 40, c: 4, size: 512, replay: tc.replay, rounds: 2, timeout: time.Minute}
			rep, err := run(ctx, o, &out)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			for _, name := range []string{"upstream", "proxy", "verify"} {
				rs := rep.results[name]
				if len(rs) != o.rounds {
					t.Fatalf("%s: %d rounds, want %d", name, len(rs), o.rounds)
				}
				for _, r := range rs {
					if r.done != o.n || r.failed != 0 || r.cut || len(r.lat) != o.n || r.rps() <= 0 {
						t.Fatalf("%s: done %d failed %d cut %v (%s)", name, r.done, r.failed, r.cut, r.firstErr)
					}
				}
			}
			for _, want := range []string{"provider " + tc.provider, "gate overhead", "median round"} {
				if !strings.Contains(out.String(), want) {
					t.Fatalf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}

// A delivery the gate rejects must make the run fail, not be measured.
func TestRunFailsOnRejection(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Caddy")
	}
	signers["bench-bad"] = func() (signer, error) { return badSigner{}, nil }
	defer delete(signers, "bench-bad")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out bytes.Buffer
	rep, err := run(ctx, options{provider: "bench-bad", n: 10, c: 2, size: 256, replay: true, rounds: 1, timeout: time.Minute}, &out)
	if err == nil || !strings.Contains(err.Error(), "verify: 10 failed") || !strings.Contains(err.Error(), "status 401") {
		t.Fatalf("err = %v\n%s", err, out.String())
	}
	if r := rep.results["upstream"][0]; r.failed != 0 {
		t.Fatalf("upstream: %d failed", r.failed)
	}
}

// badSigner signs with the wrong secret.
type badSigner struct{ githubSigner }

func (badSigner) sign(h http.Header, body []byte, id string, now time.Time) {
	githubSigner{}.sign(h, body, id, now)
	h.Set("X-Hub-Signature-256", "sha256="+hmacHex([]byte("wrong secret"), body))
}

func TestOptionsBounds(t *testing.T) {
	ok := options{provider: "github", n: 10, c: 2, size: 1024, rounds: 1, timeout: time.Second}
	for _, tc := range []struct {
		name string
		f    func(*options)
	}{
		{"unknown provider", func(o *options) { o.provider = "nope" }},
		{"n zero", func(o *options) { o.n = 0 }},
		{"n too large", func(o *options) { o.n = maxN + 1 }},
		{"c too large", func(o *options) { o.c = maxC + 1 }},
		{"size too small", func(o *options) { o.size = minSize - 1 }},
		{"size too large", func(o *options) { o.size = maxSize + 1 }},
		{"rounds", func(o *options) { o.rounds = 11 }},
		{"timeout too long", func(o *options) { o.timeout = maxTimeout + time.Second }},
		{"timeout zero", func(o *options) { o.timeout = 0 }},
	} {
		o := ok
		tc.f(&o)
		if err := o.check(); err == nil {
			t.Errorf("%s: accepted", tc.name)
		}
	}
	o := ok
	o.c = 50
	if err := o.check(); err != nil || o.c != o.n {
		t.Fatalf("c > n: %v, c = %d", err, o.c)
	}
}

// The replay store comparison: every store answers every delivery, and the
// Redis commands counted per new delivery are those of each store's steps
// (at most 4 for the native store, more for the storage-backed one).
func TestRunStoresSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Caddy and redis-server")
	}
	if _, err := exec.LookPath("redis-server"); err != nil {
		if os.Getenv("WEBHOOK_VERIFY_REQUIRE_REDIS") == "1" {
			t.Fatalf("redis-server not found and WEBHOOK_VERIFY_REQUIRE_REDIS=1: %v", err)
		}
		t.Skipf("redis-server not found: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	o := options{provider: "standard_webhooks", n: 60, c: 4, size: 512, replay: true, rounds: 1, timeout: time.Minute,
		stores: "memory,redis,storage", redisServer: "redis-server"}
	rep, err := runStores(ctx, o, &out)
	if err != nil {
		t.Fatalf("runStores: %v\n%s", err, out.String())
	}
	for _, st := range storeNames {
		r := rep.median(st)
		if r.done != o.n || r.failed != 0 || r.rps() <= 0 {
			t.Fatalf("%s: done %d failed %d (%s)", st, r.done, r.failed, r.firstErr)
		}
		per := r.perDelivery()
		switch st {
		case "memory":
			if per != 0 {
				t.Errorf("memory: %.2f Redis commands per delivery, want 0", per)
			}
		case "redis":
			if per < 3 || per > 4 {
				t.Errorf("redis: %.2f Redis commands per delivery (%s), want 3..4", per, r.breakdown())
			}
		case "storage":
			if per <= 4 {
				t.Errorf("storage: %.2f Redis commands per delivery (%s), want the storage path's many", per, r.breakdown())
			}
		}
	}
	// Reserve and commit: two round trips per new delivery.
	if got := rep.trips["redis"]; got != 2 {
		t.Errorf("redis: %.2f round trips per new delivery, want 2", got)
	}
	for _, want := range []string{"Redis cmds/delivery", "redis vs memory", "round trips per new delivery"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := parseStores("memory,nope"); err == nil {
		t.Error("parseStores accepted an unknown store")
	}
}
