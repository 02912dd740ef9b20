package verifiers

import (
	"bytes"
	"crypto/hmac"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxHeaderValue bounds the length of any single signing header we parse.
const maxHeaderValue = 8 << 10

// Header returns the single value of the named header. A missing or empty
// header, a header sent more than once, or an oversized value is ErrMalformed:
// an ambiguous header fails closed.
func Header(h http.Header, name string) (string, error) {
	return singleValue(headerValues(h, name), name)
}

// singleValue is Header on the values of the header name.
func singleValue(vals []string, name string) (string, error) {
	switch {
	case len(vals) == 0 || (len(vals) == 1 && strings.TrimSpace(vals[0]) == ""):
		return "", fmt.Errorf("%w: missing header %s", ErrMalformed, name)
	case len(vals) > 1:
		return "", fmt.Errorf("%w: duplicated header %s", ErrMalformed, name)
	case len(vals[0]) > maxHeaderValue:
		return "", fmt.Errorf("%w: header %s too long", ErrMalformed, name)
	}
	return strings.TrimSpace(vals[0]), nil
}

// OptionalHeader is like Header but returns "" with no error when the header
// is absent. A duplicated or oversized header is still ErrMalformed.
func OptionalHeader(h http.Header, name string) (string, error) {
	vals := headerValues(h, name)
	if len(vals) == 0 {
		return "", nil
	}
	return singleValue(vals, name)
}

// ParseUnix parses a decimal Unix timestamp in seconds. Only ASCII digits
// are accepted (no sign, no fraction, no exponent, at most 12 digits).
func ParseUnix(s string) (time.Time, error) {
	n, err := parseDigits(s, 12)
	if err != nil {
		return time.Time{}, err
	}
	return time.Unix(n, 0), nil
}

// ParseUnixMilli parses a decimal Unix timestamp in milliseconds.
func ParseUnixMilli(s string) (time.Time, error) {
	n, err := parseDigits(s, 15)
	if err != nil {
		return time.Time{}, err
	}
	return time.UnixMilli(n), nil
}

func parseDigits(s string, max int) (int64, error) {
	if s == "" || len(s) > max {
		return 0, fmt.Errorf("%w: invalid timestamp", ErrMalformed)
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, fmt.Errorf("%w: invalid timestamp", ErrMalformed)
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: invalid timestamp", ErrMalformed)
	}
	return n, nil
}

// Timestamps outside [MinTimestamp, MaxTimestamp) are refused by
// CheckTimestamp whatever the tolerance, even when the check is off: no
// provider signs such a time, and a far one would make durations computed
// from it (now.Sub saturates at about 292 years) meaningless.
var (
	MinTimestamp = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)
	MaxTimestamp = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// InTimestampRange reports whether ts is within [MinTimestamp,
// MaxTimestamp).
func InTimestampRange(ts time.Time) bool {
	return !ts.Before(MinTimestamp) && ts.Before(MaxTimestamp)
}

// CheckTimestamp returns ErrTimestamp when ts is outside the years
// 2000..2199 (see MinTimestamp), or, unless the check is off (see
// Config.EffectiveTolerance), more than the tolerance away from now, in
// either direction. A distance of exactly the tolerance is accepted, as in
// the Standard Webhooks reference libraries. Times are compared, never
// subtracted, so no distance overflows.
func CheckTimestamp(c Config, ts, now time.Time) error {
	if !InTimestampRange(ts) {
		return fmt.Errorf("%w: out of range", ErrTimestamp)
	}
	tol, on := c.EffectiveTolerance()
	if !on {
		return nil
	}
	if ts.Before(now.Add(-tol)) {
		return fmt.Errorf("%w: too old", ErrTimestamp)
	}
	if ts.After(now.Add(tol)) {
		return fmt.Errorf("%w: in the future", ErrTimestamp)
	}
	return nil
}

// Equal compares two byte slices in constant time (for equal lengths; the
// length itself is not secret).
func Equal(a, b []byte) bool {
	return subtle.ConstantTimeCompare(a, b) == 1
}

// EqualString compares two strings in constant time.
func EqualString(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// MAC computes the HMAC of the concatenation of parts under key.
func MAC(h func() hash.Hash, key []byte, parts ...[]byte) []byte {
	m := hmac.New(h, key)
	for _, p := range parts {
		m.Write(p)
	}
	return m.Sum(nil)
}

// DecodeHex decodes a hex signature, either case. An invalid value returns
// nil, false.
func DecodeHex(s string) ([]byte, bool) {
	b, err := hex.DecodeString(s)
	if err != nil || len(b) == 0 {
		return nil, false
	}
	return b, true
}

// DecodeBase64 decodes standard base64 (padding optional) or, failing that,
// URL-safe base64. An invalid value returns nil, false.
func DecodeBase64(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) > 0 {
			return b, true
		}
	}
	return nil, false
}

