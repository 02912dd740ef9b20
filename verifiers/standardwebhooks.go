package verifiers

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
)

// Standard Webhooks (https://www.standardwebhooks.com, spec v1.0.0), also
// sent by Svix and by Resend (which delivers through Svix).
//
// Headers: webhook-id, webhook-timestamp (Unix seconds) and
// webhook-signature, a space-separated list of "<version>,<base64>"
// entries. Svix sends the same values as svix-id, svix-timestamp and
// svix-signature. As in the Svix libraries, the svix-* set is used when all
// three are present and the webhook-* set otherwise. A field sent under both
// names with different values is ambiguous and fails with ErrMalformed.
//
// Signed content: webhook-id + "." + webhook-timestamp + "." + raw body,
// with the timestamp exactly as received.
//
//   - v1: HMAC-SHA256, keyed with the base64-decoded secret ("whsec_" +
//     base64, or bare base64); checked when secrets are configured.
//   - v1a: Ed25519, verified with the configured public keys ("whpk_" +
//     base64 of the raw 32-byte key); checked when public keys are
//     configured. Key ids are not used.
//
// Entries of other versions, entries without a comma and entries whose
// signature does not decode are ignored. When no usable entry of a
// configured kind remains the request is ErrMalformed; at most
// swMaxEntries entries are accepted. A request passes when any entry
// matches any configured key. Result.Key is the index of the matching
// secret for v1 and len(secrets)+index of the matching public key for v1a
// (v1 is checked first). The webhook-id is signed, so it is both Result.ID
// and Result.SignedID.

func init() {
	Register("standard_webhooks", newStandardWebhooks, "svix", "resend")
	RegisterSigner("standard_webhooks", signStandardWebhooks)
	RegisterKeygen("standard_webhooks", keygenStandardWebhooks)
}

// swMaxEntries bounds the number of entries in a signature list. Svix
// sends one per valid key (the current one plus at most ten expiring ones,
// for each kind).
const swMaxEntries = 32

// swHeaderNames lists, for id, timestamp and signature, the Svix-branded
// name and the Standard Webhooks name.
var swHeaderNames = [3][2]string{
	{"svix-id", "webhook-id"},
	{"svix-timestamp", "webhook-timestamp"},
	{"svix-signature", "webhook-signature"},
}

type standardWebhooks struct {
	cfg     Config
	secrets [][]byte
	macs    []*MACKey // HMAC-SHA256 under each secret
	keys    []ed25519.PublicKey
}

func newStandardWebhooks(c Config) (Verifier, error) {
	if err := c.Allow("secret", "public_key", "tolerance"); err != nil {
		return nil, err
	}
	if len(c.Secrets) == 0 && len(c.PublicKeys) == 0 {
		return nil, fmt.Errorf("provider %s needs at least one secret or public_key", c.Provider)
	}
	v := &standardWebhooks{cfg: c}
	for i, s := range c.Secrets {
		if s == "" {
			return nil, fmt.Errorf("provider %s: secret %d is empty", c.Provider, i+1)
		}
		if strings.HasPrefix(s, "whpk_") || strings.HasPrefix(s, "whsk_") {
			return nil, fmt.Errorf("provider %s: secret %d is an ed25519 key; configure the whpk_ public key as public_key", c.Provider, i+1)
		}
		key, err := DecodeWhsec(s)
		if err != nil {
			return nil, fmt.Errorf("provider %s: secret %d is not whsec_ base64", c.Provider, i+1)
		}
		v.secrets = append(v.secrets, key)
		v.macs = append(v.macs, NewMACKey(sha256.New, key))
	}
	for i, pk := range c.PublicKeys {
		if pk.KeyID != "" {
			return nil, fmt.Errorf("provider %s: public_key %d: key ids are not used by this provider", c.Provider, i+1)
		}
		key, err := swDecodePublicKey(pk.Key)
		if err != nil {
			return nil, fmt.Errorf("provider %s: public_key %d: %v", c.Provider, i+1, err)
		}
		v.keys = append(v.keys, key)
	}
	return v, nil
}

