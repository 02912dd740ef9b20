package webhookverify

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// End-to-end tests, through Caddy, of the named providers over existing
// verifiers (the aliases of verifiers/presets_<group>.go) and Hygraph
// (hygraph.go). Each
// route gets a vector that must be forwarded byte-identical (and a second
// copy answered as a duplicate), a tampered copy refused with 401, and a
// request without its signature or credentials refused, none of which
// reach the upstream. Timestamped vectors are older than the tolerance:
// their routes say `tolerance off`, and a "-stale" route with the default
// tolerance refuses the same delivery with 401.
//
// The Standard Webhooks vectors come from verifiers/testdata/presets/vectors.json,
// signed by Node's crypto (verifiers/testdata/presets/sign.js); the
// Hygraph ones by Hygraph's own library (command in
// verifiers/hygraph_test.go); the Mandrill one by Node's crypto
// (command in verifiers/presets_aliases_test.go).

// e2eAliasVector is one vector of verifiers/testdata/presets/vectors.json.
type e2eAliasVector struct {
	Name    string            `json:"name"`
	Secrets []string          `json:"secrets"`
	Headers map[string]string `json:"headers"`
	Body    string            `json:"body"`
	Now     int64             `json:"now"`
}

func e2eAliasVectors(t *testing.T) map[string]e2eAliasVector {
	t.Helper()
	raw, err := os.ReadFile("verifiers/testdata/presets/vectors.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []e2eAliasVector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatal(err)
	}
	out := map[string]e2eAliasVector{}
	for _, v := range file.Vectors {
		out[v.Name] = v
	}
	return out
}

const (
	e2eHygraphSecret = "rCNwyiloY3oJYYkxgpBXaleIiUv5MYlx"
	e2eHygraphBody   = "{\"operation\":\"publish\",\"data\":{\"title\":\"a \\\"quoted\\\" \\\\ back\\nslash\\ttab\",\"x\":\"\u2028é😀\x01\x7f/\"}}\n"
	e2eHygraphSig    = "sign=jq3XGGjmQfoXKNrTdB9PD/NfCb2zt+D7EqGObcSVjFE=, env=master, t=1767225570000"
	e2eHygraphBody1  = `{"hello":"world"}`
	e2eHygraphSigEnv = "sign=KCDUhXMmkgt+BYaPtR9f4qrZq0EkN9QRrhvvMBix/y8=, env=staging-2, t=1767225570000"

	// plivo-go utils_test.go @273a8369467eeb2e2603d3916a0f6587dbde4ec4
	// (TestValidateSignatureV3Pass3), as in verifiers/plivo_test.go.
	e2ePlivoToken = "Y2Q2ZDgxZmY5YWRiOTI5YmQ1Njg0MTAxZWIyOTc4"
	e2ePlivoURL   = "https://plivobin.non-prod.plivops.com/api/v1/validate_signature03.xml"
	e2ePlivoNonce = "31627761595286130198"
	e2ePlivoSig   = "iAjE5QqI37mbkYe4w3jTMudqEzbDufdqi7sYwTu64e0="
	e2ePlivoForm  = "ALegRequestUUID=3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36&ALegUUID=3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36&BillRate=0.002&CallStatus=in-progress&CallUUID=3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36&Direction=outbound&Event=StartApp&From=19792014278&ParentAuthID=MANWVLYTK4ZWU1YTY4QA&RequestUUID=3e82ae9d-2c78-4d85-b1a4-6eae7dbafb36&SIP-H-To=%3Csip%3APlivoSignature382029104058171078704104%4052.9.11.55%3Btransport%3Dudp%3E%3Btag%3D1&SessionStart=2020-04-08+11%3A34%3A33.238707&To=sip%3APlivoSignature382029104058171078704104%40phone-qa.voice.plivodev.com"

	e2eMailchimpKey = "mailchimp-webhook-key"
	e2eMailchimpURL = "https://example.com/hooks/mailchimp"
	e2eMailchimpSig = "mdMPALKqFX2bvWXt8RNOLGjThwc="
)

var e2eStandardWebhooksPresets = []string{"brex", "clerk", "loops", "openai", "replicate"}

