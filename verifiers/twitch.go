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
// The kind of a message is read from the signed body, not from the
// unsigned Twitch-Eventsub-Message-Type header
// (https://dev.twitch.tv/docs/eventsub/handling-webhook-events/ :
// "Responding to a challenge request", "Revoking your subscription"):
//
//   - webhook_callback_verification: a top-level "challenge" and the
//     subscription status webhook_callback_verification_pending (no
//     "event");
//   - notification: an "event" (no "challenge");
//   - revocation: neither, and a subscription status that is not enabled
//     or pending (authorization_revoked, user_removed,
//     notification_failures_exceeded, version_removed, ...).
//
// Any other body is refused (ErrMalformed), and so is a header that names
// another kind than the body: otherwise a captured verification re-sent
// with the header "notification" would reach the upstream as an event.
// A verification is answered here with its challenge (text/plain) and
// forwards nothing; notifications and revocations are forwarded.

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
	if !validID(id) {
		return nil, fmt.Errorf("%w: Twitch-Eventsub-Message-Id must be 1 to 128 letters, digits, '-', '_' or '.'", ErrMalformed)
	}
	ts, ok := parseRFC3339(tsStr)
	if !ok {
		return nil, fmt.Errorf("%w: Twitch-Eventsub-Message-Timestamp is not an RFC 3339 time", ErrMalformed)
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
	kind, challenge, err := twitchKind(r.Body)
	if err != nil {
		return nil, err
	}
	if typ != kind {
		return nil, fmt.Errorf("%w: Twitch-Eventsub-Message-Type does not match the signed body, which is a %s", ErrMalformed, kind)
	}
	res := &Result{ID: id, SignedID: id, Signature: matched, Timestamp: ts, Key: key}
	if kind == twitchVerification {
		if err := handshakeEcho("challenge", challenge); err != nil {
			return nil, err
		}
		res.Reply = handshakeText(challenge)
	}
	return res, nil
}

// The message kinds (Twitch-Eventsub-Message-Type values).
const (
	twitchNotification = "notification"
	twitchVerification = "webhook_callback_verification"
	twitchRevocation   = "revocation"
)

// twitchKind returns the kind of a verified message body (see the file
// comment) and, for a verification, its challenge.
func twitchKind(body []byte) (kind, challenge string, err error) {
	var m struct {
		Challenge    json.RawMessage `json:"challenge"`
		Event        json.RawMessage `json:"event"`
		Subscription *struct {
			Status string `json:"status"`
		} `json:"subscription"`
	}
	d := json.NewDecoder(bytes.NewReader(body))
	if err := d.Decode(&m); err != nil {
		return "", "", fmt.Errorf("%w: the body is not a JSON object", ErrMalformed)
	}
	present := func(v json.RawMessage) bool { return len(v) > 0 && string(v) != "null" }
	status := ""
	if m.Subscription != nil {
		status = m.Subscription.Status
	}
	switch {
	case present(m.Challenge):
		if present(m.Event) || status != "webhook_callback_verification_pending" {
			return "", "", fmt.Errorf("%w: a body with a challenge must have the status webhook_callback_verification_pending and no event", ErrMalformed)
		}
		if err := json.Unmarshal(m.Challenge, &challenge); err != nil {
			return "", "", fmt.Errorf("%w: challenge is not a string", ErrMalformed)
		}
		return twitchVerification, challenge, nil
	case present(m.Event):
		return twitchNotification, "", nil
	case status != "" && status != "enabled" && status != "webhook_callback_verification_pending":
		return twitchRevocation, "", nil
	}
	return "", "", fmt.Errorf("%w: the body is neither a notification (event), a verification (challenge) nor a revocation (subscription status)", ErrMalformed)
}

// signTwitch: Twitch-Eventsub-Message-Signature: sha256=<hex
// HMAC-SHA256(secret, id ‖ timestamp ‖ body)>, with the RFC 3339 timestamp
// (UTC, fractional seconds as needed) and the id (r.ID or a random UUID)
// in their headers, and Twitch-Eventsub-Message-Type the kind of the
// body, as the verifier reads it (an event: notification; a challenge:
// webhook_callback_verification; a revoked subscription: revocation).
func signTwitch(_ string, r SignRequest) (*Signed, error) {
	key, err := needSecret(r)
	if err != nil {
		return nil, err
	}
	id := r.ID
	if id == "" {
		id = randomUUID()
	}
	if !validID(id) {
		return nil, fmt.Errorf("id must be 1 to 128 letters, digits, '-', '_' or '.'")
	}
	kind, _, err := twitchKind(r.Body)
	if err != nil {
		return nil, fmt.Errorf("the body must be an EventSub message: %w", err)
	}
	ts := r.Now.UTC().Format(time.RFC3339Nano)
	mac := MAC(sha256.New, key, []byte(id), []byte(ts), r.Body)
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set("Twitch-Eventsub-Message-Id", id)
	s.Header.Set("Twitch-Eventsub-Message-Timestamp", ts)
	s.Header.Set("Twitch-Eventsub-Message-Signature", "sha256="+hex.EncodeToString(mac))
	s.Header.Set("Twitch-Eventsub-Message-Type", kind)
	return s, nil
}

var (
	_ Timestamped = (*twitch)(nil)
	_ BodySigner  = (*twitch)(nil)
)
