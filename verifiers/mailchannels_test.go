package verifiers

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/httpsig"
	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/rfcvectors"
	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/sfv"
)

// MailChannels publishes no signed sample, so the end-to-end fixtures
// below were signed by an independent implementation (OpenSSL 3.0 CLI)
// with throwaway keys (the private keys were not kept), by this script:
//
//	openssl genpkey -algorithm ed25519 -out k1.pem
//	openssl genpkey -algorithm ed25519 -out k2.pem
//	openssl pkey -in k1.pem -pubout                          # mcK1SPKI (PEM body)
//	openssl pkey -in k1.pem -pubout -outform DER | tail -c 32 | base64 -w0   # mcK1Raw
//	# (same for k2)
//	printf '%s' "$BODY1" > body1
//	D1="sha-256=:$(openssl dgst -sha256 -binary body1 | base64 -w0):"
//	P1='("content-digest");created=1625098010;alg="ed25519";keyid="mckey"'
//	printf '"content-digest": %s\n"@signature-params": %s' "$D1" "$P1" > base1
//	openssl pkeyutl -sign -inkey k1.pem -rawin -in base1 | base64 -w0      # mcSig1
//	# fixture 2: two signatures, two digests plus an unknown algorithm
//	printf '%s' "$BODY2" > body2
//	D2="sha-512=:$(openssl dgst -sha512 -binary body2 | base64 -w0):, sha-256=:$(openssl dgst -sha256 -binary body2 | base64 -w0):, md5=:AAAAAAAAAAAAAAAAAAAAAA==:"
//	PA='("@method" "content-digest" "content-type");keyid="mckey-2";created=1625098110;nonce="n-1";alg="ed25519"'
//	PB='("content-digest");created=1625098111;keyid="mckey"'
//	printf '"@method": POST\n"content-digest": %s\n"content-type": application/json\n"@signature-params": %s' "$D2" "$PA" > baseA
//	printf '"content-digest": %s\n"@signature-params": %s' "$D2" "$PB" > baseB
//	openssl pkeyutl -sign -inkey k2.pem -rawin -in baseA | base64 -w0     # sig_a
//	openssl pkeyutl -sign -inkey k1.pem -rawin -in baseB | base64 -w0     # sig_b
//
// Fixture 1 has the shape of the community SDK's test request
// (github:Yizack/mailchannels test/modules/webhooks/verify.test.ts
// @7a2711f704dd545af8677315d1e96403783497a1) with the event array of
// https://docs.mailchannels.net/email-api/advanced/delivery-events as body.
const (
	mcK1SPKI = "MCowBQYDK2VwAyEAu6LdiqPpcBshAxkWyrqJsZo4wScKLN3r5x4EtVK+tsE="
	mcK1Raw  = "u6LdiqPpcBshAxkWyrqJsZo4wScKLN3r5x4EtVK+tsE="
	mcK2SPKI = "MCowBQYDK2VwAyEAeTTkqhw1U+w8hk0BBIUjYAqef8/h1B1I74y0vKaCRYo="
	mcK2Raw  = "eTTkqhw1U+w8hk0BBIUjYAqef8/h1B1I74y0vKaCRYo="

	mcBody1    = `[{"email":"sender@example.com","customer_handle":"abc123","timestamp":1625097600,"event":"processed","request_id":"wBLWrCnK0Z965pf-cgxhNg8bo5s="},{"email":"sender@example.com","customer_handle":"abc123","timestamp":1625098000,"event":"delivered","request_id":"wBLWrCnK0Z965pf-cgxhNg8bo5s="}]`
	mcDigest1  = `sha-256=:W4iG9jBpRK5FBhEoMl78d+F9zvkoc4B6rhEvWAcab70=:`
	mcInput1   = `sig_1=("content-digest");created=1625098010;alg="ed25519";keyid="mckey"`
	mcSig1B64  = `oJJZxXs3bseM5FekmfI9L7Wfsf5rAyRDhvjZmiSo0zuHPqEuagtZkURa9TDvpX4Qp4dl9ZRf3wSwU88o8PbuBQ==`
	mcSig1     = `sig_1=:` + mcSig1B64 + `:`
	mcCreated1 = 1625098010

	mcBody2    = `[{"email":"sender@example.com","customer_handle":"abc123","timestamp":1625098100,"event":"hard-bounced","request_id":"wBLWrCnK0Z965pf-cgxhNg8bo5s=","recipients":["rcpt@example.net"],"status":"550","reason":"mailbox unavailable"}]`
	mcDigest2  = `sha-512=:6B2Ktamaki1CV9uaV9zWFcvZx3hloU0/EDU8N/JwOG7mSx9t71yZzLEP9Kap5nYkSsOUORR0uw85zoYYaAgaxQ==:, sha-256=:PBM7GSneSLJJFPBHWhpPZ3uMjJ9hH1wz1PYlOrskTTI=:, md5=:AAAAAAAAAAAAAAAAAAAAAA==:`
	mcInput2   = `sig_a=("@method" "content-digest" "content-type");keyid="mckey-2";created=1625098110;nonce="n-1";alg="ed25519", sig_b=("content-digest");created=1625098111;keyid="mckey"`
	mcSig2AB64 = `yxuLL+uv4mv+qxFQhAD0JOWKNDfO5t7JF1EoKJ+jmulb7N2No4+UUAf/rIT6etYiHeP7YKi9EowcOHOQl8HfCA==`
	mcSig2BB64 = `bgAo0QXX8SaXfCDGURCE7CZtao1JR0sxPRqe5o0Z4kHAU6iVwZpUP9PhRBnv72Pgk0rU9qKHr54RPmCOmvZ6Ag==`
	mcSig2     = `sig_a=:` + mcSig2AB64 + `:, sig_b=:` + mcSig2BB64 + `:`
)

// RFC 9421 Appendix B.1.4 and B.2.6 (internal/rfcvectors cites them).
const (
	rfc9421Ed25519Key = rfcvectors.Ed25519Key
	rfc9421B26Input   = rfcvectors.B26Input
	rfc9421B26Sig     = rfcvectors.B26Sig
	rfc9421B26Base    = rfcvectors.B26Base
	rfc9421Body       = rfcvectors.Body
	rfc9421Digest     = rfcvectors.Digest
)

func rfc9421Request() *Request {
	u, _ := url.Parse("https://example.com/foo?param=Value&Pet=dog")
	h := http.Header{}
	h.Set("Date", "Tue, 20 Apr 2021 02:07:55 GMT")
	h.Set("Content-Type", "application/json")
	h.Set("Content-Digest", rfc9421Digest)
	h.Set("Content-Length", "18")
	h.Set("Signature-Input", rfc9421B26Input)
	h.Set("Signature", rfc9421B26Sig)
	return &Request{Method: "POST", URL: u, Header: h, Body: []byte(rfc9421Body), Now: time.Unix(1618884473, 0)}
}

