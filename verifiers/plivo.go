package verifiers

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// Plivo callbacks, signature V3: X-Plivo-Signature-V3 is a comma-separated
// list of base64(HMAC-SHA256(auth token, signed)) values and
// X-Plivo-Signature-V3-Nonce a nonce, where signed is the URL Plivo called
// rebuilt from its parts, "." and the nonce:
//
//   - base: scheme://host/path of the URL;
//   - "?" if the query string or the form parameters are not empty;
//   - with a query string, GET: the query and form parameters merged, as
//     sorted "name=value" pairs joined by "&"; POST: the sorted query pairs
//     joined by "&", ".", then the sorted form parameters as name+value with
//     no delimiter, trailing dots of the whole removed;
//   - without one: GET the sorted "name=value&..." parameters, POST the
//     sorted name+value parameters.
//
// Names sort byte-wise, values are decoded. This is plivo-go's
// GenerateUrl / ComputeSignatureV3 (github:plivo/plivo-go utils.go
// @273a8369467eeb2e2603d3916a0f6587dbde4ec4), whose tests give the vectors.
//
// Config.URL (url, required) is the callback URL as configured in Plivo,
// without a query string: its scheme, host and path are signed (Caddy may
// sit behind a proxy that changes them); the query string is the
// request's, and the request's path must be the url's (or url_path: see
// urlbind.go). The form parameters are those of an
// application/x-www-form-urlencoded body; any other non-empty body would
// not be covered by the signature and is refused (400), as is a repeated
// parameter name (Plivo's SDKs read parameters into a map). The nonce must
// be 1 to 64 letters and digits, so it cannot contain the "." before it.
// Plivo's scheme concatenates names and values without delimiters
// ("ab=c" and "a=bc" sign alike), as Twilio's does; nothing is timestamped.
// The signature is the replay key.

func init() {
	Register("plivo", newPlivo)
	RegisterSigner("plivo", signPlivo)
}

// plivoMaxSignatures bounds the entries of X-Plivo-Signature-V3.
const plivoMaxSignatures = 32

type plivo struct {
	base  string  // scheme://host/path of Config.URL
	bound urlPath // the path requests must arrive on
	keys  [][]byte
}

func newPlivo(c Config) (Verifier, error) {
	if err := c.Allow("secret", "url"); err != nil {
		return nil, err
	}
	if c.URL == "" {
		return nil, fmt.Errorf("provider %s needs url (the callback URL as configured in Plivo)", c.Provider)
	}
	if strings.ContainsAny(c.URL, "?#") {
		return nil, fmt.Errorf("provider %s: url must not have a query string or fragment (the request's query string is signed)", c.Provider)
	}
	scheme, userinfo, hostport, path, err := splitURL(c.URL)
	if err != nil {
		return nil, fmt.Errorf("provider %s: %v", c.Provider, err)
	}
	if userinfo != "" {
		return nil, fmt.Errorf("provider %s: url must not have user information (Plivo signs scheme, host and path)", c.Provider)
	}
	keys, err := RawSecrets(c)
	if err != nil {
		return nil, err
	}
	bound, err := newURLPath(c)
	if err != nil {
		return nil, err
	}
	return &plivo{base: scheme + "://" + hostport + path, bound: bound, keys: keys}, nil
}

// HasTimestamp: Plivo signs no timestamp.
func (v *plivo) HasTimestamp() bool { return false }

func (v *plivo) Verify(r *Request) (*Result, error) {
	sigHeader, err := Header(r.Header, "X-Plivo-Signature-V3")
	if err != nil {
		return nil, err
	}
	nonce, err := Header(r.Header, "X-Plivo-Signature-V3-Nonce")
	if err != nil {
		return nil, err
	}
	if !plivoValidNonce(nonce) {
		return nil, fmt.Errorf("%w: X-Plivo-Signature-V3-Nonce is not 1 to 64 letters and digits", ErrMalformed)
	}
	var sigs [][]byte
	for _, s := range strings.Split(sigHeader, ",") {
		if len(sigs) == plivoMaxSignatures {
			return nil, fmt.Errorf("%w: X-Plivo-Signature-V3 has too many entries", ErrMalformed)
		}
		if b, err := base64.StdEncoding.Strict().DecodeString(strings.TrimSpace(s)); err == nil && len(b) == sha256.Size {
			sigs = append(sigs, b)
		}
	}
	if len(sigs) == 0 {
		return nil, fmt.Errorf("%w: X-Plivo-Signature-V3 holds no base64 HMAC-SHA256", ErrMalformed)
	}
	signed, err := v.signed(r, nonce)
	if err != nil {
		return nil, err
	}
	expected := make([][]byte, len(v.keys))
	for i, k := range v.keys {
		expected[i] = MAC(sha256.New, k, []byte(signed))
	}
	key, _, ok := MatchMAC(expected, sigs)
	if !ok {
		return nil, fmt.Errorf("%w: X-Plivo-Signature-V3 does not match", ErrSignature)
	}
	if err := v.bound.check(r); err != nil {
		return nil, err
	}
	// The replay material is the MAC under the first secret, the same for
	// every copy of the delivery whichever of its signatures it carries
	// (the one that matched would let a copy with a subset of the list
	// pass as a new delivery).
	return &Result{Signature: expected[0], Key: key}, nil
}

