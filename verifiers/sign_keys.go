package verifiers

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Key pairs for the asymmetric providers, so a user can test the gate
// without the provider, and the parsing of the private keys the signers
// take.

// KeyPair is a fresh key pair in the forms the gate and the signer take.
type KeyPair struct {
	// PrivateKey is what SignRequest.PrivateKey (sign --private-key) takes:
	// PEM PKCS#8, or whsk_ for Standard Webhooks.
	PrivateKey string
	// PublicKey is the gate's public_key value ("" for sns and paypal).
	PublicKey string
	// Certificate is the gate's pinned certificate (sns, paypal): a self-signed PEM
	// certificate holding the public key.
	Certificate string
}

// KeygenProviders lists the providers GenerateKey makes keys for.
var KeygenProviders = []string{"standard_webhooks", "sendgrid", "mailchannels", "sns", "discord", "telnyx", "paypal"}

// GenerateKey returns a fresh key pair for provider (a name or an alias).
func GenerateKey(provider string) (*KeyPair, error) {
	switch Canonical(provider) {
	case "standard_webhooks":
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return &KeyPair{
			PrivateKey: "whsk_" + base64.StdEncoding.EncodeToString(priv),
			PublicKey:  "whpk_" + base64.StdEncoding.EncodeToString(pub),
		}, nil
	case "sendgrid":
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return nil, err
		}
		return pkixPair(k, &k.PublicKey)
	case "mailchannels":
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		return pkixPair(priv, pub)
	case "discord", "telnyx":
		// The private key as PEM PKCS#8; the public key as the gate's
		// public_key takes it: hex (discord) or base64 (telnyx).
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			return nil, err
		}
		p, err := pkixPair(priv, pub)
		if err != nil {
			return nil, err
		}
		p.PublicKey = base64.StdEncoding.EncodeToString(pub)
		if Canonical(provider) == "discord" {
			p.PublicKey = hex.EncodeToString(pub)
		}
		return p, nil
	case "sns", "paypal":
		// A self-signed certificate for the gate to pin, with the name the
		// provider's certificates carry.
		cn := "sns.amazonaws.com"
		if Canonical(provider) == "paypal" {
			cn = "messageverificationcerts.paypal.com"
		}
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, err
		}
		p, err := pkixPair(k, &k.PublicKey)
		if err != nil {
			return nil, err
		}
		p.PublicKey = ""
		tmpl := &x509.Certificate{
			SerialNumber:          big.NewInt(time.Now().UnixNano()),
			Subject:               pkix.Name{CommonName: cn, Organization: []string{"caddy webhook keygen (test only)"}},
			DNSNames:              []string{cn},
			NotBefore:             time.Now().Add(-time.Hour),
			NotAfter:              time.Now().AddDate(10, 0, 0),
			KeyUsage:              x509.KeyUsageDigitalSignature,
			BasicConstraintsValid: true,
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
		if err != nil {
			return nil, err
		}
		p.Certificate = string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
		return p, nil
	}
	if !Known(provider) {
		return nil, fmt.Errorf("unknown provider %q", provider)
	}
	return nil, fmt.Errorf("provider %s uses no key pair (keygen knows %s)", provider, strings.Join(KeygenProviders, ", "))
}

// pkixPair encodes priv as PEM PKCS#8 and pub as base64 DER
// SubjectPublicKeyInfo (the form SendGrid and MailChannels show).
func pkixPair(priv any, pub any) (*KeyPair, error) {
	p8, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return &KeyPair{
		PrivateKey: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})),
		PublicKey:  base64.StdEncoding.EncodeToString(spki),
	}, nil
}

// parsePrivateKey decodes a single PEM private key: PKCS#8 ("PRIVATE
// KEY"), PKCS#1 ("RSA PRIVATE KEY") or SEC 1 ("EC PRIVATE KEY"). Errors
// never quote the key.
func parsePrivateKey(s string) (crypto.Signer, error) {
	if strings.TrimSpace(s) == "" {
		return nil, fmt.Errorf("needs a private key")
	}
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, fmt.Errorf("private key is not PEM")
	}
	var (
		k   any
		err error
	)
	switch block.Type {
	case "PRIVATE KEY":
		k, err = x509.ParsePKCS8PrivateKey(block.Bytes)
	case "RSA PRIVATE KEY":
		k, err = x509.ParsePKCS1PrivateKey(block.Bytes)
	case "EC PRIVATE KEY":
		k, err = x509.ParseECPrivateKey(block.Bytes)
	default:
		return nil, fmt.Errorf("PEM block %q is not a private key", block.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("private key does not parse (%s)", block.Type)
	}
	signer, ok := k.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("unsupported private key type")
	}
	return signer, nil
}

// parseEd25519Private takes whsk_ + base64 (seed ‖ public key, as Svix
// prints it, or the 32-byte seed), bare base64 of either, or PEM PKCS#8.
func parseEd25519Private(s string) (ed25519.PrivateKey, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("needs a private key")
	}
	if strings.HasPrefix(s, "-----BEGIN") {
		k, err := parsePrivateKey(s)
		if err != nil {
			return nil, err
		}
		ed, ok := k.(ed25519.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("private key is not an Ed25519 key")
		}
		return ed, nil
	}
	if strings.HasPrefix(s, "whpk_") {
		return nil, fmt.Errorf("a whpk_ key is public; signing needs the whsk_ key")
	}
	b, ok := DecodeBase64(strings.TrimPrefix(s, "whsk_"))
	switch {
	case !ok:
		return nil, fmt.Errorf("private key is not whsk_ base64 or PEM")
	case len(b) == ed25519.SeedSize:
		return ed25519.NewKeyFromSeed(b), nil
	case len(b) == ed25519.PrivateKeySize:
		k := ed25519.NewKeyFromSeed(b[:ed25519.SeedSize])
		if !Equal(k[ed25519.SeedSize:], b[ed25519.SeedSize:]) {
			return nil, fmt.Errorf("private key: its public half does not belong to its seed")
		}
		return k, nil
	default:
		return nil, fmt.Errorf("private key has %d bytes, not an Ed25519 seed (32) or key (64)", len(b))
	}
}
