package verifiers

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Hygraph (formerly GraphCMS; ngrok's provider id graphcms) signed
// webhooks. The gcms-signature header reads
//
//	sign=<base64>, env=<environment name>, t=<Unix milliseconds>
//
// and sign is base64(HMAC-SHA256(secret key, payload)), where payload is
// the JavaScript JSON.stringify of {Body, EnvironmentName, TimeStamp}: the
// raw body as a JSON string, the environment name as a JSON string and the
// timestamp as a number, in that order and without white space. The secret
// key is the one set on the webhook, used as its UTF-8 bytes.
//
// Source: github:hygraph/hygraph-utils index.js
// @d130b4a3a6ce490b8da9c2506729b056f1d3bf66 (verifyWebhookSignature and
// generateWebhookSignature) and https://hygraph.com/blog/introducing-signed-webhooks.
//
// The recipe engine cannot express this: the body is escaped into the
// signed text. Every value that goes into the payload is validated first,
// so two requests can never share one: the environment name is limited to
// letters, digits, "-" and "_" (it is then its own JSON string) and the
// timestamp to digits without a leading zero; the body must be UTF-8
// (JavaScript would otherwise replace its bad bytes, so that different
// bodies share one payload). The signed timestamp is checked against the
// tolerance (the SDK checks none; Hygraph signs each attempt at send time).
// There is no delivery id; the signature is the replay key.

func init() {
	Register("graphcms", newHygraph, "hygraph")
	RegisterSigner("graphcms", signHygraph)
}

const hygraphHeader = "gcms-signature"

type hygraphVerifier struct {
	cfg     Config
	secrets [][]byte
}

func newHygraph(c Config) (Verifier, error) {
	if err := c.Allow("secret", "tolerance"); err != nil {
		return nil, err
	}
	keys, err := RawSecrets(c)
	if err != nil {
		return nil, err
	}
	return &hygraphVerifier{cfg: c, secrets: keys}, nil
}

// HasTimestamp reports whether the signed t is checked (the tolerance is
// not off).
func (v *hygraphVerifier) HasTimestamp() bool {
	_, on := v.cfg.EffectiveTolerance()
	return on
}

// SignsBody: the whole raw body is inside the signed payload.
func (v *hygraphVerifier) SignsBody() bool { return true }

func (v *hygraphVerifier) Verify(r *Request) (*Result, error) {
	h, err := Header(r.Header, hygraphHeader)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(h, ", ")
	if len(parts) != 3 {
		return nil, fmt.Errorf("%w: %s is not \"sign=..., env=..., t=...\"", ErrMalformed, hygraphHeader)
	}
	sign, ok1 := strings.CutPrefix(parts[0], "sign=")
	env, ok2 := strings.CutPrefix(parts[1], "env=")
	ts, ok3 := strings.CutPrefix(parts[2], "t=")
	if !ok1 || !ok2 || !ok3 {
		return nil, fmt.Errorf("%w: %s is not \"sign=..., env=..., t=...\"", ErrMalformed, hygraphHeader)
	}
	if !hygraphValidEnv(env) {
		return nil, fmt.Errorf("%w: %s: environment name is not letters, digits, - and _", ErrMalformed, hygraphHeader)
	}
	t, err := hygraphParseMillis(ts)
	if err != nil {
		return nil, err
	}
	sig, err := base64.StdEncoding.Strict().DecodeString(sign)
	if err != nil || len(sig) != sha256.Size {
		return nil, fmt.Errorf("%w: %s: sign is not a base64 HMAC-SHA256", ErrMalformed, hygraphHeader)
	}
	if !utf8.Valid(r.Body) {
		return nil, fmt.Errorf("%w: body is not UTF-8, which the signed payload requires", ErrMalformed)
	}
	if err := CheckTimestamp(v.cfg, t, r.Now); err != nil {
		return nil, err
	}
	payload := hygraphPayload(r.Body, env, ts)
	expected := make([][]byte, len(v.secrets))
	for i, s := range v.secrets {
		expected[i] = MAC(sha256.New, s, payload)
	}
	key, matched, ok := MatchMAC(expected, [][]byte{sig})
	if !ok {
		return nil, fmt.Errorf("%w: %s does not match", ErrSignature, hygraphHeader)
	}
	return &Result{Signature: matched, Timestamp: t, Key: key}, nil
}

// hygraphValidEnv reports whether env is a non-empty name of at most 64
// letters, digits, "-" and "_" (Hygraph environment names are such
// identifiers, and such a name is its own JSON string).
func hygraphValidEnv(env string) bool {
	if env == "" || len(env) > 64 {
		return false
	}
	for i := 0; i < len(env); i++ {
		c := env[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
		default:
			return false
		}
	}
	return true
}

// hygraphParseMillis parses t: Unix milliseconds, digits without a leading
// zero, at most 15 digits, so that JavaScript's number formatting of the
// parsed value is the text itself.
func hygraphParseMillis(s string) (time.Time, error) {
	if s == "" || len(s) > 15 || s[0] == '0' {
		return time.Time{}, fmt.Errorf("%w: %s: t is not Unix milliseconds", ErrMalformed, hygraphHeader)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return time.Time{}, fmt.Errorf("%w: %s: t is not Unix milliseconds", ErrMalformed, hygraphHeader)
		}
	}
	ms, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: %s: t is not Unix milliseconds", ErrMalformed, hygraphHeader)
	}
	return time.UnixMilli(ms), nil
}

