package verifiers

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Contentful vectors, signed by Contentful's own toolkit,
// @contentful/node-apps-toolkit 3.16.1 (pinned in testdata/sdk), in
// testdata/sdk with
//
//	node --input-type=module -e '
//	import { signRequest } from "@contentful/node-apps-toolkit";
//	const S1 = "a".repeat(64), S2 = "Ll8hd7JBkMOVyFGAj2oqx1B5qFrkyqnSj9rpYFevOC7czd3u8O9DJMzmc1sQJ8Qv";
//	const body = <cfBody>;
//	const hdr = {"Content-Type": "application/vnd.contentful.management.v1+json",
//	  "X-Contentful-Topic": "ContentManagement.Entry.publish", "X-Contentful-Idempotency-Key": <cfIdem>};
//	console.log(JSON.stringify({
//	  A: signRequest(S1, {method: "POST", path: "/contentful", headers: hdr, body}, 1718000000000),
//	  stale: signRequest(S1, {method: "POST", path: "/contentful-stale", headers: hdr, body}, 1718000000000),
//	  Q: signRequest(S2, {method: "POST", path: "/contentful?space=yadj1kx9rmg0&name=caf%C3%A9%20bar",
//	    headers: {"Content-Type": "application/json"}, body}, 1718000123456),
//	  ctx: signRequest(S1, {method: "PUT", path: "/api/resources/1", headers: {"Content-Type": "application/json"},
//	    body: "{\"a\":1}"}, 1718000000000, {spaceId: "my-space", envId: "my-environment", appId: "my-app",
//	    crn: "crn:contentful:::content:spaces/my-space/environments/my-environment/entries/e1"}),
//	  P: signRequest(S1, {method: "GET", path: <cfOddPath>, headers: {}}, 1718000000000),
//	}))'
//
// S1 is the toolkit's own test secret (src/requests/verify-request.spec.ts).
// The root package's end-to-end test (integration_contentful_test.go)
// sends A, Q and stale through Caddy.
const (
	cfS1      = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	cfS2      = "Ll8hd7JBkMOVyFGAj2oqx1B5qFrkyqnSj9rpYFevOC7czd3u8O9DJMzmc1sQJ8Qv"
	cfBody    = `{"sys":{"type":"Entry","id":"5KsDBWseXY6QegucYAoacS","space":{"sys":{"type":"Link","linkType":"Space","id":"yadj1kx9rmg0"}},"environment":{"sys":{"id":"master","type":"Link","linkType":"Environment"}},"revision":3},"fields":{"title":{"en-US":"Hello, café ✓"}}}`
	cfIdem    = "9f2c1e0b4d7a6385f1e2d3c4b5a69788a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2"
	cfCT      = "application/vnd.contentful.management.v1+json"
	cfList    = "content-type,x-contentful-idempotency-key,x-contentful-signed-headers,x-contentful-timestamp,x-contentful-topic"
	cfSigA    = "a5238558cc29271bf43ef259e8752676f563c8ecfd85ceac60896ace97fa5148"
	cfSigQ    = "b44d4ecaf2b3e59a5e9343ce47a98b32867a5abcc7fa83bc7d24b84374d81674"
	cfSigCtx  = "eb20bd154871f89dbb598ad38088f45509212b50fad35965fd609ed5f3c65d57"
	cfSigP    = "ddedc9af2c31942b5f6a40f3979529865632b7f50beeff72d0e08734474aa49d"
	cfOddPath = "/hooks/a%20b/[x]{y}|^`;,=?x=%41&y=[1]&z=a+b,c;d:e@f/g'()*!~"
	cfTS      = int64(1718000000000)
)

// cfHeaderA is vector A's headers.
func cfHeaderA() http.Header {
	h := http.Header{}
	h.Set("Content-Type", cfCT)
	h.Set("X-Contentful-Topic", "ContentManagement.Entry.publish")
	h.Set("X-Contentful-Idempotency-Key", cfIdem)
	h.Set("X-Contentful-Signed-Headers", cfList)
	h.Set("X-Contentful-Timestamp", "1718000000000")
	h.Set("X-Contentful-Signature", cfSigA)
	return h
}

