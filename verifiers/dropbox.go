package verifiers

import "net/http"

// Dropbox (https://www.dropbox.com/developers/reference/webhooks):
// X-Dropbox-Signature = hex(HMAC-SHA256(app secret, raw body)), the app
// secret used as its UTF-8 bytes. No timestamp, no delivery id: the
// signature is the replay key.
//
// Dropbox verifies a new webhook URI with an unsigned GET ?challenge=c and
// expects c back as text/plain with X-Content-Type-Options: nosniff; the
// handler answers it itself (a bounded value of a safe character set, see
// handshakeEcho, else 400). Nothing is forwarded.

func init() {
	Register("dropbox", newDropbox)
}

var dropboxRecipe = HMACRecipe{SignatureHeader: "X-Dropbox-Signature"}

type dropbox struct {
	*recipeVerifier
}

func newDropbox(c Config) (Verifier, error) {
	if err := c.Allow("secret"); err != nil {
		return nil, err
	}
	v, err := compileRecipe(c, dropboxRecipe)
	if err != nil {
		return nil, err
	}
	return &dropbox{v}, nil
}

// SignsBody: the signature covers the whole raw body.
func (v *dropbox) SignsBody() bool { return true }

// Handshake answers Dropbox's GET ?challenge= verification request.
func (v *dropbox) Handshake(r *Request) (*Response, bool, error) {
	if r.Method != http.MethodGet || r.URL == nil {
		return nil, false, nil
	}
	q, err := handshakeQuery(r.URL)
	if err != nil {
		return nil, true, err
	}
	if _, ok := q["challenge"]; !ok {
		return nil, false, nil
	}
	c, err := handshakeParam(q, "challenge")
	if err != nil {
		return nil, true, err
	}
	if err := handshakeEcho("challenge", c); err != nil {
		return nil, true, err
	}
	return handshakeText(c), true, nil
}

var (
	_ Handshaker = (*dropbox)(nil)
	_ BodySigner = (*dropbox)(nil)
)
