package verifiers

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/webhookverify/caddy-webhook-verify/verifiers/internal/fetch"

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
//     refused (ErrForbidden, "topic not allowed": 403, result forbidden). Empty allows any topic,
//     which means any AWS account that subscribes this endpoint to its topic
//     gets its messages through: set it.
//   - Certificates: pinned signing certificates (PEM text, one entry per
//     configured certificate, each may hold several certificates). When set,
//     nothing is fetched: the signature must verify with one of them
//     (Result.Key = position of the entry), and the message must still
//     pass the rules below (SigningCertURL shape and region included).
//     Pinned certificates are trusted as given: no chain, name or validity
//     check.
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
// Before anything is fetched (and with pinned certificates too), the
// message must look like one SNS could have sent, or it is ErrMalformed:
//   - every top-level JSON key is plain ASCII and no key appears twice,
//     compared without case. encoding/json matches struct fields with
//     Unicode simple case folding, where U+017F (long s) folds to "s" and
//     U+212A (Kelvin sign) to "k", so a key like "Meſſage" would reach a Go
//     application's Message field while the signature covers another one.
//   - every field of the string to sign has the shape AWS documents
//     (snsCheckSigned): no line break in any field but Message, MessageId
//     a UUID, Timestamp RFC 3339 in UTC, TopicArn an SNS topic ARN, Subject
//     at most 100 characters without control characters; so that two
//     different messages never share a string to sign.
//   - the decoded Signature has an RSA signature size: 128 to 512 bytes, a
//     multiple of 8 (SNS signs with 2048-bit keys: 256 bytes in every
//     published message).
//   - SigningCertURL is https://sns.<region>.amazonaws.com[.cn] (port 443
//     at most, no userinfo, query or fragment) with the path
//     /SimpleNotificationService-<letters and digits>.pem, as in every
//     published message (AWS uses 32 hex digits), and <region> and the
//     partition (.cn for aws-cn) are those of the TopicArn
//     (arn:aws|aws-cn|aws-us-gov:sns:<region>:<account>:<topic>): SNS signs
//     in the topic's region (the AWS SDK for Java's SnsMessageManager is
//     pinned to one region and refuses certificate hosts of another).
//
// Without pinned certificates, the certificate is then fetched from
// SigningCertURL, at most 64 KiB, cached per URL, and must chain to the
// system roots at the time of verification, name SNS in its DNS names
// (see snsCertNamed), allow digital signatures, and hold an RSA key. SNS
// serves the leaf certificate alone (github:robbiet480/go.sns issue #8:
// chain checks without the intermediate fail), so a missing intermediate is
// fetched from the certificate's issuer URL (AIA) when that is on
// amazontrust.com. A 404 for SigningCertURL is ErrSignature (no such
// signing certificate), other fetch failures are ErrUnavailable, and a
// certificate that fails the checks is ErrSignature. Since SigningCertURL is
// not signed, fetches are bounded: concurrent requests for one URL share
// one fetch, a failure is remembered per URL for 5 minutes (at most 256
// URLs), and at most 4 fetches run at once per verifier; a request that
// finds no free slot within 2 s is ErrUnavailable.

func init() {
	Register("sns", newSNS, "ses")
	RegisterSigner("sns", signSNS)
	RegisterKeygen("sns", keygenSNS)
}

const (
	snsMaxSignature = 700 // base64 characters (a 512-byte signature is 684)
	snsMinSigBytes  = 128 // RSA-1024
	snsMaxSigBytes  = 512 // RSA-4096
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
	get         *fetch.Client // bounded GETs through client
	// roots verifies fetched certificates; nil means the system roots.
	// Tests inject their own.
	roots *x509.CertPool
	// chains holds the accepted certificate chains and the failures, by
	// SigningCertURL, and runs the fetches (shared, bounded).
	chains *fetch.Cache[*certChain]
}

func newSNS(c Config) (Verifier, error) {
	if err := c.Allow("tolerance", "topic_arn", "certificate", "auto_confirm"); err != nil {
		return nil, err
	}
	v := &snsVerifier{cfg: c, tolerance: c.Tolerance > 0, autoConfirm: c.AutoConfirm,
		chains: fetch.NewCache[*certChain](certLimits)}
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
		certs, err := parseCerts([]byte(p), false)
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
	v.client = certClient(c)
	v.get = fetch.NewClient(v.client, fetch.Limits{Timeout: certFetchTimeout, MaxSize: certMaxFetch})
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
	if n := len(sig); n < snsMinSigBytes || n > snsMaxSigBytes || n%8 != 0 {
		return nil, fmt.Errorf("%w: Signature length is not an rsa signature size", ErrMalformed)
	}
	ts, err := time.Parse(time.RFC3339Nano, m["Timestamp"])
	if err != nil {
		return nil, fmt.Errorf("%w: invalid Timestamp", ErrMalformed)
	}
	certURL, err := snsURL(m["SigningCertURL"], true)
	if err != nil {
		return nil, fmt.Errorf("%w: SigningCertURL %v", ErrMalformed, err)
	}
	want, ok := snsTopicHost(m["TopicArn"])
	if !ok {
		return nil, fmt.Errorf("%w: TopicArn is not an sns topic arn", ErrMalformed)
	}
	if certURL.Hostname() != want {
		return nil, fmt.Errorf("%w: SigningCertURL is not in the region of TopicArn", ErrMalformed)
	}
	var subscribeURL *url.URL
	confirm := v.autoConfirm && m["Type"] == "SubscriptionConfirmation"
	if confirm {
		if subscribeURL, err = snsURL(m["SubscribeURL"], false); err != nil {
			return nil, fmt.Errorf("%w: SubscribeURL %v", ErrMalformed, err)
		}
	}
	if v.topics != nil && !v.topics[m["TopicArn"]] {
		return nil, fmt.Errorf("%w: topic not allowed", ErrForbidden)
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
			if _, err := fetchBytes(ctx, v.get, target, "subscription confirmation", ErrUnavailable); err != nil {
				return nil, err
			}
			return &Response{Status: http.StatusOK, Body: "subscription confirmed"}, nil
		}
	}
	return res, nil
}

