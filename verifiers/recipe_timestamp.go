package verifiers

import (
	"fmt"
	"strings"
	"time"
)

// The recipe engine's timestamp parsers: Unix seconds, milliseconds, either
// by length, and strict RFC 3339 / ISO 8601 (timestamp_unit s, ms, auto,
// rfc3339, iso8601).

// recipeNoLeadingZero refuses Unix timestamps with a leading zero: no
// provider sends one, and "0" + digits is the same instant as the digits,
// which would let a byte move between the timestamp and its neighbour.
func recipeNoLeadingZero(s string) error {
	if len(s) > 1 && s[0] == '0' {
		return fmt.Errorf("%w: invalid timestamp", ErrMalformed)
	}
	return nil
}

func recipeParseSeconds(s string) (time.Time, error) {
	if err := recipeNoLeadingZero(s); err != nil {
		return time.Time{}, err
	}
	return ParseUnix(s)
}

func recipeParseMillis(s string) (time.Time, error) {
	if err := recipeNoLeadingZero(s); err != nil {
		return time.Time{}, err
	}
	return ParseUnixMilli(s)
}

// recipeParseAuto parses a Unix timestamp whose unit is told by its length:
// 13 digits or more are milliseconds, fewer are seconds.
func recipeParseAuto(s string) (time.Time, error) {
	if len(s) >= 13 {
		return recipeParseMillis(s)
	}
	return recipeParseSeconds(s)
}

// recipeParseISO parses an RFC 3339 timestamp strictly:
// YYYY-MM-DDTHH:MM:SS, an optional fraction of 1 to 9 digits, then "Z" or
// ±hh:mm; with zoneRequired false (ISO 8601) the zone may be left out
// (UTC). "T" and "Z" must be upper case; nothing else is accepted.
func recipeParseISO(s string, zoneRequired bool) (time.Time, error) {
	bad := fmt.Errorf("%w: invalid timestamp", ErrMalformed)
	const layout = "dddd-dd-ddTdd:dd:dd"
	if len(s) < len(layout) || len(s) > 40 {
		return time.Time{}, bad
	}
	for i := 0; i < len(layout); i++ {
		if layout[i] == 'd' {
			if s[i] < '0' || s[i] > '9' {
				return time.Time{}, bad
			}
		} else if s[i] != layout[i] {
			return time.Time{}, bad
		}
	}
	rest := s[len(layout):]
	if strings.HasPrefix(rest, ".") {
		n := 1
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			n++
		}
		if n == 1 || n > 10 {
			return time.Time{}, bad
		}
		rest = rest[n:]
	}
	zoned := s
	switch {
	case rest == "" && !zoneRequired:
		zoned = s + "Z"
	case rest == "Z":
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':' &&
		recipeAllDigits(rest[1:3]) && recipeAllDigits(rest[4:6]):
	default:
		return time.Time{}, bad
	}
	ts, err := time.Parse(time.RFC3339Nano, zoned)
	if err != nil {
		return time.Time{}, bad
	}
	return ts, nil
}
func recipeAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