func TestMailChannelsRFC9421Ed25519(t *testing.T) {
	r := rfc9421Request()
	d, err := sfv.ParseDictionary(r.Header.Get("Signature-Input"))
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := sfv.ParseDictionary(r.Header.Get("Signature"))
	if err != nil {
		t.Fatal(err)
	}
	in, _ := d.Get("sig-b26")
	sm, _ := sigs.Get("sig-b26")
	var comps []string
	for _, c := range in.Value.(sfv.InnerList) {
		comps = append(comps, c.Value.(string))
	}
	base, err := httpsig.SignatureBase(httpsig.Message{Method: r.Method, URL: r.URL, Header: r.Header}, comps, in.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if string(base) != rfc9421B26Base {
		t.Fatalf("signature base:\n%s\nwant:\n%s", base, rfc9421B26Base)
	}
	for _, k := range []string{rfc9421Ed25519Key, sgPEM2(rfc9421Ed25519Key)} {
		key, err := mcParseKey(k)
		if err != nil {
			t.Fatal(err)
		}
		if !ed25519.Verify(key, base, sm.Value.([]byte)) {
			t.Fatal("RFC 9421 B.2.6 signature does not verify")
		}
		if ed25519.Verify(key, append(base, ' '), sm.Value.([]byte)) {
			t.Fatal("tampered base verifies")
		}
	}

	// The full verifier refuses it: the signature does not cover
	// content-digest, so the body is not bound.
	v, err := New("mailchannels", Config{PublicKeys: []PublicKey{{Key: rfc9421Ed25519Key}}})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := v.Verify(r); !errors.Is(err, ErrMalformed) {
		t.Fatalf("got %v, %v; want ErrMalformed", res, err)
	}
}

// sgPEM2 wraps a short base64 SPKI in PEM armour.
func sgPEM2(b64 string) string {
	return "-----BEGIN PUBLIC KEY-----\n" + b64 + "\n-----END PUBLIC KEY-----\n"
}

// The digest check itself is tested in internal/httpsig; here, that its
// errors map to the sentinels.
func TestMailChannelsDigestErrors(t *testing.T) {
	body := []byte(rfc9421Body)
	if err := mcCheckDigest(rfc9421Digest, body); err != nil {
		t.Fatalf("RFC 9421 B.2 digest: %v", err)
	}
	if err := mcCheckDigest(rfc9421Digest, append(body, ' ')); !errors.Is(err, ErrSignature) {
		t.Fatalf("other body: %v, want ErrSignature", err)
	}
	if err := mcCheckDigest("md5=:AAAAAAAAAAAAAAAAAAAAAA==:", body); !errors.Is(err, ErrMalformed) {
		t.Fatalf("no known algorithm: %v, want ErrMalformed", err)
	}
}

func mcHeader(input, sig, digest string) http.Header {
	h := http.Header{}
	for name, v := range map[string]string{"Signature-Input": input, "Signature": sig, "Content-Digest": digest} {
		if v != "" {
			h.Set(name, v)
		}
	}
	return h
}

func mcKey(id, key string) PublicKey { return PublicKey{KeyID: id, Key: key} }

func mcSHA256(body string) string {
	s := sha256.Sum256([]byte(body))
	return "sha-256=:" + base64.StdEncoding.EncodeToString(s[:]) + ":"
}

func mcB64(s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestMailChannelsVerify(t *testing.T) {
	at1 := time.Unix(mcCreated1, 0)
	at2 := time.Unix(1625098110, 0)
	f1 := func() http.Header { return mcHeader(mcInput1, mcSig1, mcDigest1) }
	f2 := func() http.Header {
		h := mcHeader(mcInput2, mcSig2, mcDigest2)
		h.Set("Content-Type", "application/json")
		return h
	}
	with := func(h http.Header, f func(http.Header)) http.Header { f(h); return h }
	k1, k2 := mcKey("", mcK1SPKI), mcKey("", mcK2SPKI)

	cases := []struct {
		name    string
		keys    []PublicKey
		tol     time.Duration
		method  string
		header  http.Header
		body    string
		now     time.Time
		wantErr error
		wantKey int
		wantSig string
		wantTs  int64
	}{
		{name: "fixture 1, SPKI key", keys: []PublicKey{k1}, header: f1(), body: mcBody1, now: at1.Add(10 * time.Second), wantSig: mcSig1B64, wantTs: mcCreated1},
		{name: "fixture 1, raw key", keys: []PublicKey{mcKey("", mcK1Raw)}, header: f1(), body: mcBody1, now: at1, wantSig: mcSig1B64, wantTs: mcCreated1},
		{name: "fixture 1, PEM key", keys: []PublicKey{mcKey("", sgPEM2(mcK1SPKI))}, header: f1(), body: mcBody1, now: at1, wantSig: mcSig1B64, wantTs: mcCreated1},
		{name: "fixture 1, key bound to its keyid", keys: []PublicKey{mcKey("mckey", mcK1SPKI)}, header: f1(), body: mcBody1, now: at1, wantSig: mcSig1B64, wantTs: mcCreated1},
		{name: "rotation: second key matches", keys: []PublicKey{k2, mcKey("mckey", mcK1Raw)}, header: f1(), body: mcBody1, now: at1, wantKey: 1, wantSig: mcSig1B64, wantTs: mcCreated1},
		{name: "key for another keyid is skipped", keys: []PublicKey{mcKey("other", mcK1SPKI), k1}, header: f1(), body: mcBody1, now: at1, wantKey: 1, wantSig: mcSig1B64, wantTs: mcCreated1},
		{name: "tolerance edge, old side", keys: []PublicKey{k1}, header: f1(), body: mcBody1, now: at1.Add(5 * time.Minute), wantSig: mcSig1B64, wantTs: mcCreated1},
		{name: "tolerance edge, future side", keys: []PublicKey{k1}, header: f1(), body: mcBody1, now: at1.Add(-5 * time.Minute), wantSig: mcSig1B64, wantTs: mcCreated1},
		{name: "tolerance off", keys: []PublicKey{k1}, tol: -1, header: f1(), body: mcBody1, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), wantSig: mcSig1B64, wantTs: mcCreated1},
		{name: "fixture 2: sig_a (@method, content-type, nonce, other param order)", keys: []PublicKey{mcKey("mckey-2", mcK2Raw)}, header: f2(), body: mcBody2, now: at2, wantSig: mcSig2AB64, wantTs: 1625098110},
		{name: "fixture 2: sig_b (alg absent)", keys: []PublicKey{mcKey("mckey", mcK1SPKI)}, header: f2(), body: mcBody2, now: at2, wantSig: mcSig2BB64, wantTs: 1625098111},
		{name: "fixture 2: both keys, first label wins", keys: []PublicKey{mcKey("mckey", mcK1SPKI), mcKey("mckey-2", mcK2SPKI)}, header: f2(), body: mcBody2, now: at2, wantKey: 1, wantSig: mcSig2AB64, wantTs: 1625098110},
		{name: "fixture 2: sig_a covers the method, sig_b does not", keys: []PublicKey{k1, k2}, method: "PUT", header: f2(), body: mcBody2, now: at2, wantKey: 0, wantSig: mcSig2BB64, wantTs: 1625098111},
		{name: "fixture 2: an unknown-algorithm signature beside it is ignored", keys: []PublicKey{k1}, header: with(f2(), func(h http.Header) {
			h.Set("Signature-Input", mcInput2+`, sig_x=("content-digest");created=1625098110;alg="rsa-pss-sha512";keyid="x"`)
			h.Set("Signature", mcSig2+`, sig_x=:AAAA:`)
		}), body: mcBody2, now: at2, wantSig: mcSig2BB64, wantTs: 1625098111},

		{name: "wrong key", keys: []PublicKey{k2}, header: f1(), body: mcBody1, now: at1, wantErr: ErrSignature},
		{name: "no key for the keyid", keys: []PublicKey{mcKey("other", mcK1SPKI)}, header: f1(), body: mcBody1, now: at1, wantErr: ErrSignature},
		{name: "tampered body", keys: []PublicKey{k1}, header: f1(), body: strings.Replace(mcBody1, "delivered", "bounced", 1), now: at1, wantErr: ErrSignature},
		{name: "tampered body with recomputed digest", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Content-Digest", mcSHA256(mcBody1+" "))
		}), body: mcBody1 + " ", now: at1, wantErr: ErrSignature},
		{name: "digest re-serialised (no padding) breaks the signature", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Content-Digest", strings.TrimSuffix(mcDigest1, "=:")+":")
		}), body: mcBody1, now: at1, wantErr: ErrSignature},
		{name: "params re-ordered", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Signature-Input", `sig_1=("content-digest");keyid="mckey";alg="ed25519";created=1625098010`)
		}), body: mcBody1, now: at1, wantErr: ErrSignature},
		{name: "created changed", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Signature-Input", strings.Replace(mcInput1, "1625098010", "1625098011", 1))
		}), body: mcBody1, now: at1, wantErr: ErrSignature},
		{name: "signature bit flipped", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			b := mcB64(mcSig1B64)
			b[10] ^= 1
			h.Set("Signature", "sig_1=:"+base64.StdEncoding.EncodeToString(b)+":")
		}), body: mcBody1, now: at1, wantErr: ErrSignature},
		{name: "labels swapped", keys: []PublicKey{k1, k2}, header: with(f2(), func(h http.Header) {
			h.Set("Signature", `sig_a=:`+mcSig2BB64+`:, sig_b=:`+mcSig2AB64+`:`)
		}), body: mcBody2, now: at2, wantErr: ErrSignature},
		{name: "covered content-type changed", keys: []PublicKey{k2}, header: with(f2(), func(h http.Header) {
			h.Set("Content-Type", "text/plain")
		}), body: mcBody2, now: at2, wantErr: ErrSignature},

		{name: "stale", keys: []PublicKey{k1}, header: f1(), body: mcBody1, now: at1.Add(5*time.Minute + time.Second), wantErr: ErrTimestamp},
		{name: "future", keys: []PublicKey{k1}, header: f1(), body: mcBody1, now: at1.Add(-5*time.Minute - time.Second), wantErr: ErrTimestamp},
		{name: "fixture against the real clock", keys: []PublicKey{k1}, header: f1(), body: mcBody1, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), wantErr: ErrTimestamp},
		{name: "expires passed", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Signature-Input", mcInput1+`;expires=1625098011`)
		}), body: mcBody1, now: at1.Add(2 * time.Second), wantErr: ErrTimestamp},

		{name: "missing Signature-Input", keys: []PublicKey{k1}, header: mcHeader("", mcSig1, mcDigest1), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "missing Signature", keys: []PublicKey{k1}, header: mcHeader(mcInput1, "", mcDigest1), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "missing Content-Digest", keys: []PublicKey{k1}, header: mcHeader(mcInput1, mcSig1, ""), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "duplicated Signature-Input", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) { h.Add("Signature-Input", mcInput1) }), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "duplicated Signature", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) { h.Add("Signature", mcSig1) }), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "duplicated Content-Digest", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) { h.Add("Content-Digest", mcDigest1) }), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "duplicated label", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Signature-Input", mcInput1+", "+mcInput1)
			h.Set("Signature", mcSig1+", "+mcSig1)
		}), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "duplicated parameter", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Signature-Input", mcInput1+`;created=1625098010`)
		}), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "labels differ", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) { h.Set("Signature", "sig_2=:"+mcSig1B64+":") }), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "extra Signature label", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) { h.Set("Signature", mcSig1+", sig_2=:"+mcSig1B64+":") }), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "too many labels", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			var in, sig []string
			for i := 0; i < 33; i++ {
				in = append(in, fmt.Sprintf(`s%d=("content-digest");created=1625098010;keyid="mckey"`, i))
				sig = append(sig, fmt.Sprintf(`s%d=:%s:`, i, mcSig1B64))
			}
			h.Set("Signature-Input", strings.Join(in, ", "))
			h.Set("Signature", strings.Join(sig, ", "))
		}), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "Signature-Input not a dictionary", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) { h.Set("Signature-Input", `("content-digest");created=1625098010`) }), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "Signature-Input member not an inner list", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) { h.Set("Signature-Input", `sig_1="content-digest";created=1625098010`) }), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "signature as a string", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) { h.Set("Signature", `sig_1="`+mcSig1B64+`"`) }), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "signature not in colons (SDK-style garbage)", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) { h.Set("Signature", "invalid-signature") }), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "signature base64url", keys: []PublicKey{k1, k2}, header: with(f2(), func(h http.Header) {
			h.Set("Signature", "sig_a=:"+base64.URLEncoding.EncodeToString(mcB64(mcSig2AB64))+":, sig_b=:"+base64.URLEncoding.EncodeToString(mcB64(mcSig2BB64))+":")
		}), body: mcBody2, now: at2, wantErr: ErrMalformed},
		{name: "truncated signature", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Signature", "sig_1=:"+base64.StdEncoding.EncodeToString(mcB64(mcSig1B64)[:63])+":")
		}), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "content-digest not covered", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Signature-Input", `sig_1=("@method");created=1625098010;alg="ed25519";keyid="mckey"`)
		}), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "content-digest covered only with ;sf", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Signature-Input", `sig_1=("content-digest";sf);created=1625098010;alg="ed25519";keyid="mckey"`)
		}), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "only another algorithm", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Signature-Input", `sig_1=("content-digest");created=1625098010;alg="hmac-sha256";keyid="mckey"`)
		}), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "alg as a token", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Signature-Input", `sig_1=("content-digest");created=1625098010;alg=ed25519;keyid="mckey"`)
		}), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "uppercase component", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Signature-Input", `sig_1=("Content-Digest");created=1625098010;alg="ed25519";keyid="mckey"`)
		}), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "component listed twice", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Signature-Input", `sig_1=("content-digest" "content-digest");created=1625098010;alg="ed25519";keyid="mckey"`)
		}), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "covered header missing", keys: []PublicKey{k2}, header: with(f2(), func(h http.Header) {
			h.Del("Content-Type")
			h.Set("Signature-Input", `sig_a=("@method" "content-digest" "content-type");keyid="mckey-2";created=1625098110;nonce="n-1";alg="ed25519"`)
			h.Set("Signature", `sig_a=:`+mcSig2AB64+`:`)
		}), body: mcBody2, now: at2, wantErr: ErrMalformed},
		{name: "created missing", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Signature-Input", `sig_1=("content-digest");alg="ed25519";keyid="mckey"`)
		}), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "created as a string", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Signature-Input", `sig_1=("content-digest");created="1625098010";alg="ed25519";keyid="mckey"`)
		}), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "created negative", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Signature-Input", `sig_1=("content-digest");created=-1;alg="ed25519";keyid="mckey"`)
		}), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "keyid as a token", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Signature-Input", `sig_1=("content-digest");created=1625098010;alg="ed25519";keyid=mckey`)
		}), body: mcBody1, now: at1, wantErr: ErrMalformed},
		{name: "Content-Digest without a known algorithm", keys: []PublicKey{k1}, header: with(f1(), func(h http.Header) {
			h.Set("Content-Digest", `md5=:AAAAAAAAAAAAAAAAAAAAAA==:`)
		}), body: mcBody1, now: at1, wantErr: ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New("mailchannels", Config{PublicKeys: tc.keys, Tolerance: tc.tol})
			if err != nil {
				t.Fatal(err)
			}
			method := tc.method
			if method == "" {
				method = "POST"
			}
			u, _ := url.Parse("https://hooks.example.com/mailchannels")
			res, err := v.Verify(&Request{Context: context.Background(), Method: method, URL: u, Header: tc.header, Body: []byte(tc.body), Now: tc.now})
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || res != nil {
					t.Fatalf("got %+v, %v; want %v", res, err, tc.wantErr)
				}
				for _, s := range []string{mcSig1B64, mcSig2AB64, mcSig2BB64, tc.body, "W4iG9jBpRK5FBhEo"} {
					if strings.Contains(err.Error(), s) {
						t.Fatalf("error %q leaks a signature, digest or the body", err)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if res.Key != tc.wantKey || res.Timestamp.Unix() != tc.wantTs || res.ID != "" || res.SignedID != "" || res.Act != nil {
				t.Fatalf("result %+v; want key %d timestamp %d", res, tc.wantKey, tc.wantTs)
			}
			// Replay material: the body's SHA-256, which every usable
			// signature covers, whichever label matched.
			if sum := sha256.Sum256([]byte(tc.body)); !bytes.Equal(res.Signature, sum[:]) {
				t.Fatalf("Signature %x is not the body digest", res.Signature)
			}
		})
	}
}

