package verifiers

import (
	"crypto/ed25519"
	"encoding/base64"
	"fmt"
)

// Telnyx (https://developers.telnyx.com/docs/messaging/webhooks#webhook-signing,
// and the SDKs' Webhook.verify, e.g. github:team-telnyx/telnyx-python
// telnyx/webhook.py): telnyx-signature-ed25519 = base64(Ed25519(timestamp
// + "|" + raw body)) under the account's public key, shown in the Mission
// Control Portal in base64 (public_key, repeatable); telnyx-timestamp
// (Unix seconds, signed) is checked against the tolerance (the SDKs
// default to 300 s). The event id is in the body; there is no delivery id
// header, so the signature is the replay key.

func init() {
	Register("telnyx", newTelnyx)
	RegisterSigner("telnyx", signTelnyx)
	RegisterKeygen("telnyx", keygenTelnyx)
}

type telnyx struct {
	cfg  Config
	keys []ed25519.PublicKey
}

func newTelnyx(c Config) (Verifier, error) {
	if err := c.Allow("public_key", "tolerance"); err != nil {
		return nil, err
	}
	keys, err := ed25519Keys(c, "base64", func(s string) ([]byte, bool) {
		b, err := base64.StdEncoding.DecodeString(s)
		return b, err == nil
	})
	if err != nil {
		return nil, err
	}
	return &telnyx{cfg: c, keys: keys}, nil
}

// HasTimestamp reports whether telnyx-timestamp is checked.
func (v *telnyx) HasTimestamp() bool {
	_, on := v.cfg.EffectiveTolerance()
	return on
}

// SignsBody: the signature covers the whole raw body.
func (v *telnyx) SignsBody() bool { return true }

func (v *telnyx) Verify(r *Request) (*Result, error) {
	s, err := Header(r.Header, "telnyx-signature-ed25519")
	if err != nil {
		return nil, err
	}
	tsStr, err := Header(r.Header, "telnyx-timestamp")
	if err != nil {
		return nil, err
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return nil, fmt.Errorf("%w: telnyx-signature-ed25519 is not a base64 Ed25519 signature", ErrMalformed)
	}
	ts, err := ParseUnix(tsStr)
	if err != nil {
		return nil, err
	}
	if err := CheckTimestamp(v.cfg, ts, r.Now); err != nil {
		return nil, err
	}
	msg := make([]byte, 0, len(tsStr)+1+len(r.Body))
	msg = append(append(append(msg, tsStr...), '|'), r.Body...)
	key, ok := ed25519Match(v.keys, msg, sig)
	if !ok {
		return nil, fmt.Errorf("%w: telnyx-signature-ed25519 does not verify", ErrSignature)
	}
	return &Result{Signature: sig, Timestamp: ts, Key: key}, nil
}

// signTelnyx: telnyx-signature-ed25519: base64 Ed25519(timestamp|body),
// with telnyx-timestamp in Unix seconds.
func signTelnyx(_ string, r SignRequest) (*Signed, error) {
	k, err := parseEd25519Private(r.PrivateKey)
	if err != nil {
		return nil, err
	}
	ts := unixString(r)
	sig := ed25519.Sign(k, append([]byte(ts+"|"), r.Body...))
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set("Telnyx-Signature-Ed25519", base64.StdEncoding.EncodeToString(sig))
	s.Header.Set("Telnyx-Timestamp", ts)
	return s, nil
}

// keygenTelnyx makes an Ed25519 pair, the public key in base64 as the
// gate's public_key takes it.
func keygenTelnyx() (*KeyPair, error) {
	p, pub, err := ed25519Pair()
	if err != nil {
		return nil, err
	}
	p.PublicKey = base64.StdEncoding.EncodeToString(pub)
	return p, nil
}

var (
	_ Timestamped = (*telnyx)(nil)
	_ BodySigner  = (*telnyx)(nil)
)
