package verifiers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"
)

// Twitch EventSub webhooks
// (https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message):
// Twitch-Eventsub-Message-Signature = "sha256=" + hex(HMAC-SHA256(secret,
// message id + timestamp + raw body)), from the headers
// Twitch-Eventsub-Message-Id and Twitch-Eventsub-Message-Timestamp (RFC
// 3339 with fractional seconds, signed as received), the secret used as
// its UTF-8 bytes. Twitch asks receivers to refuse messages older than 10
// minutes: that is the default tolerance here (both directions). The
// message id is signed and stays the same when Twitch resends a message,
// so it is the replay key (Result.SignedID); it must be 1 to 128 letters,
// digits, '-', '_' or '.', and the timestamp a strict RFC 3339 time, so
// that no two different requests share one signed string.
//
// Twitch-Eventsub-Message-Type webhook_callback_verification carries
// {"challenge": c, ...}: once it verifies, the handler answers c as text/
// plain itself and forwards nothing. notification and revocation messages
// are forwarded.

func init() {
	Register("twitch", newTwitch)
	RegisterSigner("twitch", signTwitch)
}

// twitchDefaultTolerance is Twitch's 10 minutes.
const twitchDefaultTolerance = 10 * time.Minute

type twitch struct {
	cfg  Config
	keys [][]byte
}

func newTwitch(c Config) (Verifier, error) {
	if err := c.Allow("secret", "tolerance"); err != nil {
		return nil, err
	}
	keys, err := RawSecrets(c)
	if err != nil {
		return nil, err
	}
	if c.Tolerance == 0 {
		c.Tolerance = twitchDefaultTolerance
	}
	return &twitch{cfg: c, keys: keys}, nil
}

// HasTimestamp reports whether the message timestamp is checked.
func (v *twitch) HasTimestamp() bool {
	_, on := v.cfg.EffectiveTolerance()
	return on
}

// SignsBody: the signature covers the whole raw body.
func (v *twitch) SignsBody() bool { return true }

func (v *twitch) Verify(r *Request) (*Result, error) {
	id, err := Header(r.Header, "Twitch-Eventsub-Message-Id")
	if err != nil {
		return nil, err
	}
	tsStr, err := Header(r.Header, "Twitch-Eventsub-Message-Timestamp")
	if err != nil {
		return nil, err
	}
	s, err := Header(r.Header, "Twitch-Eventsub-Message-Signature")
	if err != nil {
		return nil, err
	}
	typ, err := Header(r.Header, "Twitch-Eventsub-Message-Type")
	if err != nil {
		return nil, err
	}
	if !twitchValidID(id) {
		return nil, fmt.Errorf("%w: Twitch-Eventsub-Message-Id must be 1 to 128 letters, digits, '-', '_' or '.'", ErrMalformed)
	}
	ts, err := twitchParseTime(tsStr)
	if err != nil {
		return nil, err
	}
	hexSig, ok := strings.CutPrefix(s, "sha256=")
	if !ok {
		return nil, fmt.Errorf("%w: Twitch-Eventsub-Message-Signature does not start with sha256=", ErrMalformed)
	}
	sig, ok := DecodeHex(hexSig)
	if !ok || len(sig) != sha256.Size {
		return nil, fmt.Errorf("%w: Twitch-Eventsub-Message-Signature is not a hex HMAC-SHA256", ErrMalformed)
	}
	if err := CheckTimestamp(v.cfg, ts, r.Now); err != nil {
		return nil, err
	}
	expected := make([][]byte, len(v.keys))
	for i, k := range v.keys {
		expected[i] = MAC(sha256.New, k, []byte(id), []byte(tsStr), r.Body)
	}
	key, matched, ok := MatchMAC(expected, [][]byte{sig})
	if !ok {
		return nil, fmt.Errorf("%w: Twitch-Eventsub-Message-Signature does not match", ErrSignature)
	}
	res := &Result{ID: id, SignedID: id, Signature: matched, Timestamp: ts, Key: key}
	if typ == "webhook_callback_verification" {
		c, err := twitchChallenge(r.Body)
		if err != nil {
			return nil, err
		}
		res.Reply = handshakeText(c)
	}
	return res, nil
}

// twitchChallenge returns the challenge of a verified
// webhook_callback_verification body.
func twitchChallenge(body []byte) (string, error) {
	var m struct {
		Challenge any `json:"challenge"`
	}
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&m); err != nil {
		return "", fmt.Errorf("%w: webhook_callback_verification body is not JSON", ErrMalformed)
	}
	c, _ := m.Challenge.(string)
	if err := handshakeEcho("challenge", c); err != nil {
		return "", err
	}
	return c, nil
}

// twitchValidID reports whether id is a plausible message id (Twitch's
// are UUIDs).
func twitchValidID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// twitchParseTime parses a strict RFC 3339 timestamp
// (YYYY-MM-DDTHH:MM:SS[.fraction](Z|±hh:mm)); Go's parser alone would also
// take some variants, so the text must round-trip its shape.
func twitchParseTime(s string) (time.Time, error) {
	bad := fmt.Errorf("%w: Twitch-Eventsub-Message-Timestamp is not an RFC 3339 time", ErrMalformed)
	if len(s) < 20 || len(s) > 40 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, bad
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, bad
	}
	return t, nil
}

// signTwitch: Twitch-Eventsub-Message-Signature: sha256=<hex
// HMAC-SHA256(secret, id ‖ timestamp ‖ body)>, with the RFC 3339 timestamp
// (UTC, fractional seconds as needed) and the id (r.ID or a random UUID)
// in their headers, and Twitch-Eventsub-Message-Type notification.
func signTwitch(_ string, r SignRequest) (*Signed, error) {
	key, err := needSecret(r)
	if err != nil {
		return nil, err
	}
	id := r.ID
	if id == "" {
		id = randomUUID()
	}
	if !twitchValidID(id) {
		return nil, fmt.Errorf("id must be 1 to 128 letters, digits, '-', '_' or '.'")
	}
	ts := r.Now.UTC().Format(time.RFC3339Nano)
	mac := MAC(sha256.New, key, []byte(id), []byte(ts), r.Body)
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set("Twitch-Eventsub-Message-Id", id)
	s.Header.Set("Twitch-Eventsub-Message-Timestamp", ts)
	s.Header.Set("Twitch-Eventsub-Message-Signature", "sha256="+hex.EncodeToString(mac))
	s.Header.Set("Twitch-Eventsub-Message-Type", "notification")
	return s, nil
}

var (
	_ Timestamped = (*twitch)(nil)
	_ BodySigner  = (*twitch)(nil)
)
