package verifiers

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
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
		{"another customer", []string{"other"}, ErrForbidden},
		{"case matters", []string{"ABC123"}, ErrForbidden},
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
					if !errors.Is(err, ErrForbidden) {
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
