package verifiers

import (
	"crypto/sha256"
	"fmt"
	"strings"
)

// Slack (https://api.slack.com/authentication/verifying-requests-from-slack).
//
// Headers X-Slack-Request-Timestamp (Unix seconds) and X-Slack-Signature:
// "v0=" + hex(HMAC-SHA256(signing secret, "v0:" + timestamp + ":" + raw
// body)), the signing secret used as its UTF-8 bytes and the timestamp
// exactly as received. Slack sends one signature; several configured
// secrets are all tried (rotation on the receiving side). Any other
// signature version is ErrMalformed.
//
// Slack sends no signed delivery id (Events API deliveries carry event_id
// in the body), so Result.ID and Result.SignedID are empty and the
// signature is the replay key.

func init() {
	Register("slack", newSlack)
}

type slackVerifier struct {
	cfg     Config
	secrets [][]byte
}

func newSlack(c Config) (Verifier, error) {
	if err := c.Allow("secret", "tolerance"); err != nil {
		return nil, err
	}
	keys, err := RawSecrets(c)
	if err != nil {
		return nil, err
	}
	return &slackVerifier{cfg: c, secrets: keys}, nil
}

// HasTimestamp reports whether X-Slack-Request-Timestamp is checked (the
// tolerance is not off).
func (v *slackVerifier) HasTimestamp() bool {
	_, on := v.cfg.EffectiveTolerance()
	return on
}

func (v *slackVerifier) Verify(r *Request) (*Result, error) {
	ts, err := Header(r.Header, "X-Slack-Request-Timestamp")
	if err != nil {
		return nil, err
	}
	h, err := Header(r.Header, "X-Slack-Signature")
	if err != nil {
		return nil, err
	}
	t, err := ParseUnix(ts)
	if err != nil {
		return nil, err
	}
	hexSig, ok := strings.CutPrefix(h, "v0=")
	if !ok {
		return nil, fmt.Errorf("%w: X-Slack-Signature does not start with v0=", ErrMalformed)
	}
	sig, ok := DecodeHex(hexSig)
	if !ok {
		return nil, fmt.Errorf("%w: X-Slack-Signature is not hex", ErrMalformed)
	}
	if err := CheckTimestamp(v.cfg, t, r.Now); err != nil {
		return nil, err
	}
	expected := make([][]byte, len(v.secrets))
	for i, s := range v.secrets {
		expected[i] = MAC(sha256.New, s, []byte("v0:"), []byte(ts), []byte(":"), r.Body)
	}
	key, matched, ok := MatchMAC(expected, [][]byte{sig})
	if !ok {
		return nil, fmt.Errorf("%w: X-Slack-Signature does not match", ErrSignature)
	}
	return &Result{Signature: matched, Timestamp: t, Key: key}, nil
}

var _ Timestamped = (*slackVerifier)(nil)