// hygraphPayload builds JSON.stringify({Body: body, EnvironmentName: env,
// TimeStamp: ts}) for a UTF-8 body, a validated env and a validated ts.
func hygraphPayload(body []byte, env, ts string) []byte {
	out := make([]byte, 0, len(body)+len(body)/8+len(env)+len(ts)+48)
	out = append(out, `{"Body":`...)
	out = appendJSString(out, body)
	out = append(out, `,"EnvironmentName":"`...)
	out = append(out, env...)
	out = append(out, `","TimeStamp":`...)
	out = append(out, ts...)
	return append(out, '}')
}

// appendJSString appends s as JavaScript's JSON.stringify writes a string
// (ECMA-262 QuoteJSONString): '"' and '\' escaped, \b \f \n \r \t for those
// controls, \u00xx (lower-case hex) for the other controls below U+0020,
// everything else (including U+2028, U+2029, "/" and DEL) as is. s must be
// valid UTF-8, so there are no lone surrogates to escape.
func appendJSString(out, s []byte) []byte {
	const hexDigits = "0123456789abcdef"
	out = append(out, '"')
	for _, c := range s {
		switch c {
		case '"':
			out = append(out, '\\', '"')
		case '\\':
			out = append(out, '\\', '\\')
		case '\b':
			out = append(out, '\\', 'b')
		case '\f':
			out = append(out, '\\', 'f')
		case '\n':
			out = append(out, '\\', 'n')
		case '\r':
			out = append(out, '\\', 'r')
		case '\t':
			out = append(out, '\\', 't')
		default:
			if c < 0x20 {
				out = append(out, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			} else {
				out = append(out, c)
			}
		}
	}
	return append(out, '"')
}

// signHygraph builds gcms-signature for environment "master" (or r.KeyID,
// an environment name) at r.Now.
func signHygraph(_ string, r SignRequest) (*Signed, error) {
	key, err := needSecret(r)
	if err != nil {
		return nil, err
	}
	if !utf8.Valid(r.Body) {
		return nil, fmt.Errorf("body is not utf-8")
	}
	env := r.KeyID
	if env == "" {
		env = "master"
	}
	if !hygraphValidEnv(env) {
		return nil, fmt.Errorf("key id (the environment name) must be letters, digits, - and _")
	}
	ts := strconv.FormatInt(r.Now.UnixMilli(), 10)
	sig := base64.StdEncoding.EncodeToString(MAC(sha256.New, key, hygraphPayload(r.Body, env, ts)))
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set(hygraphHeader, "sign="+sig+", env="+env+", t="+ts)
	return s, nil
}

var (
	_ Timestamped = (*hygraphVerifier)(nil)
	_ BodySigner  = (*hygraphVerifier)(nil)
)
