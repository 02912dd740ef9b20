package webhookverify

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// End-to-end tests of every registered provider through Caddy: one Caddy
// config (e2eRoutes, rendered by e2eCaddyfile) with a route per provider or case,
// each `webhook_verify <provider> {...}` followed by `reverse_proxy` to a
// recording upstream. Each provider's published example must come through
// with a 2xx and reach the upstream byte for byte, a second copy must be
// answered as a duplicate without reaching it, and a tampered copy must get
// the status of DESIGN.md's table without reaching it.
//
// The vectors are copied from verifiers/*_test.go (package verifiers, so
// they cannot be imported), with the citations given there. Where the
// published example is older than the timestamp tolerance, its route says
// `tolerance off`, and a "-stale" route with the default tolerance shows the
// same example refused with 401. The upstream also receives the
// placeholders (provider, id, key, timestamp) as X-Wv-* headers through
// header_up, so the matching key's position is checked for every example.
//
// Not covered: a genuine SNS SubscriptionConfirmation with auto_confirm,
// which makes Caddy fetch its SubscribeURL on an AWS host (the handler has
// no hook for an HTTP client), and MailChannels' key fetch (its routes
// configure public_key, so nothing is fetched).

// e2eRoute is one `handle <path>` block of the test config.
type e2eRoute struct {
	path     string
	provider string
	opts     string // lines of the webhook_verify block (a replay namespace is added)
}

// e2eCase is one request and what must become of it.
type e2eCase struct {
	name    string
	path    string // a route path, optionally with a query string
	headers map[string]string
	body    []byte
	want    int
	forward bool
	// For forwarded requests, the placeholders the upstream must receive
	// (through header_up): the matching key's position, the delivery id ("":
	// not checked) and the verified timestamp in Unix seconds ("-": must be
	// unset).
	key, id, ts string
	// For rejections: a WWW-Authenticate challenge is required.
	challenge bool
	// A verified copy of a delivery already accepted: 200, not forwarded.
	duplicate bool
}

func e2eOK(name, path string, h map[string]string, body []byte, key int, id, ts string) e2eCase {
	return e2eCase{name: name, path: path, headers: h, body: body, want: 200, forward: true, key: strconv.Itoa(key + 1), id: id, ts: ts}
}

func e2eReject(name, path string, h map[string]string, body []byte, want int) e2eCase {
	return e2eCase{name: name, path: path, headers: h, body: body, want: want}
}

// e2eWith returns a copy of h with the given name/value pairs set (an empty
// value deletes).
func e2eWith(h map[string]string, kv ...string) map[string]string {
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(out, kv[i])
		} else {
			out[kv[i]] = kv[i+1]
		}
	}
	return out
}

// e2eReplace replaces old by new once in b and panics if old is absent, so
// a tampering cannot silently not happen.
func e2eReplace(b []byte, old, new string) []byte {
	if !bytes.Contains(b, []byte(old)) {
		panic(fmt.Sprintf("e2e fixture does not contain %q", old))
	}
	return bytes.Replace(b, []byte(old), []byte(new), 1)
}

func e2eUnix(rfc3339 string) string {
	ts, err := time.Parse(time.RFC3339Nano, rfc3339)
	if err != nil {
		panic(err)
	}
	return strconv.FormatInt(ts.Unix(), 10)
}

func e2eReadFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// e2eMailgunMultipart builds an inbound-route style multipart body around
// the signature fields (as in verifiers/mailgun_test.go, with a fixed
// boundary).
func e2eMailgunMultipart(token string) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	if err := w.SetBoundary("e2e-mailgun-0123456789"); err != nil {
		panic(err)
	}
	fields := [][2]string{
		{"recipient", "bob@example.com"}, {"body-plain", "Hi Bob"},
		{"timestamp", e2eMailgunTimestamp}, {"token", token}, {"signature", e2eMailgunSig},
		{"stripped-text", "after the signature"},
	}
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			panic(err)
		}
	}
	if err := w.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes(), w.FormDataContentType()
}

