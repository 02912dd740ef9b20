package verifiers

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Signing: the other side of every provider that signs with a secret or a
// private key, for local testing (the `caddy webhook sign` command) and for
// tests. A signer builds exactly what the provider would send, so that the
// provider's verifier (and the provider's own SDKs) accept it.
//
// Signers never put a secret into an error, and only put one into the
// delivery where the provider itself sends it (postmark's credentials).

// SignRequest is what a signer needs. Fields a provider does not use are
// ignored; a missing one it needs is an error naming the field.
type SignRequest struct {
	// Secret is the shared secret (HMAC providers; postmark's header value).
	Secret string
	// PrivateKey is the private key of the asymmetric providers: PEM
	// (PKCS#8, or PKCS#1 / SEC 1), or whsk_ for Standard Webhooks v1a.
	PrivateKey string
	// KeyID names the key where the scheme carries one (mailchannels; for
	// hygraph, the environment name).
	KeyID string
	// Certificate is the PEM signing certificate (sns): it names the
	// SigningCertURL and must hold the private key's public key.
	Certificate string
	// Body is the payload: the raw body for most providers, the Message
	// for sns, the event data for mailgun, the mandrill_events JSON (or
	// the whole form) for mandrill.
	Body []byte
	// ContentType of the body; default application/json, or the form type
	// for form bodies where the provider decides by it.
	ContentType string
	// URL is the public URL the provider signs (twilio, mandrill).
	URL string
	// Now is the signing time; zero means time.Now().
	Now time.Time
	// ID is the delivery id (standard_webhooks, the recipe's {id},
	// mailgun's token, sns's MessageId, ...); empty means a random one.
	ID string
	// Recipe is the hmac provider's recipe.
	Recipe *HMACRecipe
	// Username and Password are postmark's Basic auth credentials; Header
	// names postmark's shared-secret header (with Secret).
	Username, Password, Header string
	// TopicARN is the sns topic (default arn:aws:sns:us-east-1:123456789012:webhook-test).
	TopicARN string
	// SignatureVersion is sns's "1" (SHA1withRSA, the default) or "2" (SHA256withRSA).
	SignatureVersion string
}

// Signed is a delivery ready to send.
type Signed struct {
	// Header holds the headers to send (Content-Type included).
	Header http.Header
	// Body is the body to send: the input body, or the one the scheme
	// builds around it (sns envelope, mailgun signature block, mandrill
	// form).
	Body []byte
	// Query is the raw query string the request must carry ("" for none):
	// the query of the signed URL (twilio, mandrill), plus twilio's
	// bodySHA256.
	Query string
	// BodyRewritten tells whether Body differs from the input body.
	BodyRewritten bool
}

// SignFunc signs one delivery; provider is the name it was asked for (an
// alias may choose the headers: svix sends svix-*).
type SignFunc func(provider string, r SignRequest) (*Signed, error)

var (
	signersMu sync.RWMutex
	signers   = map[string]SignFunc{}
)

// RegisterSigner makes a signer available for the canonical provider name
// (aliases resolve through Canonical). It panics on a duplicate.
func RegisterSigner(name string, f SignFunc) {
	signersMu.Lock()
	defer signersMu.Unlock()
	if _, dup := signers[name]; dup {
		panic("verifiers: duplicate signer " + name)
	}
	signers[name] = f
}

// Signable reports whether the provider (or alias) has a signer: one of
// its own, or the recipe engine's for a provider built on it.
func Signable(name string) bool {
	if _, ok := registeredSigner(name); ok {
		return true
	}
	return recipeSignable(name)
}

// registeredSigner is the signer registered for name's canonical provider.
func registeredSigner(name string) (SignFunc, bool) {
	signersMu.RLock()
	defer signersMu.RUnlock()
	f, ok := signers[Canonical(name)]
	return f, ok
}

// The recipe engine's side of the registry: it signs the providers built
// on the engine that have no signer of their own (zoom, the preset rows).
// The engine's signer sets both (sign_hmac.go), so that this registry
// knows no provider.
var (
	// recipeSignable reports whether name is built on the recipe engine.
	recipeSignable = func(string) bool { return false }
	// recipeSign signs for such a provider; its errors name the provider.
	recipeSign func(provider string, r SignRequest) (*Signed, error)
)

// SignerNames lists the providers and aliases that can be signed, sorted.
func SignerNames() []string {
	var out []string
	for _, n := range Names() {
		if Signable(n) {
			out = append(out, n)
		}
	}
	sort.Strings(out)
	return out
}

// Sign builds a signed delivery for provider (a name or an alias).
func Sign(provider string, r SignRequest) (*Signed, error) {
	f, ok := registeredSigner(provider)
	if r.Now.IsZero() {
		r.Now = time.Now()
	}
	if !ok {
		if !Known(provider) {
			return nil, fmt.Errorf("unknown provider %q", provider)
		}
		if !Signable(provider) {
			return nil, fmt.Errorf("provider %s has no signer (it does not sign with a secret or a private key)", provider)
		}
		return recipeSign(provider, r)
	}
	s, err := f(provider, r)
	if err != nil {
		return nil, fmt.Errorf("provider %s: %w", provider, err)
	}
	return s, nil
}

// needSecret returns the secret or an error.
func needSecret(r SignRequest) ([]byte, error) {
	if r.Secret == "" {
		return nil, fmt.Errorf("needs a secret")
	}
	return []byte(r.Secret), nil
}

// unixString is r.Now in Unix seconds.
func unixString(r SignRequest) string { return strconv.FormatInt(r.Now.Unix(), 10) }

// randomID returns prefix + 24 random hex digits.
func randomID(prefix string) string {
	b := make([]byte, 12)
	rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

// contentType is r.ContentType or def.
func contentType(r SignRequest, def string) string {
	if r.ContentType != "" {
		return r.ContentType
	}
	return def
}

// newSigned returns a Signed carrying body with the given Content-Type.
func newSigned(body []byte, ct string) *Signed {
	h := http.Header{}
	if ct != "" {
		h.Set("Content-Type", ct)
	}
	return &Signed{Header: h, Body: body}
}

// jsonString encodes s as a JSON string without HTML escaping.
func jsonString(s string) (string, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return "", err
	}
	return strings.TrimSuffix(b.String(), "\n"), nil
}

// looksJSON reports whether body starts (after white space) with { or [.
func looksJSON(body []byte) bool {
	b := bytes.TrimSpace(body)
	return len(b) > 0 && (b[0] == '{' || b[0] == '[')
}

// randomUUID returns a random (version 4) UUID.
func randomUUID() string {
	b := make([]byte, 16)
	rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