func TestMailChannelsConfig(t *testing.T) {
	cases := []struct {
		name string
		cfg  Config
		ok   bool
	}{
		{"no key: fetch mode", Config{}, true},
		{"SPKI, raw and PEM keys", Config{PublicKeys: []PublicKey{mcKey("", mcK1SPKI), mcKey("a", mcK2Raw), mcKey("b", sgPEM2(mcK1SPKI))}}, true},
		{"tolerance", Config{Tolerance: time.Minute}, true},
		{"empty key", Config{PublicKeys: []PublicKey{mcKey("a", "")}}, false},
		{"not base64", Config{PublicKeys: []PublicKey{mcKey("", "not a key!")}}, false},
		{"raw key too short", Config{PublicKeys: []PublicKey{mcKey("", mcK1Raw[:40])}}, false},
		{"ECDSA key", Config{PublicKeys: []PublicKey{mcKey("", sgKeyA)}}, false},
		{"RSA key", Config{PublicKeys: []PublicKey{mcKey("", sgRSAKey)}}, false},
		{"key id too long", Config{PublicKeys: []PublicKey{mcKey(strings.Repeat("k", 300), mcK1SPKI)}}, false},
		{"secret", Config{Secrets: []string{"s"}}, false},
		{"hmac", Config{HMAC: &HMACRecipe{}}, false},
		{"url", Config{URL: "https://example.com/"}, false},
		{"topic_arn", Config{TopicARNs: []string{"arn"}}, false},
		{"certificate", Config{Certificates: []string{"c"}}, false},
		{"auto_confirm", Config{AutoConfirm: true}, false},
		{"username", Config{Username: "u"}, false},
		{"password", Config{Password: "p"}, false},
		{"header", Config{Header: "X-Token"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			v, err := New("mailchannels", tc.cfg)
			if tc.ok != (err == nil) {
				t.Fatalf("got %v, %v; want ok=%v", v, err, tc.ok)
			}
			if err == nil {
				if ts, ok := v.(Timestamped); !ok || !ts.HasTimestamp() {
					t.Fatal("mailchannels must report a checked timestamp")
				}
			}
		})
	}
	v, _ := New("mailchannels", Config{})
	f := v.(*mailchannelsVerifier).fetch
	if f == nil || f.client.Timeout != mcFetchTimeout || f.endpoint != "https://api.mailchannels.net/tx/v1/webhook/public-key" {
		t.Fatalf("fetch mode without a client: %+v", f)
	}
	v, _ = New("mailchannels", Config{PublicKeys: []PublicKey{mcKey("", mcK1SPKI)}})
	if v.(*mailchannelsVerifier).fetch != nil {
		t.Fatal("configured keys must turn fetching off")
	}
}

