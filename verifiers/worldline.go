package verifiers

import "net/http"

// Worldline (Global Collect / Ingenico Connect) webhooks
// (https://apireference.connect.worldline-solutions.com/s2sapi/v1/en_US/json/webhooks.html):
// X-GCS-Signature = base64(HMAC-SHA256(secret key, raw body)), the secret
// key used as its UTF-8 bytes, and X-GCS-KeyId naming the key. The key id
// must be present once (as the SDKs require); every configured secret is
// tried, so configure the secret of each key id the account uses. No
// timestamp, no delivery id header (the event id is in the body): the
// signature is the replay key.
//
// Worldline verifies an endpoint with an unsigned GET carrying
// X-GCS-Webhooks-Endpoint-Verification and expects its value back as
// text/plain; the handler answers it itself (a bounded value of a safe
// character set, see handshakeEcho, else 400). Nothing is forwarded.

func init() {
	Register("worldline", newWorldline)
}

var worldlineRecipe = HMACRecipe{SignatureHeader: "X-GCS-Signature", Encoding: "base64"}

// worldlineVerificationHeader carries the value of an endpoint
// verification request.
const worldlineVerificationHeader = "X-GCS-Webhooks-Endpoint-Verification"

type worldline struct {
	*recipeVerifier
}

func newWorldline(c Config) (Verifier, error) {
	if err := c.Allow("secret"); err != nil {
		return nil, err
	}
	v, err := compileRecipe(c, worldlineRecipe)
	if err != nil {
		return nil, err
	}
	return &worldline{v}, nil
}

// SignsBody: the signature covers the whole raw body.
func (v *worldline) SignsBody() bool { return true }

func (v *worldline) Verify(r *Request) (*Result, error) {
	if _, err := Header(r.Header, "X-GCS-KeyId"); err != nil {
		return nil, err
	}
	return v.recipeVerifier.Verify(r)
}

// sign signs a delivery for `caddy webhook sign` (the recipe engine's
// signer) and names a key id, which the verifier requires.
func (v *worldline) sign(r SignRequest) (*Signed, error) {
	s, err := v.recipeVerifier.sign(r)
	if err != nil {
		return nil, err
	}
	s.Header.Set("X-GCS-KeyId", "webhook-verify-sign")
	return s, nil
}

// Handshake answers Worldline's GET endpoint verification request.
func (v *worldline) Handshake(r *Request) (*Response, bool, error) {
	if r.Method != http.MethodGet || len(r.Header.Values(worldlineVerificationHeader)) == 0 {
		return nil, false, nil
	}
	s, err := Header(r.Header, worldlineVerificationHeader)
	if err != nil {
		return nil, true, err
	}
	if err := handshakeEcho(worldlineVerificationHeader, s); err != nil {
		return nil, true, err
	}
	return handshakeText(s), true, nil
}

var (
	_ Handshaker = (*worldline)(nil)
	_ BodySigner = (*worldline)(nil)
)
