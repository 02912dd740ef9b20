package verifiers

import (
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
