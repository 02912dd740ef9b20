package verifiers

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/url"
	"strings"
)

// Twilio: X-Twilio-Signature = base64(HMAC-SHA1(auth token, URL + params)),
// where URL is the full URL Twilio requested (scheme, host, path and query
// string) and params the POST form fields sorted by name, each appended as
// name+value (https://www.twilio.com/docs/usage/webhooks/webhooks-security ;
// github:twilio/twilio-go client/request_validator.go,
// github:twilio/twilio-python twilio/request_validator.py).
//
//   - Form bodies (application/x-www-form-urlencoded): the decoded fields
//     are signed. Repeated names follow twilio-python: names sorted, then
//     the values of a name sorted, duplicates kept.
//   - JSON and other bodies: Twilio adds bodySHA256=<hex SHA-256 of the
//     body> to the query string, signs the URL alone, and the body must hash
//     to that value.
//   - No body (GET): the URL alone is signed.
//
// A non-empty body that is neither a form nor covered by bodySHA256 is
// refused (ErrMalformed): its bytes would reach the upstream unverified.
//
// The URL is Config.URL ("scheme://host/path", as configured in Twilio,
// without query string) followed by the request's raw query string, or,
// when Config.URL is empty, the request URL as received (Request.URL). Set
// url when Caddy sits behind a proxy that changes scheme, host or port;
// with url, the request's path must be the url's (or url_path: see
// urlbind.go), since the signature covers the configured path.
//
// Port: Twilio's back end signs sometimes with and sometimes without the
// default port (":443"/":80"), so, as its SDKs do, both forms are tried.
// Unlike the SDKs, a non-default port is never removed: the SDKs' helpers
// also accept a signature made for the same URL without, say, ":8443"
// (their "removes port" tests), which amounts to accepting a signature
// made for another endpoint; this verifier does not.
//
// No timestamp. Result.ID is the unsigned I-Twilio-Idempotency-Token header
// when present; replay protection keys on the signature.

func init() {
	Register("twilio", newTwilio)
	RegisterSigner("twilio", signTwilio)
}

type twilio struct {
	keys [][]byte
	// From Config.URL: scheme://, userinfo@ (verbatim), host:port, path.
	scheme, userinfo, hostport, path string
	bound                            urlPath // with url: the path requests must arrive on
}

func newTwilio(c Config) (Verifier, error) {
	if err := c.Allow("secret", "url"); err != nil {
		return nil, err
	}
	keys, err := RawSecrets(c)
	if err != nil {
		return nil, err
	}
	v := &twilio{keys: keys}
	if c.URL != "" {
		if strings.ContainsAny(c.URL, "?#") {
			return nil, fmt.Errorf("provider %s: url must not have a query string or fragment (the request's query string is appended)", c.Provider)
		}
		if v.scheme, v.userinfo, v.hostport, v.path, err = splitURL(c.URL); err != nil {
			return nil, fmt.Errorf("provider %s: %w", c.Provider, err)
		}
	}
	if v.bound, err = newURLPath(c); err != nil {
		return nil, err
	}
	return v, nil
}

// HasTimestamp: Twilio requests carry no timestamp.
func (v *twilio) HasTimestamp() bool { return false }

func (v *twilio) Verify(r *Request) (*Result, error) {
	s, err := Header(r.Header, "X-Twilio-Signature")
	if err != nil {
		return nil, err
	}
	sig, ok := DecodeBase64(s)
	if !ok {
		return nil, fmt.Errorf("%w: X-Twilio-Signature is not base64", ErrMalformed)
	}
	id, err := OptionalHeader(r.Header, "I-Twilio-Idempotency-Token")
	if err != nil {
		return nil, err
	}
	urls, query, err := v.urls(r)
	if err != nil {
		return nil, err
	}
	if err := v.bound.check(r); err != nil {
		return nil, err
	}
	bodyHash, err := twilioBodySHA256(query)
	if err != nil {
		return nil, err
	}
	params := ""
	if bodyHash == nil {
		mt, _, err := formsigMediaType(r.Header)
		if err != nil {
			return nil, err
		}
		switch {
		case mt == formsigFormType:
			fields, err := formsigParse(string(r.Body))
			if err != nil {
				return nil, err
			}
			params = formsigSorted(fields)
		case len(r.Body) > 0:
			return nil, fmt.Errorf("%w: body is neither a form nor covered by bodySHA256", ErrMalformed)
		}
	}
	// Every URL form under every key; expected[i*len(urls)+j].
	expected := make([][]byte, 0, len(v.keys)*len(urls))
	for _, k := range v.keys {
		for _, u := range urls {
			expected = append(expected, MAC(sha1.New, k, []byte(u), []byte(params)))
		}
	}
	i, matched, ok := MatchMAC(expected, [][]byte{sig})
	if !ok {
		return nil, fmt.Errorf("%w: X-Twilio-Signature", ErrSignature)
	}
	if bodyHash != nil {
		sum := sha256.Sum256(r.Body)
		if !Equal(sum[:], bodyHash) {
			return nil, fmt.Errorf("%w: body does not match bodySHA256", ErrSignature)
		}
	}
	return &Result{ID: id, Signature: matched, Key: i / len(urls)}, nil
}

