package verifiers

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckTimestamp(t *testing.T) {
	now := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	tol := 5 * time.Minute
	on := Config{Tolerance: tol}
	off := Config{Tolerance: -1}
	huge := Config{Tolerance: 2000000 * time.Hour} // about 228 years
	for _, tc := range []struct {
		name string
		c    Config
		ts   time.Time
		want error
	}{
		{"now", on, now, nil},
		{"edge past", on, now.Add(-tol), nil},
		{"edge future", on, now.Add(tol), nil},
		{"just past", on, now.Add(-tol - time.Second), ErrTimestamp},
		{"just future", on, now.Add(tol + time.Second), ErrTimestamp},
		{"default tolerance", Config{}, now.Add(-DefaultTolerance - time.Second), ErrTimestamp},
		// now.Sub saturates at about 292 years, and negating the minimum
		// duration overflows: these passed before.
		{"12 digits of seconds", on, time.Unix(999999999999, 0), ErrTimestamp},
		{"15 digits of milliseconds", on, time.UnixMilli(999999999999999), ErrTimestamp},
		{"293 years ahead", on, now.AddDate(293, 0, 0), ErrTimestamp},
		{"293 years back", on, now.AddDate(-293, 0, 0), ErrTimestamp},
		{"year 9999", on, time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC), ErrTimestamp},
		{"zero time", on, time.Time{}, ErrTimestamp},
		// A tolerance wide enough to reach them still refuses timestamps
		// outside the years 2000..2199, and so does no check at all.
		{"huge tolerance, far future", huge, time.Date(2250, 1, 1, 0, 0, 0, 0, time.UTC), ErrTimestamp},
		{"huge tolerance, epoch", huge, time.Unix(0, 0), ErrTimestamp},
		{"huge tolerance, in range", huge, time.Date(2150, 1, 1, 0, 0, 0, 0, time.UTC), nil},
		{"off, in range", off, time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC), nil},
		{"off, far future", off, time.Unix(999999999999, 0), ErrTimestamp},
		{"off, epoch", off, time.Unix(0, 0), ErrTimestamp},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckTimestamp(tc.c, tc.ts, now)
			if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("CheckTimestamp(%v) = %v, want %v", tc.ts, err, tc.want)
			}
		})
	}
}

// bodyHMACCase is one POST to a body-HMAC provider.
type bodyHMACCase struct {
	name    string
	secrets []string
	body    string
	headers []string
	wantErr error
	key     int
}

func runBodyHMAC(t *testing.T, provider string, extra Config, cases []bodyHMACCase, leaks ...string) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := extra
			c.Secrets = tc.secrets
			v, err := New(provider, c)
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(slackRequest(tc.body, time.Now(), tc.headers...))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) || res != nil {
					t.Fatalf("err %v, res %+v; want %v", err, res, tc.wantErr)
				}
				for _, l := range leaks {
					if strings.Contains(err.Error(), l) {
						t.Fatalf("error %q leaks %q", err, l)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if res.Key != tc.key || res.Reply != nil || len(res.Signature) == 0 {
				t.Fatalf("result %+v, want key %d, no Reply", res, tc.key)
			}
			if bs, ok := v.(BodySigner); !ok || !bs.SignsBody() {
				t.Errorf("%s does not report that it signs the body", provider)
			}
		})
	}
}
