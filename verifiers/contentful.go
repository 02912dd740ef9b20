package verifiers

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Contentful request verification (webhooks, app events, app actions;
// https://www.contentful.com/developers/docs/webhooks/request-verification/),
// as implemented by Contentful's own toolkit, npm @contentful/node-apps-toolkit
// (src/requests/sign-request.ts, verify-request.ts and utils.ts, checked
// against version 3.16.1):
//
//	x-contentful-signature = hex(HMAC-SHA256(secret, method "\n" path "\n" headers "\n" body))
//
// where path is the request's path and query normalised as the toolkit's
// getNormalizedEncodedURI does (encodeURI(pathname + "?" +
// querystring.escape(query)), the "?" part only with a query), headers is
// "name:value" of every header named by x-contentful-signed-headers, joined
// by ";", in the sorted order of their lowercase names, and the list
// always holds x-contentful-signed-headers itself (the value signed is the
// sorted list) and x-contentful-timestamp (Unix milliseconds). The secret
// is used as its bytes; Contentful's are 64 characters of
// [0-9a-zA-Z+/=_-] (https://www.contentful.com/developers/docs/webhooks/secrets/),
// which the toolkit requires too. Contentful recommends refusing requests
// older than a TTL (the toolkit's default is 30s); the tolerance here is
// the module's (5m, both directions).
//
// The toolkit is lenient where a gate must not be: it drops names of the
// list that are absent, parses the timestamp with parseInt and ignores a
// second "?" of the path. Here every value of the signed string is checked
// first, so that no two different requests share one signed string: the
// method is one of the toolkit's seven; the path starts with "/", is
// printable ASCII as received (before any rewrite), with no second "?" and
// no empty query ("?" alone); the list is 2 to 32 lowercase header names,
// sorted, without duplicates, holding x-contentful-signed-headers and
// x-contentful-timestamp but not x-contentful-signature, each named header
// sent exactly once with a printable ASCII value in which no ";" is
// followed by a header name and ":" (the separator of the next pair); the
// timestamp is decimal digits without a leading zero. The signature must
// be 64 lowercase hex digits, as the toolkit compares strings.
//
// x-contentful-idempotency-key (Contentful: the same for copies of one
// webhook call) is the delivery id; when the list names it, it is signed
// and becomes the replay key (Result.SignedID), else the signature is.

func init() {
	Register("contentful", newContentful)
	RegisterSigner("contentful", signContentful)
}

const (
	contentfulSignature     = "x-contentful-signature"
	contentfulSignedHeaders = "x-contentful-signed-headers"
	contentfulTimestamp     = "x-contentful-timestamp"
	contentfulIdempotency   = "x-contentful-idempotency-key"
	// contentfulMaxHeaders bounds the signed header list.
	contentfulMaxHeaders = 32
	// contentfulSecretLen is the length of Contentful's signing secrets.
	contentfulSecretLen = 64
)

// contentfulMethods are the methods the toolkit signs.
var contentfulMethods = []string{"GET", "PATCH", "HEAD", "POST", "DELETE", "OPTIONS", "PUT"}

type contentful struct {
	cfg  Config
	keys [][]byte
}

func newContentful(c Config) (Verifier, error) {
	if err := c.Allow("secret", "tolerance"); err != nil {
		return nil, err
	}
	keys, err := RawSecrets(c)
	if err != nil {
		return nil, err
	}
	for i, s := range c.Secrets {
		if !contentfulValidSecret(s) {
			return nil, fmt.Errorf("provider %s: secret %d is not a Contentful signing secret (64 characters of 0-9, a-z, A-Z, +, /, =, _ or -)", c.Provider, i+1)
		}
	}
	return &contentful{cfg: c, keys: keys}, nil
}

// contentfulValidSecret reports whether s has the form Contentful gives
// its signing secrets.
func contentfulValidSecret(s string) bool {
	if len(s) != contentfulSecretLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("+/=_-", c) >= 0) {
			return false
		}
	}
	return true
}

// HasTimestamp reports whether x-contentful-timestamp is checked.
func (v *contentful) HasTimestamp() bool {
	_, on := v.cfg.EffectiveTolerance()
	return on
}

// SignsBody: the signature covers the whole raw body.
func (v *contentful) SignsBody() bool { return true }

