package verifiers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
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
//
// An Events API url_verification request ({"type":"url_verification",
// "challenge":...}) is signed like any other: once it verifies, the
// handler answers {"challenge":...} itself (Result.Reply) and forwards
// nothing; a forged one fails like any forged request (401).

func init() {
	Register("slack", newSlack)
	RegisterSigner("slack", signSlack)
}

type slackVerifier struct {
	cfg     Config
	secrets [][]byte
	macs    []*MACKey // HMAC-SHA256 under each secret
}

func newSlack(c Config) (Verifier, error) {
	if err := c.Allow("secret", "tolerance"); err != nil {
		return nil, err
	}
	keys, err := RawSecrets(c)
	if err != nil {
		return nil, err
	}
	return &slackVerifier{cfg: c, secrets: keys, macs: NewMACKeys(sha256.New, keys)}, nil
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
	key, matched, _, ok := MatchMACKeys(v.macs, [][]byte{sig}, false, []string{"v0:", ts, ":"}, r.Body)
	if !ok {
		return nil, fmt.Errorf("%w: X-Slack-Signature does not match", ErrSignature)
	}
	res := &Result{Signature: matched, Timestamp: t, Key: key}
	challenge, ok, err := slackChallenge(r.Body)
	if err != nil {
		return nil, err
	}
	if ok {
		// Verified: answered here, never forwarded.
		b, _ := json.Marshal(struct {
			Challenge string `json:"challenge"`
		}{challenge})
		res.Reply = &Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: string(b)}
	}
	return res, nil
}

// slackMaxChallenge bounds the url_verification challenge echoed back
// (Slack's are about 50 characters).
const slackMaxChallenge = 512

// slackChallenge reports whether a verified body is an Events API
// url_verification request, and returns its challenge. Anything else
// (form bodies of slash commands and interactions, event callbacks) is a
// delivery. A url_verification without a usable challenge is
// ErrMalformed: a handshake is never forwarded.
func slackChallenge(body []byte) (string, bool, error) {
	if !bytes.Contains(body, []byte("url_verification")) {
		return "", false, nil
	}
	var m struct {
		Type      string `json:"type"`
		Challenge any    `json:"challenge"`
	}
	if json.Unmarshal(body, &m) != nil || m.Type != "url_verification" {
		return "", false, nil
	}
	c, _ := m.Challenge.(string)
	if c == "" || len(c) > slackMaxChallenge {
		return "", false, fmt.Errorf("%w: url_verification without a challenge of at most %d bytes", ErrMalformed, slackMaxChallenge)
	}
	return c, true, nil
}

// signSlack: X-Slack-Signature: v0=<hex HMAC-SHA256(secret, v0:ts:body)>.
func signSlack(_ string, r SignRequest) (*Signed, error) {
	key, err := needSecret(r)
	if err != nil {
		return nil, err
	}
	ts := unixString(r)
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set("X-Slack-Request-Timestamp", ts)
	s.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(MAC(sha256.New, key, []byte("v0:"+ts+":"), r.Body)))
	return s, nil
}

// SignsBody is true: Slack signs "v0:" + timestamp + ":" + the raw body.
func (v *slackVerifier) SignsBody() bool { return true }

// EventIDPointer is the Events API's event_id, kept in Slack's retries
// (api.slack.com/apis/events-api, "Retries"). Slash commands and
// interactivity payloads are forms without it: their key falls back to
// the signature.
func (v *slackVerifier) EventIDPointer() string { return "/event_id" }

var (
	_ Timestamped = (*slackVerifier)(nil)
	_ BodySigner  = (*slackVerifier)(nil)
	_ EventIDer   = (*slackVerifier)(nil)
)
