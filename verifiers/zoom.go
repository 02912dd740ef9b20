package verifiers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
)

// Zoom (https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events):
// x-zm-signature: "v0=" + hex(HMAC-SHA256(secret token, "v0:" +
// x-zm-request-timestamp + ":" + raw body)), the secret token used as its
// UTF-8 bytes and the timestamp as received (Unix seconds; a
// 13-digit value is read as milliseconds), checked against the tolerance.
//
// URL validation (https://developers.zoom.us/docs/api/webhooks/#validate-your-webhook-endpoint):
// Zoom posts a signed {"event":"endpoint.url_validation","payload":
// {"plainToken":p}} when the endpoint is added and every 72 hours. Once it
// verifies, the handler answers {"plainToken":p,"encryptedToken":
// hex(HMAC-SHA256(secret token, p))} as application/json itself and
// forwards nothing. The answer uses the secret that verified the request.
// Zoom signs the validation request like any event (its own sample checks
// the signature first: github:zoom/webhook-sample index.js).
//
// Zoom sends no signed delivery id (x-zm-trackingid is not signed), so the
// signature is the replay key.

func init() {
	Register("zoom", newZoom)
}

// zoomRecipe is Zoom's signature scheme in the terms of the recipe engine.
var zoomRecipe = HMACRecipe{
	SignatureHeader: "x-zm-signature",
	Prefix:          "v0=",
	Content:         "v0:{timestamp}:{body}",
	TimestampHeader: "x-zm-request-timestamp",
	TimestampUnit:   "auto",
}

// zoomMaxToken bounds the plainToken answered (Zoom's are 22 characters).
const zoomMaxToken = 256

type zoom struct {
	*recipeVerifier
}

func newZoom(c Config) (Verifier, error) {
	if err := c.Allow("secret", "tolerance"); err != nil {
		return nil, err
	}
	v, err := compileRecipe(c, zoomRecipe)
	if err != nil {
		return nil, err
	}
	return &zoom{v}, nil
}

// SignsBody: the signature covers the whole raw body.
func (v *zoom) SignsBody() bool { return true }

func (v *zoom) Verify(r *Request) (*Result, error) {
	res, err := v.recipeVerifier.Verify(r)
	if err != nil {
		return nil, err
	}
	if !bytes.Contains(r.Body, []byte("endpoint.url_validation")) {
		return res, nil
	}
	var m struct {
		Event   string `json:"event"`
		Payload struct {
			PlainToken any `json:"plainToken"`
		} `json:"payload"`
	}
	if json.Unmarshal(r.Body, &m) != nil || m.Event != "endpoint.url_validation" {
		return res, nil
	}
	p, _ := m.Payload.PlainToken.(string)
	if p == "" || len(p) > zoomMaxToken {
		return nil, fmt.Errorf("%w: endpoint.url_validation without a plainToken of at most %d bytes", ErrMalformed, zoomMaxToken)
	}
	b, err := json.Marshal(struct {
		PlainToken     string `json:"plainToken"`
		EncryptedToken string `json:"encryptedToken"`
	}{p, hex.EncodeToString(MAC(sha256.New, v.keys[res.Key], []byte(p)))})
	if err != nil {
		return nil, err
	}
	res.Reply = &Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: string(b)}
	return res, nil
}

var (
	_ Timestamped = (*zoom)(nil)
	_ BodySigner  = (*zoom)(nil)
)