// Verify checks a request against the configured secrets.
func (v *contentful) Verify(r *Request) (*Result, error) {
	sigHex, err := Header(r.Header, contentfulSignature)
	if err != nil {
		return nil, err
	}
	list, err := Header(r.Header, contentfulSignedHeaders)
	if err != nil {
		return nil, err
	}
	tsStr, err := Header(r.Header, contentfulTimestamp)
	if err != nil {
		return nil, err
	}
	sig, ok := contentfulDecodeSignature(sigHex)
	if !ok {
		return nil, fmt.Errorf("%w: %s is not 64 lowercase hex digits", ErrMalformed, contentfulSignature)
	}
	names, err := contentfulParseList(list)
	if err != nil {
		return nil, err
	}
	ts, err := ParseUnixMilli(tsStr)
	if err != nil || tsStr[0] == '0' {
		return nil, fmt.Errorf("%w: %s is not Unix milliseconds", ErrMalformed, contentfulTimestamp)
	}
	values := make([]string, len(names))
	for i, n := range names {
		if values[i], err = contentfulHeaderValue(r, n); err != nil {
			return nil, err
		}
	}
	signedID := ""
	if i := slices.Index(names, contentfulIdempotency); i >= 0 {
		if signedID = values[i]; !validID(signedID) {
			return nil, fmt.Errorf("%w: %s must be 1 to 128 letters, digits, '-', '_' or '.'", ErrMalformed, contentfulIdempotency)
		}
	}
	prefix, err := contentfulSignedString(r.Method, r.URL, names, values)
	if err != nil {
		return nil, err
	}
	if err := CheckTimestamp(v.cfg, ts, r.Now); err != nil {
		return nil, err
	}
	expected := make([][]byte, len(v.keys))
	for i, k := range v.keys {
		expected[i] = MAC(sha256.New, k, prefix, r.Body)
	}
	key, matched, ok := MatchMAC(expected, [][]byte{sig})
	if !ok {
		return nil, fmt.Errorf("%w: %s does not match", ErrSignature, contentfulSignature)
	}
	res := &Result{Signature: matched, Timestamp: ts, Key: key}
	if signedID != "" {
		res.ID, res.SignedID = signedID, signedID
	} else if id, err := OptionalHeader(r.Header, contentfulIdempotency); err == nil && validID(id) {
		res.ID = id // unsigned: for logs only
	}
	return res, nil
}

// contentfulDecodeSignature decodes 64 lowercase hex digits.
func contentfulDecodeSignature(s string) ([]byte, bool) {
	if len(s) != 2*sha256.Size || strings.ToLower(s) != s {
		return nil, false
	}
	b, ok := DecodeHex(s)
	return b, ok && len(b) == sha256.Size
}

// contentfulParseList checks x-contentful-signed-headers and returns its
// names.
func contentfulParseList(list string) ([]string, error) {
	names := strings.Split(list, ",")
	if len(names) < 2 || len(names) > contentfulMaxHeaders {
		return nil, fmt.Errorf("%w: %s must name 2 to %d headers", ErrMalformed, contentfulSignedHeaders, contentfulMaxHeaders)
	}
	for i, n := range names {
		if !contentfulValidName(n) {
			return nil, fmt.Errorf("%w: %s must list lowercase header names separated by commas", ErrMalformed, contentfulSignedHeaders)
		}
		if i > 0 && names[i-1] >= n {
			return nil, fmt.Errorf("%w: %s must be sorted, without duplicates", ErrMalformed, contentfulSignedHeaders)
		}
	}
	if !slices.Contains(names, contentfulSignedHeaders) || !slices.Contains(names, contentfulTimestamp) {
		return nil, fmt.Errorf("%w: %s must name %s and %s", ErrMalformed, contentfulSignedHeaders, contentfulSignedHeaders, contentfulTimestamp)
	}
	if slices.Contains(names, contentfulSignature) {
		return nil, fmt.Errorf("%w: %s names %s", ErrMalformed, contentfulSignedHeaders, contentfulSignature)
	}
	return names, nil
}

// contentfulValidName reports whether n is a lowercase header name (an
// RFC 9110 token without capitals) of at most 64 characters.
func contentfulValidName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for i := 0; i < len(n); i++ {
		if !contentfulTokenChar(n[i]) || n[i] >= 'A' && n[i] <= 'Z' {
			return false
		}
	}
	return true
}