// mcKeyServer is a stand-in for api.mailchannels.net's public-key
// endpoint, over TLS, reached through a client whose transport dials it
// for api.mailchannels.net:443 (and nothing else).
type mcKeyServer struct {
	srv    *httptest.Server
	client *http.Client
	hits   atomic.Int32
	mu     sync.Mutex
	ids    []string
	gate   chan struct{} // if non-nil, requests wait for it to close
	status atomic.Int32  // if non-zero, every lookup is answered with it
}

func newMCKeyServer(t *testing.T) *mcKeyServer {
	ks := &mcKeyServer{}
	ks.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ks.hits.Add(1)
		if r.Method != http.MethodGet || r.URL.Path != "/tx/v1/webhook/public-key" || r.Host != "api.mailchannels.net" {
			http.Error(w, "unexpected request", http.StatusTeapot)
			return
		}
		if ks.gate != nil {
			<-ks.gate
		}
		if st := ks.status.Load(); st != 0 {
			http.Error(w, "unavailable", int(st))
			return
		}
		id := r.URL.Query().Get("id")
		ks.mu.Lock()
		ks.ids = append(ks.ids, id)
		ks.mu.Unlock()
		switch id {
		case "mckey":
			fmt.Fprintf(w, `{"id":"mckey","key":%q}`, mcK1SPKI)
		case "mckey-pem":
			fmt.Fprintf(w, `{"id":"mckey-pem","key":%q}`, sgPEM2(mcK1SPKI))
		case "noid":
			fmt.Fprintf(w, `{"key":%q}`, mcK1Raw)
		case "boom":
			http.Error(w, "oops", http.StatusInternalServerError)
		case "big":
			fmt.Fprintf(w, `{"id":"big","key":%q,"pad":"%s"}`, mcK1SPKI, strings.Repeat("x", 70<<10))
		case "liar":
			fmt.Fprintf(w, `{"id":"mckey","key":%q}`, mcK1SPKI)
		case "notjson":
			fmt.Fprint(w, `<html>`)
		case "badkey":
			fmt.Fprintf(w, `{"id":"badkey","key":%q}`, sgKeyA)
		case "redirect":
			http.Redirect(w, r, "/elsewhere", http.StatusFound)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(ks.srv.Close)
	tr := ks.srv.Client().Transport.(*http.Transport).Clone()
	addr := ks.srv.Listener.Addr().String()
	tr.DialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
		if a != "api.mailchannels.net:443" {
			return nil, fmt.Errorf("unexpected dial to %s", a)
		}
		return (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	tr.TLSClientConfig.ServerName = "example.com" // httptest's certificate
	ks.client = &http.Client{Transport: tr, Timeout: 5 * time.Second}
	return ks
}

// mcFetchRequest is fixture 1 with the keyid replaced (the signature then
// no longer verifies, but the digest and created still check out, so the
// key is looked up).
func mcFetchRequest(keyID string, now time.Time) *Request {
	h := mcHeader(mcInput1, mcSig1, mcDigest1)
	if keyID != "mckey" {
		h.Set("Signature-Input", strings.Replace(mcInput1, `keyid="mckey"`, fmt.Sprintf("keyid=%q", keyID), 1))
	}
	return &Request{Context: context.Background(), Method: "POST", Header: h, Body: []byte(mcBody1), Now: now}
}

func TestMailChannelsFetch(t *testing.T) {
	at := time.Unix(mcCreated1, 0)

	t.Run("fetched once, then cached", func(t *testing.T) {
		ks := newMCKeyServer(t)
		v, _ := New("mailchannels", Config{HTTPClient: ks.client})
		for i := 0; i < 3; i++ {
			res, err := v.Verify(mcFetchRequest("mckey", at.Add(time.Duration(i)*time.Second)))
			if err != nil || res.Key != 0 || len(res.Signature) != sha256.Size || res.Timestamp.Unix() != mcCreated1 {
				t.Fatalf("verify %d: %+v, %v", i, res, err)
			}
		}
		if ks.hits.Load() != 1 || ks.ids[0] != "mckey" {
			t.Fatalf("hits %d ids %q; want one fetch of mckey", ks.hits.Load(), ks.ids)
		}
		// After the TTL the key is fetched again.
		v.(*mailchannelsVerifier).fetch.keys["mckey"].expires = at
		if _, err := v.Verify(mcFetchRequest("mckey", at.Add(time.Second))); err != nil || ks.hits.Load() != 2 {
			t.Fatalf("refetch: %v, hits %d", err, ks.hits.Load())
		}
	})

	t.Run("response forms", func(t *testing.T) {
		for _, id := range []string{"mckey-pem", "noid"} {
			ks := newMCKeyServer(t)
			v, _ := New("mailchannels", Config{HTTPClient: ks.client})
			// The keyid is signed, so a changed keyid fails the signature
			// after a successful fetch.
			if _, err := v.Verify(mcFetchRequest(id, at)); !errors.Is(err, ErrSignature) || ks.hits.Load() != 1 {
				t.Fatalf("%s: %v, hits %d", id, err, ks.hits.Load())
			}
			if _, ok := v.(*mailchannelsVerifier).fetch.keys[id]; !ok {
				t.Fatalf("%s: key not cached", id)
			}
		}
	})

	t.Run("failures", func(t *testing.T) {
		cases := []struct {
			id    string
			want  error
			cache time.Duration
		}{
			{"unknown", ErrSignature, mcUnknownTTL},
			{"boom", ErrUnavailable, mcFailureTTL},
			{"big", ErrUnavailable, mcFailureTTL},
			{"liar", ErrUnavailable, mcFailureTTL},
			{"notjson", ErrUnavailable, mcFailureTTL},
			{"badkey", ErrUnavailable, mcFailureTTL},
			{"redirect", ErrUnavailable, mcFailureTTL},
		}
		for _, tc := range cases {
			ks := newMCKeyServer(t)
			v, _ := New("mailchannels", Config{HTTPClient: ks.client})
			v.(*mailchannelsVerifier).fetch.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
			if _, err := v.Verify(mcFetchRequest(tc.id, at)); !errors.Is(err, tc.want) {
				t.Fatalf("%s: got %v; want %v", tc.id, err, tc.want)
			}
			// Cached: no new fetch until the negative entry expires.
			if _, err := v.Verify(mcFetchRequest(tc.id, at.Add(tc.cache-time.Second))); !errors.Is(err, tc.want) || ks.hits.Load() != 1 {
				t.Fatalf("%s: second try %v, hits %d", tc.id, err, ks.hits.Load())
			}
			if _, err := v.Verify(mcFetchRequest(tc.id, at.Add(tc.cache))); !errors.Is(err, tc.want) || ks.hits.Load() != 2 {
				t.Fatalf("%s: after expiry %v, hits %d", tc.id, err, ks.hits.Load())
			}
		}
	})

	t.Run("no fetch before the digest and timestamp check out", func(t *testing.T) {
		ks := newMCKeyServer(t)
		v, _ := New("mailchannels", Config{HTTPClient: ks.client})
		r := mcFetchRequest("random-1", at)
		r.Body = []byte(mcBody1 + "x")
		if _, err := v.Verify(r); !errors.Is(err, ErrSignature) {
			t.Fatal(err)
		}
		if _, err := v.Verify(mcFetchRequest("random-2", at.Add(time.Hour))); !errors.Is(err, ErrTimestamp) {
			t.Fatal(err)
		}
		r = mcFetchRequest("random-3", at)
		r.Header.Set("Signature", "sig_1=:AAAA:")
		if _, err := v.Verify(r); !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
		r = mcFetchRequest("", at)
		r.Header.Set("Signature-Input", `sig_1=("content-digest");created=1625098010;alg="ed25519"`)
		if _, err := v.Verify(r); !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
		r = mcFetchRequest(strings.Repeat("k", 300), at)
		if _, err := v.Verify(r); !errors.Is(err, ErrMalformed) {
			t.Fatal(err)
		}
		if n := ks.hits.Load(); n != 0 {
			t.Fatalf("%d fetches", n)
		}
	})

	t.Run("random keyids are rate limited, cached keys keep working", func(t *testing.T) {
		ks := newMCKeyServer(t)
		v, _ := New("mailchannels", Config{HTTPClient: ks.client})
		if _, err := v.Verify(mcFetchRequest("mckey", at)); err != nil {
			t.Fatal(err)
		}
		for i := 1; i < mcFetchBurst; i++ {
			if _, err := v.Verify(mcFetchRequest(fmt.Sprintf("random-%d", i), at)); !errors.Is(err, ErrSignature) {
				t.Fatalf("random %d: %v", i, err)
			}
		}
		if _, err := v.Verify(mcFetchRequest("random-x", at)); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("over the burst: %v", err)
		}
		if n := ks.hits.Load(); n != mcFetchBurst {
			t.Fatalf("%d fetches; want %d", n, mcFetchBurst)
		}
		if _, err := v.Verify(mcFetchRequest("mckey", at.Add(time.Second))); err != nil {
			t.Fatalf("cached key while throttled: %v", err)
		}
		// One token comes back per interval.
		if _, err := v.Verify(mcFetchRequest("random-y", at.Add(mcFetchInterval))); !errors.Is(err, ErrSignature) {
			t.Fatalf("after an interval: %v", err)
		}
		if _, err := v.Verify(mcFetchRequest("random-z", at.Add(mcFetchInterval))); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("second in the interval: %v", err)
		}
		if n := ks.hits.Load(); n != mcFetchBurst+1 {
			t.Fatalf("%d fetches; want %d", n, mcFetchBurst+1)
		}
	})

	t.Run("concurrent requests share one fetch", func(t *testing.T) {
		ks := newMCKeyServer(t)
		ks.gate = make(chan struct{})
		v, _ := New("mailchannels", Config{HTTPClient: ks.client})
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := v.Verify(mcFetchRequest("mckey", at))
				errs <- err
			}()
		}
		time.Sleep(100 * time.Millisecond)
		close(ks.gate)
		wg.Wait()
		close(errs)
		for err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		if n := ks.hits.Load(); n != 1 {
			t.Fatalf("%d fetches", n)
		}
	})

	t.Run("a request that hangs up does not cancel the fetch", func(t *testing.T) {
		ks := newMCKeyServer(t)
		ks.gate = make(chan struct{})
		v, _ := New("mailchannels", Config{HTTPClient: ks.client})
		ctx, cancel := context.WithCancel(context.Background())
		r := mcFetchRequest("mckey", at)
		r.Context = ctx
		go func() { time.Sleep(50 * time.Millisecond); cancel() }()
		if _, err := v.Verify(r); !errors.Is(err, ErrUnavailable) {
			t.Fatalf("got %v", err)
		}
		close(ks.gate)
		// The fetch went on without the request: the next one is served
		// by it (or by the cache it filled), not by a second fetch.
		if _, err := v.Verify(mcFetchRequest("mckey", at)); err != nil {
			t.Fatalf("after cancel: %v", err)
		}
		if n := ks.hits.Load(); n != 1 {
			t.Fatalf("%d fetches; want 1", n)
		}
	})

	t.Run("configured keys: no fetch", func(t *testing.T) {
		ks := newMCKeyServer(t)
		v, _ := New("mailchannels", Config{HTTPClient: ks.client, PublicKeys: []PublicKey{mcKey("other", mcK1SPKI)}})
		if _, err := v.Verify(mcFetchRequest("mckey", at)); !errors.Is(err, ErrSignature) || ks.hits.Load() != 0 {
			t.Fatalf("got %v, hits %d", err, ks.hits.Load())
		}
	})
}

