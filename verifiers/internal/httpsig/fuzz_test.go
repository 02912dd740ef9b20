package httpsig

import (
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/sfv"
)

// FuzzContentDigest: no panic; an accepted Content-Digest has a sha-256
// or sha-512 member that is the body's (checked against the RFC 9530
// vector: a body other than the vector's is never accepted with its
// digest); every error is an *Error.
func FuzzContentDigest(f *testing.F) {
	f.Add(rfc9421Digest, []byte(rfc9421Body))
	f.Add(`sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:, md5=:AA==:`, []byte(rfc9421Body))
	f.Fuzz(func(t *testing.T, value string, body []byte) {
		if len(value) > 16<<10 || len(body) > 64<<10 {
			return
		}
		err := CheckContentDigest(value, body, 16)
		var he *Error
		if err != nil && !errors.As(err, &he) {
			t.Fatalf("error %v is not an *Error", err)
		}
		if err == nil && value == rfc9421Digest && string(body) != rfc9421Body {
			t.Fatalf("the vector's digest accepted another body %q", body)
		}
	})
}

// FuzzSignatureBase: Signature-Input parsed and a base built from any
// covered components never panics, and a base never has more lines than
// components plus one (a component value cannot add a line).
func FuzzSignatureBase(f *testing.F) {
	f.Add(rfc9421B26Input, "example.com", "/foo?param=Value&Pet=dog")
	f.Add(`s=("@target-uri" "@query" "@request-target" "@scheme" "x-a");created=1`, "h:443", "/")
	f.Fuzz(func(t *testing.T, input, host, target string) {
		if len(input)+len(host)+len(target) > 16<<10 {
			return
		}
		d, err := ParseDictionary(input, "Signature-Input", 32)
		if err != nil {
			return
		}
		u, err := url.Parse("https://" + host + target)
		if err != nil {
			u = nil
		}
		m := Message{Method: "POST", URL: u, Header: http.Header{"X-A": {"1", "two\nlines"}, "Date": {"x"}}}
		for _, mem := range d.Members {
			var comps []string
			if il, ok := mem.Value.(sfv.InnerList); ok {
				for _, it := range il {
					if s, ok := it.Value.(string); ok {
						comps = append(comps, s)
					}
				}
			}
			base, err := SignatureBase(m, comps, mem.Raw)
			if err != nil {
				var he *Error
				if !errors.As(err, &he) {
					t.Fatalf("error %v is not an *Error", err)
				}
				continue
			}
			lines := 1
			for _, c := range base {
				if c == '\n' {
					lines++
				}
			}
			raw := 0
			for _, c := range mem.Raw {
				if c == '\n' {
					raw++
				}
			}
			if lines > len(comps)+1+raw {
				t.Fatalf("%d lines for %d components", lines, len(comps))
			}
		}
	})
}
