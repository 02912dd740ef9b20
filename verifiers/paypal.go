package verifiers

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"hash/crc32"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/fetch"
)

// PayPal webhooks
// (https://developer.paypal.com/api/rest/webhooks/rest/#link-selfverificationmethod):
// PAYPAL-TRANSMISSION-SIG = base64(SHA256withRSA(transmission id + "|" +
// transmission time + "|" + webhook id + "|" + decimal CRC32 of the raw
// body)) under the key of the certificate at PAYPAL-CERT-URL, with
// PAYPAL-TRANSMISSION-ID, PAYPAL-TRANSMISSION-TIME (RFC 3339, checked
// against the tolerance) and PAYPAL-AUTH-ALGO (SHA256withRSA only). The
// webhook id (webhook_id, required) is the one the dashboard shows.
//
// CRC32 is not a cryptographic hash: another body with the same CRC32 is
// easy to make (4 bytes appended), so a captured signature fits other
// bodies. The signed transmission id is therefore the replay key
// (Result.SignedID), and paypal is not a BodySigner, so the handler binds
// the body to it: the SHA-256 of the first verified copy's body stays with
// the transmission id for the replay TTL, whether that copy was accepted
// or released, and a copy with another body is refused (401), while
// PayPal's retry of the same body passes. Keep replay protection on, with
// a TTL at least the tolerance.
//
// Certificates: pinned with certificate (PEM; then nothing is fetched), or
// fetched from PAYPAL-CERT-URL, which is not signed and so is held, before
// any fetch, to https://api.paypal.com or https://api.sandbox.paypal.com
// (no port, user or query) and the path /v1/notifications/certs/<name>.
// Fetching follows the rules sns's fetches follow too (certs.go): a 10 s
// timeout, at most 64 KiB, no redirects, concurrent requests for one URL
// share one fetch, at most 4 fetches at once (2 s wait for a slot, else
// 503), a failure remembered per URL for 5 minutes, and 32 certificates
// cached. A fetched certificate must chain to the system
// roots at the time of verification and name
// messageverificationcerts.paypal.com (or its sandbox twin) in its DNS
// names. A 404 is 401 (no such certificate); other fetch failures 503.

func init() {
	Register("paypal", newPayPal)
	RegisterSigner("paypal", signPayPal)
	RegisterKeygen("paypal", keygenPayPal)
}

const (
	paypalMaxSig   = 700 // base64 characters of an RSA-4096 signature and some
	paypalMinBytes = 256 // RSA-2048
	paypalMaxBytes = 512 // RSA-4096
	paypalMaxURL   = 512
)

var (
	paypalID       = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)
	paypalCertPath = regexp.MustCompile(`^/v1/notifications/certs/[A-Za-z0-9-]{1,128}$`)
	paypalHosts    = map[string]string{
		"api.paypal.com":         "messageverificationcerts.paypal.com",
		"api.sandbox.paypal.com": "messageverificationcerts.sandbox.paypal.com",
	}
)

type paypal struct {
	cfg       Config
	webhookID string
	pinned    []*rsa.PublicKey
	client    *http.Client
	// roots verifies fetched certificates; nil means the system roots.
	roots *x509.CertPool

	// get makes the bounded GETs; chains caches the certificates and the
	// failures, and shares and bounds the fetches (internal/fetch, with
	// the certificate limits of certs.go).
	get    *fetch.Client
	chains *fetch.Cache[*certChain]
}

func newPayPal(c Config) (Verifier, error) {
	if err := c.Allow("webhook_id", "certificate", "tolerance"); err != nil {
		return nil, err
	}
	id := strings.TrimSpace(c.WebhookID)
	if id == "" {
		return nil, fmt.Errorf("provider %s needs webhook_id (the webhook's id in the PayPal dashboard)", c.Provider)
	}
	if !paypalID.MatchString(id) {
		return nil, fmt.Errorf("provider %s: webhook_id must be 1 to 64 letters, digits or '-'", c.Provider)
	}
	v := &paypal{cfg: c, webhookID: id, chains: fetch.NewCache[*certChain](certLimits)}
	for i, p := range c.Certificates {
		certs, err := parseCerts([]byte(p), false)
		if err != nil {
			return nil, fmt.Errorf("provider %s: certificate %d: %v", c.Provider, i+1, err)
		}
		k, ok := certs[0].PublicKey.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("provider %s: certificate %d has no RSA key", c.Provider, i+1)
		}
		v.pinned = append(v.pinned, k)
	}
	v.client = certClient(c)
	v.get = fetch.NewClient(v.client, certLimits)
	return v, nil
}