// DecodeWhsec decodes a Standard Webhooks secret: "whsec_" followed by
// base64, or bare base64. The result is the HMAC key.
func DecodeWhsec(s string) ([]byte, error) {
	s = strings.TrimPrefix(s, "whsec_")
	b, ok := DecodeBase64(s)
	if !ok {
		return nil, fmt.Errorf("secret is not whsec_ base64")
	}
	return b, nil
}

// RawSecrets converts configured secrets to keys used verbatim (UTF-8
// bytes). It rejects an empty list or an empty secret.
func RawSecrets(c Config) ([][]byte, error) {
	if len(c.Secrets) == 0 {
		return nil, fmt.Errorf("provider %s needs at least one secret", c.Provider)
	}
	keys := make([][]byte, len(c.Secrets))
	for i, s := range c.Secrets {
		if s == "" {
			return nil, fmt.Errorf("provider %s: secret %d is empty", c.Provider, i+1)
		}
		keys[i] = []byte(s)
	}
	return keys, nil
}

// MatchMAC compares every candidate signature against the expected MAC of
// every key, in constant time per comparison, and returns the index of the
// matching key and the matching signature. It goes through all pairs even
// after a match so that timing does not reveal which pair matched.
func MatchMAC(expected [][]byte, candidates [][]byte) (key int, sig []byte, ok bool) {
	key = -1
	for i, e := range expected {
		for _, c := range candidates {
			if subtle.ConstantTimeCompare(e, c) == 1 && key < 0 {
				key, sig = i, c
			}
		}
	}
	return key, sig, key >= 0
}

// looseEqual reports whether a matches name the way some reader
// may match it: ignoring case by Unicode simple folding (Go's
// encoding/json and strings.EqualFold: "ſ" is "s", "K" is "k") or after
// upper- or lower-casing (.NET's invariant culture: "ı" upper-cases to "I").
func looseEqual(a, name string) bool {
	return strings.EqualFold(a, name) || strings.EqualFold(strings.ToUpper(a), name) ||
		strings.EqualFold(strings.ToLower(a), name)
}

// jsonMembers walks one JSON object and returns the raw values of
// the named members (exact, case-sensitive names). A named member given
// twice, a value that is not an object, or trailing data is ErrMalformed.
// With strict, so is a member whose name matches a named one only loosely
// (looseEqual: "Token", "ſignature") and any member whose name is
// not plain ASCII, as in the SNS verifier: an upstream whose decoder folds
// case (Go's encoding/json does) would read those instead. Other members
// are skipped. Errors never quote the input.
func jsonMembers(data []byte, strict bool, names ...string) (map[string]json.RawMessage, error) {
	bad := fmt.Errorf("%w: invalid JSON body", ErrMalformed)
	dec := json.NewDecoder(bytes.NewReader(data))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, bad
	}
	out := make(map[string]json.RawMessage, len(names))
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, bad
		}
		key, ok := tok.(string)
		if !ok {
			return nil, bad
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, bad
		}
		if strict {
			for i := 0; i < len(key); i++ {
				if key[i] >= utf8.RuneSelf {
					return nil, fmt.Errorf("%w: JSON member name is not ascii", ErrMalformed)
				}
			}
		}
		for _, n := range names {
			if key != n {
				if strict && looseEqual(key, n) {
					return nil, fmt.Errorf("%w: JSON member %s in another spelling", ErrMalformed, n)
				}
				continue
			}
			if _, dup := out[key]; dup {
				return nil, fmt.Errorf("%w: duplicated JSON member %s", ErrMalformed, key)
			}
			out[key] = raw
		}
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, bad
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, bad
	}
	return out, nil
}

// validID reports whether id is a plausible delivery or message id: 1 to
// 128 letters, digits, '-', '_' or '.' (UUIDs and the like).
func validID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// parseRFC3339 parses a strict RFC 3339 timestamp
// (YYYY-MM-DDTHH:MM:SS[.fraction](Z|±hh:mm)); Go's parser alone would also
// take some variants, so the text must round-trip its shape.
func parseRFC3339(s string) (time.Time, bool) {
	if len(s) < 20 || len(s) > 40 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, false
	}
	return t, true
}
