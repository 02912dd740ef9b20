package verifiers

import (
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// Hygraph vectors signed by Hygraph's own library, github:hygraph/hygraph-utils
// index.js @d130b4a3a6ce490b8da9c2506729b056f1d3bf66, with its test secret
// (index.test.js) and Date.now pinned:
//
//	git show d130b4a:index.js > /tmp/hyg/index.js && cd /tmp/hyg && node -e '
//	  const h = require("./index.js"); Date.now = () => 1767225570000;
//	  const secret = "rCNwyiloY3oJYYkxgpBXaleIiUv5MYlx";
//	  console.log(h.generateWebhookSignature({rawPayload: BODY, secret}));
//	  console.log(h.generateWebhookSignature({rawPayload: BODY, secret, environmentName: "staging-2"}))'
//
// The second body holds what JSON.stringify escapes (quotes, backslashes,
// \n, \t, U+0001) and what it does not (U+2028, DEL, "/", non-ASCII).
const (
	hygraphSecret  = "rCNwyiloY3oJYYkxgpBXaleIiUv5MYlx"
	hygraphBody1   = `{"hello":"world"}`
	hygraphBody2   = "{\"operation\":\"publish\",\"data\":{\"title\":\"a \\\"quoted\\\" \\\\ back\\nslash\\ttab\",\"x\":\"\u2028é😀\x01\x7f/\"}}\n"
	hygraphSig1    = "sign=/7r/TQKyD5HYrQAzSK3rwF1a6U6vXH9rUhqM6sac7Zc=, env=master, t=1767225570000"
	hygraphSig2    = "sign=jq3XGGjmQfoXKNrTdB9PD/NfCb2zt+D7EqGObcSVjFE=, env=master, t=1767225570000"
	hygraphSigEnv  = "sign=KCDUhXMmkgt+BYaPtR9f4qrZq0EkN9QRrhvvMBix/y8=, env=staging-2, t=1767225570000"
	hygraphNowUnix = 1767225600
)

func hygraphRequest(sig, body string) *Request {
	h := http.Header{}
	if sig != "" {
		h.Set("gcms-signature", sig)
	}
	return &Request{Method: http.MethodPost, Header: h, Body: []byte(body), Now: time.Unix(hygraphNowUnix, 0)}
}

func TestHygraphVectors(t *testing.T) {
	for _, name := range []string{"graphcms", "hygraph"} {
		v, err := New(name, Config{Secrets: []string{"other-secret", hygraphSecret}})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct{ sig, body string }{
			{hygraphSig1, hygraphBody1}, {hygraphSig2, hygraphBody2}, {hygraphSigEnv, hygraphBody1},
		} {
			res, err := v.Verify(hygraphRequest(tc.sig, tc.body))
			if err != nil {
				t.Fatalf("%s %q: %v", name, tc.sig, err)
			}
			if res.Key != 1 || !res.Timestamp.Equal(time.UnixMilli(1767225570000)) || len(res.Signature) != 32 {
				t.Errorf("%s: result %+v", name, res)
			}
		}
	}
}

func TestHygraphRejects(t *testing.T) {
	v, err := New("hygraph", Config{Secrets: []string{hygraphSecret}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, sig, body string
		now             time.Time
		want            error
	}{
		{"tampered body", hygraphSig1, `{"hello":"World"}`, time.Time{}, ErrSignature},
		{"other environment", strings.Replace(hygraphSig1, "env=master", "env=staging", 1), hygraphBody1, time.Time{}, ErrSignature},
		{"other time", strings.Replace(hygraphSig1, "t=1767225570000", "t=1767225570001", 1), hygraphBody1, time.Time{}, ErrSignature},
		{"body 2 under sig 1", hygraphSig1, hygraphBody2, time.Time{}, ErrSignature},
		{"stale", hygraphSig1, hygraphBody1, time.Unix(hygraphNowUnix+301, 0), ErrTimestamp},
		{"future", hygraphSig1, hygraphBody1, time.Unix(1767225570-301, 0), ErrTimestamp},
		{"missing", "", hygraphBody1, time.Time{}, ErrMalformed},
		{"no spaces", strings.ReplaceAll(hygraphSig1, ", ", ","), hygraphBody1, time.Time{}, ErrMalformed},
		{"order", "env=master, sign=/7r/TQKyD5HYrQAzSK3rwF1a6U6vXH9rUhqM6sac7Zc=, t=1767225570000", hygraphBody1, time.Time{}, ErrMalformed},
		{"env with quote", strings.Replace(hygraphSig1, "env=master", `env=mas"ter`, 1), hygraphBody1, time.Time{}, ErrMalformed},
		{"empty env", strings.Replace(hygraphSig1, "env=master", "env=", 1), hygraphBody1, time.Time{}, ErrMalformed},
		{"t leading zero", strings.Replace(hygraphSig1, "t=1767225570000", "t=01767225570000", 1), hygraphBody1, time.Time{}, ErrMalformed},
		{"t not digits", strings.Replace(hygraphSig1, "t=1767225570000", "t=1767225570000.0", 1), hygraphBody1, time.Time{}, ErrMalformed},
		{"sign not base64", strings.Replace(hygraphSig1, "sign=/7r/", "sign=*7r/", 1), hygraphBody1, time.Time{}, ErrMalformed},
		{"sign short", "sign=AAAA, env=master, t=1767225570000", hygraphBody1, time.Time{}, ErrMalformed},
		{"body not UTF-8", hygraphSig1, "{\"hello\":\"\xff\"}", time.Time{}, ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := hygraphRequest(tc.sig, tc.body)
			if !tc.now.IsZero() {
				r.Now = tc.now
			}
			_, err := v.Verify(r)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), hygraphSecret) {
				t.Fatal("error names the secret")
			}
		})
	}
	if r := hygraphRequest(hygraphSig1, hygraphBody1); true {
		r.Header.Add("gcms-signature", hygraphSig1)
		if _, err := v.Verify(r); !errors.Is(err, ErrMalformed) {
			t.Fatalf("duplicated header: %v", err)
		}
	}
}

func TestHygraphToleranceOff(t *testing.T) {
	v, err := New("graphcms", Config{Secrets: []string{hygraphSecret}, Tolerance: -1})
	if err != nil {
		t.Fatal(err)
	}
	r := hygraphRequest(hygraphSig1, hygraphBody1)
	r.Now = time.Unix(hygraphNowUnix+86400, 0)
	if _, err := v.Verify(r); err != nil {
		t.Fatal(err)
	}
	if v.(Timestamped).HasTimestamp() {
		t.Error("HasTimestamp with tolerance off")
	}
}

func TestHygraphConfig(t *testing.T) {
	if _, err := New("graphcms", Config{}); err == nil {
		t.Error("no secret accepted")
	}
	if _, err := New("graphcms", Config{Secrets: []string{"s"}, URL: "https://example.com/"}); err == nil {
		t.Error("url accepted")
	}
}

func TestAppendJSString(t *testing.T) {
	// Expected values are JavaScript's: node -e 'console.log(JSON.stringify(S))'.
	for in, want := range map[string]string{
		"":                      `""`,
		`a"b\c`:                 `"a\"b\\c"`,
		"\b\f\n\r\t\x00\x1f":    `"\b\f\n\r\t\u0000\u001f"`,
		"\x7f/<>&\u2028\u2029é": "\"\x7f/<>&\u2028\u2029é\"",
	} {
		if got := string(appendJSString(nil, []byte(in))); got != want {
			t.Errorf("%q: got %s, want %s", in, got, want)
		}
	}
}
