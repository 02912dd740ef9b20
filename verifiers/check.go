package verifiers

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"strings"
)

// Check reports whether a verifier for provider name can be built from
// cfg, without knowing the values that pending says are not resolved yet
// (Caddy placeholders such as {env.SECRET}, resolved at load): those are
// replaced by stand-ins of the usual forms (a hex string that is also
// valid base64, a whsec_ secret; an Ed25519 and a P-256 public key; an
// RSA certificate; an https URL; an SNS topic ARN) and the shape check
// passes when any combination builds. Literal values are checked as they
// are. Certificates are file paths in the handler's config: they count as
// pending always. The error is the factory's, as New would return it.
func Check(name string, cfg Config, pending func(string) bool) error {
	if pending == nil {
		pending = func(string) bool { return false }
	}
	base := cfg
	base.TopicARNs = replacePending(cfg.TopicARNs, pending, checkTopicARN)
	base.CustomerHandles = replacePending(cfg.CustomerHandles, pending, "placeholder")
	base.Certificates = replacePending(cfg.Certificates, func(string) bool { return true }, checkCertificate)
	for _, f := range []*string{&base.URL, &base.URLPath, &base.Username, &base.Password, &base.VerifyToken, &base.WebhookID} {
		if *f != "" && pending(*f) {
			switch f {
			case &base.URL:
				*f = "https://example.com/webhook"
			case &base.URLPath:
				*f = "/webhook"
			default:
				*f = "placeholder"
			}
		}
	}
	secretSets := [][]string{base.Secrets}
	if anyPending(cfg.Secrets, pending) {
		secretSets = nil
		for _, s := range checkSecrets {
			secretSets = append(secretSets, replacePending(cfg.Secrets, pending, s))
		}
	}
	keySets := [][]PublicKey{cfg.PublicKeys}
	if anyPendingKey(cfg.PublicKeys, pending) {
		keySets = nil
		for _, k := range checkKeys() {
			keys := make([]PublicKey, len(cfg.PublicKeys))
			for i, pk := range cfg.PublicKeys {
				keys[i] = pk
				if pending(pk.Key) {
					keys[i].Key = k
				}
			}
			keySets = append(keySets, keys)
		}
	}
	var first error
	for _, ss := range secretSets {
		for _, ks := range keySets {
			c := base
			c.Secrets, c.PublicKeys = ss, ks
			_, err := New(name, c)
			if err == nil {
				return nil
			}
			if first == nil {
				first = err
			}
		}
	}
	return first
}

// Stand-ins for values not known while parsing.
const (
	checkTopicARN = "arn:aws:sns:us-east-1:123456789012:placeholder"
	// checkCertificate is a self-signed RSA-2048 certificate made for this
	// purpose only (openssl req -x509 -newkey rsa:2048 -nodes -days 36500
	// -subj "/CN=webhook_verify check stand-in"); its key was discarded.
	checkCertificate = `-----BEGIN CERTIFICATE-----
MIIDMzCCAhugAwIBAgIUb0RNYolE6+imTRgnO5xssFueO6AwDQYJKoZIhvcNAQEL
BQAwKDEmMCQGA1UEAwwdd2ViaG9va192ZXJpZnkgY2hlY2sgc3RhbmQtaW4wIBcN
MjYxMjAxMjE1MzMwWhgPMjEyNjExMDcyMTUzMzBaMCgxJjAkBgNVBAMMHXdlYmhv
b2tfdmVyaWZ5IGNoZWNrIHN0YW5kLWluMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8A
MIIBCgKCAQEAnQE2kiQTKk+jyAMmY6rmF9nw4b/Ap1A7xHfeML8p+aYQ3V82L9SM
/uFjNU81+XNRLb5tQUwKY2Z41SakqM1UX5KzQzRmo+kUwkZ+0ZRfhTEw+t+9NVWj
BVh+VeJLlbgzV/BpyS2OGgElr9C57j5enMbkLnKZPcYMchuL1tBytz9tKWdhAKjY
Mj6c6GfjxfIPJO7GvBzj84AXJeqAl9XRTMk3+nna4NEyAJUjkAvo15d9dKR+cgpj
gK7Hr9zf4eUH372sbi2KNTeKWrOqEas2rSUWVWpkuCsZNv3pV1/czAA0VUQlb5iD
8ybzE/CnPhfNDiPwu4jGlB/ekaRRg1LkkwIDAQABo1MwUTAdBgNVHQ4EFgQUs9BM
qHdIcPERleY+G5JmoJ8DzGAwHwYDVR0jBBgwFoAUs9BMqHdIcPERleY+G5JmoJ8D
zGAwDwYDVR0TAQH/BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOCAQEAV73rizmIjujq
X115yYe3iYlt+bS5L/FzSrcSWt/6mjV9uhrOcJ6r68BnUeP9VvJJ7Is7i5MW6gIW
kXt4AszJU4HLet6UDhHmDv9JX4FWVnj1dkKJ5Tk0C3dtj05ZqiADz5ZTHd1QsqQL
h4z9jEMNMrh+twF1e462VqW0nUvRYMvQvDlI3I5qZXD7Z0FpEOQP3NVVPeEPsqFD
yq+jOQTo7j0NtLbIBxxKYKe35+vO4TbZen0ozTMf3rGHcNJlXyna3Ls//eouAf7e
LkEI0O1sD/DaRGREDfSKDkszd5GzeJ/JWCEmgYRP9L8woBYXVNe1xVu7XSj4IsuI
Qc6vmhF1pg==
-----END CERTIFICATE-----
`
)

// checkSecrets: 64 hex digits (also valid raw, hex and base64 text), and
// a whsec_ secret.
var checkSecrets = []string{
	strings.Repeat("0123456789abcdef", 4),
	"whsec_" + base64.StdEncoding.EncodeToString([]byte(strings.Repeat("k", 32))),
}

// checkKeys: an Ed25519 public key as raw base64 and as hex, and a P-256
// public key as base64 DER SubjectPublicKeyInfo.
func checkKeys() []string {
	ed := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize)).Public().(ed25519.PublicKey)
	keys := []string{base64.StdEncoding.EncodeToString(ed), hex.EncodeToString(ed)}
	scalar := make([]byte, 32)
	scalar[31] = 1
	if p, err := ecdh.P256().NewPrivateKey(scalar); err == nil {
		if der, err := x509.MarshalPKIXPublicKey(p.PublicKey()); err == nil {
			keys = append(keys, base64.StdEncoding.EncodeToString(der))
		}
	}
	return keys
}

func replacePending(vals []string, pending func(string) bool, with string) []string {
	if vals == nil {
		return nil
	}
	out := make([]string, len(vals))
	for i, v := range vals {
		out[i] = v
		if pending(v) {
			out[i] = with
		}
	}
	return out
}

func anyPending(vals []string, pending func(string) bool) bool {
	for _, v := range vals {
		if pending(v) {
			return true
		}
	}
	return false
}

func anyPendingKey(keys []PublicKey, pending func(string) bool) bool {
	for _, k := range keys {
		if pending(k.Key) {
			return true
		}
	}
	return false
}
