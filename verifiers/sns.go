package verifiers

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	// Register the digests used by SignatureVersion 1 and 2.
	_ "crypto/sha1"
	_ "crypto/sha256"
)

// AWS SNS message signing (also used for SES notifications, which SES
// delivers through SNS), for HTTP/S subscriptions with raw message delivery
// off: the body is the JSON envelope that carries the signature.
//
// Sources: https://docs.aws.amazon.com/sns/latest/dg/sns-verify-signature-of-message.html ,
// .../sns-verify-signature-of-message-verify-message-signature.html ,
// github:aws/aws-php-sns-message-validator src/MessageValidator.php (host rule),
// github:aws/aws-sdk-java aws-java-sdk-sns/.../message/SignatureVerifier.java and
// SnsMessageManager.java (certificate name check).
//
// Configuration (Config fields):
//   - TopicARNs: allow-list of topic ARNs; a message from any other topic is
//     refused (ErrSignature, "topic not allowed"). Empty allows any topic,
//     which means any AWS account that subscribes this endpoint to its topic
//     gets its messages through: set it.
//   - Certificates: pinned signing certificates (PEM text, one entry per
//     configured certificate, each may hold several certificates). When set,
//     nothing is fetched: the signature must verify with one of them
//     (Result.Key = position of the entry), and SigningCertURL must still
//     pass the host rules. Pinned certificates are trusted as given: no
//     chain, name or validity check.
//   - AutoConfirm: confirm SubscriptionConfirmation messages by fetching
//     their SubscribeURL (after the signature verified) and answer SNS
//     directly with 200 instead of forwarding. Requires TopicARNs.
//   - Tolerance: SNS defines no freshness window and its Timestamp is the
//     publish time, unchanged on retries (which a delivery policy can spread
//     over an hour or more). The check is therefore off unless a positive
//     tolerance is configured; 0 (the default) and negative mean no check.
//   - HTTPClient: used for certificate fetches and confirmations; nil means
//     a client with a 10 s timeout. Redirects are never followed.
//
// Without pinned certificates, the certificate is fetched from
// SigningCertURL (https, host sns.<region>.amazonaws.com[.cn], path *.pem,
// no query, userinfo or port other than 443; anything else is ErrMalformed
// and never fetched), at most 64 KiB, cached per URL, and must chain to the
// system roots at the time of verification, name sns.amazonaws.com (or the
// region's SNS host, or sns-<region>.amazonaws.com[.cn] as in the China and
// GovCloud regions) in its DNS names, allow digital signatures, and hold an
// RSA key. SNS serves the leaf certificate alone (github:robbiet480/go.sns
// issue #8: chain checks without the intermediate fail), so a missing
// intermediate is fetched from the certificate's issuer URL (AIA) when that
// is on amazontrust.com. Fetch failures are ErrUnavailable; a certificate
// that fails the checks is ErrSignature and is not cached.

func init() {
	Register("sns", newSNS, "ses")
}

const (
	snsFetchTimeout = 10 * time.Second
	snsMaxFetch     = 64 << 10 // certificate and confirmation response size cap
	snsCacheSize    = 32       // cached certificate URLs
	snsMaxFields    = 64       // top-level JSON fields
	snsMaxURL       = 2048
	snsMaxSignature = 2048 // base64 characters (an RSA-8192 signature is 1368)
	snsMaxCerts     = 8    // certificates in one PEM bundle
	snsMaxAIA       = 2    // issuer URLs tried per certificate
)

// snsHost is the AWS validators' rule for SigningCertURL hosts
// (aws-php-sns-message-validator, aws-js-sns-message-validator).
var snsHost = regexp.MustCompile(`^sns\.[a-zA-Z0-9\-]{3,}\.amazonaws\.com(\.cn)?$`)

// snsCertPath is the path rule for SigningCertURL: plain segments, ending
// in .pem (SNS uses /SimpleNotificationService-<hex>.pem).
var snsCertPath = regexp.MustCompile(`^(/[A-Za-z0-9_\-][A-Za-z0-9._\-]*)+$`)

// snsFields lists the string fields of the envelope, by lowercased name.
var snsFields = map[string]string{}

