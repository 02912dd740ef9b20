package verifiers

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Stripe (https://stripe.com/docs/webhooks#verify-manually; stripe-go webhook/client.go).
//
// Header Stripe-Signature: "t=<unix seconds>,v1=<hex>[,v1=<hex>...][,v0=<hex>]",
// where v1 = hex(HMAC-SHA256(secret, t + "." + raw body)). The endpoint
// secret ("whsec_...") is the HMAC key as is, its UTF-8 bytes: it is NOT
// base64-decoded, unlike Standard Webhooks.
//
// While a secret is being rolled Stripe sends one v1 entry per secret; the
// request passes when any v1 entry matches any configured secret. Entries
// of other schemes (v0, the test-mode legacy scheme) are ignored, and so are
// v1 entries that are not hex, as in stripe-go. An entry without "=", a
// missing or repeated t, or no usable v1 entry is ErrMalformed (stripe-go
// reports the last as "no valid signature"); at most stripeMaxEntries
// entries are accepted.
//
// Stripe signs no delivery id (the event id is inside the body), so
// Result.ID and Result.SignedID are empty and Result.Signature, the matched
// v1 value, is the replay key. Stripe re-signs every retry with a new t, so
// replay protection catches copies of one attempt, not Stripe's retries.

func init() {
	Register("stripe", newStripe)
	RegisterSigner("stripe", signStripe)
}

// stripeMaxEntries bounds the entries of a Stripe-Signature header: t, one
// v1 per secret being rolled, and v0.
const stripeMaxEntries = 32

type stripeVerifier struct {
	cfg     Config
	secrets [][]byte
	macs    []*MACKey // HMAC-SHA256 under each secret
}

func newStripe(c Config) (Verifier, error) {
	if err := c.Allow("secret", "tolerance"); err != nil {
		return nil, err
	}
	for i, s := range c.Secrets {
		for _, p := range stripeAPIKeyPrefixes {
			if strings.HasPrefix(s, p) {
				return nil, fmt.Errorf("secret %d is a Stripe API key (%s...), not a webhook signing secret: use the endpoint's signing secret, whsec_... (Dashboard, Developers, Webhooks, the endpoint's Signing secret; or what stripe listen prints)", i+1, p)
			}
		}
	}
	keys, err := RawSecrets(c)
	if err != nil {
		return nil, err
	}
	return &stripeVerifier{cfg: c, secrets: keys, macs: NewMACKeys(sha256.New, keys)}, nil
}

// stripeAPIKeyPrefixes are Stripe's API key forms (secret, restricted,
// publishable): a key of these is not a webhook signing secret. Only the
// prefix is ever named in an error.
var stripeAPIKeyPrefixes = []string{"sk_live_", "sk_test_", "rk_live_", "rk_test_", "pk_live_", "pk_test_"}

// HasTimestamp reports whether t is checked (the tolerance is not off).
func (v *stripeVerifier) HasTimestamp() bool {
	_, on := v.cfg.EffectiveTolerance()
	return on
}

func (v *stripeVerifier) Verify(r *Request) (*Result, error) {
	h, err := Header(r.Header, "Stripe-Signature")
	if err != nil {
		return nil, err
	}
	if strings.Count(h, ",") >= stripeMaxEntries {
		return nil, fmt.Errorf("%w: more than %d entries in Stripe-Signature", ErrMalformed, stripeMaxEntries)
	}
	var (
		ts    string
		haveT bool
		sigs  [][]byte
	)
	for _, e := range strings.Split(h, ",") {
		k, val, ok := strings.Cut(strings.TrimSpace(e), "=")
		if !ok {
			return nil, fmt.Errorf("%w: Stripe-Signature entry without '='", ErrMalformed)
		}
		switch k {
		case "t":
			if haveT {
				return nil, fmt.Errorf("%w: repeated t in Stripe-Signature", ErrMalformed)
			}
			ts, haveT = val, true
		case "v1":
			if b, ok := DecodeHex(val); ok {
				sigs = append(sigs, b)
			}
		}
	}
	if !haveT {
		return nil, fmt.Errorf("%w: no t in Stripe-Signature", ErrMalformed)
	}
	t, err := ParseUnix(ts)
	if err != nil {
		return nil, err
	}
	if len(sigs) == 0 {
		return nil, fmt.Errorf("%w: no usable v1 signature in Stripe-Signature", ErrMalformed)
	}
	if err := CheckTimestamp(v.cfg, t, r.Now); err != nil {
		return nil, err
	}

	key, _, first, ok := MatchMACKeys(v.macs, sigs, true, []string{ts, "."}, r.Body)
	if !ok {
		return nil, fmt.Errorf("%w: no v1 signature matches", ErrSignature)
	}
	// The replay material is the MAC under the first secret, the same for
	// every copy of the delivery whichever of its v1 entries matched.
	return &Result{Signature: first, Timestamp: t, Key: key}, nil
}

// signStripe: Stripe-Signature: t=<ts>,v1=<hex HMAC-SHA256(secret, t.body)>.
func signStripe(_ string, r SignRequest) (*Signed, error) {
	key, err := needSecret(r)
	if err != nil {
		return nil, err
	}
	ts := unixString(r)
	mac := MAC(sha256.New, key, []byte(ts), []byte("."), r.Body)
	s := newSigned(r.Body, contentType(r, "application/json; charset=utf-8"))
	s.Header.Set("Stripe-Signature", "t="+ts+",v1="+hex.EncodeToString(mac))
	return s, nil
}

// SignsBody is true: Stripe signs t + "." + the raw body.
func (v *stripeVerifier) SignsBody() bool { return true }

// EventIDPointer is Stripe's event id, the same in every retry of an event
// ("evt_..."; Stripe: "guard against duplicated event receipts by logging
// the event IDs you've processed", docs.stripe.com/webhooks).
func (v *stripeVerifier) EventIDPointer() string { return "/id" }

var (
	_ Timestamped = (*stripeVerifier)(nil)
	_ BodySigner  = (*stripeVerifier)(nil)
	_ EventIDer   = (*stripeVerifier)(nil)
)
