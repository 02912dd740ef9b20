package verifiers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// The SNS envelope: its JSON read strictly, and the shape rules every field
// of the string to sign must pass before anything is fetched (see sns.go).

// The envelope's bounds.
const (
	snsMaxFields  = 64 // top-level JSON fields
	snsMaxURL     = 2048
	snsMaxSubject = 100 // characters (AWS: "less than 100")
	snsMaxToken   = 1024
)

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