// signed rebuilds the string Plivo signs (see the type's comment).
func (v *plivo) signed(r *Request, nonce string) (string, error) {
	var query []formsigField
	if r.URL != nil && r.URL.RawQuery != "" {
		var err error
		if query, err = formsigParse(r.URL.RawQuery); err != nil {
			return "", err
		}
		if err := formsigUnique(query); err != nil {
			return "", err
		}
	}
	var params []formsigField
	switch r.Method {
	case http.MethodPost:
		if len(r.Body) > 0 {
			mt, _, err := formsigMediaType(r.Header)
			if err != nil {
				return "", err
			}
			if mt != "application/x-www-form-urlencoded" {
				return "", fmt.Errorf("%w: plivo signs form parameters only; a %q body would not be covered", ErrMalformed, mt)
			}
			if params, err = formsigParse(string(r.Body)); err != nil {
				return "", err
			}
			if err := formsigUnique(params); err != nil {
				return "", err
			}
		}
	case http.MethodGet:
		if len(r.Body) > 0 {
			return "", fmt.Errorf("%w: plivo GET callbacks carry no body", ErrMalformed)
		}
	default:
		return "", fmt.Errorf("%w: plivo signs GET and POST callbacks only", ErrMalformed)
	}

	var b strings.Builder
	b.WriteString(v.base)
	if len(params) > 0 || len(query) > 0 {
		b.WriteByte('?')
	}
	switch {
	case len(query) > 0 && r.Method == http.MethodGet:
		b.WriteString(plivoPairs(plivoMerge(query, params)))
	case len(query) > 0:
		b.WriteString(plivoPairs(query))
		b.WriteByte('.')
		b.WriteString(formsigSorted(params))
	case r.Method == http.MethodGet:
		b.WriteString(plivoPairs(params))
	default:
		b.WriteString(formsigSorted(params))
	}
	s := b.String()
	if len(query) > 0 && r.Method == http.MethodPost {
		s = strings.TrimRight(s, ".") // as plivo-go's GenerateUrl
	}
	return s + "." + nonce, nil
}

// plivoMerge merges the query and the form parameters by name, the form
// parameter winning (plivo-go copies params over the query map).
func plivoMerge(query, params []formsigField) []formsigField {
	at := make(map[string]int, len(query)+len(params))
	out := make([]formsigField, 0, len(query)+len(params))
	for _, f := range append(append([]formsigField{}, query...), params...) {
		if i, ok := at[f.name]; ok {
			out[i] = f
			continue
		}
		at[f.name] = len(out)
		out = append(out, f)
	}
	return out
}

// plivoPairs is plivo-go's GetSortedQueryParamString with queryParams:
// "name=value" pairs sorted by name, joined by "&", trailing "&" removed.
func plivoPairs(fields []formsigField) string {
	sorted := append([]formsigField{}, fields...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	var b strings.Builder
	for _, f := range sorted {
		b.WriteString(f.name)
		b.WriteByte('=')
		b.WriteString(f.value)
		b.WriteByte('&')
	}
	return strings.TrimRight(b.String(), "&")
}

// plivoValidNonce reports whether n is 1 to 64 ASCII letters and digits.
func plivoValidNonce(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// signPlivo signs a POST callback to r.URL (scheme://host/path, an
// optional query string) with a form body (a JSON body is refused: Plivo
// posts forms) and a random numeric nonce, as plivo-go's ComputeSignatureV3.
func signPlivo(_ string, r SignRequest) (*Signed, error) {
	if r.Secret == "" {
		return nil, fmt.Errorf("needs a secret")
	}
	u, err := url.Parse(r.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("needs url, the callback URL (http or https, no user information or fragment)")
	}
	if looksJSON(r.Body) {
		return nil, fmt.Errorf("body must be a form (name=value&...): plivo posts forms, and a JSON body is not signed")
	}
	base := u.Scheme + "://" + u.Host + u.EscapedPath()
	v, err := newPlivo(Config{Provider: "plivo", Secrets: []string{r.Secret}, URL: base})
	if err != nil {
		return nil, err
	}
	n, err := rand.Int(rand.Reader, big.NewInt(1e18))
	if err != nil {
		return nil, err
	}
	nonce := strconv.FormatInt(n.Int64()+1e18, 10)
	s := newSigned(r.Body, formsigFormType)
	s.Query = u.RawQuery
	req := &Request{Method: "POST", URL: &url.URL{RawQuery: u.RawQuery}, Header: s.Header, Body: r.Body}
	signed, err := v.(*plivo).signed(req, nonce)
	if err != nil {
		return nil, fmt.Errorf("body must be a form (name=value&...) with each name once: %w", err)
	}
	s.Header.Set("X-Plivo-Signature-V3", base64.StdEncoding.EncodeToString(MAC(sha256.New, []byte(r.Secret), []byte(signed))))
	s.Header.Set("X-Plivo-Signature-V3-Nonce", nonce)
	return s, nil
}

var _ Timestamped = (*plivo)(nil)
