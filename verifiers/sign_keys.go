package verifiers

import (
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"sort"
	"strings"
	"sync"
	"time"
)

// Key pairs for the asymmetric providers, so a user can test the gate
// without the provider (each provider registers its generator with
// RegisterKeygen, in its own file), and the parsing of the private keys the
// signers take.

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

// KeygenFunc makes a fresh key pair for one provider.
type KeygenFunc func() (*KeyPair, error)

var (
	keygensMu sync.RWMutex
	keygens   = map[string]KeygenFunc{}
)

// RegisterKeygen makes f the key pair generator of the provider name (its
// canonical name), for GenerateKey and `caddy webhook keygen`. It is meant to
// be called from init and panics if name has one already.
func RegisterKeygen(name string, f KeygenFunc) {
	keygensMu.Lock()
	defer keygensMu.Unlock()
	if _, dup := keygens[name]; dup {
		panic("verifiers: duplicate key generator " + name)
	}
	keygens[name] = f
}

// KeygenProviders lists, sorted, the providers GenerateKey makes keys for.
func KeygenProviders() []string {
	keygensMu.RLock()
	defer keygensMu.RUnlock()
	names := make([]string, 0, len(keygens))
	for n := range keygens {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// GenerateKey returns a fresh key pair for provider (a name or an alias).
func GenerateKey(provider string) (*KeyPair, error) {
	keygensMu.RLock()
	f, ok := keygens[Canonical(provider)]
	keygensMu.RUnlock()
	if ok {
		return f()
	}
	if !Known(provider) {
		return nil, fmt.Errorf("unknown provider %q", provider)
	}
	return nil, fmt.Errorf("provider %s uses no key pair (keygen knows %s)", provider, strings.Join(KeygenProviders(), ", "))
}

// selfSignedPair is an RSA-2048 key pair with a self-signed certificate for
// the gate to pin, naming cn (the name the provider's certificates carry).
func selfSignedPair(cn string) (*KeyPair, error) {
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

// ed25519Pair is a fresh Ed25519 key pair: the private key as PEM PKCS#8,
// the public key as base64 DER SubjectPublicKeyInfo (pkixPair) and, raw, as
// its caller encodes it.
func ed25519Pair() (*KeyPair, ed25519.PublicKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	p, err := pkixPair(priv, pub)
	return p, pub, err
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