func TestMailChannelsCacheBounds(t *testing.T) {
	f := newMCKeyFetcher(nil, "")
	now := time.Unix(1700000000, 0)
	key := ed25519.PublicKey(mcB64(mcK1Raw))
	for i := 0; i < mcKeyCacheSize; i++ {
		f.storeKey(fmt.Sprintf("k%d", i), key, now.Add(time.Duration(i)*time.Second))
	}
	f.keys["k0"].used = now.Add(time.Hour) // recently used: survives
	f.storeKey("new", key, now.Add(2*time.Hour))
	if len(f.keys) != mcKeyCacheSize || f.keys["k0"] == nil || f.keys["k1"] != nil || f.keys["new"] == nil {
		t.Fatalf("LRU eviction: %d keys, k0 %v k1 %v", len(f.keys), f.keys["k0"] != nil, f.keys["k1"] != nil)
	}
	for i := 0; i < mcMissCacheSize+50; i++ {
		f.storeMiss(fmt.Sprintf("m%d", i), ErrSignature, now.Add(time.Duration(i)*time.Second))
	}
	if len(f.misses) != mcMissCacheSize {
		t.Fatalf("%d misses cached", len(f.misses))
	}
	if _, ok := f.misses["m0"]; ok {
		t.Fatal("oldest miss kept")
	}
}

// mcEvent is one request of a simulated timeline: a forged one (fixture 1
// with a made-up keyid, so it passes the digest and timestamp checks and
// reaches the key lookup) or the real delivery (fixture 1, keyid mckey).
type mcEvent struct {
	at     time.Duration
	forged bool
}