func init() {
	for _, f := range []string{"Type", "MessageId", "Token", "TopicArn", "Subject", "Message",
		"Timestamp", "SignatureVersion", "Signature", "SigningCertURL", "SubscribeURL", "UnsubscribeURL"} {
		snsFields[strings.ToLower(f)] = f
	}
}

// snsType describes the fields of one message type.
type snsType struct {
	signed    []string // string-to-sign keys, in order (included when present)
	required  []string // besides the common ones
	forbidden []string // signed for other types only: refused so the app cannot be misled
}

var (
	snsCommon = []string{"Type", "MessageId", "TopicArn", "Message", "Timestamp",
		"SignatureVersion", "Signature", "SigningCertURL"}
	snsConfirmation = snsType{
		signed:    []string{"Message", "MessageId", "SubscribeURL", "Timestamp", "Token", "TopicArn", "Type"},
		required:  []string{"Token", "SubscribeURL"},
		forbidden: []string{"Subject"},
	}
	snsTypes = map[string]snsType{
		"Notification": {
			signed:    []string{"Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"},
			forbidden: []string{"Token", "SubscribeURL"},
		},
		"SubscriptionConfirmation": snsConfirmation,
		"UnsubscribeConfirmation":  snsConfirmation,
	}
)

// snsHeaders are the unsigned x-amz-sns-* headers that must agree with the
// signed body when present.
var snsHeaders = [...]struct{ header, field string }{
	{"X-Amz-Sns-Message-Type", "Type"},
	{"X-Amz-Sns-Message-Id", "MessageId"},
	{"X-Amz-Sns-Topic-Arn", "TopicArn"},
}

type snsPinned struct {
	key   *rsa.PublicKey
	entry int // position in Config.Certificates
}

type snsVerifier struct {
	topics      map[string]bool // nil: any topic
	pinned      []snsPinned
	tolerance   bool
	cfg         Config
	autoConfirm bool
	client      *http.Client
	// roots verifies fetched certificates; nil means the system roots.
	// Tests inject their own.
	roots *x509.CertPool
	cache snsCache
}

func newSNS(c Config) (Verifier, error) {
	if err := c.Reject("secret", "public_key", "hmac", "url", "username", "password", "header"); err != nil {
		return nil, err
	}
	v := &snsVerifier{cfg: c, tolerance: c.Tolerance > 0, autoConfirm: c.AutoConfirm}
	if len(c.TopicARNs) > 0 {
		v.topics = make(map[string]bool, len(c.TopicARNs))
		for i, a := range c.TopicARNs {
			if !strings.HasPrefix(a, "arn:") || !strings.Contains(a, ":sns:") || strings.ContainsAny(a, " \t\r\n") {
				return nil, fmt.Errorf("provider %s: topic_arn %d is not an sns topic arn", c.Provider, i+1)
			}
			v.topics[a] = true
		}
	}
	if c.AutoConfirm && v.topics == nil {
		return nil, fmt.Errorf("provider %s: auto_confirm needs topic_arn, or any aws account could subscribe this endpoint", c.Provider)
	}
	for i, p := range c.Certificates {
		certs, err := snsParseCerts([]byte(p), false)
		if err != nil {
			return nil, fmt.Errorf("provider %s: certificate %d: %v", c.Provider, i+1, err)
		}
		for _, cert := range certs {
			k, ok := cert.PublicKey.(*rsa.PublicKey)
			if !ok {
				return nil, fmt.Errorf("provider %s: certificate %d: not an rsa key", c.Provider, i+1)
			}
			v.pinned = append(v.pinned, snsPinned{key: k, entry: i})
		}
	}
	if c.HTTPClient != nil {
		cl := *c.HTTPClient
		v.client = &cl
	} else {
		v.client = &http.Client{Timeout: snsFetchTimeout}
	}
	v.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return v, nil
}

// HasTimestamp reports whether the message Timestamp is checked, which is
// only when a positive tolerance is configured.
func (v *snsVerifier) HasTimestamp() bool { return v.tolerance }

