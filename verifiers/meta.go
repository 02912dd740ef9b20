package verifiers

import (
	"fmt"
	"net/http"
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

var (
	_ Handshaker = (*meta)(nil)
	_ BodySigner = (*meta)(nil)
)
