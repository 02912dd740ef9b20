package queue

import (
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Backoff returns the wait before the next attempt after attempt failed
// attempts (1 for the first failure): exponential from min, doubling with
// each attempt up to max, with "equal jitter": the wait is drawn uniformly
// between half and all of min·2^(attempt-1) (capped at max), so it is never
// above max and never below min/2, and entries that failed together spread
// out over the second half of the interval. rnd returns a number in [0, 1)
// (nil: math/rand/v2's Float64). An attempt below 1 counts as 1; a max
// below min is min; a min of zero or less gives 0.
func Backoff(attempt int, min, max time.Duration, rnd func() float64) time.Duration {
	if min <= 0 {
		return 0
	}
	if max < min {
		max = min
	}
	base := min
	for i := 1; i < attempt && base < max; i++ {
		if base > max/2 {
			base = max
			break
		}
		base *= 2
	}
	if base > max {
		base = max
	}
	if rnd == nil {
		rnd = rand.Float64
	}
	f := rnd()
	if f < 0 || f >= 1 || f != f {
		f = 0
	}
	half := base / 2
	return half + time.Duration(f*float64(base-half))
}

// RetryAfter parses a Retry-After header value (RFC 9110 10.2.3): a number
// of seconds or an HTTP-date, taken relative to now. It returns the wait,
// bounded by max (when max > 0), and true; or false for an empty, negative,
// malformed value or a date already past, which the caller ignores.
func RetryAfter(h string, now time.Time, max time.Duration) (time.Duration, bool) {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0, false
	}
	var d time.Duration
	if isDigits(h) {
		secs, err := strconv.ParseInt(h, 10, 64)
		switch {
		case err != nil || secs > int64(1<<63-1)/int64(time.Second):
			d = 1<<63 - 1 // a valid but enormous delay: bounded below
		default:
			d = time.Duration(secs) * time.Second
		}
	} else {
		t, err := http.ParseTime(h)
		if err != nil {
			return 0, false
		}
		if d = t.Sub(now); d < 0 {
			return 0, false
		}
	}
	if max > 0 && d > max {
		d = max
	}
	return d, true
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