func (v *snsVerifier) Verify(r *Request) (*Result, error) {
	m, err := snsParse(r.Body)
	if err != nil {
		return nil, err
	}
	typ := snsTypes[m["Type"]]
	for _, h := range snsHeaders {
		hv, err := OptionalHeader(r.Header, h.header)
		if err != nil {
			return nil, err
		}
		if hv != "" && hv != m[h.field] {
			return nil, fmt.Errorf("%w: header %s does not match %s", ErrMalformed, h.header, h.field)
		}
	}

	var hash crypto.Hash
	switch m["SignatureVersion"] {
	case "1":
		hash = crypto.SHA1
	case "2":
		hash = crypto.SHA256
	default:
		return nil, fmt.Errorf("%w: unsupported SignatureVersion", ErrMalformed)
	}
	if len(m["Signature"]) > snsMaxSignature {
		return nil, fmt.Errorf("%w: Signature too long", ErrMalformed)
	}
	sig, ok := DecodeBase64(m["Signature"])
	if !ok {
		return nil, fmt.Errorf("%w: Signature is not base64", ErrMalformed)
	}
	ts, err := time.Parse(time.RFC3339Nano, m["Timestamp"])
	if err != nil {
		return nil, fmt.Errorf("%w: invalid Timestamp", ErrMalformed)
	}
	certURL, err := snsURL(m["SigningCertURL"], true)
	if err != nil {
		return nil, fmt.Errorf("%w: SigningCertURL %v", ErrMalformed, err)
	}
	var subscribeURL *url.URL
	confirm := v.autoConfirm && m["Type"] == "SubscriptionConfirmation"
	if confirm {
		if subscribeURL, err = snsURL(m["SubscribeURL"], false); err != nil {
			return nil, fmt.Errorf("%w: SubscribeURL %v", ErrMalformed, err)
		}
	}
	if v.topics != nil && !v.topics[m["TopicArn"]] {
		return nil, fmt.Errorf("%w: topic not allowed", ErrSignature)
	}
	if v.tolerance {
		if err := CheckTimestamp(v.cfg, ts, r.Now); err != nil {
			return nil, err
		}
	}

	var sts bytes.Buffer
	for _, k := range typ.signed {
		if val, ok := m[k]; ok {
			sts.WriteString(k)
			sts.WriteByte('\n')
			sts.WriteString(val)
			sts.WriteByte('\n')
		}
	}
	h := hash.New()
	h.Write(sts.Bytes())
	digest := h.Sum(nil)

	ctx := r.Context
	if ctx == nil {
		ctx = context.Background()
	}
	key := -1
	if len(v.pinned) > 0 {
		for _, p := range v.pinned {
			if key < 0 && rsa.VerifyPKCS1v15(p.key, hash, digest, sig) == nil {
				key = p.entry
			}
		}
	} else {
		pub, err := v.certKey(ctx, certURL, r.Now)
		if err != nil {
			return nil, err
		}
		if rsa.VerifyPKCS1v15(pub, hash, digest, sig) == nil {
			key = 0
		}
	}
	if key < 0 {
		return nil, fmt.Errorf("%w: signature does not verify", ErrSignature)
	}

	res := &Result{
		ID:        m["MessageId"],
		SignedID:  m["MessageId"],
		Signature: sig,
		Timestamp: ts,
		Key:       key,
	}
	if confirm {
		// Run by the handler after the replay check, so a replayed
		// confirmation does not confirm again.
		target := subscribeURL.String()
		res.Act = func(ctx context.Context) (*Response, error) {
			if _, err := v.fetch(ctx, target, "subscription confirmation"); err != nil {
				return nil, err
			}
			return &Response{Status: http.StatusOK, Body: "subscription confirmed"}, nil
		}
	}
	return res, nil
}

