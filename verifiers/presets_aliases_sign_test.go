package verifiers

import (
	"bytes"
	"errors"
	"testing"
	"time"
)

// presetsMoreSigned lists the signers of the aliases (presets_<group>.go)
// and of hygraph's graphcms and plivo, whose round trips are checked here
// (TestSignRoundTrip skips them).
var presetsMoreSigned = map[string]bool{
	"brex": true, "clerk": true, "loops": true, "openai": true, "replicate": true,
	"mailchimp": true, "mailjet": true, "sparkpost": true, "vmware": true, "brevo": true,
	"graphcms": true, "plivo": true,
}

// TestPresetsMoreSignRoundTrip: each signer's delivery is accepted by its
// provider's verifier, and refused with the body changed or under another
// secret. (The verifiers themselves rest on published vectors, see
// presets_aliases_test.go, hygraph_test.go, plivo_test.go.)
func TestPresetsMoreSignRoundTrip(t *testing.T) {
	now := time.Unix(1767225600, 0)
	sw := "whsec_" + "c3RhbmRhcmQtd2ViaG9va3MtdGVzdC1rZXk="
	cases := []struct {
		name       string
		req        SignRequest
		cfg, wrong Config
		unsigned   bool // credentials only: a changed body still passes
	}{
		{"brex", SignRequest{Secret: sw}, Config{Secrets: []string{sw}}, Config{Secrets: []string{"whsec_b3RoZXI="}}, false},
		{"clerk", SignRequest{Secret: sw}, Config{Secrets: []string{sw}}, Config{Secrets: []string{"whsec_b3RoZXI="}}, false},
		{"loops", SignRequest{Secret: sw}, Config{Secrets: []string{sw}}, Config{Secrets: []string{"whsec_b3RoZXI="}}, false},
		{"openai", SignRequest{Secret: sw}, Config{Secrets: []string{sw}}, Config{Secrets: []string{"whsec_b3RoZXI="}}, false},
		{"replicate", SignRequest{Secret: sw}, Config{Secrets: []string{sw}}, Config{Secrets: []string{"whsec_b3RoZXI="}}, false},
		{"mailchimp", SignRequest{Secret: "k", URL: "https://example.com/hook"},
			Config{Secrets: []string{"k"}, URL: "https://example.com/hook"}, Config{Secrets: []string{"x"}, URL: "https://example.com/hook"}, false},
		{"mailjet", SignRequest{Username: "u", Password: "p"}, Config{Username: "u", Password: "p"}, Config{Username: "u", Password: "q"}, true},
		{"sparkpost", SignRequest{Username: "u", Password: "p"}, Config{Username: "u", Password: "p"}, Config{Username: "u", Password: "q"}, true},
		{"vmware", SignRequest{Username: "u", Password: "p"}, Config{Username: "u", Password: "p"}, Config{Username: "u", Password: "q"}, true},
		{"brevo", SignRequest{Secret: "tok"}, Config{Secrets: []string{"tok"}}, Config{Secrets: []string{"other"}}, true},
		{"graphcms", SignRequest{Secret: "s"}, Config{Secrets: []string{"s"}}, Config{Secrets: []string{"x"}}, false},
		{"hygraph", SignRequest{Secret: "s", KeyID: "staging-2"}, Config{Secrets: []string{"s"}}, Config{Secrets: []string{"x"}}, false},
		{"plivo", SignRequest{Secret: "tok", URL: "https://example.com/plivo?a=b", Body: []byte("CallUUID=1&Event=StartApp")},
			Config{Secrets: []string{"tok"}, URL: "https://example.com/plivo"}, Config{Secrets: []string{"x"}, URL: "https://example.com/plivo"}, false},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			seen[Canonical(tc.name)] = true
			req := tc.req
			if req.Body == nil {
				req.Body = []byte(`{"id":"evt_1","n":1}`)
			}
			req.Now = now
			s, err := Sign(tc.name, req)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			reqURL := "https://example.com/hook"
			if tc.name == "plivo" {
				reqURL = "https://internal/plivo"
			}
			if _, err := signVerify(t, tc.name, tc.cfg, reqURL, s, now); err != nil {
				t.Fatalf("verifier refused the signed delivery: %v", err)
			}
			if _, err := signVerify(t, tc.name, tc.wrong, reqURL, s, now); !errors.Is(err, ErrSignature) && !errors.Is(err, ErrCredentials) {
				t.Errorf("other secret: %v", err)
			}
			tampered := *s
			tampered.Body = bytes.Replace(bytes.Clone(s.Body), []byte("1"), []byte("2"), 1)
			_, err = signVerify(t, tc.name, tc.cfg, reqURL, &tampered, now)
			if tc.unsigned {
				if err != nil {
					t.Errorf("credentials-only provider refused a changed body: %v", err)
				}
			} else if err == nil {
				t.Error("verifier accepted a changed body")
			}
		})
	}
	for _, n := range []string{"brex", "clerk", "loops", "openai", "replicate", "mailchimp", "mailjet", "sparkpost", "vmware", "brevo", "graphcms", "plivo"} {
		if !seen[n] || !Signable(n) {
			t.Errorf("signer %s: no round-trip case or not registered", n)
		}
	}
	if _, err := Sign("plivo", SignRequest{Secret: "tok", URL: "https://example.com/p", Body: []byte(`{"a":1}`)}); err == nil {
		t.Error("plivo signed a JSON body")
	}
	if _, err := Sign("graphcms", SignRequest{Secret: "s", KeyID: `a"b`}); err == nil {
		t.Error("hygraph signed a bad environment name")
	}
}
