package verifiers

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// SendGrid vectors, copied verbatim from the official SDKs' tests:
//
// Vector A: github:sendgrid/sendgrid-go helpers/eventwebhook/eventwebhook_test.go
// @11d4fa96ffec0f2797723fa57bd09d412b5e85a6 (same values in
// github:sendgrid/sendgrid-ruby spec/fixtures/event_webhook.rb @3dd0020acdcaf1595bf4200a0dcaeabc452dd711
// and github:sendgrid/sendgrid-nodejs packages/eventwebhook/src/eventwebhook.spec.js
// @31bf6a020b7076f003a92b93baf8a054282a9838). The payload is Go's
// json.Marshal of the map (sorted keys, no trailing newline).
//
// Vector B: github:sendgrid/sendgrid-python test/unit/test_eventwebhook.py
// @1dcc378bb90ed0d043c9dcfd239eb4c0b5501a81: json.dumps(..., sort_keys=True,
// separators=(',', ':')) + '\r\n' ("Be sure to include the trailing carriage
// return and newline!").
//
// The bad key and bad signature are the SDKs' own negative fixtures
// (FAILING_PUBLIC_KEY / FAILING_SIGNATURE in sendgrid-ruby). Both vectors
// were also checked with `openssl dgst -sha256 -verify key.pem -signature
// sig.der msg` (msg = timestamp ‖ payload).
const (
	sgKeyA       = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
	sgSigA       = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH2j/0="
	sgTsA        = "1588788367"
	sgBodyA      = `{"category":"example_payload","event":"test_event","message_id":"message_id"}`
	sgKeyB       = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE83T4O/n84iotIvIW4mdBgQ/7dAfSmpqIM8kF9mN1flpVKS3GRqe62gw+2fNNRaINXvVpiglSI8eNEc6wEA3F+g=="
	sgSigB       = "MEUCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiEAyBiXDWzM+uOe5W0JuG+luQAbPIqHh89M15TluLtEZtM="
	sgTsB        = "1600112502"
	sgBodyB      = `[{"email":"hello@world.com","event":"dropped","reason":"Bounced Address","sg_event_id":"ZHJvcC0xMDk5NDkxOS1MUnpYbF9OSFN0T0doUTRrb2ZTbV9BLTA","sg_message_id":"LRzXl_NHStOGhQ4kofSm_A.filterdrecv-p3mdw1-756b745b58-kmzbl-18-5F5FC76C-9.0","smtp-id":"<LRzXl_NHStOGhQ4kofSm_A@ismtpd0039p1iad1.sendgrid.net>","timestamp":1600112492}]` + "\r\n"
	sgFailingKey = "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqTxd43gyp8IOEto2LdIfjRQrIbsd4SXZkLW6jDutdhXSJCWHw8REntlo7aNDthvj+y7GjUuFDb/R1NGe1OPzpA=="
	sgFailingSig = "MEUCIQCtIHJeH93Y+qpYeWrySphQgpNGNr/U+UyUlBkU6n7RAwIgJTz2C+8a8xonZGi6BpSzoQsbVRamr2nlxFDWYNH3j/0="

	// sgSigBLowS is vector B's signature (r, s) rewritten as (r, n-s), which
	// verifies just as well (ECDSA malleability); built with
	// `openssl asn1parse` + xxd and checked with `openssl dgst -verify`.
	sgSigBLowS = "MEQCIGHQVtGj+Y3LkG9fLcxf3qfI10QysgDWmMOVmxG0u6ZUAiA352jxkzMFHWEakvZHkFpGvMu+Ix+PzzgcJOUKQR6+fg=="
	// Canonical r ‖ low-s forms (from `openssl asn1parse -inform DER`).
	sgCanonA = "AD20725E1FDDD8FAAA58796AF24A985082934636BFD4F94C94941914EA7ED103" + "253CF60BEF1AF31A276468BA0694B3A10B1B5516A6AF69E5C450D660D1F68FFD"
	sgCanonB = "61D056D1A3F98DCB906F5F2DCC5FDEA7C8D74432B200D698C3959B11B4BBA654" + "37E768F19333051D611A92F647905A46BCCBBE231F8FCF381C24E50A411EBE7E"

	// Keys of other kinds, generated with openssl (ecparam -name secp384r1,
	// genpkey -algorithm ed25519 / rsa), to check they are refused.
	sgP384Key    = "MHYwEAYHKoZIzj0CAQYFK4EEACIDYgAEUpcyJqT6MQKwjizKyXtk3xP7rPMoD+tZumyN+qVhYviv5p3mjvP6sCpCmJWjZwOMMNIJdYtQhkbd8EzPq2gznI07j2pMnzTvqpK9w/3eAwj7H+vAV6VYICaI70ZA/wfz"
	sgEd25519Key = "MCowBQYDK2VwAyEA+SP4rnwGNSC8QzCFVbN/DuTEmDdICnAMuUS3fFuBStg="
	sgRSAKey     = "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQD5cLSdTxoJT4D+aMwLoLGzB30a+l5rUDNUG8eSw2uGDA6D5ZkJJmz5SqrY6hh0qLT89eGApP+5i66fogh1KqQB8OvY0WdddlycFEk/CvsZISUC/k7vX7gEc8WgHddcZWoasvBEjLlXTLkltjaOB1hTpvRnlagfklls5yf/xromEwIDAQAB"
)