// snsParse decodes the envelope: a JSON object whose known fields are
// strings (null counts as absent), with no field twice (compared without
// case, so a differently spelled duplicate cannot smuggle a second value
// past an application that matches names loosely) and nothing after it. It
// checks the Type and the fields that Type requires and forbids.
func snsParse(body []byte) (map[string]string, error) {
	if len(body) == 0 {
		return nil, fmt.Errorf("%w: empty body", ErrMalformed)
	}
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: body is not utf-8", ErrMalformed)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("%w: body is not a json object", ErrMalformed)
	}
	m := make(map[string]string, 12)
	seen := make(map[string]bool, 16)
	for n := 0; dec.More(); n++ {
		if n == snsMaxFields {
			return nil, fmt.Errorf("%w: too many fields", ErrMalformed)
		}
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("%w: invalid json", ErrMalformed)
		}
		k, _ := t.(string)
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("%w: invalid json", ErrMalformed)
		}
		lk := strings.ToLower(k)
		name, known := snsFields[lk]
		if seen[lk] {
			if known {
				return nil, fmt.Errorf("%w: duplicated field %s", ErrMalformed, name)
			}
			return nil, fmt.Errorf("%w: duplicated field", ErrMalformed)
		}
		seen[lk] = true
		if !known {
			continue
		}
		if k != name {
			return nil, fmt.Errorf("%w: field %s misspelled", ErrMalformed, name)
		}
		raw = bytes.TrimSpace(raw)
		if string(raw) == "null" {
			continue
		}
		var s string
		if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
			return nil, fmt.Errorf("%w: field %s is not a string", ErrMalformed, name)
		}
		m[name] = s
	}
	if t, err := dec.Token(); err != nil || t != json.Delim('}') {
		return nil, fmt.Errorf("%w: invalid json", ErrMalformed)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: data after the json object", ErrMalformed)
	}

	if _, ok := m["Type"]; !ok {
		return nil, fmt.Errorf("%w: missing field Type", ErrMalformed)
	}
	typ, ok := snsTypes[m["Type"]]
	if !ok {
		return nil, fmt.Errorf("%w: unknown Type", ErrMalformed)
	}
	for _, list := range [][]string{snsCommon, typ.required} {
		for _, f := range list {
			v, ok := m[f]
			if !ok || (v == "" && f != "Message") {
				return nil, fmt.Errorf("%w: missing field %s", ErrMalformed, f)
			}
		}
	}
	for _, f := range typ.forbidden {
		if _, ok := m[f]; ok {
			return nil, fmt.Errorf("%w: field %s not expected in a %s", ErrMalformed, f, m["Type"])
		}
	}
	return m, nil
}