// e2eRoutes is the test config: one route per provider or case.
func e2eRoutes(phpCert, snsCert string) []e2eRoute {
	php := e2eSnsPHPVectors
	return append([]e2eRoute{
		{"/standard_webhooks", "standard_webhooks", "secret " + e2eSwSecret + "\ntolerance off"},
		{"/standard_webhooks-v1a", "standard_webhooks", "public_key " + e2eSwPK + "\ntolerance off"},
		{"/svix", "svix", "secret " + e2eSwSecret + "\ntolerance off"},
		{"/svix-v1a", "svix", "public_key " + e2eSvixPK + "\ntolerance off"},
		{"/svix-stale", "svix", "secret " + e2eSwSecret},
		{"/resend", "resend", "secret " + e2eSwSecret + "\ntolerance off"},

		{"/stripe", "stripe", "secret " + e2eStripeDotnetSecret + "\ntolerance off"},
		{"/stripe-stale", "stripe", "secret " + e2eStripeDotnetSecret},

		{"/github", "github", fmt.Sprintf("secret %q\nsecret %s", e2eGhDocsSecret, e2eGhDevSecret)},

		{"/slack", "slack", "secret " + e2eSlackDocsSecret + "\ntolerance off"},
		{"/slack-stale", "slack", "secret " + e2eSlackDocsSecret},

		{"/shopify", "shopify", "secret " + e2eShopifySecret},

		{"/paddle", "paddle", "secret " + e2ePaddleGoSecret + "\ntolerance off"},
		{"/paddle-rotation", "paddle", "secret " + strings.Join(e2ePaddlePySecrets, "\nsecret ") + "\ntolerance off"},
		{"/paddle-stale", "paddle", "secret " + e2ePaddleGoSecret},

		{"/maildesk", "maildesk", "secret " + e2eMaildeskSecret + "\ntolerance off"},
		{"/maildesk-stale", "maildesk", "secret " + e2eMaildeskSecret},

		// AutoSend's timestamp is not signed: its route keeps the default
		// tolerance and the test sends a fresh one.
		{"/autosend", "autosend", "secret " + e2eAutosendSecret},

		{"/hmac-stripe", "hmac", "secret " + e2eStripeDotnetSecret + `
signature_header Stripe-Signature
separator ,
prefix v1=
timestamp_key t=
content "{timestamp}.{body}"
tolerance off`},
		{"/hmac-x5", "hmac", "secret " + e2eRcX5Secret + `
signature_header X-Sig
prefix sha512=
hash sha512
encoding base64url
secret_encoding base64
content "v2|{id}|{timestamp}|{body}"
timestamp_header X-Ts ms
id_header X-Id
tolerance off`},
		{"/hmac-x5-stale", "hmac", "secret " + e2eRcX5Secret + `
signature_header X-Sig
prefix sha512=
hash sha512
encoding base64url
secret_encoding base64
content "v2|{id}|{timestamp}|{body}"
timestamp_header X-Ts ms
id_header X-Id`},

		{"/sendgrid", "sendgrid", "public_key " + e2eSgKeyA + "\npublic_key " + e2eSgKeyB + "\ntolerance off"},
		{"/sendgrid-stale", "sendgrid", "public_key " + e2eSgKeyA},

		// SNS checks no timestamp unless a positive tolerance is set.
		{"/sns", "sns", fmt.Sprintf("certificate %q\ncertificate %q\ntopic_arn %s %s %s %s %s", phpCert, snsCert,
			php[0]["TopicArn"], php[1]["TopicArn"], php[2]["TopicArn"], php[3]["TopicArn"], "arn:aws:sns:us-east-1:123456789012:MyTopic")},
		{"/sns-stale", "sns", fmt.Sprintf("certificate %q\ntolerance 5m", phpCert)},
		{"/sns-topic", "sns", fmt.Sprintf("certificate %q\ntopic_arn arn:aws:sns:us-east-1:123456789012:MyTopic", phpCert)},
		{"/sns-confirm", "sns", fmt.Sprintf("certificate %q\ntopic_arn arn:aws:sns:us-east-1:123456789012:MyTopic\nauto_confirm", snsCert)},
		{"/ses", "ses", fmt.Sprintf("certificate %q\ntopic_arn arn:aws:sns:us-east-1:123456789012:MyTopic", snsCert)},

		{"/mailchannels", "mailchannels", "public_key mckey " + e2eMcK1SPKI + "\npublic_key mckey-2 " + e2eMcK2SPKI + "\ntolerance off\ncustomer_handle abc123"},
		{"/mailchannels-other-customer", "mailchannels", "public_key mckey " + e2eMcK1SPKI + "\ntolerance off\ncustomer_handle someone-else"},
		{"/mailchannels-stale", "mailchannels", "public_key " + e2eMcK1SPKI},

		{"/mailgun-json", "mailgun", "secret " + e2eMailgunKey + "\ntolerance off"},
		{"/mailgun-form", "mailgun", "secret " + e2eMailgunKey + "\ntolerance off"},
		{"/mailgun-multipart", "mailgun", "secret " + e2eMailgunKey + "\ntolerance off"},
		{"/mailgun-stale", "mailgun", "secret " + e2eMailgunKey},

		{"/postmark-basic", "postmark", "username " + e2ePostmarkUser + "\npassword " + e2ePostmarkPass},
		{"/postmark-header", "postmark", "header X-Webhook-Token\nsecret " + e2ePostmarkToken + "\nsecret " + e2ePostmarkTokenOld},

		// Twilio signs the public URL; the request reaches Caddy on localhost,
		// on another path (url_path, as behind a proxy that moves it).
		{"/twilio", "twilio", "secret " + e2eTwilioToken + "\nurl https://mycompany.com/myapp.php\nurl_path /twilio"},
		{"/twilio-http", "twilio", "secret " + e2eTwilioToken + "\nurl http://mycompany.com/myapp.php\nurl_path /twilio-http"},
		{"/twilio-1234", "twilio", "secret " + e2eTwilioToken + "\nurl http://mycompany.com:1234/myapp.php\nurl_path /twilio-1234"},
		{"/twilio-443", "twilio", "secret " + e2eTwilioToken + "\nurl https://mycompany.com:443/myapp.php\nurl_path /twilio-443"},

		{"/mandrill", "mandrill", "secret " + e2eMandrillKey + "\nurl " + e2eMandrillURL + "\nurl_path /mandrill"},
	}, append(e2eProviderRoutes(), e2eContentfulRoutes()...)...)
}