func sgPEM(b64 string) string {
	return "-----BEGIN PUBLIC KEY-----\n" + b64[:64] + "\n" + b64[64:] + "\n-----END PUBLIC KEY-----\n"
}

func sgKeys(keys ...string) []PublicKey {
	out := make([]PublicKey, len(keys))
	for i, k := range keys {
		out[i] = PublicKey{Key: k}
	}
	return out
}

func sgHeader(sig, ts string) http.Header {
	h := http.Header{}
	if sig != "" {
		h.Set(sendgridSignatureHeader, sig)
	}
	if ts != "" {
		h.Set(sendgridTimestampHeader, ts)
	}
	return h
}

func sgUnix(s string) time.Time {
	t, err := ParseUnix(s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestSendGridVerify(t *testing.T) {
	tsA, tsB := sgUnix(sgTsA), sgUnix(sgTsB)
	cases := []struct {
		name    string
		keys    []string
		tol     time.Duration
		header  http.Header
		body    string
		now     time.Time
		wantErr error
		wantKey int
		canon   string
	}{
		{name: "vector A (sendgrid-go/ruby/nodejs)", keys: []string{sgKeyA}, header: sgHeader(sgSigA, sgTsA), body: sgBodyA, now: tsA.Add(10 * time.Second), canon: sgCanonA},
		{name: "vector B (sendgrid-python, trailing CRLF)", keys: []string{sgKeyB}, header: sgHeader(sgSigB, sgTsB), body: sgBodyB, now: tsB.Add(10 * time.Second), canon: sgCanonB},
		{name: "vector B, malleated (r, n-s) signature gives the same replay key", keys: []string{sgKeyB}, header: sgHeader(sgSigBLowS, sgTsB), body: sgBodyB, now: tsB, canon: sgCanonB},
		{name: "PEM key", keys: []string{sgPEM(sgKeyA)}, header: sgHeader(sgSigA, sgTsA), body: sgBodyA, now: tsA, canon: sgCanonA},
		{name: "rotation: second key matches", keys: []string{sgFailingKey, sgKeyB, sgKeyA}, header: sgHeader(sgSigA, sgTsA), body: sgBodyA, now: tsA, wantKey: 2, canon: sgCanonA},
		{name: "exactly at the tolerance (old side)", keys: []string{sgKeyA}, header: sgHeader(sgSigA, sgTsA), body: sgBodyA, now: tsA.Add(5 * time.Minute), canon: sgCanonA},
		{name: "exactly at the tolerance (future side)", keys: []string{sgKeyA}, header: sgHeader(sgSigA, sgTsA), body: sgBodyA, now: tsA.Add(-5 * time.Minute), canon: sgCanonA},
		{name: "tolerance off accepts the 2020 fixture today", keys: []string{sgKeyA}, tol: -1, header: sgHeader(sgSigA, sgTsA), body: sgBodyA, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), canon: sgCanonA},
		{name: "custom tolerance", keys: []string{sgKeyA}, tol: time.Hour, header: sgHeader(sgSigA, sgTsA), body: sgBodyA, now: tsA.Add(59 * time.Minute), canon: sgCanonA},

		{name: "stale timestamp", keys: []string{sgKeyA}, header: sgHeader(sgSigA, sgTsA), body: sgBodyA, now: tsA.Add(5*time.Minute + time.Second), wantErr: ErrTimestamp},
		{name: "future timestamp", keys: []string{sgKeyA}, header: sgHeader(sgSigA, sgTsA), body: sgBodyA, now: tsA.Add(-5*time.Minute - time.Second), wantErr: ErrTimestamp},
		{name: "fixture timestamp against the real clock", keys: []string{sgKeyA}, header: sgHeader(sgSigA, sgTsA), body: sgBodyA, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), wantErr: ErrTimestamp},
		{name: "custom tolerance exceeded", keys: []string{sgKeyA}, tol: time.Minute, header: sgHeader(sgSigA, sgTsA), body: sgBodyA, now: tsA.Add(61 * time.Second), wantErr: ErrTimestamp},

		{name: "wrong key (SDK failing key)", keys: []string{sgFailingKey}, header: sgHeader(sgSigA, sgTsA), body: sgBodyA, now: tsA, wantErr: ErrSignature},
		{name: "key of the other vector", keys: []string{sgKeyB}, header: sgHeader(sgSigA, sgTsA), body: sgBodyA, now: tsA, wantErr: ErrSignature},
		{name: "SDK bad signature", keys: []string{sgKeyA}, header: sgHeader(sgFailingSig, sgTsA), body: sgBodyA, now: tsA, wantErr: ErrSignature},
		{name: "SDK bad payload", keys: []string{sgKeyA}, header: sgHeader(sgSigA, sgTsA), body: "payload", now: tsA, wantErr: ErrSignature},
		{name: "tampered body", keys: []string{sgKeyB}, header: sgHeader(sgSigB, sgTsB), body: strings.Replace(sgBodyB, "dropped", "dropper", 1), now: tsB, wantErr: ErrSignature},
		{name: "trailing CRLF stripped", keys: []string{sgKeyB}, header: sgHeader(sgSigB, sgTsB), body: strings.TrimSuffix(sgBodyB, "\r\n"), now: tsB, wantErr: ErrSignature},
		{name: "trailing CRLF added", keys: []string{sgKeyA}, header: sgHeader(sgSigA, sgTsA), body: sgBodyA + "\r\n", now: tsA, wantErr: ErrSignature},
		{name: "timestamp changed", keys: []string{sgKeyA}, header: sgHeader(sgSigA, "1588788368"), body: sgBodyA, now: tsA, wantErr: ErrSignature},
		{name: "timestamp with leading zero (different signed bytes)", keys: []string{sgKeyA}, header: sgHeader(sgSigA, "0"+sgTsA), body: sgBodyA, now: tsA, wantErr: ErrSignature},
		{name: "empty body", keys: []string{sgKeyA}, header: sgHeader(sgSigA, sgTsA), body: "", now: tsA, wantErr: ErrSignature},

		{name: "missing signature header", keys: []string{sgKeyA}, header: sgHeader("", sgTsA), body: sgBodyA, now: tsA, wantErr: ErrMalformed},
		{name: "missing timestamp header", keys: []string{sgKeyA}, header: sgHeader(sgSigA, ""), body: sgBodyA, now: tsA, wantErr: ErrMalformed},
		{name: "duplicated signature header", keys: []string{sgKeyA}, header: func() http.Header {
			h := sgHeader(sgSigA, sgTsA)
			h.Add(sendgridSignatureHeader, sgSigA)
			return h
		}(), body: sgBodyA, now: tsA, wantErr: ErrMalformed},
		{name: "duplicated timestamp header", keys: []string{sgKeyA}, header: func() http.Header {
			h := sgHeader(sgSigA, sgTsA)
			h.Add(sendgridTimestampHeader, sgTsA)
			return h
		}(), body: sgBodyA, now: tsA, wantErr: ErrMalformed},
		{name: "SDK bad timestamp", keys: []string{sgKeyA}, header: sgHeader(sgSigA, "timestamp"), body: sgBodyA, now: tsA, wantErr: ErrMalformed},
		{name: "fractional timestamp", keys: []string{sgKeyA}, header: sgHeader(sgSigA, sgTsA+".0"), body: sgBodyA, now: tsA, wantErr: ErrMalformed},
		{name: "negative timestamp", keys: []string{sgKeyA}, header: sgHeader(sgSigA, "-"+sgTsA), body: sgBodyA, now: tsA, wantErr: ErrMalformed},
		{name: "signature not base64", keys: []string{sgKeyA}, header: sgHeader("not*base64!", sgTsA), body: sgBodyA, now: tsA, wantErr: ErrMalformed},
		{name: "SDK 'signature+causing failure'", keys: []string{sgKeyA}, header: sgHeader(sgSigA+"causing failure", sgTsA), body: sgBodyA, now: tsA, wantErr: ErrMalformed},
		{name: "truncated signature", keys: []string{sgKeyA}, header: sgHeader(sgSigA[:64], sgTsA), body: sgBodyA, now: tsA, wantErr: ErrMalformed},
		{name: "DER with trailing bytes", keys: []string{sgKeyA}, header: sgHeader(sgReencode(sgSigA, func(b []byte) []byte { return append(b, 0) }), sgTsA), body: sgBodyA, now: tsA, wantErr: ErrMalformed},
		{name: "raw r||s instead of DER", keys: []string{sgKeyA}, header: sgHeader(base64.StdEncoding.EncodeToString(sgMustHex(sgCanonA)), sgTsA), body: sgBodyA, now: tsA, wantErr: ErrMalformed},
		{name: "oversized signature header", keys: []string{sgKeyA}, header: sgHeader(strings.Repeat("A", 200), sgTsA), body: sgBodyA, now: tsA, wantErr: ErrMalformed},
		{name: "malformed beats stale", keys: []string{sgKeyA}, header: sgHeader("!!", sgTsA), body: sgBodyA, now: tsA.Add(time.Hour), wantErr: ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New("sendgrid", Config{PublicKeys: sgKeys(tc.keys...), Tolerance: tc.tol})
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(&Request{Method: "POST", Header: tc.header, Body: []byte(tc.body), Now: tc.now})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || res != nil {
					t.Fatalf("got %v, %v; want %v", res, err, tc.wantErr)
				}
				for _, s := range []string{sgSigA, sgSigB, tc.header.Get(sendgridSignatureHeader), tc.body} {
					if len(s) > 8 && strings.Contains(err.Error(), s) {
						t.Fatalf("error %q leaks a signature or the body", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			want := sgUnix(tc.header.Get(sendgridTimestampHeader))
			if res.Key != tc.wantKey || !res.Timestamp.Equal(want) || res.ID != "" || res.SignedID != "" || res.Act != nil {
				t.Fatalf("result %+v; want key %d timestamp %v", res, tc.wantKey, want)
			}
			if got := strings.ToUpper(hex.EncodeToString(res.Signature)); got != tc.canon {
				t.Fatalf("Signature %s; want %s", got, tc.canon)
			}
		})
	}
}

func sgReencode(b64 string, f func([]byte) []byte) string {
	b, _ := base64.StdEncoding.DecodeString(b64)
	return base64.StdEncoding.EncodeToString(f(b))
}

func sgMustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestSendGridConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"one key", Config{PublicKeys: sgKeys(sgKeyA)}, true},
		{"PEM and base64 keys", Config{PublicKeys: sgKeys(sgPEM(sgKeyA), sgKeyB)}, true},
		{"base64 key with line breaks", Config{PublicKeys: sgKeys(sgKeyA[:40] + "\n" + sgKeyA[40:])}, true},
		{"tolerance", Config{PublicKeys: sgKeys(sgKeyA), Tolerance: time.Hour}, true},
		{"no key", Config{}, false},
		{"empty key", Config{PublicKeys: sgKeys("")}, false},
		{"second key empty", Config{PublicKeys: sgKeys(sgKeyA, " ")}, false},
		{"not base64", Config{PublicKeys: sgKeys("not a key!")}, false},
		{"corrupted key (SDK test)", Config{PublicKeys: sgKeys(sgKeyA + "corrupting the public key")}, false},
		{"truncated DER", Config{PublicKeys: sgKeys(sgKeyA[:40])}, false},
		{"PEM of another type", Config{PublicKeys: sgKeys(strings.ReplaceAll(sgPEM(sgKeyA), "PUBLIC KEY", "CERTIFICATE"))}, false},
		{"PEM with trailing garbage", Config{PublicKeys: sgKeys(sgPEM(sgKeyA) + "junk")}, false},
		{"P-384 key", Config{PublicKeys: sgKeys(sgP384Key)}, false},
		{"Ed25519 key", Config{PublicKeys: sgKeys(sgEd25519Key)}, false},
		{"RSA key", Config{PublicKeys: sgKeys(sgRSAKey)}, false},
		{"key id", Config{PublicKeys: []PublicKey{{KeyID: "x", Key: sgKeyA}}}, false},
		{"secret", Config{PublicKeys: sgKeys(sgKeyA), Secrets: []string{"s"}}, false},
		{"hmac", Config{PublicKeys: sgKeys(sgKeyA), HMAC: &HMACRecipe{}}, false},
		{"url", Config{PublicKeys: sgKeys(sgKeyA), URL: "https://example.com/"}, false},
		{"topic_arn", Config{PublicKeys: sgKeys(sgKeyA), TopicARNs: []string{"arn"}}, false},
		{"certificate", Config{PublicKeys: sgKeys(sgKeyA), Certificates: []string{"c"}}, false},
		{"auto_confirm", Config{PublicKeys: sgKeys(sgKeyA), AutoConfirm: true}, false},
		{"username", Config{PublicKeys: sgKeys(sgKeyA), Username: "u"}, false},
		{"password", Config{PublicKeys: sgKeys(sgKeyA), Password: "p"}, false},
		{"header", Config{PublicKeys: sgKeys(sgKeyA), Header: "X-Token"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New("sendgrid", tc.cfg)
			if tc.ok != (err == nil) {
				t.Fatalf("got %v, %v; want ok=%v", v, err, tc.ok)
			}
			if err != nil && strings.Contains(err.Error(), sgKeyA[30:]) {
				t.Fatalf("error %q echoes the key", err)
			}
			if err == nil {
				if ts, ok := v.(Timestamped); !ok || !ts.HasTimestamp() {
					t.Fatal("sendgrid must report a checked timestamp")
				}
			}
		})
	}
	if Canonical("sendgrid") != "sendgrid" {
		t.Fatal("sendgrid is not registered")
	}
}
