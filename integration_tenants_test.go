package webhookverify

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/caddyserver/certmagic"
)

// TestIntegrationTenants (issue 18, part 1): secrets looked up per
// request, through the real Caddy, from a directory (secret_from file)
// and from Caddy's configured storage (secret_from storage, the
// file_system module here). Tenants are added while Caddy runs; the
// deliveries are the providers' published vectors (GitHub's docs and
// octokit's, Standard Webhooks', stripe-dotnet's: see
// integration_providers_vectors_test.go).
func TestIntegrationTenants(t *testing.T) {
	if testing.Short() {
		t.Skip("caddytest integration test")
	}
	dir := t.TempDir()
	storeDir := t.TempDir()
	store := &certmagic.FileStorage{Path: storeDir}
	for _, d := range []string{"github", "stripe"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	up := &upstream{}
	hs := httptest.NewServer(up)
	t.Cleanup(hs.Close)
	srv := hs.Listener.Addr().String()
	route := func(path, provider, source, opts string) string {
		return `
	handle ` + path + ` {
		webhook_verify ` + provider + ` {
			secret_from ` + source + ` {
				negative_ttl 1s
			}
			` + opts + `
		}
		request_header X-Tenant {http.webhook_verify.tenant}
		request_header X-Key {http.webhook_verify.key}
		reverse_proxy ` + srv + `
	}`
	}
	ns := strconv.FormatInt(time.Now().UnixNano(), 36)
	config := strings.Replace(globalOptions(), "grace_period 1ns\n", "grace_period 1ns\n\tstorage file_system "+storeDir+"\n", 1) + `
http://localhost:` + strconv.Itoa(testHTTPPort) + ` {` +
		route("/file/github/*", "github", "file "+dir+"/github/{http.request.uri.path.2}", "replay {\n namespace tn-file-"+ns+"\n }") +
		route("/store/github/*", "github", "storage webhook-secrets/github/{http.request.uri.path.2}", "replay {\n namespace tn-store-"+ns+"\n }") +
		route("/query/github", "github", "file "+dir+"/github/{http.request.uri.query.tenant}", "") +
		route("/store/svix/*", "standard_webhooks", "storage webhook-secrets/svix/{http.request.uri.path.2}", "tolerance off") +
		route("/file/stripe/*", "stripe", "file "+dir+"/stripe/{http.request.uri.path.2}", "tolerance off") +
		route("/store/x/*", "twitter", "storage webhook-secrets/x/{path.2}", "") + `
}
`
	tc := newTester(t)
	tc.InitServer(config, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	writers := map[string]func(t *testing.T, tenant, secret string){
		"file": func(t *testing.T, tenant, secret string) {
			t.Helper()
			if err := os.WriteFile(filepath.Join(dir, "github", tenant), []byte(secret), 0o600); err != nil {
				t.Fatal(err)
			}
		},
		"store": func(t *testing.T, tenant, secret string) {
			t.Helper()
			if err := store.Store(context.Background(), "webhook-secrets/github/"+tenant, []byte(secret)); err != nil {
				t.Fatal(err)
			}
		},
	}
	broken := map[string]string{"file": filepath.Join(dir, "github", "broken"), "store": filepath.Join(storeDir, "webhook-secrets", "github", "broken")}
	gh := func(sig string) map[string]string {
		return map[string]string{"X-Hub-Signature-256": "sha256=" + sig, "X-GitHub-Delivery": e2eGhDelivery, "X-GitHub-Event": "ping", "Content-Type": "application/json"}
	}
	docs := gh(e2eGhDocsSig)
	escapes := gh(e2eGhEscapesSig)
	for _, src := range []string{"file", "store"} {
		t.Run(src, func(t *testing.T) {
			write := writers[src]
			base := "/" + src + "/github/"
			tenantKey := map[string]string{"file": dir + "/github/", "store": "webhook-secrets/github/"}[src]
			write(t, "beta", e2eGhDevSecret+"\n")
			tnForward(t, tc, up, "beta: its own delivery", base+"beta", escapes, e2eGhEscapesBody, tenantKey+"beta", "1")
			tnRefuse(t, tc, up, "beta: the same delivery again (duplicate)", base+"beta", escapes, e2eGhEscapesBody, 200)

			// An unknown tenant is answered as a wrong signature is.
			unknown := tnRefuse(t, tc, up, "acme: unknown", base+"acme", docs, e2eGhDocsBody, 401)
			wrong := tnRefuse(t, tc, up, "beta: acme's delivery (another tenant's signature)", base+"beta", docs, e2eGhDocsBody, 401)
			tnSameAnswer(t, "unknown tenant and wrong signature", unknown, wrong)
			noSigUnknown := tnRefuse(t, tc, up, "acme: unknown, no signature", base+"acme", map[string]string{"Content-Type": "application/json"}, e2eGhDocsBody, 400)
			noSigKnown := tnRefuse(t, tc, up, "beta: no signature", base+"beta", map[string]string{"Content-Type": "application/json"}, e2eGhDocsBody, 400)
			tnSameAnswer(t, "unknown and known tenant without a signature", noSigUnknown, noSigKnown)

			// Added while Caddy runs: works once the miss (negative_ttl 1s)
			// has expired, without a reload.
			write(t, "acme", e2eGhDocsSecret+"\n")
			time.Sleep(1100 * time.Millisecond)
			tnForward(t, tc, up, "acme: written at run time", base+"acme", docs, e2eGhDocsBody, tenantKey+"acme", "1")
			tnRefuse(t, tc, up, "acme: beta's delivery", base+"acme", escapes, e2eGhEscapesBody, 401)

			// The replay namespace keeps tenants apart: the same delivery
			// (same secret, same signature) for another tenant is new.
			write(t, "acme-2", e2eGhDocsSecret)
			tnForward(t, tc, up, "acme-2: the same secret and delivery as acme", base+"acme-2", docs, e2eGhDocsBody, tenantKey+"acme-2", "1")

			// Rotation: two lines, the current first; the old one still verifies.
			write(t, "gamma", "a-new-secret-not-yet-used\r\n"+e2eGhDocsSecret+"\r\n")
			tnForward(t, tc, up, "gamma: signed with its second line", base+"gamma", docs, e2eGhDocsBody, tenantKey+"gamma", "2")

			// Names a request cannot use (checked before any look-up).
			tnRefuse(t, tc, up, "hidden file", base+".beta", escapes, e2eGhEscapesBody, 400)
			tnRefuse(t, tc, up, "escaped name", base+"be%20ta", escapes, e2eGhEscapesBody, 400)
			tnRefuse(t, tc, up, "long name", base+strings.Repeat("b", 65), escapes, e2eGhEscapesBody, 400)

			// A failed look-up (a directory where the value should be) is 503.
			if err := os.MkdirAll(broken[src], 0o755); err != nil {
				t.Fatal(err)
			}
			tnRefuse(t, tc, up, "storage error", base+"broken", docs, e2eGhDocsBody, 503)
		})
	}
	t.Run("query tenant, traversal", func(t *testing.T) {
		for _, q := range []string{"..", "%2e%2e", "..%2fbeta", "%2fetc%2fpasswd", "beta%2f..%2f..%2fx", "", ".", "a%00"} {
			tnRefuse(t, tc, up, "tenant="+q, "/query/github?tenant="+q, escapes, e2eGhEscapesBody, 400)
		}
		tnRefuse(t, tc, up, "no tenant", "/query/github", escapes, e2eGhEscapesBody, 400)
		tnForward(t, tc, up, "tenant=beta", "/query/github?tenant=beta", escapes, e2eGhEscapesBody, dir+"/github/beta", "1")
	})
	t.Run("standard webhooks, whsec_ secret as the dashboard shows it", func(t *testing.T) {
		if err := store.Store(context.Background(), "webhook-secrets/svix/shop", []byte(e2eSwSecret+"\n")); err != nil {
			t.Fatal(err)
		}
		h := map[string]string{"webhook-id": e2eSwID, "webhook-timestamp": e2eSwTS, "webhook-signature": "v1," + e2eSwV1, "Content-Type": "application/json"}
		tnForward(t, tc, up, "shop", "/store/svix/shop", h, e2eSwBody, "webhook-secrets/svix/shop", "1")
		tnRefuse(t, tc, up, "other shop", "/store/svix/other", h, e2eSwBody, 401)
		// A value the provider cannot use is the operator's mistake: 503
		// (the provider retries), logged without the value.
		if err := store.Store(context.Background(), "webhook-secrets/svix/bad", []byte("whsec_!!!not-base64\n")); err != nil {
			t.Fatal(err)
		}
		tnRefuse(t, tc, up, "unusable secret", "/store/svix/bad", h, e2eSwBody, 503)
	})
	t.Run("x crc", func(t *testing.T) { tnCRC(t, tc, store) })
	t.Run("stripe", func(t *testing.T) {
		if err := os.WriteFile(filepath.Join(dir, "stripe", "acct_1"), []byte(e2eStripeDotnetSecret), 0o600); err != nil {
			t.Fatal(err)
		}
		h := map[string]string{"Stripe-Signature": "t=" + strconv.Itoa(e2eStripeDotnetT) + ",v1=" + e2eStripeDotnetV1, "Content-Type": "application/json; charset=utf-8"}
		tnForward(t, tc, up, "acct_1", "/file/stripe/acct_1", h, e2eStripeDotnetBody(), dir+"/stripe/acct_1", "1")
		tnRefuse(t, tc, up, "acct_2", "/file/stripe/acct_2", h, e2eStripeDotnetBody(), 401)
	})
}

// TestIntegrationTenants' X CRC: the handshake is answered with the
// tenant's secret: response_token is sha256= and the base64 HMAC-SHA256
// of crc_token under the consumer secret (X's "Securing webhooks" docs,
// computed here with crypto/hmac).
func tnCRC(t *testing.T, tc *caddytest.Tester, store *certmagic.FileStorage) {
	const secret, token = "x-consumer-secret-of-tenant-one", "crc-token-0123"
	if err := store.Store(context.Background(), "webhook-secrets/x/one", []byte(secret)); err != nil {
		t.Fatal(err)
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(token))
	want := `{"response_token":"sha256=` + base64.StdEncoding.EncodeToString(m.Sum(nil)) + `"}`
	status, got, _ := e2eDo(t, tc, "GET", "/store/x/one?crc_token="+token, nil, nil)
	if status != 200 || got != want {
		t.Fatalf("CRC of tenant one: %d %s, want 200 %s", status, got, want)
	}
	status, got, _ = e2eDo(t, tc, "GET", "/store/x/two?crc_token="+token, nil, nil)
	if status != 200 || got == want {
		t.Fatalf("CRC of an unknown tenant: %d %s, want 200 with another token", status, got)
	}
}

// tnAnswer is what a client sees of a refusal.
type tnAnswer struct {
	status int
	body   string
	header http.Header
}

// tnForward sends a delivery that must reach the upstream once, with the
// tenant and key placeholders.
func tnForward(t *testing.T, tc *caddytest.Tester, up *upstream, name, path string, headers map[string]string, body, tenant, key string) {
	t.Helper()
	upPath, _, _ := strings.Cut(path, "?")
	before := len(up.requests(upPath))
	status, got, _ := e2eDo(t, tc, "POST", path, headers, []byte(body))
	if status != 200 {
		t.Fatalf("%s: status %d (%q), want 200", name, status, got)
	}
	reqs := up.requests(upPath)
	if len(reqs) != before+1 {
		t.Fatalf("%s: the upstream saw %d requests, want 1", name, len(reqs)-before)
	}
	last := reqs[len(reqs)-1]
	if string(last.body) != body || last.header.Get("X-Tenant") != tenant || last.header.Get("X-Key") != key {
		t.Fatalf("%s: upstream got tenant %q key %q (body equal %v); want %q %q", name,
			last.header.Get("X-Tenant"), last.header.Get("X-Key"), string(last.body) == body, tenant, key)
	}
}

// tnRefuse sends a delivery that must not reach the upstream and returns
// the answer.
func tnRefuse(t *testing.T, tc *caddytest.Tester, up *upstream, name, path string, headers map[string]string, body string, want int) tnAnswer {
	t.Helper()
	upPath, _, _ := strings.Cut(path, "?")
	before := tnCount(up)
	status, got, h := e2eDo(t, tc, "POST", path, headers, []byte(body))
	if status != want {
		t.Fatalf("%s: status %d (%q), want %d", name, status, got, want)
	}
	if n := tnCount(up) - before; n != 0 {
		t.Fatalf("%s: forwarded (%d requests; path %s)", name, n, upPath)
	}
	h.Del("Date")
	return tnAnswer{status, got, h}
}

// tnSameAnswer fails unless two refusals look the same to the client.
func tnSameAnswer(t *testing.T, what string, a, b tnAnswer) {
	t.Helper()
	if a.status != b.status || a.body != b.body || len(a.header) != len(b.header) {
		t.Fatalf("%s: answers differ: %d %q %v / %d %q %v", what, a.status, a.body, a.header, b.status, b.body, b.header)
	}
	for k := range a.header {
		if strings.Join(a.header[k], ",") != strings.Join(b.header[k], ",") {
			t.Fatalf("%s: header %s differs: %q / %q", what, k, a.header[k], b.header[k])
		}
	}
}

// tnCount is the number of requests the upstream saw.
func tnCount(up *upstream) int {
	up.mu.Lock()
	defer up.mu.Unlock()
	return len(up.got)
}
