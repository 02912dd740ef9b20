package verifiers

import (
	"bytes"
	"encoding/base64"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"
)

// Vector: a real Mandrill delivery captured on requestb.in, published as a
// fixture of the mandrill-rails gem:
// github:evendis/mandrill-rails spec/fixtures/webhook_examples/click_with_signature.json
// @893089a77a5f1704956b9d4b0d57d8eb24f04b7a, checked by
// spec/mandrill/web_hook/processor_spec.rb ("##generate_signature matches
// expected signature") @3c80a18d71ac92f2f24f9fe5f67bdc29abf9f1c2.
// testdata/mandrill/click_with_signature.form is "mandrill_events=" followed
// by the fixture's raw_params.mandrill_events (form-encoded as sent); its
// 4091 bytes match the fixture's Content-Length header.
//
// The cases marked "independent" were computed with Python's standard
// library, following the Mandrill docs' algorithm:
//
//	import base64, hashlib, hmac
//	def sig(url, params, key):
//	    s = url
//	    for k in sorted(params): s += k + params[k]
//	    return base64.b64encode(hmac.new(key.encode(), s.encode(), hashlib.sha1).digest()).decode()
//	sig("https://example.com/hooks/mandrill?source=mc",
//	    {"mandrill_events": '[{"event":"send","_id":"abc"}]'}, "k-independent")  # gfcFT1vcthNMdTEANXX+tlGX24Y=
//	sig("https://example.com/hooks/mandrill",
//	    {"mandrill_events": "[]", "Zeta": "1", "alpha": "2"}, "k-independent")   # Pt5hl+k/yoJZ1EQEf9fWmc02EwU=
const (
	mandrillKey = "ntynTMaFpM_octE5R1DKAw"
	mandrillURL = "http://requestb.in/q9a918q9"
	mandrillSig = "7rUa4lNJitlb178MgGOcHO6T4Bg="
	mandrillCT  = "application/x-www-form-urlencoded"

	mandrillQueryURL = "https://example.com/hooks/mandrill?source=mc"
	mandrillQuerySig = "gfcFT1vcthNMdTEANXX+tlGX24Y=" // independent, see above
)

var mandrillQueryBody = []byte("mandrill_events=" + url.QueryEscape(`[{"event":"send","_id":"abc"}]`))

func mandrillFixture(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/mandrill/click_with_signature.form")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) != 4091 {
		t.Fatalf("fixture is %d bytes, want 4091 (the captured Content-Length)", len(b))
	}
	return b
}

func mandrillHeader(sig, ct string) http.Header {
	h := http.Header{"User-Agent": {"Mandrill-Webhook/1.0"}}
	if sig != "" {
		h.Set("X-Mandrill-Signature", sig)
	}
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	return h
}

func newTestMandrill(t *testing.T, c Config) Verifier {
	t.Helper()
	v, err := New("mandrill", c)
	if err != nil {
		t.Fatalf("New(mandrill): %v", err)
	}
	return v
}

func TestMandrillVectors(t *testing.T) {
	fixture := mandrillFixture(t)
	now := time.Unix(1379233940, 0)
	tests := []struct {
		name    string
		url     string
		reqURL  string // as received, behind a proxy that moves the path to /hooks (url_path)
		secrets []string
		ct      string
		body    []byte
		sig     string
		wantKey int
	}{
		{name: "mandrill-rails captured click", url: mandrillURL, reqURL: "https://internal:8080/hooks", secrets: []string{mandrillKey}, ct: mandrillCT, body: fixture, sig: mandrillSig},
		{name: "captured click, charset, key rotation", url: mandrillURL, reqURL: "https://internal:8080/hooks", secrets: []string{"new-key", mandrillKey}, ct: mandrillCT + "; charset=utf-8", body: fixture, sig: mandrillSig, wantKey: 1},
		{name: "independent: url with query string", url: mandrillQueryURL, reqURL: "https://internal:8080/hooks?source=mc", secrets: []string{"k-independent"}, ct: mandrillCT,
			body: mandrillQueryBody, sig: mandrillQuerySig},
		{name: "independent: fields sorted byte-wise", url: "https://example.com/hooks/mandrill", reqURL: "https://internal:8080/hooks", secrets: []string{"k-independent"}, ct: mandrillCT,
			body: []byte("alpha=2&mandrill_events=%5B%5D&Zeta=1"), sig: "Pt5hl+k/yoJZ1EQEf9fWmc02EwU="},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := newTestMandrill(t, Config{URL: tt.url, URLPath: "/hooks", Secrets: tt.secrets})
			res := formsigCheck(t, v, formsigRequest(t, "POST", tt.reqURL, mandrillHeader(tt.sig, tt.ct), tt.body, now), nil)
			want, _ := base64.StdEncoding.DecodeString(tt.sig)
			if !bytes.Equal(res.Signature, want) || res.Key != tt.wantKey || res.ID != "" || res.SignedID != "" ||
				!res.Timestamp.IsZero() || res.Act != nil {
				t.Errorf("result = %+v", res)
			}
		})
	}
}