// cfRequest is a request for target (path and query as sent) at now.
func cfRequest(t *testing.T, method, target string, h http.Header, body string, now time.Time) *Request {
	t.Helper()
	u, err := url.ParseRequestURI(target)
	if err != nil {
		t.Fatal(err)
	}
	u.Scheme, u.Host = "https", "hooks.example.com"
	return &Request{Context: context.Background(), Method: method, URL: u, Header: h, Body: []byte(body), Now: now}
}

func cfVerifier(t *testing.T, secrets ...string) Verifier {
	t.Helper()
	v, err := New("contentful", Config{Secrets: secrets})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestContentfulToolkitVectors: requests signed by the toolkit verify,
// under the secret that signed them, with the signed id and timestamp.
func TestContentfulToolkitVectors(t *testing.T) {
	q := http.Header{}
	q.Set("Content-Type", "application/json")
	q.Set("X-Contentful-Signed-Headers", "content-type,x-contentful-signed-headers,x-contentful-timestamp")
	q.Set("X-Contentful-Timestamp", "1718000123456")
	q.Set("X-Contentful-Signature", cfSigQ)
	ctx := http.Header{}
	ctx.Set("Content-Type", "application/json")
	ctx.Set("X-Contentful-Signed-Headers", "content-type,x-contentful-app-id,x-contentful-crn,x-contentful-environment-id,x-contentful-signed-headers,x-contentful-space-id,x-contentful-timestamp")
	ctx.Set("X-Contentful-Timestamp", "1718000000000")
	ctx.Set("X-Contentful-Space-Id", "my-space")
	ctx.Set("X-Contentful-Environment-Id", "my-environment")
	ctx.Set("X-Contentful-App-Id", "my-app")
	ctx.Set("X-Contentful-Crn", "crn:contentful:::content:spaces/my-space/environments/my-environment/entries/e1")
	ctx.Set("X-Contentful-Signature", cfSigCtx)
	p := http.Header{}
	p.Set("X-Contentful-Signed-Headers", "x-contentful-signed-headers,x-contentful-timestamp")
	p.Set("X-Contentful-Timestamp", "1718000000000")
	p.Set("X-Contentful-Signature", cfSigP)
	tests := []struct {
		name, method, target, body string
		h                          http.Header
		key                        int
		signedID                   string
		ts                         int64
	}{
		{"webhook, idempotency key signed", "POST", "/contentful", cfBody, cfHeaderA(), 1, cfIdem, cfTS},
		{"query signed, second secret", "POST", "/contentful?space=yadj1kx9rmg0&name=caf%C3%A9%20bar", cfBody, q, 0, "", 1718000123456},
		{"app action with context headers", "PUT", "/api/resources/1", `{"a":1}`, ctx, 1, "", cfTS},
		{"path and query with characters encodeURI escapes", "GET", cfOddPath, "", p, 1, "", cfTS},
	}
	v := cfVerifier(t, cfS2, cfS1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := v.Verify(cfRequest(t, tt.method, tt.target, tt.h, tt.body, time.UnixMilli(tt.ts).Add(time.Minute)))
			if err != nil {
				t.Fatal(err)
			}
			if res.Key != tt.key || res.SignedID != tt.signedID || !res.Timestamp.Equal(time.UnixMilli(tt.ts)) || len(res.Signature) != 32 {
				t.Errorf("result %+v, want key %d, signed id %q, timestamp %d", res, tt.key, tt.signedID, tt.ts)
			}
		})
	}
}