// swDecodePublicKey decodes "whpk_" + base64 (or bare base64) of a raw
// 32-byte Ed25519 public key.
func swDecodePublicKey(s string) (ed25519.PublicKey, error) {
	if strings.HasPrefix(s, "whsk_") {
		return nil, fmt.Errorf("a whsk_ signing key is private; configure its whpk_ public key")
	}
	b, ok := DecodeBase64(strings.TrimPrefix(s, "whpk_"))
	if !ok {
		return nil, fmt.Errorf("not whpk_ base64")
	}
	if len(b) != ed25519.PublicKeySize {
		return nil, fmt.Errorf("an ed25519 public key has %d bytes, not %d", ed25519.PublicKeySize, len(b))
	}
	return ed25519.PublicKey(b), nil
}

// HasTimestamp reports whether webhook-timestamp is checked (the tolerance
// is not off).
func (v *standardWebhooks) HasTimestamp() bool {
	_, on := v.cfg.EffectiveTolerance()
	return on
}

func (v *standardWebhooks) Verify(r *Request) (*Result, error) {
	h, err := swHeaders(r.Header)
	if err != nil {
		return nil, err
	}
	id, ts, list := h[0], h[1], h[2]
	t, err := ParseUnix(ts)
	if err != nil {
		return nil, err
	}

	var macs, sigs [][]byte
	n := 0
	for _, e := range strings.Split(list, " ") {
		if e == "" {
			continue
		}
		if n++; n > swMaxEntries {
			return nil, fmt.Errorf("%w: more than %d signatures", ErrMalformed, swMaxEntries)
		}
		version, sig, ok := strings.Cut(e, ",")
		if !ok {
			continue
		}
		switch {
		case version == "v1" && len(v.secrets) > 0:
			if b, ok := DecodeBase64(sig); ok {
				macs = append(macs, b)
			}
		case version == "v1a" && len(v.keys) > 0:
			if b, ok := DecodeBase64(sig); ok && len(b) == ed25519.SignatureSize {
				sigs = append(sigs, b)
			}
		}
	}
	if len(macs) == 0 && len(sigs) == 0 {
		return nil, fmt.Errorf("%w: no usable %s signature", ErrMalformed, v.kinds())
	}

	if err := CheckTimestamp(v.cfg, t, r.Now); err != nil {
		return nil, err
	}

	key, matched := -1, []byte(nil)
	if len(macs) > 0 {
		if k, sig, _, ok := MatchMACKeys(v.macs, macs, false, []string{id, ".", ts, "."}, r.Body); ok {
			key, matched = k, sig
		}
	}
	if key < 0 && len(sigs) > 0 {
		msg := make([]byte, 0, len(id)+len(ts)+2+len(r.Body))
		msg = append(append(append(append(append(msg, id...), '.'), ts...), '.'), r.Body...)
	keys:
		for i, pk := range v.keys {
			for _, sig := range sigs {
				if ed25519.Verify(pk, msg, sig) {
					key, matched = len(v.secrets)+i, sig
					break keys
				}
			}
		}
	}
	if key < 0 {
		return nil, fmt.Errorf("%w: no %s signature matches", ErrSignature, v.kinds())
	}
	return &Result{
		ID:        id,
		SignedID:  id,
		Signature: matched,
		Timestamp: t,
		Key:       key,
	}, nil
}

// kinds names the signature versions this verifier checks.
func (v *standardWebhooks) kinds() string {
	switch {
	case len(v.secrets) > 0 && len(v.keys) > 0:
		return "v1 or v1a"
	case len(v.keys) > 0:
		return "v1a"
	default:
		return "v1"
	}
}

