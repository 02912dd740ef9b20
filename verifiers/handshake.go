package verifiers

// The helpers of the unsigned handshakes that echo a challenge: a strict
// query, one value a parameter, the echoed value's bounds and characters,
// a plain-text answer.

import (
	"fmt"
	"net/http"
	"net/url"
)

// handshakeMaxValue bounds a value an unsigned handshake echoes.
const handshakeMaxValue = 256

// handshakeQuery parses the raw query strictly.
func handshakeQuery(u *url.URL) (url.Values, error) {
	if len(u.RawQuery) > 4*handshakeMaxValue {
		return nil, fmt.Errorf("%w: handshake query too long", ErrMalformed)
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return nil, fmt.Errorf("%w: handshake query is not well formed", ErrMalformed)
	}
	return q, nil
}

// handshakeParam returns the single value of a query parameter: missing,
// empty or repeated is ErrMalformed.
func handshakeParam(q url.Values, name string) (string, error) {
	vs := q[name]
	switch {
	case len(vs) == 0 || vs[0] == "":
		return "", fmt.Errorf("%w: missing %s", ErrMalformed, name)
	case len(vs) > 1:
		return "", fmt.Errorf("%w: repeated %s", ErrMalformed, name)
	}
	return vs[0], nil
}

// handshakeEcho checks a value an unsigned handshake echoes: at most
// handshakeMaxValue bytes of letters, digits and -._~+/= (the characters of
// the providers' tokens: decimal, hex, base64 and URL-safe base64).
func handshakeEcho(name, s string) error {
	if s == "" || len(s) > handshakeMaxValue {
		return fmt.Errorf("%w: %s must be 1 to %d characters", ErrMalformed, name, handshakeMaxValue)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' || c == '=':
		default:
			return fmt.Errorf("%w: %s has a character outside letters, digits and -._~+/=", ErrMalformed, name)
		}
	}
	return nil
}

// handshakeText is a plain-text answer that browsers will not sniff.
func handshakeText(s string) *Response {
	return &Response{Status: http.StatusOK, Body: s, Header: http.Header{
		"Content-Type":           {"text/plain; charset=utf-8"},
		"X-Content-Type-Options": {"nosniff"},
	}}
}
