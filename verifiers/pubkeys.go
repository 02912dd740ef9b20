package verifiers

// Public keys as the asymmetric providers' configurations give them:
// Ed25519 keys, each in its provider's text form, and the key a signature
// verifies under; PEM or base64 DER SubjectPublicKeyInfo.

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"strings"
)

// ed25519Keys decodes the configured public keys of an Ed25519 provider
// with decode; each must be 32 bytes. Errors name the key's position,
// never its value.
func ed25519Keys(c Config, form string, decode func(string) ([]byte, bool)) ([]ed25519.PublicKey, error) {
	if len(c.PublicKeys) == 0 {
		return nil, fmt.Errorf("provider %s needs public_key (%s)", c.Provider, form)
	}
	keys := make([]ed25519.PublicKey, len(c.PublicKeys))
	for i, k := range c.PublicKeys {
		if k.KeyID != "" {
			return nil, fmt.Errorf("provider %s: public_key %d: key ids are not used by this provider", c.Provider, i+1)
		}
		b, ok := decode(strings.TrimSpace(k.Key))
		if !ok || len(b) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("provider %s: public_key %d is not an Ed25519 public key as %s", c.Provider, i+1, form)
		}
		keys[i] = b
	}
	return keys, nil
}

// ed25519Match reports the position of the key under which sig verifies
// msg, trying every key.
func ed25519Match(keys []ed25519.PublicKey, msg, sig []byte) (int, bool) {
	match := -1
	for i, k := range keys {
		if ed25519.Verify(k, msg, sig) && match < 0 {
			match = i
		}
	}
	return match, match >= 0
}

// parsePKIXText decodes a public key given as PEM ("PUBLIC KEY" block) or
// as base64 DER SubjectPublicKeyInfo (whitespace inside is ignored).
func parsePKIXText(s string) (any, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, fmt.Errorf("empty key")
	}
	var der []byte
	if strings.HasPrefix(s, "-----BEGIN") {
		block, rest := pem.Decode([]byte(s))
		if block == nil || block.Type != "PUBLIC KEY" || strings.TrimSpace(string(rest)) != "" {
			return nil, fmt.Errorf("not a single PEM PUBLIC KEY block")
		}
		der = block.Bytes
	} else {
		b, ok := DecodeBase64(strings.Join(strings.Fields(s), ""))
		if !ok {
			return nil, fmt.Errorf("not PEM or base64")
		}
		der = b
	}
	k, err := x509.ParsePKIXPublicKey(der)
	if err != nil {
		return nil, fmt.Errorf("not a DER SubjectPublicKeyInfo")
	}
	return k, nil
}
