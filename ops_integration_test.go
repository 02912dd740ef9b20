package webhookverify

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// opsConfig: Stripe routes keyed by the event id in the body (the default)
// on the memory store and on Caddy's file_system storage, a named route,
// and a log_only GitHub route that tells the upstream what it decided.
const opsConfig = `
http://localhost:%[3]d {
	handle /ops/stripe {
		webhook_verify stripe {
			secret %[2]s
			name stripe-main
		}
		reverse_proxy %[1]s
	}
	handle /ops/stripe-storage {
		webhook_verify stripe {
			secret %[2]s
			replay {
				storage file_system {
					root %[4]q
				}
			}
		}
		reverse_proxy %[1]s
	}
	handle /ops/shadow {
		webhook_verify github {
			secret "%[5]s"
			mode log_only
			name shadow
		}
		reverse_proxy %[1]s {
			header_up X-Wv-Verified {http.webhook_verify.verified}
			header_up X-Wv-Replay {http.webhook_verify.replay}
		}
	}
}
`

// stripeTestSecret is a made-up endpoint secret; deliveries are signed
// with signStripe (the standard library's HMAC, not the verifier).
const stripeTestSecret = "whsec_ops_test_secret"

func TestOpsIntegration(t *testing.T) {
	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()

	tc := newTester(t)
	tc.InitServer(globalOptions()+fmt.Sprintf(opsConfig, srv.Listener.Addr().String(), stripeTestSecret,
		testHTTPPort, t.TempDir(), ghSecret), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}

	// A Stripe event accepted by the app, then re-sent by Stripe re-signed
	// with a new timestamp (a retry): 200 duplicate, not forwarded, on the
	// memory and the storage store alike.
	for _, path := range []string{"/ops/stripe", "/ops/stripe-storage"} {
		t.Run("stripe retry"+path, func(t *testing.T) {
			body := []byte(`{"id":"evt_ops_` + strings.TrimPrefix(path, "/ops/") + `","object":"event","type":"invoice.paid"}`)
			now := time.Now().Unix()
			status, msg := post(t, tc, path, map[string]string{"Stripe-Signature": signStripe(stripeTestSecret, now-30, body)}, body)
			if status != 200 || len(up.requests(path)) != 1 {
				t.Fatalf("first delivery: %d %q, upstream saw %d, want 200 and 1", status, msg, len(up.requests(path)))
			}
			status, msg = post(t, tc, path, map[string]string{"Stripe-Signature": signStripe(stripeTestSecret, now, body)}, body)
			if status != 200 || !strings.Contains(msg, "duplicate") {
				t.Errorf("re-signed retry: %d %q, want 200 duplicate", status, msg)
			}
			if n := len(up.requests(path)); n != 1 {
				t.Errorf("upstream saw %d deliveries, want 1", n)
			}
			// Another event is new.
			other := []byte(strings.Replace(string(body), `"evt_ops_`, `"evt_other_`, 1))
			if status, _ := post(t, tc, path, map[string]string{"Stripe-Signature": signStripe(stripeTestSecret, now, other)}, other); status != 200 || len(up.requests(path)) != 2 {
				t.Errorf("another event: %d, upstream saw %d, want 200 and 2", status, len(up.requests(path)))
			}
		})
	}

	t.Run("log_only forwards forged requests marked false", func(t *testing.T) {
		status, _ := post(t, tc, "/ops/shadow", map[string]string{"X-Hub-Signature-256": ghSig}, []byte("Hello, World?"))
		got := up.requests("/ops/shadow")
		if status != 200 || len(got) != 1 {
			t.Fatalf("forged: %d, upstream saw %d, want 200 and 1", status, len(got))
		}
		if v := got[0].header.Get("X-Wv-Verified"); v != "false" {
			t.Errorf("forged request marked %q, want false", v)
		}
		for i := 0; i < 2; i++ { // the docs example, then its replay
			post(t, tc, "/ops/shadow", map[string]string{"X-Hub-Signature-256": ghSig}, []byte(ghBody))
		}
		got = up.requests("/ops/shadow")
		if len(got) != 3 {
			t.Fatalf("upstream saw %d, want 3 (log_only never blocks)", len(got))
		}
		for i, want := range []string{"new", "duplicate"} {
			if v, r := got[1+i].header.Get("X-Wv-Verified"), got[1+i].header.Get("X-Wv-Replay"); v != "true" || r != want {
				t.Errorf("copy %d marked verified=%q replay=%q, want true and %s", i+1, v, r, want)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		before := scrape(t)
		body := []byte(`{"id":"evt_metrics","object":"event"}`)
		now := time.Now().Unix()
		post(t, tc, "/ops/stripe", map[string]string{"Stripe-Signature": signStripe(stripeTestSecret, now, body)}, body)
		post(t, tc, "/ops/stripe", map[string]string{"Stripe-Signature": signStripe("whsec_forged", now, body)}, body)
		after := scrape(t)
		for _, c := range []struct {
			series string
			delta  float64
		}{
			{`caddy_webhook_verify_requests_total{mode="enforce",provider="stripe",result="verified",route="stripe-main"}`, 1},
			{`caddy_webhook_verify_requests_total{mode="enforce",provider="stripe",result="signature",route="stripe-main"}`, 1},
			{`caddy_webhook_verify_verify_duration_seconds_count{provider="stripe",route="stripe-main"}`, 2},
			{`caddy_webhook_verify_requests_total{mode="log_only",provider="github",result="signature",route="shadow"}`, 0},
		} {
			if d := after[c.series] - before[c.series]; d != c.delta {
				t.Errorf("%s moved by %v, want %v", c.series, d, c.delta)
			}
		}
		if _, ok := after[`caddy_webhook_verify_requests_total{mode="log_only",provider="github",result="signature",route="shadow"}`]; !ok {
			t.Error("the log_only route's forged request is not counted")
		}
		if _, ok := after[`caddy_webhook_verify_requests_total{mode="enforce",provider="github",result="signature",route="shadow"}`]; ok {
			t.Error("the log_only route's forged request is counted as enforce mode")
		}
		// The storage route has no name: its route label is Caddy's server name.
		if _, ok := after[`caddy_webhook_verify_requests_total{mode="enforce",provider="stripe",result="verified",route="srv0"}`]; !ok {
			t.Error("no series for the unnamed route under the server name srv0")
		}
		if n := after[`caddy_webhook_verify_replay_entries{namespace="stripe/stripe-main"}`]; n < 3 {
			t.Errorf("replay entries for namespace stripe/stripe-main = %v, want at least the 3 accepted memory entries", n)
		}

		// A reload keeps the counters counting.
		tc.InitServer(globalOptions()+fmt.Sprintf(opsConfig, srv.Listener.Addr().String(), stripeTestSecret,
			testHTTPPort, t.TempDir(), ghSecret), "caddyfile")
		reloaded := scrape(t)
		s := `caddy_webhook_verify_requests_total{mode="enforce",provider="stripe",result="verified",route="stripe-main"}`
		if reloaded[s] < after[s] {
			t.Errorf("%s went from %v to %v across a reload", s, after[s], reloaded[s])
		}
	})
}

var seriesLine = regexp.MustCompile(`^(caddy_webhook_verify_[a-z_]+(?:\{[^}]*\})?) ([0-9.e+-]+)$`)

// scrape reads this module's series from the admin /metrics endpoint.
func scrape(t *testing.T) map[string]float64 {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://localhost:%d/metrics", testAdminPort))
	if err != nil {
		t.Fatalf("scraping /metrics: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if m := seriesLine.FindStringSubmatch(line); m != nil {
			v, _ := strconv.ParseFloat(m[2], 64)
			out[m[1]] = v
		}
	}
	if len(out) == 0 {
		t.Fatalf("no caddy_webhook_verify series in /metrics:\n%.2000s", b)
	}
	return out
}