// mcEvery returns n events (forged or not) from start, one per step.
func mcEvery(forged bool, start, step time.Duration, n int) []mcEvent {
	ev := make([]mcEvent, n)
	for i := range ev {
		ev[i] = mcEvent{at: start + time.Duration(i)*step, forged: forged}
	}
	return ev
}

// mcRun plays events (in time order; at equal times forged first) on v
// from t0. It returns the offsets at which the real delivery verified and
// at which it was refused, and fails on any other outcome.
func mcRun(t *testing.T, v Verifier, t0 time.Time, events ...[]mcEvent) (ok, refused []time.Duration) {
	t.Helper()
	var all []mcEvent
	for _, e := range events {
		all = append(all, e...)
	}
	sort.SliceStable(all, func(i, j int) bool {
		return all[i].at < all[j].at || all[i].at == all[j].at && all[i].forged && !all[j].forged
	})
	for i, e := range all {
		now := t0.Add(e.at)
		if e.forged {
			// A fresh made-up keyid each time: never in a cache.
			_, err := v.Verify(mcFetchRequest(fmt.Sprintf("forged-%d", i), now))
			if !errors.Is(err, ErrSignature) && !errors.Is(err, ErrUnavailable) {
				t.Fatalf("forged request at +%v: %v", e.at, err)
			}
			continue
		}
		res, err := v.Verify(mcFetchRequest("mckey", now))
		switch {
		case err == nil && res.Timestamp.Unix() == mcCreated1:
			ok = append(ok, e.at)
		case errors.Is(err, ErrUnavailable):
			refused = append(refused, e.at)
		default:
			t.Fatalf("delivery at +%v: %+v, %v", e.at, res, err)
		}
	}
	return ok, refused
}

// A cold start (no key fetched yet) under a steady stream of forged
// requests with made-up keyids. The stream of the security review (5 at
// once, then one every 6 s, each just before a real delivery) used to keep
// the real keyid out for good; the real delivery now gets through, and
// once its key is in, the stream no longer matters. A stream that keeps
// the bucket empty (one request per token, timed just before each
// delivery) still keeps it out: the documented remaining exposure, bounded
// in outbound lookups.
func TestMailChannelsColdStartFlood(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	sec := time.Second
	cases := []struct {
		name      string
		forged    [][]mcEvent
		real      []mcEvent
		firstOK   time.Duration // -1: never
		maxLookup int32
	}{
		{
			name:    "review: a burst of 5, then one forged request every 6 s",
			forged:  [][]mcEvent{mcEvery(true, 0, 0, 5), mcEvery(true, 0, 6*sec, 10)},
			real:    mcEvery(false, sec, 6*sec, 10),
			firstOK: sec, maxLookup: 5 + 10 + 1,
		},
		{
			name:    "bucket drained, then one forged request every 1.5 s",
			forged:  [][]mcEvent{mcEvery(true, 0, 0, mcFetchBurst), mcEvery(true, sec/10, 3*sec/2, 40)},
			real:    mcEvery(false, sec/2, 10*sec, 6),
			firstOK: 10*sec + sec/2, maxLookup: mcFetchBurst + 40 + 1,
		},
		{
			name:    "exposure: bucket kept empty, one forged request per token",
			forged:  [][]mcEvent{mcEvery(true, 0, 0, mcFetchBurst), mcEvery(true, mcFetchInterval, mcFetchInterval, 60)},
			real:    mcEvery(false, mcFetchInterval, 5*mcFetchInterval, 12),
			firstOK: -1, maxLookup: mcFetchBurst + 60,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ks := newMCKeyServer(t)
			v, _ := New("mailchannels", Config{HTTPClient: ks.client, Tolerance: -1})
			ok, refused := mcRun(t, v, t0, append(tc.forged, tc.real)...)
			if tc.firstOK < 0 {
				if len(ok) != 0 || len(refused) != len(tc.real) {
					t.Fatalf("verified at %v, refused at %v; want every delivery refused", ok, refused)
				}
			} else {
				// The first delivery at or after firstOK verifies, and every
				// later one too.
				if len(ok) == 0 || ok[0] != tc.firstOK || len(ok)+len(refused) != len(tc.real) {
					t.Fatalf("verified at %v, refused at %v; want verified from +%v on", ok, refused, tc.firstOK)
				}
				for _, r := range refused {
					if r > tc.firstOK {
						t.Fatalf("refused at +%v after the key was in", r)
					}
				}
			}
			if n := ks.hits.Load(); n > tc.maxLookup {
				t.Fatalf("%d outbound lookups; want at most %d", n, tc.maxLookup)
			}
		})
	}
}

// Once a key is in, forged traffic cannot take it away: a config reload
// (a new verifier) shares it, and when it expires it is refreshed without
// waiting for the budget that the forged requests keep empty.
func TestMailChannelsKeySurvivesFlood(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	drain := mcEvery(true, 0, 0, 3*mcFetchBurst) // empties the bucket, then is refused
	cases := []struct {
		name   string
		first  func(v Verifier) error // gets mckey into the cache
		later  time.Duration          // when the delivery comes, under a fresh flood
		reload bool                   // the delivery goes to a new verifier
		hits   int32                  // lookups of mckey in all
	}{
		{name: "reload, key verified before", first: mcDeliver(t0), reload: true, hits: 1},
		{name: "reload, key only fetched by a forged request", first: mcForgeMCKey(t0), reload: true, hits: 1},
		{name: "key expired, refreshed past the empty bucket", first: mcDeliver(t0), later: mcKeyTTL + time.Hour, hits: 2},
		{name: "key expired, fetched only by a forged request, refreshed too", first: mcForgeMCKey(t0), later: mcKeyTTL + time.Hour, hits: 2},
		{name: "reload and expiry", first: mcDeliver(t0), later: 3 * mcKeyTTL, reload: true, hits: 2},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ks := newMCKeyServer(t)
			cfg := Config{HTTPClient: ks.client, Tolerance: -1}
			v, _ := New("mailchannels", cfg)
			if err := tc.first(v); err != nil {
				t.Fatal(err)
			}
			if tc.reload {
				v2, _ := New("mailchannels", cfg)
				if v2.(*mailchannelsVerifier).fetch != v.(*mailchannelsVerifier).fetch {
					t.Fatal("a new verifier does not share the fetcher")
				}
				v = v2
			}
			at := t0.Add(tc.later)
			mcRun(t, v, at, drain)
			if _, err := v.Verify(mcFetchRequest("random-now", at)); !errors.Is(err, ErrUnavailable) {
				t.Fatalf("bucket not empty: %v", err)
			}
			ok, refused := mcRun(t, v, at, mcEvery(false, 0, time.Second, 3))
			if len(ok) != 3 {
				t.Fatalf("verified at %v, refused at %v", ok, refused)
			}
			ks.mu.Lock()
			defer ks.mu.Unlock()
			n := int32(0)
			for _, id := range ks.ids {
				if id == "mckey" {
					n++
				}
			}
			if n != tc.hits {
				t.Fatalf("%d lookups of mckey; want %d", n, tc.hits)
			}
		})
	}
}

func mcDeliver(at time.Time) func(Verifier) error {
	return func(v Verifier) error {
		_, err := v.Verify(mcFetchRequest("mckey", at))
		return err
	}
}

// mcForgeMCKey sends a forged request with the real keyid: the key is
// fetched, the signature fails, nothing is trusted.
func mcForgeMCKey(at time.Time) func(Verifier) error {
	return func(v Verifier) error {
		r := mcFetchRequest("mckey", at)
		r.Header.Set("Signature", "sig_1=:"+base64.StdEncoding.EncodeToString(make([]byte, 64))+":")
		if _, err := v.Verify(r); !errors.Is(err, ErrSignature) {
			return fmt.Errorf("forged request with the real keyid: %v", err)
		}
		if k := v.(*mailchannelsVerifier).fetch.keys["mckey"]; k == nil || k.trusted {
			return fmt.Errorf("key entry %+v; want cached, untrusted", k)
		}
		return nil
	}
}