// contentfulTokenChar reports whether c is an RFC 9110 tchar.
func contentfulTokenChar(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

// contentfulHeaderValue returns the value of the signed header n, which
// must be sent exactly once (Host is the request's host, which Go keeps
// out of the header map).
func contentfulHeaderValue(r *Request, n string) (string, error) {
	var v string
	if n == "host" {
		if r.URL == nil || r.URL.Host == "" {
			return "", fmt.Errorf("%w: signed header host missing", ErrMalformed)
		}
		v = r.URL.Host
	} else {
		vals := r.Header.Values(n)
		if len(vals) != 1 {
			return "", fmt.Errorf("%w: signed header %s missing or sent more than once", ErrMalformed, n)
		}
		v = vals[0]
	}
	if err := contentfulCheckValue(v); err != nil {
		return "", fmt.Errorf("%w: signed header %s %s", ErrMalformed, n, err)
	}
	return v, nil
}

// contentfulCheckValue checks a signed header value: at most
// maxHeaderValue bytes of printable ASCII (and tabs), nothing the
// toolkit's trim would remove, and no ";" followed by a header name and
// ":", which would read as the next pair.
func contentfulCheckValue(v string) error {
	if len(v) > maxHeaderValue {
		return fmt.Errorf("is too long")
	}
	if v != strings.Trim(v, " \t") {
		return fmt.Errorf("has leading or trailing white space")
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if (c < 0x20 || c > 0x7e) && c != '\t' {
			return fmt.Errorf("is not printable ASCII")
		}
		if c == ';' {
			j := i + 1
			for j < len(v) && contentfulTokenChar(v[j]) {
				j++
			}
			if j > i+1 && j < len(v) && v[j] == ':' {
				return fmt.Errorf("holds ';name:'")
			}
		}
	}
	return nil
}

// contentfulSignedString returns what precedes the body in the signed
// string: method, normalised path and the header pairs, each followed by
// "\n".
func contentfulSignedString(method string, u *url.URL, names, values []string) ([]byte, error) {
	if !slices.Contains(contentfulMethods, method) {
		return nil, fmt.Errorf("%w: method %s is not one Contentful signs", ErrMalformed, method)
	}
	path, err := contentfulPath(u)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	b.WriteString(method)
	b.WriteByte('\n')
	b.WriteString(path)
	b.WriteByte('\n')
	for i, n := range names {
		if i > 0 {
			b.WriteByte(';')
		}
		b.WriteString(n)
		b.WriteByte(':')
		b.WriteString(values[i])
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// contentfulPath returns the request's path and query as received,
// normalised as the toolkit's getNormalizedEncodedURI does.
func contentfulPath(u *url.URL) (string, error) {
	if u == nil {
		return "", fmt.Errorf("%w: no request path", ErrMalformed)
	}
	p := u.RawPath // the path as received, when it differs from Go's encoding
	if p == "" {
		p = u.EscapedPath()
	}
	switch {
	case p == "" || p[0] != '/':
		return "", fmt.Errorf("%w: the path must start with /", ErrMalformed)
	case u.ForceQuery && u.RawQuery == "":
		return "", fmt.Errorf("%w: an empty query (a '?' alone) is not signed apart from no query", ErrMalformed)
	case strings.Contains(u.RawQuery, "?"):
		return "", fmt.Errorf("%w: a second '?' in the query is not signed", ErrMalformed)
	case !contentfulPrintable(p) || !contentfulPrintable(u.RawQuery):
		return "", fmt.Errorf("%w: the path and query must be printable ASCII", ErrMalformed)
	}
	out := contentfulEncode(p, "!#$&'()*+,-./:;=?@_~")
	if u.RawQuery != "" {
		// encodeURI(querystring.escape(q)): escape, then the % of each
		// escape escaped again.
		out += "?" + contentfulEncode(contentfulEncode(u.RawQuery, "!'()*-._~"), "!#$&'()*+,-./:;=?@_~")
	}
	return out, nil
}

// contentfulPrintable reports whether s is printable ASCII without space.
func contentfulPrintable(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// contentfulEncode percent-encodes (upper case) every byte of s but
// letters, digits and those in keep: JavaScript's encodeURI with keep
// "!#$&'()*+,-./:;=?@_~", Node's querystring.escape with "!'()*-._~".
func contentfulEncode(s, keep string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || strings.IndexByte(keep, c) >= 0 {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// signContentful signs a POST to r.URL (its path and query are signed)
// as the toolkit's signRequest does, naming content-type,
// x-contentful-idempotency-key (r.ID, or 64 random hex digits),
// x-contentful-signed-headers, x-contentful-timestamp (r.Now in
// milliseconds) and x-contentful-topic (ContentManagement.Entry.publish).
func signContentful(_ string, r SignRequest) (*Signed, error) {
	key, err := needSecret(r)
	if err != nil {
		return nil, err
	}
	if !contentfulValidSecret(r.Secret) {
		return nil, fmt.Errorf("the secret is not a Contentful signing secret (64 characters of 0-9, a-z, A-Z, +, /, =, _ or -)")
	}
	if r.URL == "" {
		return nil, fmt.Errorf("needs the url the delivery is sent to (its path is signed)")
	}
	u, err := url.Parse(r.URL)
	if err != nil {
		return nil, fmt.Errorf("the url does not parse")
	}
	id := r.ID
	if id == "" {
		b := make([]byte, 32)
		rand.Read(b)
		id = hex.EncodeToString(b)
	}
	if !validID(id) {
		return nil, fmt.Errorf("id must be 1 to 128 letters, digits, '-', '_' or '.'")
	}
	ct := contentType(r, "application/vnd.contentful.management.v1+json")
	names := []string{"content-type", contentfulIdempotency, contentfulSignedHeaders, contentfulTimestamp, "x-contentful-topic"}
	values := []string{ct, id, strings.Join(names, ","), strconv.FormatInt(r.Now.UnixMilli(), 10), "ContentManagement.Entry.publish"}
	for i, v := range values {
		if err := contentfulCheckValue(v); err != nil {
			return nil, fmt.Errorf("%s %s", names[i], err)
		}
	}
	prefix, err := contentfulSignedString("POST", u, names, values)
	if err != nil {
		return nil, err
	}
	s := newSigned(r.Body, "")
	for i, n := range names {
		s.Header.Set(n, values[i])
	}
	s.Header.Set(contentfulSignature, hex.EncodeToString(MAC(sha256.New, key, prefix, r.Body)))
	s.Query = u.RawQuery
	return s, nil
}

var (
	_ Verifier    = (*contentful)(nil)
	_ Timestamped = (*contentful)(nil)
	_ BodySigner  = (*contentful)(nil)
)
