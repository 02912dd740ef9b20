package verifiers

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
)

// Twitter / X Account Activity API
// (https://developer.x.com/en/docs/x-api/enterprise/account-activity-api/guides/securing-webhooks):
// x-twitter-webhooks-signature = "sha256=" + base64(HMAC-SHA256(consumer
// secret, raw body)), the consumer secret used as its UTF-8 bytes. No
// timestamp, no delivery id: the signature is the replay key.
//
// The Challenge-Response Check is an unsigned GET ?crc_token=t (when the
// webhook is registered, hourly, and on demand); the handler answers
// {"response_token": "sha256=" + base64(HMAC-SHA256(consumer secret, t))}
// itself, with the first configured secret, and forwards nothing.
//
// The CRC answers anyone's crc_token with the MAC a delivery of that body
// would carry: it is a signing oracle. So crc_token is held to at most
// handshakeMaxValue characters of handshakeEcho's set, and a delivery must
// be a JSON object (its first byte '{', which that set lacks): no body a
// CRC can sign is ever accepted.

func init() {
	Register("twitter", newTwitter, "x")
}

var twitterRecipe = HMACRecipe{SignatureHeader: "x-twitter-webhooks-signature", Prefix: "sha256=", Encoding: "base64"}

type twitter struct {
	*recipeVerifier
}

func newTwitter(c Config) (Verifier, error) {
	if err := c.Allow("secret"); err != nil {
		return nil, err
	}
	v, err := compileRecipe(c, twitterRecipe)
	if err != nil {
		return nil, err
	}
	return &twitter{v}, nil
}

// SignsBody: the signature covers the whole raw body.
func (v *twitter) SignsBody() bool { return true }

func (v *twitter) Verify(r *Request) (*Result, error) {
	if !bytes.HasPrefix(r.Body, []byte("{")) {
		// See the CRC note above: never a body a CRC answer signs.
		return nil, fmt.Errorf("%w: body is not a JSON object", ErrMalformed)
	}
	return v.recipeVerifier.Verify(r)
}

// Handshake answers the CRC GET.
func (v *twitter) Handshake(r *Request) (*Response, bool, error) {
	if r.Method != http.MethodGet || r.URL == nil {
		return nil, false, nil
	}
	q, err := handshakeQuery(r.URL)
	if err != nil {
		return nil, true, err
	}
	if _, ok := q["crc_token"]; !ok {
		return nil, false, nil
	}
	t, err := handshakeParam(q, "crc_token")
	if err != nil {
		return nil, true, err
	}
	if err := handshakeEcho("crc_token", t); err != nil {
		return nil, true, err
	}
	b, err := json.Marshal(struct {
		ResponseToken string `json:"response_token"`
	}{"sha256=" + base64.StdEncoding.EncodeToString(MAC(sha256.New, v.keys[0], []byte(t)))})
	if err != nil {
		return nil, true, err
	}
	return &Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: string(b)}, true, nil
}

var (
	_ Handshaker = (*twitter)(nil)
	_ BodySigner = (*twitter)(nil)
)