// When a key's refresh fails: a key that has verified a signature stays in
// use for mcStaleTTL (MailChannels unreachable); one that never did is not
// used; a keyid MailChannels no longer knows is dropped at once.
func TestMailChannelsRefreshFailure(t *testing.T) {
	t0 := time.Unix(1700000000, 0)
	cases := []struct {
		name   string
		first  func(v Verifier) error
		status int32         // the endpoint's answer from then on
		later  time.Duration // when the next delivery comes
		want   error         // nil: verified
		cached bool          // mckey still cached afterwards
		hits   int32         // lookups in all
	}{
		{name: "trusted, endpoint down: stale key used", first: mcDeliver(t0), status: 503, later: mcKeyTTL + time.Hour, cached: true, hits: 2},
		{name: "trusted, endpoint down: stale key used to the end of the grace", first: mcDeliver(t0), status: 503, later: mcKeyTTL + mcStaleTTL - mcFailureTTL, cached: true, hits: 2},
		{name: "trusted, endpoint down: not past the grace", first: mcDeliver(t0), status: 503, later: mcKeyTTL + mcStaleTTL, want: ErrUnavailable, cached: true, hits: 2},
		{name: "untrusted, endpoint down: not used", first: mcForgeMCKey(t0), status: 503, later: mcKeyTTL + time.Hour, want: ErrUnavailable, cached: true, hits: 2},
		{name: "trusted, keyid withdrawn: dropped", first: mcDeliver(t0), status: 404, later: mcKeyTTL + time.Hour, want: ErrSignature, hits: 2},
		{name: "fresh key: no lookup at all", first: mcDeliver(t0), status: 503, later: mcKeyTTL - mcFailureTTL, cached: true, hits: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ks := newMCKeyServer(t)
			v, _ := New("mailchannels", Config{HTTPClient: ks.client, Tolerance: -1})
			if err := tc.first(v); err != nil {
				t.Fatal(err)
			}
			ks.status.Store(tc.status)
			at := t0.Add(tc.later)
			res, err := v.Verify(mcFetchRequest("mckey", at))
			if tc.want == nil && (err != nil || res.Timestamp.Unix() != mcCreated1) || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %+v, %v; want %v", res, err, tc.want)
			}
			// A second delivery within mcFailureTTL gets the same answer
			// without a new lookup.
			res2, err2 := v.Verify(mcFetchRequest("mckey", at.Add(mcFailureTTL-time.Second)))
			if (err == nil) != (err2 == nil) || err2 != nil && !errors.Is(err2, tc.want) {
				t.Fatalf("second delivery: %+v, %v; want as the first (%v)", res2, err2, err)
			}
			_, cached := v.(*mailchannelsVerifier).fetch.keys["mckey"]
			if n := ks.hits.Load(); n != tc.hits || cached != tc.cached {
				t.Fatalf("%d lookups, cached %v; want %d, %v", n, cached, tc.hits, tc.cached)
			}
		})
	}

	t.Run("a refreshed key that changed is no longer trusted", func(t *testing.T) {
		f := newMCKeyFetcher(nil, "")
		k1, k2 := ed25519.PublicKey(mcB64(mcK1Raw)), ed25519.PublicKey(mcB64(mcK2Raw))
		f.storeKey("mckey", k1, t0)
		f.trust("mckey", k2) // not the cached key: no effect
		if f.keys["mckey"].trusted {
			t.Fatal("trusted for another key")
		}
		f.trust("mckey", k1)
		f.storeKey("mckey", k1, t0.Add(mcKeyTTL))
		if !f.keys["mckey"].trusted {
			t.Fatal("same key refreshed: trust lost")
		}
		f.storeKey("mckey", k2, t0.Add(2*mcKeyTTL))
		if f.keys["mckey"].trusted {
			t.Fatal("changed key still trusted")
		}
	})
}

func TestMailChannelsFetchableKeyID(t *testing.T) {
	cases := []struct {
		id string
		ok bool
	}{
		// The keyid of every SDK test: github:mailchannels/mailchannels-email-api-sdk-js
		// test/modules/webhooks/verify.test.ts @13c6a0559d8bfddaff91e52f052c1fafd1a6e086,
		// github:Yizack/mailchannels test/modules/webhooks/verify.test.ts
		// @7a2711f704dd545af8677315d1e96403783497a1, github:ttulttul/mailchannels-python-sdk
		// tests/test_webhooks.py @415aae76a671ad3c1f9cb348056df5b0506e1c28.
		{"mckey", true},
		{"mckey-2", true},
		{"550e8400-e29b-41d4-a716-446655440000", true},
		{"wBLWrCnK0Z965pf-cgxhNg8bo5s=", true}, // shape of a MailChannels request_id
		{"a+b/c=", true},
		{"kid:2025_01.x~y", true},
		{strings.Repeat("k", mcMaxFetchKeyID), true},
		{strings.Repeat("k", mcMaxFetchKeyID+1), false},
		{"", false},
		{"mc key", false},
		{"mc%20key", false},
		{"a?b", false},
		{"a&id=b", false},
		{"a#b", false},
		{`a"b`, false},
		{`a\b`, false},
		{"a\tb", false},
		{"ключ", false},
	}
	for _, tc := range cases {
		if got := mcFetchableKeyID(tc.id); got != tc.ok {
			t.Errorf("mcFetchableKeyID(%q) = %v; want %v", tc.id, got, tc.ok)
		}
	}

	// End to end: an implausible keyid is refused without a lookup and
	// without spending the budget.
	ks := newMCKeyServer(t)
	v, _ := New("mailchannels", Config{HTTPClient: ks.client, Tolerance: -1})
	at := time.Unix(1700000000, 0)
	for i := 0; i < 2*mcFetchBurst; i++ {
		r := mcFetchRequest("x", at)
		r.Header.Set("Signature-Input", fmt.Sprintf(`sig_1=("content-digest");created=1625098010;alg="ed25519";keyid="bad key %d"`, i))
		if _, err := v.Verify(r); !errors.Is(err, ErrSignature) || !strings.Contains(err.Error(), "not fetchable") {
			t.Fatalf("got %v", err)
		}
	}
	if _, err := v.Verify(mcFetchRequest("mckey", at)); err != nil || ks.hits.Load() != 1 {
		t.Fatalf("real delivery after them: %v, %d lookups", err, ks.hits.Load())
	}
}

func TestMailChannelsSharedFetchers(t *testing.T) {
	a, _ := New("mailchannels", Config{})
	b, _ := New("mailchannels", Config{Tolerance: time.Minute})
	fa, fb := a.(*mailchannelsVerifier).fetch, b.(*mailchannelsVerifier).fetch
	if fa != fb || fa.client != mcDefaultClient {
		t.Fatal("verifiers without a client do not share the default fetcher")
	}
	c1, c2 := &http.Client{}, &http.Client{}
	x, _ := New("mailchannels", Config{HTTPClient: c1})
	y, _ := New("mailchannels", Config{HTTPClient: c2})
	if x.(*mailchannelsVerifier).fetch == y.(*mailchannelsVerifier).fetch {
		t.Fatal("different clients share a fetcher")
	}
	for i := 0; i < 2*mcMaxFetchers; i++ {
		mcSharedFetcher(&http.Client{}, mcKeyEndpoint)
	}
	mcFetchers.Lock()
	n := len(mcFetchers.m)
	mcFetchers.Unlock()
	if n > mcMaxFetchers {
		t.Fatalf("%d shared fetchers kept", n)
	}
}

