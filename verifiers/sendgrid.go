package verifiers

// SendGrid (Twilio SendGrid) Signed Event Webhook.
//
//	X-Twilio-Email-Event-Webhook-Signature: base64(DER ECDSA-Sig-Value {r, s})
//	X-Twilio-Email-Event-Webhook-Timestamp: <unix seconds>
//
// The signature is ECDSA P-256 with SHA-256 over the timestamp header
// value followed immediately by the raw body (which ends with CRLF; the
// CRLF is signed). The verification key is the base64 DER
// SubjectPublicKeyInfo shown under Mail Settings → Signed Event Webhook (or
// returned by GET /v3/user/webhooks/event/settings/signed); PEM is accepted
// too. Several keys may be configured (one per Event Webhook, or during a
// rotation). SendGrid defines no freshness window; the configured
// tolerance is applied to the signed timestamp.
//
// Sources: https://www.twilio.com/docs/sendgrid/for-developers/tracking-events/getting-started-event-webhook-security-features ;
// github:sendgrid/sendgrid-go helpers/eventwebhook.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
)

const (
	sendgridSignatureHeader = "X-Twilio-Email-Event-Webhook-Signature"
	sendgridTimestampHeader = "X-Twilio-Email-Event-Webhook-Timestamp"
	// A DER P-256 signature is at most 72 bytes (96 base64 characters).
	sendgridMaxSignature = 128
)

func init() {
	Register("sendgrid", newSendGrid)
	RegisterSigner("sendgrid", signSendGrid)
	RegisterKeygen("sendgrid", keygenSendGrid)
}

type sendgridVerifier struct {
	cfg  Config
	keys []*ecdsa.PublicKey
}

func newSendGrid(c Config) (Verifier, error) {
	if err := c.Allow("public_key", "tolerance"); err != nil {
		return nil, err
	}
	if len(c.PublicKeys) == 0 {
		return nil, fmt.Errorf("provider %s needs at least one public_key", c.Provider)
	}
	v := &sendgridVerifier{cfg: c}
	for i, pk := range c.PublicKeys {
		if pk.KeyID != "" {
			return nil, fmt.Errorf("provider %s: public key %d: key ids are not supported", c.Provider, i+1)
		}
		k, err := parsePKIXText(pk.Key)
		if err != nil {
			return nil, fmt.Errorf("provider %s: public key %d: %v", c.Provider, i+1, err)
		}
		ec, ok := k.(*ecdsa.PublicKey)
		if !ok || ec.Curve != elliptic.P256() {
			return nil, fmt.Errorf("provider %s: public key %d is not an ECDSA P-256 key", c.Provider, i+1)
		}
		v.keys = append(v.keys, ec)
	}
	return v, nil
}

func (v *sendgridVerifier) HasTimestamp() bool { return true }

func (v *sendgridVerifier) Verify(r *Request) (*Result, error) {
	sigHeader, err := Header(r.Header, sendgridSignatureHeader)
	if err != nil {
		return nil, err
	}
	tsHeader, err := Header(r.Header, sendgridTimestampHeader)
	if err != nil {
		return nil, err
	}
	ts, err := ParseUnix(tsHeader)
	if err != nil {
		return nil, fmt.Errorf("%w: header %s", err, sendgridTimestampHeader)
	}
	if len(sigHeader) > sendgridMaxSignature {
		return nil, fmt.Errorf("%w: header %s too long", ErrMalformed, sendgridSignatureHeader)
	}
	der, ok := DecodeBase64(sigHeader)
	if !ok {
		return nil, fmt.Errorf("%w: header %s is not base64", ErrMalformed, sendgridSignatureHeader)
	}
	canonical, ok := sendgridCanonicalSignature(der)
	if !ok {
		return nil, fmt.Errorf("%w: header %s is not a DER ECDSA signature", ErrMalformed, sendgridSignatureHeader)
	}
	if err := CheckTimestamp(v.cfg, ts, r.Now); err != nil {
		return nil, err
	}

	h := sha256.New()
	h.Write([]byte(tsHeader))
	h.Write(r.Body)
	digest := h.Sum(nil)
	for i, k := range v.keys {
		if ecdsa.VerifyASN1(k, digest, der) {
			return &Result{Signature: canonical, Timestamp: ts, Key: i}, nil
		}
	}
	return nil, fmt.Errorf("%w: no configured public key verifies %s", ErrSignature, sendgridSignatureHeader)
}

// sendgridCanonicalSignature checks that der is a DER ECDSA-Sig-Value with
// r and s in [1, n-1] for P-256, and returns r ‖ min(s, n-s) as two 32-byte
// big-endian halves. ECDSA signatures are malleable ((r, s) and (r, n-s)
// both verify), so the replay key must not be the received bytes: this
// form is the same for both.
func sendgridCanonicalSignature(der []byte) ([]byte, bool) {
	var sig struct{ R, S *big.Int }
	rest, err := asn1.Unmarshal(der, &sig)
	if err != nil || len(rest) != 0 {
		return nil, false
	}
	n := elliptic.P256().Params().N
	if sig.R.Sign() <= 0 || sig.S.Sign() <= 0 || sig.R.Cmp(n) >= 0 || sig.S.Cmp(n) >= 0 {
		return nil, false
	}
	s := sig.S
	if half := new(big.Int).Rsh(n, 1); s.Cmp(half) > 0 {
		s = new(big.Int).Sub(n, s)
	}
	out := make([]byte, 64)
	sig.R.FillBytes(out[:32])
	s.FillBytes(out[32:])
	return out, true
}

// signSendGrid: base64 DER ECDSA P-256 over SHA-256(timestamp + body).
func signSendGrid(_ string, r SignRequest) (*Signed, error) {
	k, err := parsePrivateKey(r.PrivateKey)
	if err != nil {
		return nil, err
	}
	ec, ok := k.(*ecdsa.PrivateKey)
	if !ok || ec.Curve != elliptic.P256() {
		return nil, fmt.Errorf("private key is not an ECDSA P-256 key")
	}
	ts := unixString(r)
	digest := sha256.Sum256(append([]byte(ts), r.Body...))
	sig, err := ecdsa.SignASN1(rand.Reader, ec, digest[:])
	if err != nil {
		return nil, err
	}
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set(sendgridSignatureHeader, base64.StdEncoding.EncodeToString(sig))
	s.Header.Set(sendgridTimestampHeader, ts)
	return s, nil
}

// keygenSendGrid makes an ECDSA P-256 pair, the public key as SendGrid
// shows it (base64 DER).
func keygenSendGrid() (*KeyPair, error) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return pkixPair(k, &k.PublicKey)
}

// SignsBody is true: SendGrid signs timestamp + the raw body.
func (v *sendgridVerifier) SignsBody() bool { return true }

var (
	_ BodySigner = (*sendgridVerifier)(nil)
)