// TestContentfulRefuses: every value of the signed string is checked, so
// a request that differs from a signed one in any of them is refused, and
// metadata that the toolkit would read loosely is malformed.
func TestContentfulRefuses(t *testing.T) {
	now := time.UnixMilli(cfTS).Add(time.Minute)
	with := func(kv ...string) http.Header {
		h := cfHeaderA()
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "" {
				h.Del(kv[i])
			} else {
				h.Set(kv[i], kv[i+1])
			}
		}
		return h
	}
	dup := cfHeaderA()
	dup.Add("X-Contentful-Topic", "ContentManagement.Entry.publish")
	tests := []struct {
		name, method, target, body string
		h                          http.Header
		now                        time.Time
		want                       error
	}{
		{"tampered body", "POST", "/contentful", strings.Replace(cfBody, "revision\":3", "revision\":4", 1), cfHeaderA(), now, ErrSignature},
		{"another path", "POST", "/contentful2", cfBody, cfHeaderA(), now, ErrSignature},
		{"a query added", "POST", "/contentful?x=1", cfBody, cfHeaderA(), now, ErrSignature},
		{"path encoded differently", "POST", "/contentfu%6C", cfBody, cfHeaderA(), now, ErrSignature},
		{"another method", "PUT", "/contentful", cfBody, cfHeaderA(), now, ErrSignature},
		{"method the toolkit does not sign", "TRACE", "/contentful", cfBody, cfHeaderA(), now, ErrMalformed},
		{"signed header changed", "POST", "/contentful", cfBody, with("X-Contentful-Topic", "ContentManagement.Entry.unpublish"), now, ErrSignature},
		{"timestamp changed", "POST", "/contentful", cfBody, with("X-Contentful-Timestamp", "1718000000001"), now, ErrSignature},
		{"a header dropped from the list", "POST", "/contentful", cfBody, with("X-Contentful-Signed-Headers", "content-type,x-contentful-idempotency-key,x-contentful-signed-headers,x-contentful-timestamp"), now, ErrSignature},
		{"stale", "POST", "/contentful", cfBody, cfHeaderA(), now.Add(time.Hour), ErrTimestamp},
		{"from the future", "POST", "/contentful", cfBody, cfHeaderA(), now.Add(-time.Hour), ErrTimestamp},
		{"signature missing", "POST", "/contentful", cfBody, with("X-Contentful-Signature", ""), now, ErrMalformed},
		{"list missing", "POST", "/contentful", cfBody, with("X-Contentful-Signed-Headers", ""), now, ErrMalformed},
		{"timestamp missing", "POST", "/contentful", cfBody, with("X-Contentful-Timestamp", ""), now, ErrMalformed},
		{"signature in capitals", "POST", "/contentful", cfBody, with("X-Contentful-Signature", strings.ToUpper(cfSigA)), now, ErrMalformed},
		{"signature short", "POST", "/contentful", cfBody, with("X-Contentful-Signature", cfSigA[:62]), now, ErrMalformed},
		{"timestamp with a leading zero", "POST", "/contentful", cfBody, with("X-Contentful-Timestamp", "01718000000000"), now, ErrMalformed},
		{"timestamp with a suffix parseInt ignores", "POST", "/contentful", cfBody, with("X-Contentful-Timestamp", "1718000000000x"), now, ErrMalformed},
		{"list unsorted", "POST", "/contentful", cfBody, with("X-Contentful-Signed-Headers", "x-contentful-topic,content-type,x-contentful-idempotency-key,x-contentful-signed-headers,x-contentful-timestamp"), now, ErrMalformed},
		{"list with a duplicate", "POST", "/contentful", cfBody, with("X-Contentful-Signed-Headers", "content-type,content-type,x-contentful-signed-headers,x-contentful-timestamp"), now, ErrMalformed},
		{"list in capitals", "POST", "/contentful", cfBody, with("X-Contentful-Signed-Headers", "Content-Type,x-contentful-signed-headers,x-contentful-timestamp"), now, ErrMalformed},
		{"list with spaces", "POST", "/contentful", cfBody, with("X-Contentful-Signed-Headers", "content-type, x-contentful-signed-headers, x-contentful-timestamp"), now, ErrMalformed},
		{"list without the timestamp", "POST", "/contentful", cfBody, with("X-Contentful-Signed-Headers", "content-type,x-contentful-signed-headers"), now, ErrMalformed},
		{"list without itself", "POST", "/contentful", cfBody, with("X-Contentful-Signed-Headers", "content-type,x-contentful-timestamp"), now, ErrMalformed},
		{"list naming the signature", "POST", "/contentful", cfBody, with("X-Contentful-Signed-Headers", "x-contentful-signature,x-contentful-signed-headers,x-contentful-timestamp"), now, ErrMalformed},
		{"list naming an absent header", "POST", "/contentful", cfBody, with("X-Contentful-Signed-Headers", "content-type,x-absent,x-contentful-signed-headers,x-contentful-timestamp"), now, ErrMalformed},
		{"list too long", "POST", "/contentful", cfBody, with("X-Contentful-Signed-Headers", strings.Repeat("a,", 31)+"x-contentful-signed-headers,x-contentful-timestamp"), now, ErrMalformed},
		{"signed header sent twice", "POST", "/contentful", cfBody, dup, now, ErrMalformed},
		{"signed value that reads as a further pair", "POST", "/contentful", cfBody, with("X-Contentful-Topic", "a;x-contentful-topic:b"), now, ErrMalformed},
		{"signed value not ASCII", "POST", "/contentful", cfBody, with("X-Contentful-Topic", "café"), now, ErrMalformed},
		{"idempotency key signed but odd", "POST", "/contentful", cfBody, with("X-Contentful-Idempotency-Key", "a/b"), now, ErrMalformed},
		{"empty query", "POST", "/contentful?", cfBody, cfHeaderA(), now, ErrMalformed},
		{"second ? the toolkit would drop", "POST", "/contentful?a?b", cfBody, cfHeaderA(), now, ErrMalformed},
		{"path not absolute", "POST", "*", cfBody, cfHeaderA(), now, ErrMalformed},
	}
	v := cfVerifier(t, cfS2, cfS1)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := cfRequest(t, tt.method, tt.target, tt.h, tt.body, tt.now)
			if _, err := v.Verify(r); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	// Another secret: refused.
	if _, err := cfVerifier(t, cfS2).Verify(cfRequest(t, "POST", "/contentful", cfHeaderA(), cfBody, now)); !errors.Is(err, ErrSignature) {
		t.Errorf("another secret: err = %v", err)
	}
}

