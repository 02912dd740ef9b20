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
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
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
}

const (
	snsFetchTimeout  = 10 * time.Second
	snsMaxFetch      = 64 << 10 // certificate and confirmation response size cap
	snsCacheSize     = 32       // cached certificate URLs
	snsFailCacheSize = 256      // remembered failed certificate URLs
	snsFailTTL       = 5 * time.Minute
	snsMaxFlights    = 4               // concurrent certificate fetches per verifier
	snsSlotWait      = 2 * time.Second // wait for a free fetch slot
	snsFetchBurst    = 20              // certificate fetches a verifier may start at once,
	snsFetchRate     = 1               // then this many a second (a flood of forged URLs)
	snsMaxFields     = 64              // top-level JSON fields
	snsMaxURL        = 2048
	snsMaxSignature  = 700 // base64 characters (a 512-byte signature is 684)
	snsMinSigBytes   = 128 // RSA-1024
	snsMaxSigBytes   = 512 // RSA-4096
	snsMaxCerts      = 8   // certificates in one PEM bundle
	snsMaxSubject    = 100 // characters (AWS: "less than 100")
	snsMaxToken      = 1024
	snsMaxAIA        = 2 // issuer URLs tried per certificate
)

// snsLimits bound the certificate fetches of one verifier.
var snsLimits = fetch.Limits{Timeout: snsFetchTimeout, MaxSize: snsMaxFetch, MaxEntries: snsCacheSize,
	MaxFailures: snsFailCacheSize, FailTTL: snsFailTTL, MaxConcurrent: snsMaxFlights, SlotWait: snsSlotWait,
	Rate: snsFetchRate, Burst: snsFetchBurst}

// snsHost is the AWS validators' rule for SigningCertURL hosts
// (aws-php-sns-message-validator, aws-js-sns-message-validator).
var snsHost = regexp.MustCompile(`^sns\.[a-zA-Z0-9\-]{3,}\.amazonaws\.com(\.cn)?$`)

// snsCertPath is the path rule for SigningCertURL. Every published
// SigningCertURL is /SimpleNotificationService-<32 hex digits>.pem (AWS docs
// examples, the fixtures of aws-php-sns-message-validator and
// aws-sdk-java-v2 sns-message-manager); letters and digits are allowed.
var snsCertPath = regexp.MustCompile(`^/SimpleNotificationService-[A-Za-z0-9]{1,128}\.pem$`)

// snsTopicARN splits an SNS topic ARN into partition and region.
// Topic names are 1 to 256 ASCII letters, digits, hyphens and underscores,
// with ".fifo" at the end of a FIFO topic's name (CreateTopic, Name).
var snsTopicARN = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov):sns:([a-z0-9\-]{3,32}):[0-9]{12}:[A-Za-z0-9_\-]{1,256}(\.fifo)?$`)

// snsMessageID is the shape of MessageId: a UUID (every published message;
// AWS documents "a Universally Unique Identifier, unique for each message
// published").
var snsMessageID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// snsTimestamp is the shape of Timestamp: ISO 8601 / RFC 3339 in UTC with
// a Z, as SNS writes it ("2012-04-25T21:49:25.719Z").
var snsTimestamp = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$`)

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
	get         *fetch.Client // bounded GETs through client
	// roots verifies fetched certificates; nil means the system roots.
	// Tests inject their own.
	roots *x509.CertPool
	// chains holds the accepted certificate chains and the failures, by
	// SigningCertURL, and runs the fetches (shared, bounded).
	chains *fetch.Cache[*snsChain]
}

func newSNS(c Config) (Verifier, error) {
	if err := c.Allow("tolerance", "topic_arn", "certificate", "auto_confirm"); err != nil {
		return nil, err
	}
	v := &snsVerifier{cfg: c, tolerance: c.Tolerance > 0, autoConfirm: c.AutoConfirm,
		chains: fetch.NewCache[*snsChain](snsLimits)}
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
	v.get = fetch.NewClient(v.client, fetch.Limits{Timeout: snsFetchTimeout, MaxSize: snsMaxFetch})
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
			if _, err := v.fetch(ctx, target, "subscription confirmation", ErrUnavailable); err != nil {
				return nil, err
			}
			return &Response{Status: http.StatusOK, Body: "subscription confirmed"}, nil
		}
	}
	return res, nil
}

// snsParse decodes the envelope: a JSON object whose known fields are
// strings (null counts as absent), whose keys are plain ASCII (Go's
// encoding/json folds "ſ" to "s" and "K" to "k" when it matches struct
// fields), with no field twice (compared without case, so a differently
// spelled duplicate cannot smuggle a second value past an application that
// matches names loosely) and nothing after it. It checks the Type and the
// fields that Type requires and forbids.
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
		for i := 0; i < len(k); i++ {
			if k[i] >= utf8.RuneSelf {
				return nil, fmt.Errorf("%w: field name is not ascii", ErrMalformed)
			}
		}
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
	if err := snsCheckSigned(m); err != nil {
		return nil, err
	}
	return m, nil
}

