package verifiers

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// Postmark does not sign webhooks. Its documented protections are HTTP
// Basic auth credentials embedded in the webhook URL
// (https://user:pass@example.com/hook) and custom headers set on the
// webhook (https://postmarkapp.com/developer/webhooks/webhooks-overview).
// This verifier checks one of the two, chosen by configuration:
//
//   - basic auth: Config.Username and Config.Password are the expected
//     credentials of the Authorization: Basic header;
//   - shared header: Config.Header names a header whose value must equal
//     one of Config.Secrets (repeatable, for rotation), for example
//     "X-Webhook-Token", or "Authorization" with a "Bearer ..." secret.
//
// Comparisons hash both sides with SHA-256 first and compare the digests
// in constant time, so neither the value nor its length leaks through
// timing. Wrong or missing credentials are ErrCredentials.
//
// There is no signature and no timestamp. The credentials are the same on
// every delivery, so Result.Signature is the SHA-256 of the body: replay
// protection then refuses a byte-identical second delivery (Postmark's
// retries of an accepted delivery, or a captured request sent again within
// the replay TTL). Anyone holding the credentials can of course forge any
// body.

func init() {
	Register("postmark", newPostmark)
	RegisterSigner("postmark", signPostmark)
}

type postmark struct {
	basic      bool
	header     string     // header carrying the credential
	user, pass [32]byte   // SHA-256 of the expected Basic credentials
	secrets    [][32]byte // SHA-256 of the accepted header values
}

func newPostmark(c Config) (Verifier, error) {
	if err := c.Allow("secret", "username", "password", "header"); err != nil {
		return nil, err
	}
	basic := c.Username != "" || c.Password != ""
	shared := c.Header != "" || len(c.Secrets) > 0
	switch {
	case basic && shared:
		return nil, fmt.Errorf("provider %s takes either username and password or header and secret, not both", c.Provider)
	case basic:
		if c.Username == "" || c.Password == "" {
			return nil, fmt.Errorf("provider %s needs both username and password", c.Provider)
		}
		if strings.ContainsRune(c.Username, ':') {
			return nil, fmt.Errorf("provider %s: username must not contain a colon", c.Provider)
		}
		return &postmark{
			basic:  true,
			header: "Authorization",
			user:   sha256.Sum256([]byte(c.Username)),
			pass:   sha256.Sum256([]byte(c.Password)),
		}, nil
	case shared:
		if c.Header == "" {
			return nil, fmt.Errorf("provider %s: secret needs header (the header that carries it)", c.Provider)
		}
		if !postmarkHeaderName(c.Header) {
			return nil, fmt.Errorf("provider %s: invalid header name %q", c.Provider, c.Header)
		}
		keys, err := RawSecrets(c)
		if err != nil {
			return nil, err
		}
		v := &postmark{header: http.CanonicalHeaderKey(c.Header)}
		for i, k := range keys {
			if strings.TrimSpace(string(k)) != string(k) {
				return nil, fmt.Errorf("provider %s: secret %d has leading or trailing white space, which a header cannot carry", c.Provider, i+1)
			}
			v.secrets = append(v.secrets, sha256.Sum256(k))
		}
		return v, nil
	default:
		return nil, fmt.Errorf("provider %s needs username and password, or header and secret", c.Provider)
	}
}

// HasTimestamp: there is no timestamp.
func (v *postmark) HasTimestamp() bool { return false }

// Challenge is the WWW-Authenticate challenge of Basic mode; header mode
// has none.
func (v *postmark) Challenge() string {
	if v.basic {
		return `Basic realm="webhook"`
	}
	return ""
}

func (v *postmark) Verify(r *Request) (*Result, error) {
	vals := r.Header.Values(v.header)
	if len(vals) == 0 || (len(vals) == 1 && strings.TrimSpace(vals[0]) == "") {
		return nil, fmt.Errorf("%w: missing header %s", ErrCredentials, v.header)
	}
	val, err := Header(r.Header, v.header) // duplicated or oversized: ErrMalformed
	if err != nil {
		return nil, err
	}
	key := -1
	if v.basic {
		user, pass, ok := postmarkBasicAuth(val)
		if !ok {
			return nil, fmt.Errorf("%w: invalid basic credentials", ErrCredentials)
		}
		uh, ph := sha256.Sum256([]byte(user)), sha256.Sum256([]byte(pass))
		if subtle.ConstantTimeCompare(uh[:], v.user[:])&subtle.ConstantTimeCompare(ph[:], v.pass[:]) == 1 {
			key = 0
		}
	} else {
		h := sha256.Sum256([]byte(val))
		for i := range v.secrets {
			if subtle.ConstantTimeCompare(h[:], v.secrets[i][:]) == 1 && key < 0 {
				key = i
			}
		}
	}
	if key < 0 {
		return nil, fmt.Errorf("%w: header %s", ErrCredentials, v.header)
	}
	sum := sha256.Sum256(r.Body)
	return &Result{Signature: sum[:], Key: key, Consumed: []string{v.header}}, nil
}

// postmarkBasicAuth parses an "Authorization: Basic" value (RFC 7617; the
// scheme is case-insensitive) like net/http's Request.BasicAuth.
func postmarkBasicAuth(v string) (user, pass string, ok bool) {
	scheme, cred, found := strings.Cut(v, " ")
	if !found || !strings.EqualFold(scheme, "Basic") {
		return "", "", false
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", "", false
	}
	return strings.Cut(string(b), ":")
}

// postmarkHeaderName reports whether s is an RFC 9110 token.
func postmarkHeaderName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// signPostmark sends the credentials, as Postmark does: Basic auth from
// Username and Password, or Header carrying Secret.
func signPostmark(_ string, r SignRequest) (*Signed, error) {
	s := newSigned(r.Body, contentType(r, "application/json"))
	switch {
	case r.Username != "" || r.Password != "":
		if r.Username == "" || r.Password == "" {
			return nil, fmt.Errorf("needs both username and password")
		}
		if strings.ContainsRune(r.Username, ':') {
			return nil, fmt.Errorf("username must not contain a colon")
		}
		if r.Header != "" || r.Secret != "" {
			return nil, fmt.Errorf("takes either username and password or header and secret, not both")
		}
		s.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(r.Username+":"+r.Password)))
	case r.Header != "" || r.Secret != "":
		if r.Header == "" || r.Secret == "" {
			return nil, fmt.Errorf("needs both header and secret")
		}
		if !postmarkHeaderName(r.Header) {
			return nil, fmt.Errorf("header is not a valid header name")
		}
		if strings.ContainsAny(r.Secret, "\r\n") || strings.TrimSpace(r.Secret) != r.Secret {
			return nil, fmt.Errorf("secret has white space or a line break a header cannot carry")
		}
		s.Header.Set(r.Header, r.Secret)
	default:
		return nil, fmt.Errorf("needs username and password, or header and secret")
	}
	return s, nil
}

// CredentialHeaders names the header checked (Authorization in Basic mode).
func (v *postmark) CredentialHeaders() []string {
	return []string{http.CanonicalHeaderKey(v.header)}
}

var (
	_ Challenger        = (*postmark)(nil)
	_ CredentialCarrier = (*postmark)(nil)
)