// e2eAliasRoutes is the Caddy config of this test, one route per
// provider or case.
func e2eAliasRoutes(vectors map[string]e2eAliasVector) []e2eRoute {
	secret := func(name string) string {
		if v, ok := vectors[name]; ok {
			return v.Secrets[0]
		}
		return "unset"
	}
	var routes []e2eRoute
	for _, n := range e2eStandardWebhooksPresets {
		routes = append(routes, e2eRoute{"/p-" + n, n, "secret " + secret(n) + "\ntolerance off"})
	}
	routes = append(routes,
		e2eRoute{"/p-openai-stale", "openai", "secret " + secret("openai")},
		e2eRoute{"/p-mailchimp", "mailchimp", "secret " + e2eMailchimpKey + "\nurl " + e2eMailchimpURL + "\nurl_path /p-mailchimp"},
		e2eRoute{"/p-vmware", "vmware", "username hook\npassword vm-pass"},
		e2eRoute{"/p-mailjet", "mailjet", "username hook\npassword mj-pass"},
		e2eRoute{"/p-sparkpost", "sparkpost", "username hook\npassword sp-pass"},
		e2eRoute{"/p-brevo", "brevo", "secret brevo-token"},
		e2eRoute{"/p-graphcms", "graphcms", "secret " + e2eHygraphSecret + "\ntolerance off"},
		e2eRoute{"/p-hygraph", "hygraph", "secret " + e2eHygraphSecret + "\ntolerance off"},
		e2eRoute{"/p-hygraph-stale", "hygraph", "secret " + e2eHygraphSecret},
		e2eRoute{"/p-plivo", "plivo", "secret " + e2ePlivoToken + "\nurl " + e2ePlivoURL + "\nurl_path /p-plivo"},
	)
	return routes
}

