package verifiers

import (
	"fmt"
	"net/http"
	"net/url"
)

// Meta (Facebook Graph API, Messenger, Instagram, WhatsApp):
// https://developers.facebook.com/docs/graph-api/webhooks/getting-started
// ("Validate Payloads", "Verification Requests").
//
// Deliveries carry X-Hub-Signature-256: "sha256=" + hex(HMAC-SHA256(app
// secret, raw body)), the app secret used as its UTF-8 bytes. No
// timestamp, no delivery id: the signature is the replay key.
//
// When a webhook is configured, Meta sends an unsigned GET with
// hub.mode=subscribe, hub.verify_token (the token entered in the App
// Dashboard) and hub.challenge. The handler answers the challenge (text/
// plain) when hub.verify_token equals the verify_token option (constant
// time), 403 when it does not (or no verify_token is configured), and 400
// when the mode is not subscribe or the challenge is not a short value of
// a safe character set (metaChallengeOK). Nothing is forwarded.

func init() {
	Register("facebook_graph_api", newMeta, "facebook_messenger", "instagram", "whatsapp", "meta")
}

var metaRecipe = HMACRecipe{SignatureHeader: "X-Hub-Signature-256", Prefix: "sha256="}

type meta struct {
	*recipeVerifier
	verifyToken string
}

func newMeta(c Config) (Verifier, error) {
	if err := c.Allow("secret", "verify_token"); err != nil {
		return nil, err
	}
	v, err := compileRecipe(c, metaRecipe)
	if err != nil {
		return nil, err
	}
	return &meta{recipeVerifier: v, verifyToken: c.VerifyToken}, nil
}

// SignsBody: the signature covers the whole raw body.
func (v *meta) SignsBody() bool { return true }

// Handshake answers Meta's GET verification request.
func (v *meta) Handshake(r *Request) (*Response, bool, error) {
	if r.Method != http.MethodGet || r.URL == nil {
		return nil, false, nil
	}
	q, err := handshakeQuery(r.URL)
	if err != nil {
		return nil, true, err
	}
	if _, ok := q["hub.mode"]; !ok {
		return nil, false, nil
	}
	mode, err := handshakeParam(q, "hub.mode")
	if err != nil {
		return nil, true, err
	}
	if mode != "subscribe" {
		return nil, true, fmt.Errorf("%w: hub.mode is not subscribe", ErrMalformed)
	}
	challenge, err := handshakeParam(q, "hub.challenge")
	if err != nil {
		return nil, true, err
	}
	if err := handshakeEcho("hub.challenge", challenge); err != nil {
		return nil, true, err
	}
	token, err := handshakeParam(q, "hub.verify_token")
	if err != nil {
		return nil, true, fmt.Errorf("%w: %v", ErrForbidden, err)
	}
	if v.verifyToken == "" {
		return nil, true, fmt.Errorf("%w: no verify_token is configured", ErrForbidden)
	}
	if !EqualString(token, v.verifyToken) {
		return nil, true, fmt.Errorf("%w: hub.verify_token does not match", ErrForbidden)
	}
	return handshakeText(challenge), true, nil
}

// Helpers shared by the unsigned GET handshakes (meta, dropbox, twitter,
// worldline).

// handshakeMaxValue bounds a value an unsigned handshake echoes.
const handshakeMaxValue = 256

// handshakeQuery parses the raw query strictly.
func handshakeQuery(u *url.URL) (url.Values, error) {
	if len(u.RawQuery) > 4*handshakeMaxValue {
		return nil, fmt.Errorf("%w: handshake query too long", ErrMalformed)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: handshake query is not well formed", ErrMalformed)
	}
	return q, nil
}

// handshakeParam returns the single value of a query parameter: missing,
// empty or repeated is ErrMalformed.
func handshakeParam(q url.Values, name string) (string, error) {
	vs := q[name]
	switch {
	case len(vs) == 0 || vs[0] == "":
		return "", fmt.Errorf("%w: missing %s", ErrMalformed, name)
	case len(vs) > 1:
		return "", fmt.Errorf("%w: repeated %s", ErrMalformed, name)
	}
	return vs[0], nil
}

// handshakeEcho checks a value an unsigned handshake echoes: at most
// handshakeMaxValue bytes of letters, digits and -._~+/= (the characters of
// the providers' tokens: decimal, hex, base64 and URL-safe base64).
func handshakeEcho(name, s string) error {
	if s == "" || len(s) > handshakeMaxValue {
		return fmt.Errorf("%w: %s must be 1 to %d characters", ErrMalformed, name, handshakeMaxValue)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=':
		default:
			return fmt.Errorf("%w: %s has a character outside letters, digits and -._~+/=", ErrMalformed, name)
		}
	}
	return nil
}

// handshakeText is a plain-text answer that browsers will not sniff.
func handshakeText(s string) *Response {
	return &Response{Status: http.StatusOK, Body: s, Header: http.Header{
		"Content-Type":           {"text/plain; charset=utf-8"},
		"X-Content-Type-Options": {"nosniff"},
	}}
}

var (
	_ Handshaker = (*meta)(nil)
	_ BodySigner = (*meta)(nil)
)
