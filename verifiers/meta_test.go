package verifiers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Meta publishes no signed example. The body is the WhatsApp Cloud API's
// text-message webhook example
// (https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples),
// signed with node's crypto, not the code under test:
//
//	node -e 'console.log(require("crypto").createHmac("sha256","meta-app-secret-1234").update(process.argv[1]).digest("hex"))' "$body"
const (
	metaSecret = "meta-app-secret-1234"
	metaBody   = `{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]},"field":"messages"}]}]}`
	metaSig    = "1068be8fd7bfa0ba12fdf9b7a445c423fd8e863b4c7022b9f13d9808e28bf173"
)

// getRequest is an unsigned handshake request.
func getRequest(method, target string, kv ...string) *Request {
	u, err := url.Parse(target)
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return &Request{Context: context.Background(), Method: method, URL: u, Header: h, Now: time.Now()}
}

// handshakeCase is one request to a Handshaker and what must become of it.
type handshakeCase struct {
	name, method, target string
	headers              []string
	ok                   bool   // a handshake
	err                  error  // its error
	body                 string // its answer
	ct                   string // the answer's Content-Type
}

func runHandshakes(t *testing.T, v Verifier, cases []handshakeCase) {
	t.Helper()
	hs, ok := v.(Handshaker)
	if !ok {
		t.Fatal("not a Handshaker")
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, ok, err := hs.Handshake(getRequest(tc.method, tc.target, tc.headers...))
			if ok != tc.ok || !errors.Is(err, tc.err) || (tc.err == nil) != (err == nil) {
				t.Fatalf("ok %v, err %v; want ok %v, err %v", ok, err, tc.ok, tc.err)
			}
			if !ok || err != nil {
				if resp != nil {
					t.Fatalf("response %+v with ok %v, err %v", resp, ok, err)
				}
				return
			}
			if resp == nil || resp.Status != 200 || resp.Body != tc.body || resp.Header.Get("Content-Type") != tc.ct {
				t.Fatalf("response %+v, want 200 %q (%s)", resp, tc.body, tc.ct)
			}
			if strings.HasPrefix(tc.ct, "text/plain") && resp.Header.Get("X-Content-Type-Options") != "nosniff" {
				t.Errorf("text answer without X-Content-Type-Options: nosniff")
			}
		})
	}
}

// bodyHMACCase is one POST to a body-HMAC provider.
type bodyHMACCase struct {
	name    string
	secrets []string
	body    string
	headers []string
	wantErr error
	key     int
}

func runBodyHMAC(t *testing.T, provider string, extra Config, cases []bodyHMACCase, leaks ...string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := extra
			c.Secrets = tc.secrets
			v, err := New(provider, c)
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(slackRequest(tc.body, time.Now(), tc.headers...))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || res != nil {
					t.Fatalf("err %v, res %+v; want %v", err, res, tc.wantErr)
				}
				for _, l := range leaks {
					if strings.Contains(err.Error(), l) {
						t.Fatalf("error %q leaks %q", err, l)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.Key != tc.key || res.Reply != nil || len(res.Signature) == 0 {
				t.Fatalf("result %+v, want key %d, no Reply", res, tc.key)
			}
			if bs, ok := v.(BodySigner); !ok || !bs.SignsBody() {
				t.Errorf("%s does not report that it signs the body", provider)
			}
		})
	}
}