func e2eAliasCases(vectors map[string]e2eAliasVector) []e2eCase {
	var cases []e2eCase
	add := func(c ...e2eCase) { cases = append(cases, c...) }
	for _, n := range e2eStandardWebhooksPresets {
		v := vectors[n]
		body := []byte(v.Body)
		ts := strconv.FormatInt(v.Now-30, 10)
		add(
			e2eOK(n, "/p-"+n, v.Headers, body, 0, "msg_"+n+"_1", ts),
			e2eReject(n+" tampered", "/p-"+n, v.Headers, append(bytes.Clone(body), ' '), 401),
		)
		sigHeader := "webhook-signature"
		if n == "clerk" {
			sigHeader = "svix-signature"
		}
		add(e2eReject(n+" unsigned", "/p-"+n, e2eWith(v.Headers, sigHeader, ""), body, 400))
	}
	openai := vectors["openai"]
	add(e2eReject("openai stale", "/p-openai-stale", openai.Headers, []byte(openai.Body), 401))

	form := "application/x-www-form-urlencoded"
	mc := map[string]string{"X-Mandrill-Signature": e2eMailchimpSig, "Content-Type": form}
	mcBody := []byte("mandrill_events=%5B%5D")
	add(
		e2eOK("mailchimp", "/p-mailchimp", mc, mcBody, 0, "", "-"),
		e2eReject("mailchimp tampered", "/p-mailchimp", mc, []byte("mandrill_events=%5B%5D&x=1"), 401),
		e2eReject("mailchimp unsigned", "/p-mailchimp", e2eWith(mc, "X-Mandrill-Signature", ""), mcBody, 400),
	)

	basic := func(user, pass string) map[string]string {
		return map[string]string{"Authorization": "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass)), "Content-Type": "application/json"}
	}
	for _, b := range []struct{ name, pass string }{{"vmware", "vm-pass"}, {"mailjet", "mj-pass"}, {"sparkpost", "sp-pass"}} {
		body := []byte(fmt.Sprintf(`{"event":"%s.test"}`, b.name))
		bad := e2eReject(b.name+" wrong password", "/p-"+b.name, basic("hook", b.pass+"x"), body, 401)
		bad.challenge = true
		none := e2eReject(b.name+" no credentials", "/p-"+b.name, map[string]string{"Content-Type": "application/json"}, body, 401)
		none.challenge = true
		add(e2eOK(b.name, "/p-"+b.name, basic("hook", b.pass), body, 0, "", "-"), bad, none)
	}
	brevoBody := []byte(`[{"event":"delivered","message-id":"<1@example.com>"}]`)
	add(
		e2eOK("brevo", "/p-brevo", map[string]string{"Authorization": "Bearer brevo-token", "Content-Type": "application/json"}, brevoBody, 0, "", "-"),
		e2eReject("brevo wrong token", "/p-brevo", map[string]string{"Authorization": "Bearer brevo-tokenx"}, brevoBody, 401),
		e2eReject("brevo bare token", "/p-brevo", map[string]string{"Authorization": "brevo-token"}, brevoBody, 401),
	)

	hyTS := "1767225570"
	hy := map[string]string{"gcms-signature": e2eHygraphSig, "Content-Type": "application/json"}
	add(
		e2eOK("graphcms", "/p-graphcms", hy, []byte(e2eHygraphBody), 0, "", hyTS),
		e2eOK("hygraph other environment", "/p-hygraph", map[string]string{"gcms-signature": e2eHygraphSigEnv}, []byte(e2eHygraphBody1), 0, "", hyTS),
		e2eReject("hygraph tampered", "/p-hygraph", hy, e2eReplace([]byte(e2eHygraphBody), "quoted", "Quoted"), 401),
		e2eReject("hygraph environment swapped", "/p-hygraph", map[string]string{"gcms-signature": strings.Replace(e2eHygraphSigEnv, "staging-2", "master", 1)}, []byte(e2eHygraphBody1), 401),
		e2eReject("hygraph unsigned", "/p-graphcms", e2eWith(hy, "gcms-signature", ""), []byte(e2eHygraphBody), 400),
		e2eReject("hygraph stale", "/p-hygraph-stale", hy, []byte(e2eHygraphBody), 401),
	)
	pl := map[string]string{"X-Plivo-Signature-V3": e2ePlivoSig, "X-Plivo-Signature-V3-Nonce": e2ePlivoNonce, "Content-Type": form}
	add(
		e2eOK("plivo", "/p-plivo", pl, []byte(e2ePlivoForm), 0, "", "-"),
		e2eReject("plivo tampered", "/p-plivo", pl, e2eReplace([]byte(e2ePlivoForm), "StartApp", "StopApp"), 401),
		e2eReject("plivo other nonce", "/p-plivo", e2eWith(pl, "X-Plivo-Signature-V3-Nonce", "31627761595286130199"), []byte(e2ePlivoForm), 401),
		e2eReject("plivo unsigned", "/p-plivo", e2eWith(pl, "X-Plivo-Signature-V3", ""), []byte(e2ePlivoForm), 400),
	)
	return cases
}

func TestIntegrationAliases(t *testing.T) {
	if testing.Short() {
		t.Skip("caddytest integration test")
	}
	vectors := e2eAliasVectors(t)
	for _, n := range e2eStandardWebhooksPresets {
		if _, ok := vectors[n]; !ok {
			t.Fatalf("no vector for %s", n)
		}
	}
	routes := e2eAliasRoutes(vectors)
	cases := e2eAliasCases(vectors)
	byPath := map[string]e2eRoute{}
	for _, r := range routes {
		byPath[r.path] = r
	}
	forwarded, refused := map[string]bool{}, map[string]bool{}
	for _, c := range cases {
		if _, ok := byPath[c.path]; !ok {
			t.Fatalf("case %q: no route %s", c.name, c.path)
		}
		if c.forward {
			forwarded[c.path] = true
		} else {
			refused[c.path] = true
		}
	}
	for _, r := range routes {
		if !strings.HasSuffix(r.path, "-stale") && !forwarded[r.path] {
			t.Errorf("route %s: no delivery is forwarded through it", r.path)
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
	tc.InitServer(e2eCaddyfile(srv.Listener.Addr().String(), routes, strconv.FormatInt(time.Now().UnixNano(), 36)), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(up.requests(c.path))
			status, msg, hdr := postH(t, tc, c.path, c.headers, c.body)
			if status != c.want {
				t.Fatalf("status = %d (%q), want %d", status, msg, c.want)
			}
			if !c.forward {
				if n := len(up.requests(c.path)) - before; n != 0 {
					t.Fatalf("the upstream was called %d times, want 0", n)
				}
				if c.challenge && !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Basic ") {
					t.Errorf("WWW-Authenticate = %q, want a Basic challenge", hdr.Get("WWW-Authenticate"))
				}
				return
			}
			got := up.requests(c.path)
			if len(got) != before+1 {
				t.Fatalf("the upstream saw %d requests, want 1", len(got)-before)
			}
			last := got[len(got)-1]
			if !bytes.Equal(last.body, c.body) {
				t.Errorf("upstream body %q, want %q", last.body, c.body)
			}
			if v := last.header.Get("X-Wv-Provider"); v != byPath[c.path].provider {
				t.Errorf("{http.webhook_verify.provider} = %q, want %q", v, byPath[c.path].provider)
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
			status, msg, _ = postH(t, tc, c.path, c.headers, c.body)
			if status != 200 || !strings.Contains(msg, "duplicate") {
				t.Errorf("second copy: status %d (%q), want 200 duplicate", status, msg)
			}
			if n := len(up.requests(c.path)) - before; n != 1 {
				t.Errorf("after a second copy the upstream saw %d requests, want 1", n)
			}
		})
	}
}
