//go:build unix

package webhookverify

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

const attestConfig = `
http://localhost:%[2]d {
	handle /att-gh {
		webhook_verify github {
			secret "%[3]s"
			replay off
			attest %[4]s %[5]s
		}
		reverse_proxy %[1]s
	}
	handle /att-sw {
		webhook_verify standard_webhooks {
			secret %[6]s
			attest %[4]s
		}
		reverse_proxy %[1]s
	}
	handle /att-shadow {
		webhook_verify github {
			secret "%[3]s"
			mode log_only
			replay off
			attest %[4]s
		}
		reverse_proxy %[1]s
	}
	handle /att-q {
		webhook_verify standard_webhooks {
			secret %[6]s
			attest %[4]s
		}
		webhook_queue {
			name attest-%[8]s
			store file %[7]s
			backoff 2s 3s
			attest %[4]s
			deliver {
				reverse_proxy %[1]s
			}
		}
	}
}
`

// attestApp is what a Standard Webhooks library on the app side checks.
type attestApp struct {
	v1   *standardwebhooks.Webhook
	v1a  ed25519.PublicKey
	both bool // the route signs with the whsk_ key too
}

// check verifies the attestation the upstream received, as an app would.
func (a attestApp) check(t *testing.T, what string, got recorded) {
	t.Helper()
	if err := a.v1.Verify(got.body, got.header); err != nil {
		t.Errorf("%s: the standard-webhooks Go library refuses the attestation: %v", what, err)
	}
	id, ts, list := got.header.Get("Webhook-Id"), got.header.Get("Webhook-Timestamp"), got.header.Get("Webhook-Signature")
	n := 0
	for _, e := range strings.Split(list, " ") {
		v, sig, _ := strings.Cut(e, ",")
		if v != "v1a" {
			continue
		}
		n++
		b, _ := base64.StdEncoding.DecodeString(sig)
		if !ed25519.Verify(a.v1a, append([]byte(id+"."+ts+"."), got.body...), b) {
			t.Errorf("%s: the v1a entry does not verify with the whpk_ key", what)
		}
	}
	if want := map[bool]int{true: 1}[a.both]; n != want {
		t.Errorf("%s: %d v1a entries in %q, want %d", what, n, list, want)
	}
}