// snsDefaultTopic is the topic the sns signer uses without one.
const snsDefaultTopic = "arn:aws:sns:us-east-1:123456789012:webhook-test"

// signSNS builds an SNS Notification whose Message is the body, signed
// with an RSA private key (SignatureVersion 1: SHA1withRSA, 2:
// SHA256withRSA). SigningCertURL follows the verifier's rules (the
// topic's region, /SimpleNotificationService-<hex>.pem) but points at no
// real certificate: the gate must pin the certificate (certificate
// <file>), or it would fetch from AWS and fail.
func signSNS(_ string, r SignRequest) (*Signed, error) {
	k, err := parsePrivateKey(r.PrivateKey)
	if err != nil {
		return nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("private key is not an RSA key")
	}
	if n := rk.Size(); n < snsMinSigBytes || n > snsMaxSigBytes || n%8 != 0 {
		return nil, fmt.Errorf("rsa key size is not one sns uses")
	}
	name := sha256.Sum256(x509.MarshalPKCS1PublicKey(&rk.PublicKey))
	if r.Certificate != "" {
		block, _ := pem.Decode([]byte(strings.TrimSpace(r.Certificate)))
		if block == nil || block.Type != "CERTIFICATE" {
			return nil, fmt.Errorf("certificate is not a PEM certificate")
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate does not parse")
		}
		pub, ok := cert.PublicKey.(*rsa.PublicKey)
		if !ok || !pub.Equal(&rk.PublicKey) {
			return nil, fmt.Errorf("certificate does not hold the private key's public key")
		}
		name = sha256.Sum256(block.Bytes)
	}
	topic := r.TopicARN
	if topic == "" {
		topic = snsDefaultTopic
	}
	host, ok := snsTopicHost(topic)
	if !ok {
		return nil, fmt.Errorf("topic arn is not an sns topic arn (arn:aws:sns:<region>:<account>:<name>)")
	}
	var hash crypto.Hash
	switch r.SignatureVersion {
	case "", "1":
		r.SignatureVersion, hash = "1", crypto.SHA1
	case "2":
		hash = crypto.SHA256
	default:
		return nil, fmt.Errorf("signature version must be 1 or 2")
	}
	if !utf8.Valid(r.Body) {
		return nil, fmt.Errorf("body (the sns Message) is not utf-8")
	}
	id := r.ID
	if id == "" {
		id = randomUUID()
	}
	if !snsMessageID.MatchString(id) {
		return nil, fmt.Errorf("id (the MessageId) must be a uuid")
	}
	fields := [][2]string{
		{"Type", "Notification"},
		{"MessageId", id},
		{"TopicArn", topic},
		{"Message", string(r.Body)},
		{"Timestamp", r.Now.UTC().Format("2006-01-02T15:04:05.000Z")},
		{"SignatureVersion", r.SignatureVersion},
	}
	var sts bytes.Buffer
	for _, key := range snsTypes["Notification"].signed {
		for _, f := range fields {
			if f[0] == key {
				sts.WriteString(key + "\n" + f[1] + "\n")
			}
		}
	}
	h := hash.New()
	h.Write(sts.Bytes())
	sig, err := rsa.SignPKCS1v15(rand.Reader, rk, hash, h.Sum(nil))
	if err != nil {
		return nil, err
	}
	fields = append(fields,
		[2]string{"Signature", base64.StdEncoding.EncodeToString(sig)},
		[2]string{"SigningCertURL", "https://" + host + "/SimpleNotificationService-" + hex.EncodeToString(name[:16]) + ".pem"},
		[2]string{"UnsubscribeURL", "https://" + host + "/?Action=Unsubscribe&SubscriptionArn=" + topic + ":" + randomUUID()},
	)
	var body bytes.Buffer
	body.WriteString("{\n")
	for i, f := range fields {
		v, err := jsonString(f[1])
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(&body, "  %q : %s", f[0], v)
		if i < len(fields)-1 {
			body.WriteByte(',')
		}
		body.WriteByte('\n')
	}
	body.WriteString("}")
	if _, err := snsParse(body.Bytes()); err != nil {
		return nil, fmt.Errorf("the message would be refused: %v", err)
	}
	s := newSigned(body.Bytes(), contentType(r, "text/plain; charset=UTF-8"))
	s.BodyRewritten = true
	s.Header.Set("X-Amz-Sns-Message-Type", "Notification")
	s.Header.Set("X-Amz-Sns-Message-Id", id)
	s.Header.Set("X-Amz-Sns-Topic-Arn", topic)
	return s, nil
}

// keygenSNS makes an RSA pair with a self-signed certificate for the gate
// to pin, named as Amazon's are.
func keygenSNS() (*KeyPair, error) { return selfSignedPair("sns.amazonaws.com") }