// HasTimestamp reports whether PAYPAL-TRANSMISSION-TIME is checked.
func (v *paypal) HasTimestamp() bool {
	_, on := v.cfg.EffectiveTolerance()
	return on
}

func (v *paypal) Verify(r *Request) (*Result, error) {
	h := map[string]string{}
	for _, name := range []string{"PAYPAL-TRANSMISSION-ID", "PAYPAL-TRANSMISSION-TIME", "PAYPAL-TRANSMISSION-SIG", "PAYPAL-CERT-URL", "PAYPAL-AUTH-ALGO"} {
		s, err := Header(r.Header, name)
		if err != nil {
			return nil, err
		}
		h[name] = s
	}
	if h["PAYPAL-AUTH-ALGO"] != "SHA256withRSA" {
		return nil, fmt.Errorf("%w: PAYPAL-AUTH-ALGO is not SHA256withRSA", ErrMalformed)
	}
	id := h["PAYPAL-TRANSMISSION-ID"]
	if !paypalID.MatchString(id) {
		return nil, fmt.Errorf("%w: PAYPAL-TRANSMISSION-ID must be 1 to 64 letters, digits or '-'", ErrMalformed)
	}
	tsStr := h["PAYPAL-TRANSMISSION-TIME"]
	ts, err := paypalTime(tsStr)
	if err != nil {
		return nil, err
	}
	if len(h["PAYPAL-TRANSMISSION-SIG"]) > paypalMaxSig {
		return nil, fmt.Errorf("%w: PAYPAL-TRANSMISSION-SIG too long", ErrMalformed)
	}
	sig, err := base64.StdEncoding.DecodeString(h["PAYPAL-TRANSMISSION-SIG"])
	if err != nil || len(sig) < paypalMinBytes || len(sig) > paypalMaxBytes {
		return nil, fmt.Errorf("%w: PAYPAL-TRANSMISSION-SIG is not a base64 RSA signature", ErrMalformed)
	}
	u, err := paypalCertURL(h["PAYPAL-CERT-URL"])
	if err != nil {
		return nil, err
	}
	if err := CheckTimestamp(v.cfg, ts, r.Now); err != nil {
		return nil, err
	}
	signed := id + "|" + tsStr + "|" + v.webhookID + "|" + strconv.FormatUint(uint64(crc32.ChecksumIEEE(r.Body)), 10)
	digest := sha256.Sum256([]byte(signed))

	keys := v.pinned
	if len(keys) == 0 {
		ctx := r.Context
		if ctx == nil {
			ctx = context.Background()
		}
		k, err := v.certKey(ctx, u, r.Now)
		if err != nil {
			return nil, err
		}
		keys = []*rsa.PublicKey{k}
	}
	match := -1
	for i, k := range keys {
		if rsa.VerifyPKCS1v15(k, crypto.SHA256, digest[:], sig) == nil && match < 0 {
			match = i
		}
	}
	if match < 0 {
		return nil, fmt.Errorf("%w: PAYPAL-TRANSMISSION-SIG does not verify", ErrSignature)
	}
	return &Result{ID: id, SignedID: id, Signature: sig, Timestamp: ts, Key: match}, nil
}

// paypalTime parses a strict RFC 3339 transmission time.
func paypalTime(s string) (time.Time, error) {
	t, ok := parseRFC3339(s)
	if !ok {
		return time.Time{}, fmt.Errorf("%w: PAYPAL-TRANSMISSION-TIME is not an RFC 3339 time", ErrMalformed)
	}
	return t, nil
}

