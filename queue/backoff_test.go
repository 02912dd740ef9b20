package queue

import (
	"math"
	"testing"
	"time"
)

func TestBackoff(t *testing.T) {
	const s, h = time.Second, time.Hour
	fixed := func(f float64) func() float64 { return func() float64 { return f } }
	for _, c := range []struct {
		name     string
		attempt  int
		min, max time.Duration
		rnd      float64
		want     time.Duration
	}{
		{"first, low draw", 1, 5 * s, 10 * h, 0, 2500 * time.Millisecond},
		{"first, high draw", 1, 5 * s, 10 * h, 0.999999999, 5*s - 3},
		{"first, middle", 1, 5 * s, 10 * h, 0.5, 3750 * time.Millisecond},
		{"second doubles", 2, 5 * s, 10 * h, 0, 5 * s},
		{"fifth", 5, 5 * s, 10 * h, 0, 40 * s},
		{"capped at max", 20, 5 * s, 10 * h, 0, 5 * h},
		{"capped at max, high draw", 20, 5 * s, 10 * h, 0.999999999, 10*h - 18*time.Microsecond},
		{"huge attempt does not overflow", math.MaxInt, 5 * s, 10 * h, 0.5, 7*h + 30*time.Minute},
		{"max just above a doubling", 3, 5 * s, 12 * s, 0, 6 * s},
		{"zero attempt counts as first", 0, 5 * s, 10 * h, 0, 2500 * time.Millisecond},
		{"negative attempt counts as first", -3, 5 * s, 10 * h, 0, 2500 * time.Millisecond},
		{"max below min", 4, 5 * s, s, 0, 2500 * time.Millisecond},
		{"zero min", 3, 0, h, 0.5, 0},
		{"draw out of range ignored", 1, 4 * s, h, 7, 2 * s},
		{"NaN draw ignored", 1, 4 * s, h, math.NaN(), 2 * s},
		{"max near the duration limit", 70, s, math.MaxInt64, 0, math.MaxInt64 / 2},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := Backoff(c.attempt, c.min, c.max, fixed(c.rnd)); got != c.want {
				t.Fatalf("Backoff(%d, %v, %v, %v) = %v, want %v", c.attempt, c.min, c.max, c.rnd, got, c.want)
			}
		})
	}
	// With the default source every wait is within [base/2, base].
	for attempt := 1; attempt < 30; attempt++ {
		base := min(5*s<<min(attempt-1, 40), 10*h)
		for range 50 {
			if d := Backoff(attempt, 5*s, 10*h, nil); d < base/2 || d > base {
				t.Fatalf("attempt %d: %v outside [%v, %v]", attempt, d, base/2, base)
			}
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2025, 10, 21, 7, 28, 0, 0, time.UTC)
	for _, c := range []struct {
		h    string
		max  time.Duration
		want time.Duration
		ok   bool
	}{
		{"120", time.Hour, 2 * time.Minute, true},
		{" 120 ", time.Hour, 2 * time.Minute, true},
		{"0", time.Hour, 0, true},
		{"7200", time.Hour, time.Hour, true},                    // bounded
		{"7200", 0, 2 * time.Hour, true},                        // max 0: no bound
		{"99999999999999999999999", time.Hour, time.Hour, true}, // overflow: bounded
		{"Tue, 21 Oct 2025 07:30:00 GMT", time.Hour, 2 * time.Minute, true},
		{"Tuesday, 21-Oct-25 07:29:00 GMT", time.Hour, time.Minute, true}, // RFC 850
		{"Tue Oct 21 07:38:00 2025", time.Hour, 10 * time.Minute, true},   // asctime
		{"Wed, 22 Oct 2025 07:28:00 GMT", time.Hour, time.Hour, true},     // bounded
		{"Tue, 21 Oct 2025 07:00:00 GMT", time.Hour, 0, false},            // past
		{"", time.Hour, 0, false},
		{"-5", time.Hour, 0, false},
		{"+5", time.Hour, 0, false},
		{"1.5", time.Hour, 0, false},
		{"5s", time.Hour, 0, false},
		{"soon", time.Hour, 0, false},
		{"Tue, 21 Oct 2025 07:30:00", time.Hour, 0, false}, // no zone
	} {
		got, ok := RetryAfter(c.h, now, c.max)
		if got != c.want || ok != c.ok {
			t.Errorf("RetryAfter(%q, max %v) = %v, %v; want %v, %v", c.h, c.max, got, ok, c.want, c.ok)
		}
	}
}