func TestMandrillRejects(t *testing.T) {
	fixture := mandrillFixture(t)
	now := time.Unix(1379233940, 0)
	sigBytes, _ := base64.StdEncoding.DecodeString(mandrillSig)
	tampered := bytes.Replace(fixture, []byte("Oklahoma+City"), []byte("Oklahoma+Town"), 1)
	if bytes.Equal(tampered, fixture) {
		t.Fatal("tampering did not change the fixture")
	}
	tests := []struct {
		name    string
		url     string
		secrets []string
		h       http.Header
		body    []byte
		want    error
	}{
		{name: "tampered body", h: mandrillHeader(mandrillSig, mandrillCT), body: tampered, want: ErrSignature},
		{name: "truncated body", h: mandrillHeader(mandrillSig, mandrillCT), body: fixture[:len(fixture)-3], want: ErrSignature},
		{name: "extra field", h: mandrillHeader(mandrillSig, mandrillCT), body: append(bytes.Clone(fixture), "&x=1"...), want: ErrSignature},
		{name: "wrong key", secrets: []string{"wrong-key"}, h: mandrillHeader(mandrillSig, mandrillCT), body: fixture, want: ErrSignature},
		{name: "url with trailing slash", url: mandrillURL + "/", h: mandrillHeader(mandrillSig, mandrillCT), body: fixture, want: ErrSignature},
		{name: "url with https", url: "https://requestb.in/q9a918q9", h: mandrillHeader(mandrillSig, mandrillCT), body: fixture, want: ErrSignature},
		{name: "url with default port", url: "http://requestb.in:80/q9a918q9", h: mandrillHeader(mandrillSig, mandrillCT), body: fixture, want: ErrSignature},
		{name: "truncated signature", h: mandrillHeader(base64.StdEncoding.EncodeToString(sigBytes[:19]), mandrillCT), body: fixture, want: ErrSignature},
		{name: "hex signature", h: mandrillHeader("eeb51ae253498ad95bd7bf0c80639c1cee93e018", mandrillCT), body: fixture, want: ErrSignature},
		{name: "signature not base64", h: mandrillHeader(mandrillSig+"*", mandrillCT), body: fixture, want: ErrMalformed},
		{name: "missing signature", h: mandrillHeader("", mandrillCT), body: fixture, want: ErrMalformed},
		{name: "duplicated signature", h: http.Header{"X-Mandrill-Signature": {mandrillSig, mandrillSig}, "Content-Type": {mandrillCT}}, body: fixture, want: ErrMalformed},
		{name: "json body", h: mandrillHeader(mandrillSig, "application/json"), body: []byte(`[{"event":"click"}]`), want: ErrMalformed},
		{name: "missing Content-Type", h: mandrillHeader(mandrillSig, ""), body: fixture, want: ErrMalformed},
		{name: "duplicated Content-Type", h: http.Header{"X-Mandrill-Signature": {mandrillSig}, "Content-Type": {mandrillCT, mandrillCT}}, body: fixture, want: ErrMalformed},
		{name: "repeated field", h: mandrillHeader(mandrillSig, mandrillCT), body: append(bytes.Clone(fixture), "&mandrill_events=%5B%5D"...), want: ErrMalformed},
		{name: "invalid escape", h: mandrillHeader(mandrillSig, mandrillCT), body: append(bytes.Clone(fixture), "%zz"...), want: ErrMalformed},
		// Mandrill signs name+value with no delimiter: the same signed
		// string, split elsewhere, is another body (review finding).
		{name: "field name split into the value", h: mandrillHeader(mandrillSig, mandrillCT), body: append([]byte("mandrill_event=s"), bytes.TrimPrefix(fixture, []byte("mandrill_events="))...), want: ErrMalformed},
		{name: "json value split into a second field", h: mandrillHeader(mandrillSig, mandrillCT), body: mandrillSplitValue(t, fixture), want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u := tt.url
			if u == "" {
				u = mandrillURL
			}
			secrets := tt.secrets
			if secrets == nil {
				secrets = []string{mandrillKey}
			}
			v := newTestMandrill(t, Config{URL: u, Secrets: secrets})
			formsigCheck(t, v, formsigRequest(t, "POST", mandrillURL, tt.h, tt.body, now), tt.want, mandrillKey, mandrillSig, "wrong-key")
		})
	}
}