// urls returns the URL strings the signature may have been made over (with
// and without the default port) and the raw query string.
func (v *twilio) urls(r *Request) ([]string, string, error) {
	if r.URL == nil {
		return nil, "", fmt.Errorf("%w: request url unknown", ErrMalformed)
	}
	scheme, userinfo, hostport, path := v.scheme, v.userinfo, v.hostport, v.path
	if scheme == "" {
		if r.URL.Scheme == "" || r.URL.Host == "" {
			return nil, "", fmt.Errorf("%w: request url has no scheme or host", ErrMalformed)
		}
		scheme, hostport, path = r.URL.Scheme, r.URL.Host, r.URL.EscapedPath()
	}
	query := r.URL.RawQuery
	suffix := path
	if query != "" {
		suffix += "?" + query
	}
	hosts := twilioPortVariants(scheme, hostport)
	urls := make([]string, len(hosts))
	for i, h := range hosts {
		urls[i] = scheme + "://" + userinfo + h + suffix
	}
	return urls, query, nil
}

// twilioPortVariants returns hostport and, if it has no port or the
// scheme's default port, the other form: "h" -> ["h", "h:443"],
// "h:443" -> ["h:443", "h"], "h:8443" -> ["h:8443"] (for https).
func twilioPortVariants(scheme, hostport string) []string {
	def := ""
	switch strings.ToLower(scheme) {
	case "https":
		def = "443"
	case "http":
		def = "80"
	}
	host, port := hostport, ""
	if i := strings.LastIndexByte(hostport, ':'); i > strings.LastIndexByte(hostport, ']') {
		host, port = hostport[:i], hostport[i+1:]
	}
	switch {
	case def == "":
		return []string{hostport}
	case port == "":
		return []string{hostport, hostport + ":" + def}
	case port == def:
		return []string{hostport, host}
	default:
		return []string{hostport}
	}
}

// twilioBodySHA256 finds the bodySHA256 query parameter: nil if absent,
// its 32 decoded bytes otherwise. Given twice, or not 64 hex digits, it is
// ErrMalformed. Other parameters are not decoded.
func twilioBodySHA256(query string) ([]byte, error) {
	var found []byte
	for query != "" {
		var pair string
		pair, query, _ = strings.Cut(query, "&")
		k, val, _ := strings.Cut(pair, "=")
		if name, err := url.QueryUnescape(k); err != nil || name != "bodySHA256" {
			continue
		}
		if found != nil {
			return nil, fmt.Errorf("%w: duplicated bodySHA256", ErrMalformed)
		}
		val, err := url.QueryUnescape(val)
		b, ok := DecodeHex(val)
		if err != nil || !ok || len(b) != sha256.Size {
			return nil, fmt.Errorf("%w: invalid bodySHA256", ErrMalformed)
		}
		found = b
	}
	return found, nil
}

// signTwilio: base64 HMAC-SHA1(auth token, URL + sorted form fields) for a
// form body; for any other body (JSON), bodySHA256=<hex SHA-256(body)> is
// added to the query and the URL alone is signed. The body is a form when
// ContentType says so, or, without one, when it does not look like JSON.
func signTwilio(_ string, r SignRequest) (*Signed, error) {
	key, err := needSecret(r)
	if err != nil {
		return nil, err
	}
	base, query, err := splitSignedURL(r.URL)
	if err != nil {
		return nil, err
	}
	ct := r.ContentType
	if ct == "" {
		ct = formsigFormType
		if looksJSON(r.Body) {
			ct = "application/json"
		}
	}
	mt, _, _ := strings.Cut(ct, ";")
	params := ""
	if strings.EqualFold(strings.TrimSpace(mt), formsigFormType) {
		fields, err := formsigParse(string(r.Body))
		if err != nil {
			return nil, fmt.Errorf("body is not a valid form")
		}
		params = formsigSorted(fields)
	} else {
		if b, err := twilioBodySHA256(query); err != nil || b != nil {
			return nil, fmt.Errorf("url must not carry bodySHA256 (it is added)")
		}
		sum := sha256.Sum256(r.Body)
		if query != "" {
			query += "&"
		}
		query += "bodySHA256=" + hex.EncodeToString(sum[:])
	}
	signedURL := base
	if query != "" {
		signedURL += "?" + query
	}
	s := newSigned(r.Body, ct)
	s.Header.Set("X-Twilio-Signature", base64.StdEncoding.EncodeToString(MAC(sha1.New, key, []byte(signedURL), []byte(params))))
	s.Query = query
	return s, nil
}
