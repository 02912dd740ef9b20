package webhookverify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"
)

// TestIntegrationReplayEntriesPerCache: caddy_webhook_verify_replay_entries
// reports each in-memory cache once. Two routes sharing a namespace share
// one cache (one series, their deliveries summed); a route on another
// namespace has its own; two routes of one provider without a namespace
// (other secrets: a cache each) are told apart by their names instead of
// being summed under the provider's name.
func TestIntegrationReplayEntriesPerCache(t *testing.T) {
	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	// Namespaces and secrets of this run: the caches outlive config loads.
	run := time.Now().UnixNano()
	shared, other := fmt.Sprintf("re-shared-%d", run), fmt.Sprintf("re-other-%d", run)
	ghA, ghB := fmt.Sprintf("gh-a-%d", run), fmt.Sprintf("gh-b-%d", run)
	stD, stE := fmt.Sprintf("whsec_d_%d", run), fmt.Sprintf("whsec_e_%d", run)
	route := func(path, provider, secret, extra string) string {
		return fmt.Sprintf(`
	handle %s {
		webhook_verify %s {
			secret %s
			%s
		}
		reverse_proxy %s
	}`, path, provider, secret, extra, srv.Listener.Addr().String())
	}
	tc := newTester(t)
	tc.InitServer(globalOptions()+fmt.Sprintf("http://localhost:%d {", testHTTPPort)+
		route("/re/a", "github", ghA, "name re-a\n\t\t\treplay {\n\t\t\t\tnamespace "+shared+"\n\t\t\t}")+
		route("/re/b", "github", ghB, "name re-b\n\t\t\treplay {\n\t\t\t\tnamespace "+shared+"\n\t\t\t}")+
		route("/re/c", "github", ghA, "name re-c\n\t\t\treplay {\n\t\t\t\tnamespace "+other+"\n\t\t\t}")+
		route("/re/d", "stripe", stD, "name re-d")+
		route("/re/e", "stripe", stE, "name re-e")+"\n}\n", "caddyfile")
	if t.Failed() {
		t.FailNow()
	}

	n := 0
	github := func(path, secret string) {
		n++
		body := []byte(fmt.Sprintf(`{"run":%d,"n":%d}`, run, n))
		m := hmac.New(sha256.New, []byte(secret))
		m.Write(body)
		if st, _ := post(t, tc, path, map[string]string{"X-Hub-Signature-256": "sha256=" + hex.EncodeToString(m.Sum(nil))}, body); st != 200 {
			t.Fatalf("%s: %d, want 200", path, st)
		}
	}
	stripe := func(path, secret string) {
		n++
		body := []byte(fmt.Sprintf(`{"id":"evt_re_%d_%d","object":"event"}`, run, n))
		if st, _ := post(t, tc, path, map[string]string{"Stripe-Signature": signStripe(secret, time.Now().Unix(), body)}, body); st != 200 {
			t.Fatalf("%s: %d, want 200", path, st)
		}
	}
	github("/re/a", ghA)
	github("/re/a", ghA)
	github("/re/b", ghB)
	github("/re/c", ghA)
	stripe("/re/d", stD)
	stripe("/re/d", stD)
	stripe("/re/e", stE)

	got := scrape(t)
	for _, c := range []struct {
		namespace string
		want      float64
	}{
		{shared, 3},
		{other, 1},
		{"stripe/re-d", 2},
		{"stripe/re-e", 1},
	} {
		s := fmt.Sprintf(`caddy_webhook_verify_replay_entries{namespace="%s"}`, c.namespace)
		if v, ok := got[s]; !ok || v != c.want {
			t.Errorf("%s = %v (reported: %v), want %v", s, v, ok, c.want)
		}
	}
	if v, ok := got[`caddy_webhook_verify_replay_entries{namespace="stripe"}`]; ok {
		t.Errorf(`the two stripe caches are summed under namespace="stripe" (%v)`, v)
	}
}