// e2eCaddyfile renders the routes. Every route gets its own replay
// namespace (suffixed with nonce, so that a cache kept across config
// reloads in one process cannot answer for an earlier run), and passes the
// placeholders to the upstream as X-Wv-* headers.
func e2eCaddyfile(upstream string, routes []e2eRoute, nonce string) string {
	var b strings.Builder
	b.WriteString(globalOptions())
	fmt.Fprintf(&b, `
(wv_proxy) {
	reverse_proxy %s {
		header_up X-Wv-Provider {http.webhook_verify.provider}
		header_up X-Wv-Id {http.webhook_verify.id}
		header_up X-Wv-Key {http.webhook_verify.key}
		header_up X-Wv-Timestamp {http.webhook_verify.timestamp}
	}
}

http://localhost:%d {
`, upstream, testHTTPPort)
	for _, r := range routes {
		fmt.Fprintf(&b, "\thandle %s {\n\t\twebhook_verify %s {\n", r.path, r.provider)
		for _, l := range strings.Split(r.opts, "\n") {
			fmt.Fprintf(&b, "\t\t\t%s\n", l)
		}
		fmt.Fprintf(&b, "\t\t\treplay {\n\t\t\t\tnamespace e2e%s-%s\n\t\t\t}\n\t\t}\n\t\timport wv_proxy\n\t}\n",
			strings.ReplaceAll(r.path, "/", "_"), nonce)
	}
	b.WriteString("}\n")
	return b.String()
}