// TestIntegrationAttest: through Caddy, the upstream receives the exact
// body with the gate's Standard Webhooks attestation, which the reference
// Go library (v1), Ed25519 (v1a) and, in node, the npm standardwebhooks
// library (v1) and node:crypto (v1a) accept; what the client or the
// provider sent under those names never reaches it; an unverified request
// in log_only mode is passed on without any; and behind webhook_queue each
// attempt is signed anew.
func TestIntegrationAttest(t *testing.T) {
	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	dir := t.TempDir()
	tc := newTester(t)
	tc.InitServer(globalOptions()+fmt.Sprintf(attestConfig, srv.Listener.Addr().String(), testHTTPPort, ghSecret,
		attestA, attestK, swSecret, filepath.Join(dir, "queue.db"), strconv.FormatInt(time.Now().UnixNano(), 36)), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	lib, err := standardwebhooks.NewWebhook(attestA)
	if err != nil {
		t.Fatal(err)
	}
	pub := attestPriv.Public().(ed25519.PublicKey)
	v1only, both := attestApp{v1: lib, v1a: pub}, attestApp{v1: lib, v1a: pub, both: true}
	// Headers a client adds to pass for attested, on a provider that is
	// not Standard Webhooks.
	forged := map[string]string{"Webhook-Id": "github:sig:00", "Webhook-Timestamp": strconv.FormatInt(time.Now().Unix(), 10),
		"Webhook-Signature": "v1,AAAA", "Svix-Id": "msg_x", "Svix-Timestamp": "1", "Svix-Signature": "v1,AAAA"}
	gh := func(body []byte, extra map[string]string) map[string]string {
		s, err := verifiers.Sign("github", verifiers.SignRequest{Secret: ghSecret, Body: body})
		if err != nil {
			t.Fatal(err)
		}
		h := map[string]string{"X-GitHub-Event": "push", "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"}
		for k := range s.Header {
			h[k] = s.Header.Get(k)
		}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	last := func(path string, n int) recorded {
		t.Helper()
		got := up.requests(path)
		if len(got) != n {
			t.Fatalf("%s: the upstream saw %d requests, want %d", path, len(got), n)
		}
		return got[n-1]
	}
	var forNode []recorded
	var nodeWant []attestApp
	ghID := regexp.MustCompile(`^github:sig:[0-9a-f]{64}$`)

	// A GitHub delivery: attested with both keys, the client's webhook-*
	// and svix-* headers replaced, the provider's own headers kept.
	body1 := []byte(`{"ref":"refs/heads/main","note":"caf` + "\u00e9" + ` ✓"}`)
	if st, msg := post(t, tc, "/att-gh", gh(body1, forged), body1); st != 200 {
		t.Fatalf("/att-gh: %d %q", st, msg)
	}
	g1 := last("/att-gh", 1)
	if !bytes.Equal(g1.body, body1) {
		t.Errorf("upstream body %q, want %q", g1.body, body1)
	}
	if id := g1.header.Get("Webhook-Id"); !ghID.MatchString(id) {
		t.Errorf("webhook-id %q, want github:sig:<sha256 hex>", id)
	}
	for _, n := range []string{"Svix-Id", "Svix-Timestamp", "Svix-Signature"} {
		if v := g1.header.Get(n); v != "" {
			t.Errorf("%s: %q reached the upstream", n, v)
		}
	}
	if g1.header.Get("X-Github-Event") != "push" || g1.header.Get("X-Hub-Signature-256") == "" || len(g1.header.Values("Webhook-Signature")) != 1 {
		t.Errorf("upstream headers %v: want the provider's kept and one webhook-signature", g1.header)
	}
	both.check(t, "github", g1)
	forNode, nodeWant = append(forNode, g1), append(nodeWant, both)

	// Another delivery: another webhook-id.
	body2 := []byte(`{"ref":"refs/heads/dev"}`)
	if st, _ := post(t, tc, "/att-gh", gh(body2, nil), body2); st != 200 {
		t.Fatalf("/att-gh second delivery: %d", st)
	}
	if g2 := last("/att-gh", 2); g2.header.Get("Webhook-Id") == g1.header.Get("Webhook-Id") || !ghID.MatchString(g2.header.Get("Webhook-Id")) {
		t.Errorf("two deliveries share webhook-id %q", g1.header.Get("Webhook-Id"))
	}

	// A Standard Webhooks provider: its own headers give way to the
	// gate's, the delivery id kept in the webhook-id.
	swBody := []byte(`{"type":"user.created","data":{"id":1}}`)
	msgID := uniqueID("msg")
	s, err := verifiers.Sign("standard_webhooks", verifiers.SignRequest{Secret: swSecret, ID: msgID, Body: swBody})
	if err != nil {
		t.Fatal(err)
	}
	swh := map[string]string{"Content-Type": "application/json"}
	for k := range s.Header {
		swh[k] = s.Header.Get(k)
	}
	if st, msg := post(t, tc, "/att-sw", swh, swBody); st != 200 {
		t.Fatalf("/att-sw: %d %q", st, msg)
	}
	g3 := last("/att-sw", 1)
	if id := g3.header.Get("Webhook-Id"); id != "standard_webhooks:id:"+msgID {
		t.Errorf("webhook-id %q, want standard_webhooks:id:%s", id, msgID)
	}
	if g3.header.Get("Webhook-Signature") == s.Header.Get("Webhook-Signature") || !bytes.Equal(g3.body, swBody) {
		t.Errorf("the provider's signature reached the upstream: %v", g3.header)
	}
	v1only.check(t, "standard_webhooks", g3)
	forNode, nodeWant = append(forNode, g3), append(nodeWant, v1only)

	// log_only: a forged request goes on without any Standard Webhooks
	// header; a verified one is attested.
	if st, _ := post(t, tc, "/att-shadow", gh(body1, e2eWith(forged, "X-Hub-Signature-256", "sha256="+strings.Repeat("0", 64))), body1); st != 200 {
		t.Fatalf("/att-shadow forged: %d", st)
	}
	g4 := last("/att-shadow", 1)
	for _, n := range attestHeaders {
		if v := g4.header.Get(n); v != "" {
			t.Errorf("log_only, unverified: %s %q reached the upstream", n, v)
		}
	}
	if st, _ := post(t, tc, "/att-shadow", gh(body2, forged), body2); st != 200 {
		t.Fatalf("/att-shadow verified: %d", st)
	}
	g5 := last("/att-shadow", 2)
	v1only.check(t, "log_only verified", g5)

	// Behind webhook_queue: the app fails the first attempt; the second
	// carries the same webhook-id, a later timestamp and a signature that
	// verifies at that time.
	up.mu.Lock()
	up.code = http.StatusInternalServerError
	up.mu.Unlock()
	qID := uniqueID("msg")
	s, err = verifiers.Sign("standard_webhooks", verifiers.SignRequest{Secret: swSecret, ID: qID, Body: swBody})
	if err != nil {
		t.Fatal(err)
	}
	qh := map[string]string{"Content-Type": "application/json"}
	for k := range s.Header {
		qh[k] = s.Header.Get(k)
	}
	if st, msg := post(t, tc, "/att-q", qh, swBody); st != 200 {
		t.Fatalf("/att-q: %d %q", st, msg)
	}
	if !waitFor(10*time.Second, func() bool { return len(up.requests("/att-q")) >= 1 }) {
		t.Fatal("/att-q: no delivery attempt")
	}
	up.mu.Lock()
	up.code = 0
	up.mu.Unlock()
	if !waitFor(15*time.Second, func() bool { return len(up.requests("/att-q")) >= 2 }) {
		t.Fatal("/att-q: no second attempt")
	}
	q := up.requests("/att-q")
	for i, g := range q[:2] {
		if g.header.Get("Webhook-Id") != "standard_webhooks:id:"+qID || !bytes.Equal(g.body, swBody) {
			t.Errorf("queue attempt %d: webhook-id %q body %q", i+1, g.header.Get("Webhook-Id"), g.body)
		}
		v1only.check(t, fmt.Sprintf("queue attempt %d", i+1), g)
	}
	t1, _ := strconv.ParseInt(q[0].header.Get("Webhook-Timestamp"), 10, 64)
	t2, _ := strconv.ParseInt(q[1].header.Get("Webhook-Timestamp"), 10, 64)
	if t2 <= t1 {
		t.Errorf("queue attempts signed at %d then %d: the second attempt was not signed anew", t1, t2)
	}
	forNode, nodeWant = append(forNode, q[1]), append(nodeWant, v1only)

	nodeCheckAttestation(t, forNode, nodeWant)
}

// nodeCheckAttestation runs testdata/sdk/verify.mjs on what the upstream
// received: the npm standardwebhooks library (v1) and node:crypto (v1a),
// each delivery as received (must pass) and with its body changed (must
// not). It skips without node or `npm ci` in testdata/sdk, unless
// WEBHOOK_VERIFY_REQUIRE_NODE=1 (CI).
func nodeCheckAttestation(t *testing.T, got []recorded, apps []attestApp) {
	t.Helper()
	const dir = "testdata/sdk"
	node, err := exec.LookPath("node")
	if _, statErr := os.Stat(filepath.Join(dir, "node_modules")); err != nil || statErr != nil {
		if os.Getenv("WEBHOOK_VERIFY_REQUIRE_NODE") == "1" {
			t.Fatalf("node or %s/node_modules missing (run npm ci there): %v %v", dir, err, statErr)
		}
		t.Logf("node or %s/node_modules missing: app-side check in node skipped", dir)
		return
	}
	type nodeCase struct {
		Name      string            `json:"name"`
		SDK       string            `json:"sdk"`
		Secret    string            `json:"secret,omitempty"`
		PublicKey string            `json:"publicKey,omitempty"`
		Headers   map[string]string `json:"headers"`
		Body      string            `json:"body"`
		want      bool
	}
	var cases []nodeCase
	for i, g := range got {
		h := map[string]string{}
		for k := range g.header {
			h[strings.ToLower(k)] = g.header.Get(k)
		}
		tampered := bytes.Replace(g.body, []byte("e"), []byte("E"), 1)
		sdks := []nodeCase{{SDK: "standardwebhooks", Secret: attestA}}
		if apps[i].both {
			sdks = append(sdks, nodeCase{SDK: "standardwebhooks-v1a", PublicKey: attestKPub})
		}
		for _, c := range sdks {
			c.Name, c.Headers = fmt.Sprintf("%d %s", i, c.SDK), h
			c.Body, c.want = base64.StdEncoding.EncodeToString(g.body), true
			bad := c
			bad.Name += " tampered"
			bad.Body, bad.want = base64.StdEncoding.EncodeToString(tampered), false
			cases = append(cases, c, bad)
		}
	}
	in, err := json.Marshal(cases)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "verify.mjs")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node verify.mjs: %v\n%s", err, stderr.String())
	}
	var results []struct {
		Name  string `json:"name"`
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.Unmarshal(out, &results); err != nil || len(results) != len(cases) {
		t.Fatalf("node output %q: %v", out, err)
	}
	for i, r := range results {
		if r.OK != cases[i].want {
			t.Errorf("node %s: ok = %v, want %v (%s)", r.Name, r.OK, cases[i].want, r.Error)
		}
	}
}
