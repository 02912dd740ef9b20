package httpsig

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/rfcvectors"
	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/sfv"
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

func rfc9421Message() Message {
	u, _ := url.Parse("https://example.com/foo?param=Value&Pet=dog")
	h := http.Header{}
	h.Set("Date", "Tue, 20 Apr 2021 02:07:55 GMT")
	h.Set("Content-Type", "application/json")
	h.Set("Content-Digest", rfc9421Digest)
	h.Set("Content-Length", "18")
	h.Set("Signature-Input", rfc9421B26Input)
	h.Set("Signature", rfc9421B26Sig)
	return Message{Method: "POST", URL: u, Header: h}
}

func TestSignatureBaseRFC9421B26(t *testing.T) {
	m := rfc9421Message()
	in, err := ParseDictionary(m.Header.Get("Signature-Input"), "Signature-Input", 8)
	if err != nil {
		t.Fatal(err)
	}
	sigs, err := ParseDictionary(m.Header.Get("Signature"), "Signature", 8)
	if err != nil {
		t.Fatal(err)
	}
	mem, _ := in.Get("sig-b26")
	sm, _ := sigs.Get("sig-b26")
	var comps []string
	for _, c := range mem.Value.(sfv.InnerList) {
		comps = append(comps, c.Value.(string))
	}
	base, err := SignatureBase(m, comps, mem.Raw)
	if err != nil {
		t.Fatal(err)
	}
	if string(base) != rfc9421B26Base {
		t.Fatalf("signature base:\n%s\nwant:\n%s", base, rfc9421B26Base)
	}
	der, _ := base64.StdEncoding.DecodeString(rfc9421Ed25519Key)
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		t.Fatal(err)
	}
	if !ed25519.Verify(k.(ed25519.PublicKey), base, sm.Value.([]byte)) {
		t.Fatal("RFC 9421 B.2.6 signature does not verify over the base")
	}
}

// RFC 9421 §2.2 examples of derived components, and the refusals.
func TestComponentValue(t *testing.T) {
	u, _ := url.Parse("https://www.example.com/path?param=value")
	m := Message{Method: "POST", URL: u, Header: http.Header{"X-Two": {" a ", "b\t"}, "X-Lf": {"a\nb"}}}
	for _, tc := range []struct{ name, want string }{
		{"@method", "POST"},
		{"@target-uri", "https://www.example.com/path?param=value"},
		{"@authority", "www.example.com"},
		{"@scheme", "https"},
		{"@request-target", "/path?param=value"},
		{"@path", "/path"},
		{"@query", "?param=value"},
		{"x-two", "a, b"},
	} {
		got, err := ComponentValue(m, tc.name)
		if err != nil || got != tc.want {
			t.Errorf("%s = %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
	for _, name := range []string{"x-lf", "x-missing", "@status", "@query-param", ""} {
		if _, err := ComponentValue(m, name); err == nil {
			t.Errorf("%q: no error", name)
		}
	}
	// A URL without host or scheme (Caddy's original-request copy) must
	// not give an empty authority that anyone's signature covers.
	for _, name := range []string{"@authority", "@target-uri", "@scheme"} {
		if _, err := ComponentValue(Message{Method: "POST", URL: &url.URL{Path: "/p"}}, name); err == nil {
			t.Errorf("%s of a relative url: no error", name)
		}
	}
	if a := Authority(&url.URL{Scheme: "HTTPS", Host: "Example.COM:443"}); a != "example.com" {
		t.Errorf("default port kept: %q", a)
	}
	if a := Authority(&url.URL{Scheme: "http", Host: "example.com:8080"}); a != "example.com:8080" {
		t.Errorf("port dropped: %q", a)
	}
	if !FieldName("content-digest") || FieldName("Content-Digest") || FieldName("a b") || FieldName("") {
		t.Error("FieldName")
	}
	if _, err := ParseDictionary(`a=1, a=2`, "X", 8); err == nil {
		t.Error("duplicated key accepted")
	}
	if _, err := ParseDictionary(strings.Repeat("a=1, ", 3)+"b=1, c=1", "X", 2); err == nil {
		t.Error("too many members accepted")
	}
}

func TestContentDigest(t *testing.T) {
	helloLF := "{\"hello\": \"world\"}\n"
	cases := []struct {
		name   string
		body   string
		header string
		want   string // "", "mismatch" or "malformed"
	}{
		// RFC 9530 Appendix B.1, B.2 and §2; RFC 9421 §7.2.8 and the
		// test-request of RFC 9421 Appendix B.2 (sha-512, no LF).
		{"RFC 9530 B.1 sha-256", helloLF, `sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:`, ""},
		{"RFC 9530 B.2 empty body", "", `sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:`, ""},
		{"RFC 9530 §2 sha-512", helloLF, `sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:`, ""},
		{"RFC 9421 §7.2.8 sha-256 without LF", rfc9421Body, `sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:`, ""},
		{"RFC 9421 B.2 test-request sha-512", rfc9421Body, rfc9421Digest, ""},
		{"both algorithms", helloLF, `sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:, sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:`, ""},
		{"unknown algorithm ignored", helloLF, `unixsum=:AAAA:, sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:, id-sha-256=?1`, ""},
		{"padding omitted", helloLF, `sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg:`, ""},

		// RFC 9530 §2's two-member example: its sha-256 is the digest of the
		// brotli-encoded content, so with the plain body it must fail.
		{"RFC 9530 §2 mixed example", helloLF, `sha-256=:d435Qo+nKZ+gLcUHn7GQtQ72hiBVAgqoLsZnZPiTGPk=:, sha-512=:YMAam51Jz/jOATT6/zvHrLVgOYTGFy1d6GJiOHTohq4yP+pgk4vf2aCsyRZOtw8MjkM7iw7yZ/WkppmM44T3qg==:`, "mismatch"},
		{"trailing LF missing", rfc9421Body, `sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:`, "mismatch"},
		{"sha-512 of the other body", helloLF, `sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:, ` + rfc9421Digest, "mismatch"},
		{"truncated digest", helloLF, `sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8Fa:`, "mismatch"},
		{"empty digest", helloLF, `sha-256=::`, "mismatch"},

		{"only unknown algorithms", helloLF, `md5=:Sd/dVLAcvNLSq16eXua5uQ==:, sha=:07CavjDP4u3/TungoUHJO/Wzr4c=:`, "malformed"},
		{"SDK spelling sha256 is not RFC 9530", helloLF, `sha256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:`, "malformed"},
		{"uppercase algorithm", helloLF, `SHA-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:`, "malformed"},
		{"digest as a string", helloLF, `sha-256="RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg="`, "malformed"},
		{"legacy Digest syntax", helloLF, `SHA-256=RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=`, "malformed"},
		{"base64url digest", helloLF, `sha-256=:RK_0qy18MlBSVnWgjwz6lZEWjP_lF5HF9bvEF8FabDg=:`, "malformed"},
		{"duplicated algorithm", helloLF, `sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:, sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:`, "malformed"},
		{"trailing comma", helloLF, `sha-256=:RK/0qy18MlBSVnWgjwz6lZEWjP/lF5HF9bvEF8FabDg=:,`, "malformed"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckContentDigest(tc.header, []byte(tc.body), 16)
			got := ""
			var he *Error
			switch {
			case err == nil:
			case !errors.As(err, &he):
				t.Fatalf("error %v is not an *Error", err)
			case he.Mismatch:
				got = "mismatch"
			default:
				got = "malformed"
			}
			if got != tc.want {
				t.Fatalf("got %q (%v); want %q", got, err, tc.want)
			}
		})
	}
}