func TestMetaVerify(t *testing.T) {
	h := func(sig string) []string {
		return []string{"X-Hub-Signature-256", sig, "Content-Type", "application/json"}
	}
	for _, name := range []string{"facebook_graph_api", "facebook_messenger", "instagram", "whatsapp", "meta"} {
		t.Run(name, func(t *testing.T) {
			runBodyHMAC(t, name, Config{VerifyToken: "tok"}, []bodyHMACCase{
				{"signed", []string{metaSecret}, metaBody, h("sha256=" + metaSig), nil, 0},
				{"rotation", []string{"old", metaSecret}, metaBody, h("sha256=" + metaSig), nil, 1},
				{"tampered", []string{metaSecret}, strings.Replace(metaBody, "another color", "another colour", 1), h("sha256=" + metaSig), ErrSignature, 0},
				{"wrong secret", []string{"nope"}, metaBody, h("sha256=" + metaSig), ErrSignature, 0},
				{"legacy sha1 header only", []string{metaSecret}, metaBody, []string{"X-Hub-Signature", "sha1=0123456789abcdef0123456789abcdef01234567"}, ErrMalformed, 0},
				{"no prefix", []string{metaSecret}, metaBody, h(metaSig), ErrMalformed, 0},
				{"duplicated", []string{metaSecret}, metaBody, append(h("sha256="+metaSig), "X-Hub-Signature-256", "sha256="+metaSig), ErrMalformed, 0},
			}, metaSecret, metaSig[:16])
		})
	}
}

func TestMetaHandshake(t *testing.T) {
	v, err := New("whatsapp", Config{Secrets: []string{metaSecret}, VerifyToken: "meatyhamhock"})
	if err != nil {
		t.Fatal(err)
	}
	// The request of Meta's "Verification Requests" docs example.
	const docs = "/hook?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock"
	const tp = "text/plain; charset=utf-8"
	runHandshakes(t, v, []handshakeCase{
		{name: "docs example", method: "GET", target: docs, ok: true, body: "1158201444", ct: tp},
		{name: "wrong token", method: "GET", target: "/hook?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhocks", ok: true, err: ErrForbidden},
		{name: "token prefix", method: "GET", target: "/hook?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=meaty", ok: true, err: ErrForbidden},
		{name: "no token", method: "GET", target: "/hook?hub.mode=subscribe&hub.challenge=1158201444", ok: true, err: ErrForbidden},
		{name: "repeated token", method: "GET", target: docs + "&hub.verify_token=meatyhamhock", ok: true, err: ErrForbidden},
		{name: "other mode", method: "GET", target: "/hook?hub.mode=unsubscribe&hub.challenge=1158201444&hub.verify_token=meatyhamhock", ok: true, err: ErrMalformed},
		{name: "no challenge", method: "GET", target: "/hook?hub.mode=subscribe&hub.verify_token=meatyhamhock", ok: true, err: ErrMalformed},
		{name: "markup in challenge", method: "GET", target: "/hook?hub.mode=subscribe&hub.challenge=%3Cscript%3E&hub.verify_token=meatyhamhock", ok: true, err: ErrMalformed},
		{name: "long challenge", method: "GET", target: "/hook?hub.mode=subscribe&hub.challenge=" + strings.Repeat("1", handshakeMaxValue+1) + "&hub.verify_token=meatyhamhock", ok: true, err: ErrMalformed},
		{name: "repeated challenge", method: "GET", target: docs + "&hub.challenge=2", ok: true, err: ErrMalformed},
		{name: "bad query", method: "GET", target: "/hook?hub.mode=subscribe&hub.challenge=%zz", ok: true, err: ErrMalformed},
		{name: "GET without hub.mode", method: "GET", target: "/hook?x=1", ok: false},
		{name: "POST with the query", method: "POST", target: docs, ok: false},
	})
	// Without a verify_token every handshake is refused.
	v, err = New("meta", Config{Secrets: []string{metaSecret}})
	if err != nil {
		t.Fatal(err)
	}
	runHandshakes(t, v, []handshakeCase{{name: "no verify_token configured", method: "GET", target: docs, ok: true, err: ErrForbidden}})
}

func TestMetaConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"secret", Config{Secrets: []string{metaSecret}}, true},
		{"secret and verify_token", Config{Secrets: []string{metaSecret}, VerifyToken: "t"}, true},
		{"no secret", Config{VerifyToken: "t"}, false},
		{"tolerance", Config{Secrets: []string{metaSecret}, Tolerance: time.Minute}, false},
		{"url", Config{Secrets: []string{metaSecret}, URL: "https://x/"}, false},
	} {
		if _, err := New("instagram", tc.cfg); (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok %v", tc.name, err, tc.ok)
		}
	}
}