// paypalCertURL checks PAYPAL-CERT-URL before anything is fetched.
func paypalCertURL(raw string) (*url.URL, error) {
	bad := fmt.Errorf("%w: PAYPAL-CERT-URL is not a PayPal certificate URL", ErrMalformed)
	if len(raw) > paypalMaxURL {
		return nil, bad
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "https" || u.User != nil || u.Opaque != "" || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.Host != u.Hostname() {
		return nil, bad
	}
	if _, ok := paypalHosts[u.Host]; !ok || !paypalCertPath.MatchString(u.Path) || u.RawPath != "" {
		return nil, bad
	}
	return u, nil
}

// certKey returns the key of the certificate at u, checked at now: cached,
// or fetched through v.chains (one fetch per URL at a time, detached from
// the request; failures remembered; at most certMaxFlights at once).
func (v *paypal) certKey(ctx context.Context, u *url.URL, now time.Time) (*rsa.PublicKey, error) {
	id := u.String()
	host := paypalHosts[u.Host]
	ch, err := v.chains.Get(ctx, id, now, func(ctx context.Context) (*certChain, error) {
		return v.fetchChain(ctx, id, host, now)
	})
	if err != nil {
		if errors.Is(err, fetch.ErrUnavailable) {
			return nil, fmt.Errorf("%w: certificate %v", ErrUnavailable, err)
		}
		return nil, err
	}
	return paypalCheckChain(ch, v.roots, host, now)
}

func (v *paypal) fetchChain(ctx context.Context, id, host string, now time.Time) (*certChain, error) {
	b, err := fetchBytes(ctx, v.get, id, "paypal certificate", ErrSignature)
	if err != nil {
		return nil, err
	}
	certs, err := parseCerts(b, false)
	if err != nil {
		return nil, fmt.Errorf("%w: paypal certificate unreadable", ErrUnavailable)
	}
	ch := newCertChain(certs)
	if _, err := paypalCheckChain(ch, v.roots, host, now); err != nil {
		return nil, err
	}
	return ch, nil
}

// paypalCheckChain verifies the chain at now and that the leaf names host and
// holds an RSA key.
func paypalCheckChain(ch *certChain, roots *x509.CertPool, host string, now time.Time) (*rsa.PublicKey, error) {
	if _, err := ch.leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: ch.inter, CurrentTime: now, DNSName: host,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return nil, fmt.Errorf("%w: paypal certificate not trusted", ErrSignature)
	}
	k, ok := ch.leaf.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: paypal certificate has no RSA key", ErrSignature)
	}
	return k, nil
}

// paypalSignCertURL is the PAYPAL-CERT-URL the signer sends: a well-formed
// PayPal certificate URL, never fetched by a gate that pins the
// certificate (keygen's), which a signed delivery for local testing needs.
const paypalSignCertURL = "https://api.paypal.com/v1/notifications/certs/CERT-caddy-webhook-sign"

// signPayPal: PAYPAL-TRANSMISSION-SIG: base64 SHA256withRSA (the RSA
// private key) over transmission id|time|webhook id|CRC32(body), with
// r.KeyID the webhook id (required), r.ID the transmission id (random
// UUID by default) and the time in RFC 3339 (UTC, whole seconds).
func signPayPal(_ string, r SignRequest) (*Signed, error) {
	webhookID := strings.TrimSpace(r.KeyID)
	if webhookID == "" {
		return nil, fmt.Errorf("needs the webhook id (--key-id, the gate's webhook_id)")
	}
	if !paypalID.MatchString(webhookID) {
		return nil, fmt.Errorf("webhook id must be 1 to 64 letters, digits or '-'")
	}
	id := r.ID
	if id == "" {
		id = randomUUID()
	}
	if !paypalID.MatchString(id) {
		return nil, fmt.Errorf("id must be 1 to 64 letters, digits or '-'")
	}
	k, err := parsePrivateKey(r.PrivateKey)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok || rk.N.BitLen() < 2048 || rk.N.BitLen() > 4096 {
		return nil, fmt.Errorf("private key is not an RSA key of 2048 to 4096 bits")
	}
	ts := r.Now.UTC().Format(time.RFC3339)
	signed := id + "|" + ts + "|" + webhookID + "|" + strconv.FormatUint(uint64(crc32.ChecksumIEEE(r.Body)), 10)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, rk, crypto.SHA256, digest[:])
	if err != nil {
		return nil, fmt.Errorf("rsa signing failed")
	}
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set("Paypal-Transmission-Id", id)
	s.Header.Set("Paypal-Transmission-Time", ts)
	s.Header.Set("Paypal-Transmission-Sig", base64.StdEncoding.EncodeToString(sig))
	s.Header.Set("Paypal-Cert-Url", paypalSignCertURL)
	s.Header.Set("Paypal-Auth-Algo", "SHA256withRSA")
	return s, nil
}

// keygenPayPal makes an RSA pair with a self-signed certificate for the
// gate to pin, named as PayPal's are.
func keygenPayPal() (*KeyPair, error) { return selfSignedPair("messageverificationcerts.paypal.com") }

var _ Timestamped = (*paypal)(nil)