func TestIntegrationProviders(t *testing.T) {
	if testing.Short() {
		t.Skip("caddytest integration test")
	}
	// The aws-php-sns-message-validator certificate, pinned from a file.
	phpCert, err := filepath.Abs("verifiers/testdata/sns/awsphp/cert.pem")
	if err != nil {
		t.Fatal(err)
	}
	snsCert, err := filepath.Abs("verifiers/testdata/sns/sns.pem")
	if err != nil {
		t.Fatal(err)
	}
	routes := e2eRoutes(phpCert, snsCert)
	cases := e2eCases(t)

	// Every registered provider and alias has a route, and every route is
	// exercised by at least one forwarded and one refused request.
	byPath := map[string]e2eRoute{}
	providers := map[string]bool{}
	for _, r := range routes {
		byPath[r.path] = r
		providers[r.provider] = true
	}
	for _, r := range e2eAliasRoutes(nil) { // integration_aliases_test.go
		providers[r.provider] = true
	}
	for _, name := range verifiers.Names() {
		if _, preset := verifiers.LookupPreset(name); preset {
			continue // TestIntegrationPresets runs every row's vector
		}
		if !providers[name] {
			t.Errorf("provider %q has no end-to-end route", name)
		}
	}
	forwarded, refused := map[string]bool{}, map[string]bool{}
	for _, c := range cases {
		p, _, _ := strings.Cut(c.path, "?")
		if _, ok := byPath[p]; !ok {
			t.Fatalf("case %q: no route %s", c.name, p)
		}
		if c.forward {
			forwarded[p] = true
		} else if c.want >= 400 {
			refused[p] = true
		}
	}
	for _, r := range routes {
		if !strings.HasSuffix(r.path, "-stale") && r.path != "/sns-topic" && r.path != "/mailchannels-other-customer" && !forwarded[r.path] {
			t.Errorf("route %s: no published example is sent through it", r.path)
		}
		if !refused[r.path] {
			t.Errorf("route %s: no refused request is sent to it", r.path)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	tc := newTester(t)
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	tc.InitServer(e2eCaddyfile(srv.Listener.Addr().String(), routes, nonce), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}

	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path, _, _ := strings.Cut(c.path, "?")
			before := len(up.requests(path))
			status, msg, hdr := postH(t, tc, c.path, c.headers, c.body)
			if status != c.want {
				t.Fatalf("status = %d (%q), want %d", status, msg, c.want)
			}
			if !c.forward {
				if n := len(up.requests(path)) - before; n != 0 {
					t.Fatalf("the upstream was called %d times, want 0", n)
				}
				if c.challenge && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Basic ") {
					t.Errorf("WWW-Authenticate = %q, want a Basic challenge", hdr.Get("WWW-Authenticate"))
				}
				if c.duplicate && !strings.Contains(msg, "duplicate") {
					t.Errorf("answer %q, want a duplicate notice", msg)
				}
				return
			}

			got := up.requests(path)
			if len(got) != before+1 {
				t.Fatalf("the upstream saw %d requests, want 1", len(got)-before)
			}
			last := got[len(got)-1]
			if !bytes.Equal(last.body, c.body) {
				t.Errorf("upstream body (%d bytes) differs from the %d bytes sent:\n%q\nwant\n%q", len(last.body), len(c.body), last.body, c.body)
			}
			if cl := last.header.Get("Content-Length"); cl != strconv.Itoa(len(c.body)) {
				t.Errorf("upstream Content-Length = %q, want %d", cl, len(c.body))
			}
			if want := fmt.Sprintf("upstream got %d bytes", len(c.body)); msg != want {
				t.Errorf("answer = %q, want the upstream's %q", msg, want)
			}
			if v, ok := c.headers["Content-Type"]; ok && last.header.Get("Content-Type") != v {
				t.Errorf("upstream Content-Type = %q, want %q", last.header.Get("Content-Type"), v)
			}
			// Credentials the gate consumed (Basic auth, a secret header)
			// never reach the upstream (no route here sets keep_credentials).
			for _, h := range []string{"Authorization", "X-Webhook-Token"} {
				if _, sent := c.headers[h]; sent && last.header.Get(h) != "" {
					t.Errorf("upstream got the consumed credential header %s", h)
				}
			}
			if v := last.header.Get("X-Wv-Provider"); v != byPath[path].provider {
				t.Errorf("{http.webhook_verify.provider} = %q, want %q", v, byPath[path].provider)
			}
			if v := last.header.Get("X-Wv-Key"); v != c.key {
				t.Errorf("{http.webhook_verify.key} = %q, want %q", v, c.key)
			}
			if v := last.header.Get("X-Wv-Id"); c.id != "" && v != c.id {
				t.Errorf("{http.webhook_verify.id} = %q, want %q", v, c.id)
			}
			switch v := last.header.Get("X-Wv-Timestamp"); {
			case c.ts == "-":
				if v != "" && v != "{http.webhook_verify.timestamp}" {
					t.Errorf("{http.webhook_verify.timestamp} = %q, want it unset", v)
				}
			case v != c.ts:
				t.Errorf("{http.webhook_verify.timestamp} = %q, want %q", v, c.ts)
			}

			// The same delivery again: a verified duplicate, answered
			// without reaching the upstream.
			status, msg, _ = postH(t, tc, c.path, c.headers, c.body)
			if status != 200 || !strings.Contains(msg, "duplicate") {
				t.Errorf("second copy: status %d (%q), want 200 duplicate", status, msg)
			}
			if n := len(up.requests(path)) - before; n != 1 {
				t.Errorf("after a second copy the upstream saw %d requests, want 1", n)
			}
		})
	}
}