// snsURL checks a SigningCertURL (cert) or SubscribeURL against the AWS
// host rules: https, host sns.<region>.amazonaws.com[.cn], no userinfo, no
// port other than 443, no fragment, printable ASCII only. A certificate URL
// also needs a plain path ending in .pem and no query.
func snsURL(raw string, cert bool) (*url.URL, error) {
	if raw == "" || len(raw) > snsMaxURL {
		return nil, errors.New("missing or too long")
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c <= ' ' || c >= 0x7f || c == '#' || c == '\\' || (cert && (c == '?' || c == '%')) {
			return nil, errors.New("has a forbidden character")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("is not a url")
	}
	host := u.Hostname()
	switch {
	case u.Scheme != "https":
		return nil, errors.New("is not https")
	case u.Opaque != "" || u.User != nil:
		return nil, errors.New("has userinfo")
	case u.Host != host && u.Host != host+":443":
		return nil, errors.New("has a port other than 443")
	case !snsHost.MatchString(host) || strings.HasPrefix(strings.ToLower(host), "sns.s3"):
		// Region labels never start with s3, but legacy S3 bucket hosts
		// (<bucket>.s3-<region>.amazonaws.com) would pass the AWS rule.
		return nil, errors.New("is not an sns host")
	case cert && (u.RawQuery != "" || u.ForceQuery || u.RawPath != ""):
		return nil, errors.New("has a query")
	case cert && (!snsCertPath.MatchString(u.Path) || !strings.HasSuffix(u.Path, ".pem")):
		return nil, errors.New("is not a .pem path")
	}
	return u, nil
}

// certKey returns the public key of the certificate at u, fetched (and
// cached) and checked at now.
func (v *snsVerifier) certKey(ctx context.Context, u *url.URL, now time.Time) (*rsa.PublicKey, error) {
	id := u.String()
	host := strings.ToLower(u.Hostname())
	ch := v.cache.get(id)
	if ch == nil {
		b, err := v.fetch(ctx, id, "signing certificate")
		if err != nil {
			return nil, err
		}
		certs, err := snsParseCerts(b, true)
		if err != nil {
			return nil, fmt.Errorf("%w: signing certificate unreadable", ErrUnavailable)
		}
		ch = &snsChain{leaf: certs[0], inter: x509.NewCertPool()}
		for _, c := range certs[1:] {
			ch.inter.AddCert(c)
		}
		if _, err := ch.leaf.Verify(ch.options(v.roots, now)); errors.As(err, new(x509.UnknownAuthorityError)) {
			if err := v.fetchIssuers(ctx, ch); err != nil {
				return nil, err
			}
		}
		if _, err := ch.check(v.roots, host, now); err != nil {
			return nil, err // not cached: a later request fetches again
		}
		v.cache.put(id, ch)
	}
	return ch.check(v.roots, host, now)
}

// fetchIssuers adds the intermediates named by the leaf's issuer URLs
// (Authority Information Access), when they are on amazontrust.com.
func (v *snsVerifier) fetchIssuers(ctx context.Context, ch *snsChain) error {
	tried := 0
	for _, raw := range ch.leaf.IssuingCertificateURL {
		if tried == snsMaxAIA {
			break
		}
		if !snsIssuerURL(raw) {
			continue
		}
		tried++
		b, err := v.fetch(ctx, raw, "issuer certificate")
		if err != nil {
			return err
		}
		certs, err := snsParseCerts(b, true)
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

// fetch GETs u with a timeout and returns at most snsMaxFetch bytes of a
// 200 response. Errors are ErrUnavailable and do not repeat the URL (it
// comes from the body).
func (v *snsVerifier) fetch(ctx context.Context, u, what string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, snsFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %s request", ErrUnavailable, what)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: %s fetch failed", ErrUnavailable, what)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: %s fetch returned status %d", ErrUnavailable, what, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, snsMaxFetch+1))
	if err != nil {
		return nil, fmt.Errorf("%w: %s fetch failed", ErrUnavailable, what)
	}
	if len(b) > snsMaxFetch {
		return nil, fmt.Errorf("%w: %s too large", ErrUnavailable, what)
	}
	return b, nil
}

// snsParseCerts reads PEM CERTIFICATE blocks (at most snsMaxCerts, nothing
// else but whitespace around them) or, with der, DER certificates.
func snsParseCerts(b []byte, der bool) ([]*x509.Certificate, error) {
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
		if len(certs) == snsMaxCerts {
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
		if err != nil || len(certs) == 0 || len(certs) > snsMaxCerts {
			return nil, errors.New("invalid certificate")
		}
		return certs, nil
	case len(certs) > 0:
		return nil, errors.New("data after the certificates")
	}
	return nil, errors.New("no pem certificate")
}

// snsChain is a fetched signing certificate with the intermediates that
// came with it or from its issuer URL.
type snsChain struct {
	leaf  *x509.Certificate
	inter *x509.CertPool
}

func (ch *snsChain) options(roots *x509.CertPool, now time.Time) x509.VerifyOptions {
	return x509.VerifyOptions{
		Roots:         roots,
		Intermediates: ch.inter,
		CurrentTime:   now,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
}

// check verifies the chain at now and that the certificate is issued for
// SNS (host is the SigningCertURL host) and can sign. Failures are
// ErrSignature.
func (ch *snsChain) check(roots *x509.CertPool, host string, now time.Time) (*rsa.PublicKey, error) {
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
// wildcard) sns.amazonaws.com[.cn], the SigningCertURL host, or
// sns-<region>.amazonaws.com[.cn] (the names the AWS SDK for Java expects,
// the last for China and GovCloud), in its DNS names or, if it has none,
// its common name.
func snsCertNamed(c *x509.Certificate, host string) bool {
	rest, ok := strings.CutPrefix(host, "sns.") // <region>.amazonaws.com[.cn]
	if !ok {
		return false
	}
	want := []string{"sns.amazonaws.com", "sns.amazonaws.com.cn", host, "sns-" + rest}
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

// snsCache holds checked certificate chains by URL, first in first out.
type snsCache struct {
	mu    sync.Mutex
	m     map[string]*snsChain
	order []string
}

func (c *snsCache) get(k string) *snsChain {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[k]
}

func (c *snsCache) put(k string, ch *snsChain) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = make(map[string]*snsChain)
	}
	if _, ok := c.m[k]; ok {
		c.m[k] = ch
		return
	}
	if len(c.order) == snsCacheSize {
		delete(c.m, c.order[0])
		c.order = append(c.order[:0], c.order[1:]...)
	}
	c.m[k] = ch
	c.order = append(c.order, k)
}