// TestMailChannelsCustomerHandles: MailChannels signs every customer's
// events with the same keys, so the allow-list of customer handles is what
// keeps another customer's genuinely signed events out. The fixtures' events
// carry customer_handle "abc123".
func TestMailChannelsCustomerHandles(t *testing.T) {
	at := time.Unix(mcCreated1, 0)
	tests := []struct {
		name    string
		handles []string
		wantErr error
	}{
		{"no allow-list", nil, nil},
		{"allowed", []string{"abc123"}, nil},
		{"allowed among others", []string{"other", "abc123"}, nil},
		{"another customer", []string{"other"}, ErrSignature},
		{"case matters", []string{"ABC123"}, ErrSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := New("mailchannels", Config{PublicKeys: []PublicKey{mcKey("mckey", mcK1SPKI)}, CustomerHandles: tt.handles})
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse("https://hooks.example.com/mailchannels")
			res, err := v.Verify(&Request{Context: context.Background(), Method: "POST", URL: u,
				Header: mcHeader(mcInput1, "sig_1=:"+mcSig1B64+":", mcDigest1), Body: []byte(mcBody1), Now: at})
			if tt.wantErr == nil {
				if err != nil || res == nil {
					t.Fatalf("got %v, want verified", err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || res != nil {
				t.Fatalf("got %+v, %v; want %v", res, err, tt.wantErr)
			}
		})
	}
}

// A customer_handle given twice, or in another spelling that a loose JSON
// reader (Go's encoding/json folds case and "ſ" to "s" and keeps the last
// duplicate) takes for it, would let the upstream see another handle than
// the one checked: refused. Signed independently with a throwaway key (not
// kept), created=1625098010, keyid "mckey":
//
//	openssl genpkey -algorithm ed25519 -out k3.pem
//	openssl pkey -in k3.pem -pubout -outform DER | base64 -w0      # mcK3SPKI
//	printf '%s' "$BODY" > body
//	D="sha-256=:$(openssl dgst -sha256 -binary body | base64 -w0):"
//	P='("content-digest");created=1625098010;alg="ed25519";keyid="mckey"'
//	printf '"content-digest": %s\n"@signature-params": %s' "$D" "$P" > base
//	openssl pkeyutl -sign -inkey k3.pem -rawin -in base | base64 -w0
func TestMailChannelsCustomerHandleAmbiguous(t *testing.T) {
	const mcK3SPKI = "MCowBQYDK2VwAyEAPLGX8pp3Myrv5Ixf3p2JW/dDewZ6EVSvu3/nCCMIjLk="
	vectors := []struct{ body, digest, sig string }{
		{`[{"customer_handle":"abc123","Customer_Handle":"evil","event":"delivered"}]`, `sha-256=:Hw1MjaF0w75Dop/zKTn9ElSXaiReCCvkPS6h6asVRPs=:`, `nvRPV8GeqZdVgpCaNjzol+r43tFgtiqtpe1VAadwZWXh1y/byjpbC8LZCf0b6YRQEMrvu7fkBVLPWAbRedBNCw==`},
		{`[{"customer_handle":"evil","customer_handle":"abc123","event":"delivered"}]`, `sha-256=:h88kyr8mc9fIT0W7i9Z+/I9sJo0EjC+kO99H2SaYi0k=:`, `CqSi66DZN2yQOJBvz9PJ66avz/b4lCte8ueSxQP0ToECK6V5sWQvmL1gcpWPc/540blqlhC9VNcimOTqzP4BAg==`},
		{`[{"customer_handle":"abc123","customer_handle":"evil","event":"delivered"}]`, `sha-256=:iKOVZStsC0BeKdQc0dwBRB2eTZt+8fgm/RmKlzuj07A=:`, `1POlh9Yf8pz+bdHF1wM8bPFi2bwZIHOMkvfbf0dXQm7m6YjOhBZm73+MLwX2ypMIprtfn8Mmy+pIYVN1BQOwCw==`},
		{`[{"CUSTOMER_HANDLE":"abc123","event":"delivered"}]`, `sha-256=:NgUrNyby/Wdg5Gt1UQqNTAZ/Gx4LBX+gdpxJdWbTQ2M=:`, `kwEw9aMDkyQIPGTVsjSbtEQVkltE1C0sgl4SjOEy38ApkS2RHkN6mhFZqgpa0Yw2Wk8Hapbl6NYrsEN8KvKdBQ==`},
		{`[{"customer_handle":"abc123","cuſtomer_handle":"evil","event":"delivered"}]`, `sha-256=:vugZvFPmS8DcCfaaTheGfZoFQo/hahhJ3d6rHRATFGM=:`, `uifTnbRiRndkHXy9uOfDWn6IUKs6VWuotNUdoqVo1F4vhkRt+gp8dygytsLJQizpOzvhkL2ybLb0g8nbeChdBQ==`},
		{`[{"customer_handle":"abc123","customer_hand\u006ce":"evil","event":"delivered"}]`, `sha-256=:Q0Latcrpbzwjt4XnuCuQGGzsSimOFO6CwfAX4BWjqRE=:`, `LIL41LTNOqNINjpcxTSzAGXV+LT8GmRH1KFH29t0thtLQM7loOeMp3Rzu9iH8VBXVPyrCgvpIvhXxaRlMbLyCg==`},
		{`[{"customer_handle":"abc123","event":"delivered"},{"customer_handle":"abc123","Customer_handle":"evil"}]`, `sha-256=:yzP43UtC73tSu8sp/3MStQ1LbZK16LzAE6U1YVreD0c=:`, `AW/bxyychmw/nd42TQo26PtlluSl9jPJM1U4ccmEzQCtSu37xIOX1SBfcuLkj7E2F0vrZid5s5f91kJUHf1UCQ==`},
		// Control: duplicates of other members are MailChannels' business.
		{`[{"customer_handle":"abc123","event":"delivered","Email":"a@example.com","email":"b@example.com"}]`, `sha-256=:34pd+WE7ZONFgLOSW2RL0SU8s1cDKVaoxZflgzCEi1E=:`, `Ojk3lhmModksphkdoiJ1EEzxmbXtUyconOZcLFsZqRIsBGOn2DvqHWjxxXcaBrUmKEPztRk8wK/2+JPg/aMEAA==`},
	}
	input := `sig_1=("content-digest");created=1625098010;alg="ed25519";keyid="mckey"`
	for i, vec := range vectors {
		for _, handles := range [][]string{{"abc123"}, {"evil"}, {"abc123", "evil"}} {
			t.Run(fmt.Sprint(i, handles), func(t *testing.T) {
				v, err := New("mailchannels", Config{PublicKeys: []PublicKey{mcKey("mckey", mcK3SPKI)}, CustomerHandles: handles})
				if err != nil {
					t.Fatal(err)
				}
				u, _ := url.Parse("https://hooks.example.com/mailchannels")
				res, err := v.Verify(&Request{Context: context.Background(), Method: "POST", URL: u,
					Header: mcHeader(input, "sig_1=:"+vec.sig+":", vec.digest), Body: []byte(vec.body), Now: time.Unix(1625098010, 0)})
				switch {
				case i == len(vectors)-1 && handles[0] == "abc123":
					if err != nil {
						t.Fatalf("control: %v", err)
					}
				case i == len(vectors)-1:
					if !errors.Is(err, ErrSignature) {
						t.Fatalf("control, handle not allowed: %v", err)
					}
				case !errors.Is(err, ErrMalformed) || res != nil:
					t.Fatalf("got %+v, %v; want ErrMalformed", res, err)
				}
			})
		}
		// Without an allow-list the body is not looked at.
		v, _ := New("mailchannels", Config{PublicKeys: []PublicKey{mcKey("mckey", mcK3SPKI)}})
		if _, err := v.Verify(&Request{Context: context.Background(), Method: "POST",
			Header: mcHeader(input, "sig_1=:"+vec.sig+":", vec.digest), Body: []byte(vec.body), Now: time.Unix(1625098010, 0)}); err != nil {
			t.Errorf("vector %d without allow-list: %v", i, err)
		}
	}
}