// stripe-go's rolled-secret case (verifiers/stripe_test.go): the event
// signed with "whsec_test_secret" and with "whsec_test_secret_rolled_key",
// signed independently with
//
//	printf '%s' '1700000000.{"id":"evt_test_webhook","object":"event"}' | openssl dgst -sha256 -hmac 'whsec_test_secret'
//	printf '%s' '1700000000.{"id":"evt_test_webhook","object":"event"}' | openssl dgst -sha256 -hmac 'whsec_test_secret_rolled_key'
const (
	e2eStripeGoSecret   = "whsec_test_secret"
	e2eStripeGoRolled   = "whsec_test_secret_rolled_key"
	e2eStripeGoBody     = `{"id":"evt_test_webhook","object":"event"}`
	e2eStripeGoV1       = "d95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990"
	e2eStripeGoV1Rolled = "7548122dce5e2b728b67327c07959ace6ce459f5ca13822932dac476fc4e0005"
)

// TestIntegrationReplayMultiSignature: when a delivery carries several
// signatures that verify (Stripe and Paddle while a secret is rolled and
// both secrets are configured, MailChannels with several labels), a
// captured copy with the first matching signature removed (or made not to
// verify) still verifies with another one. The replay key must not depend
// on which signature matched, or that copy would be forwarded again.
func TestIntegrationReplayMultiSignature(t *testing.T) {
	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	routes := []e2eRoute{
		{"/stripe-rolling", "stripe", "secret " + e2eStripeGoSecret + "\nsecret " + e2eStripeGoRolled + "\ntolerance off"},
		{"/mailchannels-two-keys", "mailchannels", "public_key mckey " + e2eMcK1SPKI + "\npublic_key mckey-2 " + e2eMcK2SPKI + "\ntolerance off"},
		{"/mailchannels-two-keys-ct", "mailchannels", "public_key mckey " + e2eMcK1SPKI + "\npublic_key mckey-2 " + e2eMcK2SPKI + "\ntolerance off"},
	}
	tc := newTester(t)
	tc.InitServer(e2eCaddyfile(srv.Listener.Addr().String(), routes, strconv.FormatInt(time.Now().UnixNano(), 36)), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	mcH2 := map[string]string{"Content-Digest": e2eMcDigest2, "Signature-Input": e2eMcInput2,
		"Signature": "sig_a=:" + e2eMcSig2AB64 + ":, sig_b=:" + e2eMcSig2BB64 + ":", "Content-Type": "application/json"}
	for _, tt := range []struct {
		name          string
		path          string
		first, second map[string]string
		body          []byte
	}{
		{"stripe: both v1 entries, then the rolled one alone", "/stripe-rolling",
			map[string]string{"Stripe-Signature": "t=1700000000,v1=" + e2eStripeGoV1 + ",v1=" + e2eStripeGoV1Rolled},
			map[string]string{"Stripe-Signature": "t=1700000000,v1=" + e2eStripeGoV1Rolled},
			[]byte(e2eStripeGoBody)},
		{"mailchannels: both labels, then sig_b alone", "/mailchannels-two-keys", mcH2,
			e2eWith(mcH2, "Signature-Input", `sig_b=("content-digest");created=1625098111;keyid="mckey"`, "Signature", "sig_b=:"+e2eMcSig2BB64+":"),
			[]byte(e2eMcBody2)},
		{"mailchannels: both labels, then content-type changed (sig_a no longer verifies)", "/mailchannels-two-keys-ct", mcH2,
			e2eWith(mcH2, "Content-Type", "text/plain"), []byte(e2eMcBody2)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := len(up.requests(tt.path))
			if st, msg, _ := postH(t, tc, tt.path, tt.first, tt.body); st != 200 || strings.Contains(msg, "duplicate") {
				t.Fatalf("first copy: status %d (%q), want forwarded", st, msg)
			}
			st, msg, _ := postH(t, tc, tt.path, tt.second, tt.body)
			if n := len(up.requests(tt.path)) - before; n != 1 {
				t.Errorf("the upstream received the delivery %d times, want 1 (second copy: %d %q)", n, st, msg)
			}
		})
	}
}