// The signature covers the configured url, not the request's, so the
// request's raw query must be the configured one: otherwise a captured
// delivery could be replayed to the upstream with any query string. The
// same holds for the path (issue 13, item 8): the url's, or url_path where
// a proxy in front moves it.
func TestMandrillQueryBinding(t *testing.T) {
	fixture := mandrillFixture(t)
	now := time.Unix(1379233940, 0)
	tests := []struct {
		name   string
		url    string // configured
		path   string // url_path configured
		reqURL string // as received; "" for an unknown url
		sig    string
		body   []byte
		want   error
		msg    string // in the error text
	}{
		{name: "no query either side, path differs", url: mandrillURL, reqURL: "http://requestb.in/some/other/path", want: ErrSignature, msg: "path"},
		{name: "no query either side, behind a proxy", url: mandrillURL, path: "/hooks", reqURL: "https://internal:8080/hooks", want: nil},
		{name: "behind a proxy, the url's path", url: mandrillURL, path: "/hooks", reqURL: mandrillURL, want: ErrSignature, msg: "path"},
		{name: "another host, same path", url: mandrillURL, reqURL: "https://internal:8080/q9a918q9", want: nil},
		{name: "trailing slash", url: mandrillURL, reqURL: mandrillURL + "/", want: ErrSignature, msg: "path"},
		{name: "empty query (bare ?) counts as none", url: mandrillURL, reqURL: "http://requestb.in/q9a918q9?", want: nil},
		{name: "configured query, same query", url: mandrillQueryURL, path: "/hooks", reqURL: "https://internal:8080/hooks?source=mc", sig: mandrillQuerySig, body: mandrillQueryBody, want: nil},

		{name: "query added to a url without one (review repro)", url: mandrillURL, path: "/some/other/path", reqURL: "http://requestb.in/some/other/path?account=admin&delete=all", want: ErrSignature, msg: "query string"},
		{name: "query added, same path", url: mandrillURL, reqURL: mandrillURL + "?x=1", want: ErrSignature, msg: "query string"},
		{name: "configured query missing", url: mandrillQueryURL, reqURL: "https://example.com/hooks/mandrill", sig: mandrillQuerySig, body: mandrillQueryBody, want: ErrSignature, msg: "query string"},
		{name: "configured query with a parameter added", url: mandrillQueryURL, reqURL: "https://example.com/hooks/mandrill?source=mc&admin=1", sig: mandrillQuerySig, body: mandrillQueryBody, want: ErrSignature, msg: "query string"},
		{name: "configured query, parameter repeated", url: mandrillQueryURL, reqURL: "https://example.com/hooks/mandrill?source=mc&source=x", sig: mandrillQuerySig, body: mandrillQueryBody, want: ErrSignature, msg: "query string"},
		{name: "configured query, other value", url: mandrillQueryURL, reqURL: "https://example.com/hooks/mandrill?source=xx", sig: mandrillQuerySig, body: mandrillQueryBody, want: ErrSignature, msg: "query string"},
		{name: "configured query, other encoding of the same value", url: mandrillQueryURL, reqURL: "https://example.com/hooks/mandrill?source=%6Dc", sig: mandrillQuerySig, body: mandrillQueryBody, want: ErrSignature, msg: "query string"},
		{name: "bad signature and a query: the signature is reported", url: mandrillURL, reqURL: mandrillURL + "?x=1", sig: "AAAAAAAAAAAAAAAAAAAAAAAAAAA=", want: ErrSignature, msg: "X-Mandrill-Signature"},
		{name: "request url unknown", url: mandrillURL, reqURL: "", want: ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, body, secret := mandrillSig, fixture, mandrillKey
			if tt.sig != "" {
				sig = tt.sig
			}
			if tt.body != nil {
				body, secret = tt.body, "k-independent"
			}
			v := newTestMandrill(t, Config{URL: tt.url, URLPath: tt.path, Secrets: []string{secret}})
			req := formsigRequest(t, "POST", tt.reqURL, mandrillHeader(sig, mandrillCT), body, now)
			res := formsigCheck(t, v, req, tt.want, secret, sig)
			if tt.want == nil {
				want, _ := base64.StdEncoding.DecodeString(sig)
				if res.Key != 0 || !bytes.Equal(res.Signature, want) {
					t.Errorf("result = %+v", res)
				}
			}
			if tt.msg != "" {
				if _, err := v.Verify(req); !strings.Contains(err.Error(), tt.msg) {
					t.Errorf("error %q does not name %q", err, tt.msg)
				}
			}
		})
	}
}

