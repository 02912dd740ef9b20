package verifiers

// Certificates that a delivery points to and the gate fetches (sns,
// paypal): the limits of those fetches, a client that follows no
// redirects, bounded GETs, PEM and DER parsing, and a chain of a leaf and
// its intermediates. What a provider's certificate must name, and where
// it may come from, stays in the provider's file.

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/fetch"
)

const (
	certFetchTimeout  = 10 * time.Second
	certMaxFetch      = 64 << 10 // certificate (and sns confirmation) response size cap
	certCacheSize     = 32       // cached certificate URLs
	certFailCacheSize = 256      // remembered failed certificate URLs
	certFailTTL       = 5 * time.Minute
	certMaxFlights    = 4               // concurrent certificate fetches per verifier
	certSlotWait      = 2 * time.Second // wait for a free fetch slot
	certFetchBurst    = 20              // certificate fetches a verifier may start at once,
	certFetchRate     = 1               // then this many a second (a flood of forged URLs)
	certMaxCerts      = 8               // certificates in one PEM bundle
)

// certLimits bound the certificate fetches of one verifier.
var certLimits = fetch.Limits{Timeout: certFetchTimeout, MaxSize: certMaxFetch, MaxEntries: certCacheSize,
	MaxFailures: certFailCacheSize, FailTTL: certFailTTL, MaxConcurrent: certMaxFlights, SlotWait: certSlotWait,
	Rate: certFetchRate, Burst: certFetchBurst}

// certClient returns the HTTP client of a verifier that fetches
// certificates: a copy of c.HTTPClient (tests inject theirs) or one with
// certFetchTimeout; either follows no redirects.
func certClient(c Config) *http.Client {
	var cl *http.Client
	if c.HTTPClient != nil {
		cp := *c.HTTPClient
		cl = &cp
	} else {
		cl = &http.Client{Timeout: certFetchTimeout}
	}
	cl.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return cl
}

// parseCerts reads PEM CERTIFICATE blocks (at most certMaxCerts, nothing
// else but whitespace around them) or, with der, DER certificates.
func parseCerts(b []byte, der bool) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	rest := bytes.TrimSpace(b)
	for len(rest) > 0 {
		block, r := pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("unexpected pem block %q", block.Type)
		}
		if len(certs) == certMaxCerts {
			return nil, errors.New("too many certificates")
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, errors.New("invalid certificate")
		}
		certs = append(certs, c)
		rest = bytes.TrimSpace(r)
	}
	switch {
	case len(certs) > 0 && len(rest) == 0:
		return certs, nil
	case len(certs) == 0 && der && len(rest) > 0:
		certs, err := x509.ParseCertificates(rest)
		if err != nil || len(certs) == 0 || len(certs) > certMaxCerts {
			return nil, errors.New("invalid certificate")
		}
		return certs, nil
	case len(certs) > 0:
		return nil, errors.New("data after the certificates")
	}
	return nil, errors.New("no pem certificate")
}

// certChain is a fetched signing certificate with the intermediates that
// came with it (or, for sns, from its issuer URL).
type certChain struct {
	leaf  *x509.Certificate
	inter *x509.CertPool
}

// newCertChain is certs[0] with the others as its intermediates.
func newCertChain(certs []*x509.Certificate) *certChain {
	ch := &certChain{leaf: certs[0], inter: x509.NewCertPool()}
	for _, c := range certs[1:] {
		ch.inter.AddCert(c)
	}
	return ch
}

// options verifies the chain against roots at now, for any key usage.
func (ch *certChain) options(roots *x509.CertPool, now time.Time) x509.VerifyOptions {
	return x509.VerifyOptions{
		Roots:         roots,
		Intermediates: ch.inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
}

// fetchBytes GETs u through get (its timeout and size cap) and returns
// the body of a 200 response. A 404 is the sentinel missing, other errors
// are ErrUnavailable; they do not repeat the URL (it comes from the
// request).
func fetchBytes(ctx context.Context, get *fetch.Client, u, what string, missing error) ([]byte, error) {
	b, err := get.Get(ctx, u, nil)
	switch {
	case errors.Is(err, fetch.ErrNotFound):
		return nil, fmt.Errorf("%w: %s not found", missing, what)
	case err != nil:
		return nil, fmt.Errorf("%w: %s fetch: %v", ErrUnavailable, what, err)
	}
	return b, nil
}