// snsCheckSigned checks the shape of every field that goes into the string
// to sign, so that two different messages never share one. The string to
// sign is "<key>\n<value>\n" per field, in a fixed order, with Subject
// optional: were a single-line field allowed a line break, a Notification
// with Subject could be re-sent with MessageId "<id>\nSubject\n<subject>"
// and no Subject, under a new MessageId with the same signature. With every
// field after Message on one line (and Message first), the lines of the
// string to sign can be read back one way only.
//
// Shapes: Type one of the three; MessageId a UUID; Timestamp RFC 3339 in
// UTC (Z) within 2000..2199; TopicArn an SNS topic ARN (snsTopicARN);
// Subject at most 100 characters with no control character, line break or
// line separator (AWS: "UTF-8 text with no line breaks or control
// characters, and less than 100 characters long"); Token printable ASCII
// without spaces; SubscribeURL an SNS URL (snsURL). Message is free text
// (it is first, and may hold line breaks).
func snsCheckSigned(m map[string]string) error {
	if !snsMessageID.MatchString(m["MessageId"]) {
		return fmt.Errorf("%w: MessageId is not a uuid", ErrMalformed)
	}
	ts := m["Timestamp"]
	if !snsTimestamp.MatchString(ts) {
		return fmt.Errorf("%w: Timestamp is not an rfc 3339 utc time", ErrMalformed)
	}
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil || !InTimestampRange(t) {
		return fmt.Errorf("%w: invalid Timestamp", ErrMalformed)
	}
	if !snsTopicARN.MatchString(m["TopicArn"]) {
		return fmt.Errorf("%w: TopicArn is not an sns topic arn", ErrMalformed)
	}
	if s, ok := m["Subject"]; ok {
		if utf8.RuneCountInString(s) > snsMaxSubject {
			return fmt.Errorf("%w: Subject too long", ErrMalformed)
		}
		for _, c := range s {
			if c < ' ' || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == '\u2028' || c == '\u2029' || c == utf8.RuneError {
				return fmt.Errorf("%w: Subject has a control character or line break", ErrMalformed)
			}
		}
	}
	if tok, ok := m["Token"]; ok {
		if len(tok) > snsMaxToken {
			return fmt.Errorf("%w: Token too long", ErrMalformed)
		}
		for i := 0; i < len(tok); i++ {
			if tok[i] <= ' ' || tok[i] >= 0x7f {
				return fmt.Errorf("%w: Token has a forbidden character", ErrMalformed)
			}
		}
	}
	if u, ok := m["SubscribeURL"]; ok {
		if _, err := snsURL(u, false); err != nil {
			return fmt.Errorf("%w: SubscribeURL %v", ErrMalformed, err)
		}
	}
	return nil
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
	case cert && !snsCertPath.MatchString(u.Path):
		return nil, errors.New("is not an sns certificate path")
	}
	return u, nil
}

// snsTopicHost returns the SNS host of the topic's region,
// sns.<region>.amazonaws.com (.com.cn in the aws-cn partition), or false if
// topicARN is not an SNS topic ARN of a partition SNS signs in.
func snsTopicHost(topicARN string) (string, bool) {
	m := snsTopicARN.FindStringSubmatch(topicARN)
	if m == nil {
		return "", false
	}
	host := "sns." + m[2] + ".amazonaws.com"
	if m[1] == "aws-cn" {
		host += ".cn"
	}
	return host, true
}

// certKey returns the public key of the certificate at u, checked at now:
// from the cache, or fetched through v.chains (failures remembered for
// snsFailTTL, concurrent requests for one URL sharing one fetch that runs
// detached from the request, at most snsMaxFlights at once).
func (v *snsVerifier) certKey(ctx context.Context, u *url.URL, now time.Time) (*rsa.PublicKey, error) {
	id := u.String()
	host := strings.ToLower(u.Hostname())
	ch, err := v.chains.Get(ctx, id, now, func(ctx context.Context) (*snsChain, error) {
		return v.fetchChain(ctx, id, host, now)
	})
	if err != nil {
		if errors.Is(err, fetch.ErrUnavailable) {
			// The cache's own: no free slot, or this request went away.
			return nil, fmt.Errorf("%w: signing certificate %v", ErrUnavailable, err)
		}
		return nil, err
	}
	return ch.check(v.roots, host, now)
}

// fetchChain fetches the certificate at id and, when it does not chain to
// the roots by itself, its issuers; and checks it at now.
func (v *snsVerifier) fetchChain(ctx context.Context, id, host string, now time.Time) (*snsChain, error) {
	b, err := v.fetch(ctx, id, "signing certificate", ErrSignature)
	if err != nil {
		return nil, err
	}
	certs, err := snsParseCerts(b, true)
	if err != nil {
		return nil, fmt.Errorf("%w: signing certificate unreadable", ErrUnavailable)
	}
	ch := &snsChain{leaf: certs[0], inter: x509.NewCertPool()}
	for _, c := range certs[1:] {
		ch.inter.AddCert(c)
	}
	if _, err := ch.leaf.Verify(ch.options(v.roots, now)); errors.As(err, new(x509.UnknownAuthorityError)) {
		if err := v.fetchIssuers(ctx, ch); err != nil {
			return nil, err
		}
	}
	if _, err := ch.check(v.roots, host, now); err != nil {
		return nil, err
	}
	return ch, nil
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
		b, err := v.fetch(ctx, raw, "issuer certificate", ErrUnavailable)
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
// 200 response. A 404 is the sentinel missing, other errors are
// ErrUnavailable; they do not repeat the URL (it comes from the body).
func (v *snsVerifier) fetch(ctx context.Context, u, what string, missing error) ([]byte, error) {
	b, err := v.get.Get(ctx, u, nil)
	switch {
	case errors.Is(err, fetch.ErrNotFound):
		return nil, fmt.Errorf("%w: %s not found", missing, what)
	case err != nil:
		return nil, fmt.Errorf("%w: %s fetch: %v", ErrUnavailable, what, err)
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
