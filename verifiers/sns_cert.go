package verifiers

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/fetch"
)

// SNS signing certificates: fetched from SigningCertURL (bounded, cached,
// failures remembered), missing intermediates from the issuer URL, the
// chain, name and key checked (see sns.go).

// snsMaxAIA is the number of issuer URLs tried per certificate.
const snsMaxAIA = 2

// certKey returns the public key of the certificate at u, checked at now:
// from the cache, or fetched through v.chains (failures remembered for
// certFailTTL, concurrent requests for one URL sharing one fetch that runs
// detached from the request, at most certMaxFlights at once).
func (v *snsVerifier) certKey(ctx context.Context, u *url.URL, now time.Time) (*rsa.PublicKey, error) {
	id := u.String()
	host := strings.ToLower(u.Hostname())
	ch, err := v.chains.Get(ctx, id, now, func(ctx context.Context) (*certChain, error) {
		return v.fetchChain(ctx, id, host, now)
	})
	if err != nil {
		if errors.Is(err, fetch.ErrUnavailable) {
			// The cache's own: no free slot, or this request went away.
			return nil, fmt.Errorf("%w: signing certificate %v", ErrUnavailable, err)
		}
		return nil, err
	}
	return snsCheckChain(ch, v.roots, host, now)
}

// fetchChain fetches the certificate at id and, when it does not chain to
// the roots by itself, its issuers; and checks it at now.
func (v *snsVerifier) fetchChain(ctx context.Context, id, host string, now time.Time) (*certChain, error) {
	b, err := fetchBytes(ctx, v.get, id, "signing certificate", ErrSignature)
	if err != nil {
		return nil, err
	}
	certs, err := parseCerts(b, true)
	if err != nil {
		return nil, fmt.Errorf("%w: signing certificate unreadable", ErrUnavailable)
	}
	ch := newCertChain(certs)
	if _, err := ch.leaf.Verify(ch.options(v.roots, now)); errors.As(err, new(x509.UnknownAuthorityError)) {
		if err := v.fetchIssuers(ctx, ch); err != nil {
			return nil, err
		}
	}
	if _, err := snsCheckChain(ch, v.roots, host, now); err != nil {
		return nil, err
	}
	return ch, nil
}

// fetchIssuers adds the intermediates named by the leaf's issuer URLs
// (Authority Information Access), when they are on amazontrust.com.
func (v *snsVerifier) fetchIssuers(ctx context.Context, ch *certChain) error {
	tried := 0
	for _, raw := range ch.leaf.IssuingCertificateURL {
		if tried == snsMaxAIA {
			break
		}
		if !snsIssuerURL(raw) {
			continue
		}
		tried++
		b, err := fetchBytes(ctx, v.get, raw, "issuer certificate", ErrUnavailable)
		if err != nil {
			return err
		}
		certs, err := parseCerts(b, true)
		if err != nil {
			return fmt.Errorf("%w: issuer certificate unreadable", ErrUnavailable)
		}
		for _, c := range certs {
			ch.inter.AddCert(c)
		}
	}
	return nil
}

// snsIssuerURL accepts issuer certificate URLs on Amazon Trust Services
// hosts (http is fine: the certificate is checked against the roots).
func snsIssuerURL(raw string) bool {
	if len(raw) > snsMaxURL {
		return false
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil || u.Port() != "" || u.Opaque != "" {
		return false
	}
	host := strings.ToLower(u.Hostname())
	return strings.HasSuffix(host, ".amazontrust.com") && u.Host == u.Hostname()
}

// snsCheckChain verifies the chain at now and that the certificate is issued for
// SNS (host is the SigningCertURL host) and can sign. Failures are
// ErrSignature.
func snsCheckChain(ch *certChain, roots *x509.CertPool, host string, now time.Time) (*rsa.PublicKey, error) {
	if _, err := ch.leaf.Verify(ch.options(roots, now)); err != nil {
		var invalid x509.CertificateInvalidError
		switch {
		case errors.As(err, &invalid) && invalid.Reason == x509.Expired:
			return nil, fmt.Errorf("%w: signing certificate expired or not yet valid", ErrSignature)
		case errors.As(err, new(x509.UnknownAuthorityError)):
			return nil, fmt.Errorf("%w: signing certificate not issued by a trusted authority", ErrSignature)
		}
		return nil, fmt.Errorf("%w: signing certificate rejected", ErrSignature)
	}
	if !snsCertNamed(ch.leaf, host) {
		return nil, fmt.Errorf("%w: signing certificate not issued for sns", ErrSignature)
	}
	if ch.leaf.KeyUsage != 0 && ch.leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, fmt.Errorf("%w: signing certificate not for signatures", ErrSignature)
	}
	k, ok := ch.leaf.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("%w: signing certificate has no rsa key", ErrSignature)
	}
	return k, nil
}

// snsCertNamed reports whether the certificate names SNS: exactly (no
// wildcard) sns.amazonaws.com[.cn], the SigningCertURL host,
// sns-<region>.amazonaws.com[.cn] (China and GovCloud),
// sns-signing.<region>.amazonaws.com (opt-in regions such as ap-east-1 or
// me-south-1) or, in GovCloud, sns-us-gov-west-1.amazonaws.com (which also
// signs for us-gov-east-1): the names the AWS SDKs for Java expect
// (aws-sdk-java SnsMessageManager.resolveCertCommonName, aws-sdk-java-v2
// sns-message-manager SnsHostProvider.signingCertCommonName). They are
// looked for in the DNS names or, if there are none, the common name.
func snsCertNamed(c *x509.Certificate, host string) bool {
	rest, ok := strings.CutPrefix(host, "sns.") // <region>.amazonaws.com[.cn]
	if !ok {
		return false
	}
	want := []string{"sns.amazonaws.com", "sns.amazonaws.com.cn", host, "sns-" + rest, "sns-signing." + rest}
	if strings.HasPrefix(rest, "us-gov-") {
		want = append(want, "sns-us-gov-west-1.amazonaws.com")
	}
	names := c.DNSNames
	if len(names) == 0 {
		names = []string{c.Subject.CommonName}
	}
	for _, n := range names {
		for _, w := range want {
			if strings.EqualFold(n, w) {
				return true
			}
		}
	}
	return false
}
