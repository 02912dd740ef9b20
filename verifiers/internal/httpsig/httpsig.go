// Package httpsig holds the parts of HTTP Message Signatures (RFC 9421) and
// Digest Fields (RFC 9530) that do not depend on a provider: reading the
// Signature-Input, Signature and Content-Digest dictionaries, checking a
// Content-Digest against a body, and building the signature base from
// covered components. Which signatures, algorithms and keys to accept is
// the provider's business (verifiers/mailchannels.go).
//
// Errors are *Error values: Mismatch ones mean the request is well formed
// but does not match (a wrong digest: 401 for the caller); the others mean
// malformed or ambiguous metadata (400). Error texts never quote the input.
package httpsig

import (
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/sfv"
)

// Error is an error of this package.
type Error struct {
	// Mismatch is set when the metadata is well formed but does not match
	// the request (a Content-Digest that is not the body's).
	Mismatch bool
	// Msg describes the error; it never quotes the input.
	Msg string
}

func (e *Error) Error() string { return e.Msg }

func malformed(format string, a ...any) error {
	return &Error{Msg: fmt.Sprintf(format, a...)}
}

// ParseDictionary parses the value of the header name as an RFC 8941
// Dictionary that must have 1 to max members and no duplicated key (in the
// dictionary or in any parameter list: RFC 8941 lets the last one win,
// which is ambiguous, so it fails here).
func ParseDictionary(value, name string, max int) (*sfv.Dictionary, error) {
	d, err := sfv.ParseDictionary(value)
	switch {
	case err != nil:
		return nil, malformed("header %s is not a structured dictionary", name)
	case d.Dup:
		return nil, malformed("header %s has a duplicated key", name)
	case len(d.Members) == 0:
		return nil, malformed("header %s is empty", name)
	case len(d.Members) > max:
		return nil, malformed("header %s has too many members", name)
	}
	return d, nil
}

// ContentDigestHeader is the RFC 9530 field name.
const ContentDigestHeader = "Content-Digest"

// CheckContentDigest compares the sha-256 and sha-512 members of a
// Content-Digest value (RFC 9530 §2) with the body, in constant time. Every
// such member must match and at least one must be present; members of
// other algorithms are ignored. At most max members are read.
func CheckContentDigest(value string, body []byte, max int) error {
	d, err := ParseDictionary(value, ContentDigestHeader, max)
	if err != nil {
		return err
	}
	known, match := 0, true
	for _, m := range d.Members {
		var sum []byte
		switch m.Key {
		case "sha-256":
			s := sha256.Sum256(body)
			sum = s[:]
		case "sha-512":
			s := sha512.Sum512(body)
			sum = s[:]
		default:
			continue
		}
		got, isBytes := m.Value.([]byte)
		if !isBytes {
			return malformed("header %s member %s is not a byte sequence", ContentDigestHeader, m.Key)
		}
		known++
		if subtle.ConstantTimeCompare(got, sum) != 1 {
			match = false
		}
	}
	if known == 0 {
		return malformed("header %s has no sha-256 or sha-512 digest", ContentDigestHeader)
	}
	if !match {
		return &Error{Mismatch: true, Msg: "body does not match " + ContentDigestHeader}
	}
	return nil
}

// Message is what a signature base is built from: the request as
// received. URL must be absolute (scheme and host) for @scheme,
// @authority and @target-uri.
type Message struct {
	Method string
	URL    *url.URL
	Header http.Header
}

// derived are the derived components (RFC 9421 §2.2) SignatureBase can
// rebuild. Others (@status, @query-param) make a signature unverifiable.
var derived = map[string]bool{
	"@method": true, "@target-uri": true, "@authority": true, "@scheme": true,
	"@request-target": true, "@path": true, "@query": true,
}

// Derived reports whether name is a derived component SignatureBase can
// rebuild.
func Derived(name string) bool { return derived[name] }

// FieldName reports whether s is a lowercase HTTP field name (a token
// without uppercase letters), as covered components must be.
func FieldName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' || !sfv.IsTchar(c) {
			return false
		}
	}
	return true
}

// SignatureBase builds the RFC 9421 §2.5 signature base: one line
// `"<component>": <value>` per covered component, then
// `"@signature-params": <params>`, joined by LF, without a final LF. params
// is the Signature-Input member's value verbatim (sfv.Member.Raw).
func SignatureBase(m Message, components []string, params string) ([]byte, error) {
	var b strings.Builder
	for _, c := range components {
		val, err := ComponentValue(m, c)
		if err != nil {
			return nil, err
		}
		b.WriteString(`"`)
		b.WriteString(c)
		b.WriteString(`": `)
		b.WriteString(val)
		b.WriteByte('\n')
	}
	b.WriteString(`"@signature-params": `)
	b.WriteString(params)
	return []byte(b.String()), nil
}

// ComponentValue returns a component value per RFC 9421 §2.1 (fields: the
// field lines' values, trimmed, joined by ", "; a value with a line break
// is refused) and §2.2 (derived components).
func ComponentValue(m Message, name string) (string, error) {
	if name == "" {
		return "", malformed("empty component name")
	}
	if name[0] != '@' {
		vals := m.Header.Values(name)
		if len(vals) == 0 {
			return "", malformed("covered header %s is missing", name)
		}
		parts := make([]string, len(vals))
		for i, v := range vals {
			if strings.ContainsAny(v, "\r\n") {
				return "", malformed("covered header %s contains a line break", name)
			}
			parts[i] = strings.Trim(v, " \t")
		}
		return strings.Join(parts, ", "), nil
	}
	if name == "@method" {
		return m.Method, nil
	}
	u := m.URL
	if u == nil {
		return "", malformed("request url unknown for %s", name)
	}
	if (name == "@scheme" || name == "@target-uri") && u.Scheme == "" {
		return "", malformed("request url has no scheme for %s", name)
	}
	if (name == "@authority" || name == "@target-uri") && Authority(u) == "" {
		return "", malformed("request url has no host for %s", name)
	}
	switch name {
	case "@scheme":
		return strings.ToLower(u.Scheme), nil
	case "@authority":
		return Authority(u), nil
	case "@path":
		if p := u.EscapedPath(); p != "" {
			return p, nil
		}
		return "/", nil
	case "@query":
		return "?" + u.RawQuery, nil
	case "@request-target":
		return u.RequestURI(), nil
	case "@target-uri":
		return strings.ToLower(u.Scheme) + "://" + Authority(u) + u.RequestURI(), nil
	}
	return "", malformed("unsupported component %s", name)
}

// Authority is the host (lowercase) with the port unless it is the
// scheme's default (RFC 9421 §2.2.3).
func Authority(u *url.URL) string {
	host := strings.ToLower(u.Host)
	scheme := strings.ToLower(u.Scheme)
	if (scheme == "https" && strings.HasSuffix(host, ":443")) || (scheme == "http" && strings.HasSuffix(host, ":80")) {
		host = host[:strings.LastIndexByte(host, ':')]
	}
	return host
}