// TestContentfulPath: the path and query normalised as the toolkit's
// getNormalizedEncodedURI (src/requests/utils.ts); the expected values
// were printed by node with its code,
//
//	const n = (uri) => { const [p, s] = uri.split("?"); const e = s ? querystring.escape(s) : "";
//	  return encodeURI(e ? `${p}?${e}` : p) }
//
// and two requests that differ as received never normalise alike.
func TestContentfulPath(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{cfOddPath, "/hooks/a%2520b/%5Bx%5D%7By%7D%7C%5E%60;,=?x%253D%252541%2526y%253D%255B1%255D%2526z%253Da%252Bb%252Cc%253Bd%253Ae%2540f%252Fg'()*!~"},
		{"/a{", "/a%7B"},
		{"/a%7B", "/a%257B"},
		{"/a%2fb", "/a%252fb"},
		{"/contentful?space=yadj1kx9rmg0&name=caf%C3%A9%20bar", "/contentful?space%253Dyadj1kx9rmg0%2526name%253Dcaf%2525C3%2525A9%252520bar"},
	} {
		u, err := url.ParseRequestURI(tt.in)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := contentfulPath(u); err != nil || got != tt.want {
			t.Errorf("contentfulPath(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestContentfulSecrets: only Contentful's form of secret is configured.
func TestContentfulSecrets(t *testing.T) {
	for _, s := range []string{"", "short", cfS1 + "a", cfS1[:63] + "!", cfS1[:63] + " "} {
		if _, err := New("contentful", Config{Secrets: []string{s}}); err == nil {
			t.Errorf("secret %q accepted", s)
		} else if s != "" && strings.Contains(err.Error(), s) {
			t.Errorf("error %q echoes the secret", err)
		}
	}
	if _, err := New("contentful", Config{Secrets: []string{cfS1}, URL: "https://x"}); err == nil {
		t.Error("url accepted")
	}
}

// TestContentfulSigner: the Go signer reproduces the toolkit's vector A
// byte for byte (same headers, secret, time and path), and what it signs
// verifies.
func TestContentfulSigner(t *testing.T) {
	s, err := Sign("contentful", SignRequest{Secret: cfS1, ID: cfIdem, Now: time.UnixMilli(cfTS),
		URL: "https://hooks.example.com/contentful", ContentType: cfCT, Body: []byte(cfBody)})
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range cfHeaderA() {
		if got := s.Header.Values(k); len(got) != 1 || got[0] != want[0] {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if len(s.Header) != len(cfHeaderA()) || s.Query != "" || !bytes.Equal(s.Body, []byte(cfBody)) {
		t.Errorf("signed %+v", s)
	}
	// With a query: carried in Signed.Query, and signed.
	s, err = Sign("contentful", SignRequest{Secret: cfS2, Now: time.UnixMilli(cfTS), URL: "https://h/x?b=2&a=1", Body: []byte(cfBody)})
	if err != nil {
		t.Fatal(err)
	}
	if s.Query != "b=2&a=1" {
		t.Errorf("query %q", s.Query)
	}
	v := cfVerifier(t, cfS2)
	if _, err := v.Verify(cfRequest(t, "POST", "/x?b=2&a=1", s.Header, cfBody, time.UnixMilli(cfTS))); err != nil {
		t.Errorf("signed delivery refused: %v", err)
	}
	if _, err := v.Verify(cfRequest(t, "POST", "/x?a=1&b=2", s.Header, cfBody, time.UnixMilli(cfTS))); !errors.Is(err, ErrSignature) {
		t.Errorf("query reordered: err = %v", err)
	}
	for _, r := range []SignRequest{
		{Secret: "short", URL: "https://h/x"},
		{Secret: cfS1},
		{Secret: cfS1, URL: "https://h/x", ID: "a b"},
		{Secret: cfS1, URL: "https://h/x", ContentType: "a;b:c"},
	} {
		r.Body = []byte(cfBody)
		if _, err := Sign("contentful", r); err == nil {
			t.Errorf("Sign(%+v): no error", r)
		}
	}
}

// FuzzContentful: starting from vector A, Verify never panics and accepts
// only when what the toolkit signs is the original's.
func FuzzContentful(f *testing.F) {
	f.Add("POST", "/contentful", cfList, "1718000000000", cfSigA, "ContentManagement.Entry.publish", []byte(cfBody))
	f.Add("POST", "/contentful?", cfList, "1718000000000", cfSigA, "ContentManagement.Entry.publish", []byte(cfBody))
	f.Add("POST", "/contentful", "content-type,x-contentful-signed-headers,x-contentful-timestamp", "1718000000000", cfSigA, "a;b:c", []byte(cfBody))
	v, err := New("contentful", Config{Secrets: []string{cfS1}, Tolerance: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, method, target, list, ts, sig, topic string, body []byte) {
		if fuzzTooBig(body, target, list, ts, sig, topic) {
			return
		}
		u, err := url.ParseRequestURI(target)
		if err != nil {
			return
		}
		h := fuzzHeader(cfHeaderA(), "X-Contentful-Signed-Headers", list, "X-Contentful-Timestamp", ts,
			"X-Contentful-Signature", sig, "X-Contentful-Topic", topic)
		res, err := v.Verify(&Request{Context: context.Background(), Method: method, URL: u, Header: h, Body: body, Now: time.UnixMilli(cfTS)})
		if err != nil {
			return
		}
		if method != "POST" || u.RawPath != "" || u.EscapedPath() != "/contentful" || u.RawQuery != "" || list != cfList ||
			ts != "1718000000000" || topic != "ContentManagement.Entry.publish" || string(body) != cfBody || res.SignedID != cfIdem {
			t.Fatalf("accepted a changed request: %s %q list %q ts %q topic %q body %q", method, target, list, ts, topic, body)
		}
	})
}