func TestMandrillConfig(t *testing.T) {
	tests := []struct {
		name string
		c    Config
	}{
		{"no url", Config{Secrets: []string{mandrillKey}}},
		{"no secret", Config{URL: mandrillURL}},
		{"empty secret", Config{URL: mandrillURL, Secrets: []string{mandrillKey, ""}}},
		{"relative url", Config{URL: "/hooks/mandrill", Secrets: []string{mandrillKey}}},
		{"other scheme", Config{URL: "ftp://example.com/hook", Secrets: []string{mandrillKey}}},
		{"url with fragment", Config{URL: mandrillURL + "#x", Secrets: []string{mandrillKey}}},
		{"tolerance", Config{URL: mandrillURL, Secrets: []string{mandrillKey}, Tolerance: time.Minute}},
		{"username", Config{URL: mandrillURL, Secrets: []string{mandrillKey}, Username: "u"}},
		{"password", Config{URL: mandrillURL, Secrets: []string{mandrillKey}, Password: "p"}},
		{"header", Config{URL: mandrillURL, Secrets: []string{mandrillKey}, Header: "X-A"}},
		{"public_key", Config{URL: mandrillURL, Secrets: []string{mandrillKey}, PublicKeys: []PublicKey{{Key: "k"}}}},
		{"hmac", Config{URL: mandrillURL, Secrets: []string{mandrillKey}, HMAC: &HMACRecipe{}}},
		{"topic_arn", Config{URL: mandrillURL, Secrets: []string{mandrillKey}, TopicARNs: []string{"a"}}},
		{"certificate", Config{URL: mandrillURL, Secrets: []string{mandrillKey}, Certificates: []string{"c"}}},
		{"auto_confirm", Config{URL: mandrillURL, Secrets: []string{mandrillKey}, AutoConfirm: true}},
	}
	for _, tt := range tests {
		v, err := New("mandrill", tt.c)
		if err == nil || v != nil {
			t.Errorf("%s: New = %v, %v; want an error", tt.name, v, err)
			continue
		}
		if strings.Contains(err.Error(), mandrillKey) {
			t.Errorf("%s: error text %q leaks the key", tt.name, err)
		}
	}
	v := newTestMandrill(t, Config{URL: "https://example.com/hook?a=1&b=2", Secrets: []string{mandrillKey}})
	if ts, ok := v.(Timestamped); !ok || ts.HasTimestamp() {
		t.Errorf("mandrill must report no timestamp")
	}
}

// TestMandrillHandshake: Mandrill's unsigned HEAD on webhook creation is
// answered 200 (Mandrill's "Authenticating webhook requests": "we'll send
// a HEAD request to the URL to make sure it exists"); every other method
// is verified as usual.
func TestMandrillHandshake(t *testing.T) {
	v := newTestMandrill(t, Config{URL: mandrillURL, Secrets: []string{mandrillKey}})
	hs, ok := v.(Handshaker)
	if !ok {
		t.Fatal("mandrill is not a Handshaker")
	}
	u, _ := url.Parse(mandrillURL)
	for _, tc := range []struct {
		method string
		ok     bool
	}{{http.MethodHead, true}, {http.MethodPost, false}, {http.MethodGet, false}} {
		resp, ok, err := hs.Handshake(&Request{Method: tc.method, URL: u, Header: http.Header{}})
		if err != nil || ok != tc.ok {
			t.Fatalf("%s: ok %v, err %v; want ok %v", tc.method, ok, err, tc.ok)
		}
		if ok && (resp == nil || resp.Status != http.StatusOK || resp.Body != "") {
			t.Fatalf("%s: response %+v, want an empty 200", tc.method, resp)
		}
	}
}

// mandrillSplitValue re-splits the fixture's mandrill_events value X as
// mandrill_events=X[:i] & X[i:j]=X[j:], with a second name that sorts after
// mandrill_events: the signed string (names and values concatenated) is
// unchanged.
func mandrillSplitValue(t *testing.T, fixture []byte) []byte {
	t.Helper()
	q, err := url.ParseQuery(string(fixture))
	if err != nil {
		t.Fatal(err)
	}
	x := q.Get("mandrill_events")
	i := strings.IndexByte(x, '{')
	if i < 0 || len(x) < i+3 {
		t.Fatal("fixture has no object")
	}
	return []byte("mandrill_events=" + url.QueryEscape(x[:i]) + "&" + url.QueryEscape(x[i:len(x)-1]) + "=" + url.QueryEscape(x[len(x)-1:]))
}
