package verifiers

import (
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Attestation: the gate signs what it forwards in the Standard Webhooks
// format (v1 with a whsec_ secret, v1a with a whsk_ Ed25519 key), so that
// the app behind it can check, with any Standard Webhooks library, that a
// request came through the gate and was verified there.

// MaxAttestKeys bounds the keys one Attester signs with (each adds an
// entry to webhook-signature; several are for a rotation on the app side).
const MaxAttestKeys = 8

// Attester signs deliveries in the Standard Webhooks format with every one
// of its keys, and checks its own signatures (to renew one later). It is
// safe for concurrent use.
type Attester struct {
	macs  [][]byte
	keys  []ed25519.PrivateKey
	check Verifier // standard_webhooks, tolerance off, with the same keys
}

// NewAttester parses the keys: "whsec_" + base64 (v1, HMAC-SHA256) or
// "whsk_" + base64 of an Ed25519 seed or seed ‖ public key (v1a). Errors
// name a key by its position (1-based), never its value.
func NewAttester(keys []string) (*Attester, error) {
	if len(keys) == 0 {
		return nil, errors.New("needs a whsec_ secret or a whsk_ key")
	}
	if len(keys) > MaxAttestKeys {
		return nil, fmt.Errorf("at most %d keys", MaxAttestKeys)
	}
	a := &Attester{}
	cfg := Config{Provider: "standard_webhooks", Tolerance: -1}
	for i, k := range keys {
		if err := a.add(&cfg, k); err != nil {
			return nil, fmt.Errorf("key %d %v", i+1, err)
		}
	}
	v, err := newStandardWebhooks(cfg)
	if err != nil {
		// Not reached: the keys were parsed above.
		return nil, errors.New("keys do not make a standard_webhooks verifier")
	}
	a.check = v
	return a, nil
}

// CheckAttestKey reports what is wrong with one attestation key, if
// anything ("is not whsec_ base64"), without naming its value.
func CheckAttestKey(k string) error {
	return new(Attester).add(new(Config), k)
}

// add parses one key into a and the verifier config of its own check.
func (a *Attester) add(cfg *Config, k string) error {
	switch {
	case strings.HasPrefix(k, "whsec_"):
		b, err := DecodeWhsec(k)
		if err != nil || len(b) == 0 {
			return errors.New("is not whsec_ base64")
		}
		a.macs = append(a.macs, b)
		cfg.Secrets = append(cfg.Secrets, k)
	case strings.HasPrefix(k, "whsk_"):
		pk, err := parseEd25519Private(k)
		if err != nil {
			return errors.New("is not a whsk_ Ed25519 key")
		}
		a.keys = append(a.keys, pk)
		pub := pk.Public().(ed25519.PublicKey)
		cfg.PublicKeys = append(cfg.PublicKeys, PublicKey{Key: "whpk_" + base64.StdEncoding.EncodeToString(pub)})
	case strings.HasPrefix(k, "whpk_"):
		return errors.New("is a whpk_ public key: the gate signs with the whsk_ private key, the app verifies with the whpk_ one")
	default:
		return errors.New("is neither a whsec_ secret nor a whsk_ key")
	}
	return nil
}

// ValidAttestID reports whether id can be a webhook-id the Attester signs:
// 1 to 256 bytes of letters, digits, '_', '-' and ':'. Standard Webhooks
// sign id + "." + timestamp + "." + body, so an id with a '.' could make
// two different deliveries share the signed string.
func ValidAttestID(id string) bool {
	if id == "" || len(id) > 256 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == ':') {
			return false
		}
	}
	return true
}

// Sign returns the webhook-timestamp and webhook-signature values of a
// delivery with this id, signed at now: one "v1,<base64>" or
// "v1a,<base64>" entry per key, space-separated, in the order configured.
func (a *Attester) Sign(id string, now time.Time, body []byte) (ts, sig string, err error) {
	if !ValidAttestID(id) {
		return "", "", errors.New("webhook-id has characters outside letters, digits, '_', '-' and ':'")
	}
	ts = fmt.Sprint(now.Unix())
	msg := make([]byte, 0, len(id)+len(ts)+2+len(body))
	msg = append(append(append(append(append(msg, id...), '.'), ts...), '.'), body...)
	entries := make([]string, 0, len(a.macs)+len(a.keys))
	for _, k := range a.macs {
		entries = append(entries, "v1,"+base64.StdEncoding.EncodeToString(MAC(sha256.New, k, msg)))
	}
	for _, k := range a.keys {
		entries = append(entries, "v1a,"+base64.StdEncoding.EncodeToString(ed25519.Sign(k, msg)))
	}
	return ts, strings.Join(entries, " "), nil
}

// Signed reports whether id, ts and sig are a signature of body by one of
// the Attester's keys, at any age.
func (a *Attester) Signed(id, ts, sig string, body []byte) bool {
	if !ValidAttestID(id) {
		return false
	}
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", ts)
	h.Set("webhook-signature", sig)
	_, err := a.check.Verify(&Request{Header: h, Body: body, Now: time.Now()})
	return err == nil
}
