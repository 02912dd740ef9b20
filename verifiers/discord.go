package verifiers

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
)

// Discord interactions endpoint
// (https://discord.com/developers/docs/interactions/overview#setting-up-an-endpoint-validating-security-request-headers):
// X-Signature-Ed25519 = hex(Ed25519(timestamp + raw body)) under the
// application's public key, shown in the Developer Portal as 64 hex
// digits (public_key, repeatable); X-Signature-Timestamp (Unix seconds,
// signed) is checked against the tolerance.
//
// Discord checks an endpoint with a signed PING ({"type":1}) and with
// deliberately bad signatures: once a PING verifies, the handler answers
// {"type":1} itself (Result.Reply) and forwards nothing; a bad one gets
// 401. No delivery id header: the signature is the replay key.

func init() {
	Register("discord", newDiscord)
	RegisterSigner("discord", signDiscord)
	RegisterKeygen("discord", keygenDiscord)
}

type discord struct {
	cfg  Config
	keys []ed25519.PublicKey
}

func newDiscord(c Config) (Verifier, error) {
	if err := c.Allow("public_key", "tolerance"); err != nil {
		return nil, err
	}
	keys, err := ed25519Keys(c, "64 hex digits", func(s string) ([]byte, bool) {
		b, err := hex.DecodeString(s)
		return b, err == nil
	})
	if err != nil {
		return nil, err
	}
	return &discord{cfg: c, keys: keys}, nil
}

// HasTimestamp reports whether X-Signature-Timestamp is checked.
func (v *discord) HasTimestamp() bool {
	_, on := v.cfg.EffectiveTolerance()
	return on
}

// SignsBody: the signature covers the whole raw body.
func (v *discord) SignsBody() bool { return true }

func (v *discord) Verify(r *Request) (*Result, error) {
	s, err := Header(r.Header, "X-Signature-Ed25519")
	if err != nil {
		return nil, err
	}
	tsStr, err := Header(r.Header, "X-Signature-Timestamp")
	if err != nil {
		return nil, err
	}
	sig, err := hex.DecodeString(s)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: X-Signature-Ed25519 is not a hex Ed25519 signature", ErrMalformed)
	}
	ts, err := ParseUnix(tsStr)
	if err != nil {
		return nil, err
	}
	if err := CheckTimestamp(v.cfg, ts, r.Now); err != nil {
		return nil, err
	}
	msg := make([]byte, 0, len(tsStr)+len(r.Body))
	msg = append(append(msg, tsStr...), r.Body...)
	key, ok := ed25519Match(v.keys, msg, sig)
	if !ok {
		return nil, fmt.Errorf("%w: X-Signature-Ed25519 does not verify", ErrSignature)
	}
	res := &Result{Signature: sig, Timestamp: ts, Key: key}
	if discordPing(r.Body) {
		res.Reply = &Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: `{"type":1}`}
	}
	return res, nil
}

// discordPing reports whether a verified body is an interaction of type 1
// (PING).
func discordPing(body []byte) bool {
	if !bytes.Contains(body, []byte(`"type"`)) {
		return false
	}
	var m struct {
		Type json.Number `json:"type"`
	}
	return json.Unmarshal(body, &m) == nil && m.Type == "1"
}

// signDiscord: X-Signature-Ed25519: hex Ed25519(timestamp ‖ body), with
// X-Signature-Timestamp in Unix seconds.
func signDiscord(_ string, r SignRequest) (*Signed, error) {
	k, err := parseEd25519Private(r.PrivateKey)
	if err != nil {
		return nil, err
	}
	ts := unixString(r)
	sig := ed25519.Sign(k, append([]byte(ts), r.Body...))
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set("X-Signature-Ed25519", hex.EncodeToString(sig))
	s.Header.Set("X-Signature-Timestamp", ts)
	return s, nil
}

// keygenDiscord makes an Ed25519 pair, the public key in hex as the
// gate's public_key takes it.
func keygenDiscord() (*KeyPair, error) {
	p, pub, err := ed25519Pair()
	if err != nil {
		return nil, err
	}
	p.PublicKey = hex.EncodeToString(pub)
	return p, nil
}

var (
	_ Timestamped = (*discord)(nil)
	_ BodySigner  = (*discord)(nil)
)
