package verifiers

import (
	"fmt"
	"net/url"
	"strings"
)

// The url binding. Where the url option is set, the provider signs that
// URL, not the one the request arrived on (twilio and plivo with url, where
// the request's query string is signed; mandrill and the recipe's {url}:
// hubspot, hubspot_v2, square, trello, where the configured query must be
// the request's). Without a check, a captured delivery would verify on
// every path its route matches, and reach the upstream there. So the
// request's path must be the url's path, byte for byte in its escaped
// form, or Config.URLPath (url_path) when a proxy in front of Caddy moves
// the endpoint; otherwise the request is refused as not covered by the
// signature (ErrSignature).
//
// The path compared is the one the request reached Caddy with (the
// handler gives Request.URL before any rewrite: uri strip_prefix,
// handle_path and rewrite in front of the gate change nothing). Only
// another path, a trailing slash or another escaping of the same path is
// refused; the host is not compared (Caddy's site address decides it).

// urlPath is the path requests of a url-bound verifier must arrive on;
// empty means no binding (no url configured).
type urlPath string

// newURLPath returns the binding for c: Config.URLPath if set, else the
// path of Config.URL ("/" if it has none); none without a url.
func newURLPath(c Config) (urlPath, error) {
	if c.URL == "" {
		if c.URLPath != "" {
			return "", fmt.Errorf("provider %s: url_path is only used with url", c.Provider)
		}
		return "", nil
	}
	raw := c.URLPath
	if raw == "" {
		u, err := url.Parse(c.URL)
		if err != nil {
			return "", fmt.Errorf("provider %s: url must be an absolute http or https url", c.Provider)
		}
		return urlPath(orRoot(u.EscapedPath())), nil
	}
	for i := 0; i < len(raw); i++ {
		if raw[i] <= 0x20 || raw[i] >= 0x7f {
			return "", fmt.Errorf("provider %s: url_path must be printable ASCII without spaces", c.Provider)
		}
	}
	if !strings.HasPrefix(raw, "/") || strings.ContainsAny(raw, "?#") {
		return "", fmt.Errorf("provider %s: url_path must be a path starting with / (no query string or fragment)", c.Provider)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("provider %s: url_path is not a valid path", c.Provider)
	}
	return urlPath(u.EscapedPath()), nil
}

// check refuses a request on another path than the binding's.
func (p urlPath) check(r *Request) error {
	if p == "" {
		return nil
	}
	if r.URL == nil {
		return fmt.Errorf("%w: request url unknown", ErrMalformed)
	}
	if orRoot(r.URL.EscapedPath()) != string(p) {
		return fmt.Errorf("%w: the request path does not match the configured url (the provider signs the url's path, not the request's)", ErrSignature)
	}
	return nil
}

// orRoot returns p, or "/" for an empty path.
func orRoot(p string) string {
	if p == "" {
		return "/"
	}
	return p
}

// splitURL splits an absolute http(s) URL into its scheme, userinfo
// (with its "@", empty if none), host[:port] and the rest, all verbatim, so
// that the signed string is exactly what was configured.
func splitURL(raw string) (scheme, userinfo, hostport, rest string, err error) {
	u, perr := url.Parse(raw)
	if perr != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "" {
		return "", "", "", "", fmt.Errorf("url must be an absolute http or https url")
	}
	i := strings.Index(raw, "://")
	scheme, after := raw[:i], raw[i+3:]
	authority := after
	if j := strings.IndexByte(after, '/'); j >= 0 {
		authority, rest = after[:j], after[j:]
	}
	if k := strings.LastIndexByte(authority, '@'); k >= 0 {
		userinfo, authority = authority[:k+1], authority[k+1:]
	}
	return scheme, userinfo, authority, rest, nil
}

// splitSignedURL checks that raw is an absolute http(s) URL without a
// fragment and splits off its raw query.
func splitSignedURL(raw string) (base, query string, err error) {
	if raw == "" {
		return "", "", fmt.Errorf("needs the url the provider signs")
	}
	if strings.Contains(raw, "#") {
		return "", "", fmt.Errorf("url must not have a fragment")
	}
	if _, _, _, _, err := splitURL(raw); err != nil {
		return "", "", err
	}
	base, query, _ = strings.Cut(raw, "?")
	return base, query, nil
}