// swHeaders returns id, timestamp and signature list from the svix-* set
// when it is complete, else from the webhook-* set. A field present under
// both names with different values is ErrMalformed.
func swHeaders(h http.Header) ([3]string, error) {
	var svix, std [3]string
	var err error
	anySvix, anyStd := false, false
	for i, n := range swHeaderNames {
		if svix[i], err = OptionalHeader(h, n[0]); err != nil {
			return svix, err
		}
		if std[i], err = OptionalHeader(h, n[1]); err != nil {
			return std, err
		}
		if svix[i] != "" && std[i] != "" && svix[i] != std[i] {
			return svix, fmt.Errorf("%w: headers %s and %s differ", ErrMalformed, n[0], n[1])
		}
		anySvix = anySvix || svix[i] != ""
		anyStd = anyStd || std[i] != ""
	}
	if svix[0] != "" && svix[1] != "" && svix[2] != "" {
		return svix, nil
	}
	if std[0] != "" && std[1] != "" && std[2] != "" {
		return std, nil
	}
	// Name a missing header of the set the sender appears to use.
	set, col := std, 1
	if anySvix && !anyStd {
		set, col = svix, 0
	}
	for i := range set {
		if set[i] == "" {
			return set, fmt.Errorf("%w: missing header %s", ErrMalformed, swHeaderNames[i][col])
		}
	}
	return set, nil // not reached
}

// signStandardWebhooks: v1 with r.Secret (whsec_), v1a with r.PrivateKey
// (whsk_), both entries when both are given. svix and resend get the
// svix-* headers, standard_webhooks the webhook-* ones.
func signStandardWebhooks(name string, r SignRequest) (*Signed, error) {
	if r.Secret == "" && r.PrivateKey == "" {
		return nil, fmt.Errorf("needs a secret (whsec_..., for v1) or a private key (whsk_..., for v1a)")
	}
	id := r.ID
	if id == "" {
		id = randomID("msg_")
	}
	if strings.ContainsAny(id, ". \r\n") {
		return nil, fmt.Errorf("id must not contain dots, spaces or line breaks")
	}
	ts := unixString(r)
	msg := append([]byte(id+"."+ts+"."), r.Body...)
	var entries []string
	if r.Secret != "" {
		if strings.HasPrefix(r.Secret, "whpk_") || strings.HasPrefix(r.Secret, "whsk_") {
			return nil, fmt.Errorf("the secret is an ed25519 key; pass a whsk_ key as the private key")
		}
		key, err := DecodeWhsec(r.Secret)
		if err != nil {
			return nil, err
		}
		entries = append(entries, "v1,"+base64.StdEncoding.EncodeToString(MAC(sha256.New, key, msg)))
	}
	if r.PrivateKey != "" {
		k, err := parseEd25519Private(r.PrivateKey)
		if err != nil {
			return nil, err
		}
		entries = append(entries, "v1a,"+base64.StdEncoding.EncodeToString(ed25519.Sign(k, msg)))
	}
	col := 1
	if name == "svix" || name == "resend" {
		col = 0
	}
	s := newSigned(r.Body, contentType(r, "application/json"))
	for i, v := range []string{id, ts, strings.Join(entries, " ")} {
		s.Header.Set(swHeaderNames[i][col], v)
	}
	return s, nil
}

// keygenStandardWebhooks makes a whsk_ private key (seed ‖ public key, as
// Svix prints it) and its whpk_ public key.
func keygenStandardWebhooks() (*KeyPair, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	return &KeyPair{
		PrivateKey: "whsk_" + base64.StdEncoding.EncodeToString(priv),
		PublicKey:  "whpk_" + base64.StdEncoding.EncodeToString(pub),
	}, nil
}

// SignsBody is true: Standard Webhooks sign id.timestamp.body; the signed
// webhook-id is already the default key.
func (v *standardWebhooks) SignsBody() bool { return true }

var (
	_ Timestamped = (*standardWebhooks)(nil)
	_ BodySigner  = (*standardWebhooks)(nil)
)
