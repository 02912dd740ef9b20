package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// -next respond: both targets answer every delivery, the ratio is printed,
// and a delivery the gate refuses fails the run instead of being measured.
func TestRunRespondSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Caddy")
	}
	signers["bench-bad"] = func() (signer, error) { return badSigner{}, nil }
	defer delete(signers, "bench-bad")
	for _, tc := range []struct {
		provider string
		fail     bool
	}{
		{"standard_webhooks", false},
		{"bench-bad", true},
	} {
		t.Run(tc.provider, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var out bytes.Buffer
			o := options{provider: tc.provider, n: 40, c: 4, size: 512, replay: true, rounds: 2, timeout: time.Minute, next: nextRespond}
			rep, err := runRespond(ctx, o, &out)
			if tc.fail {
				if err == nil || !strings.Contains(err.Error(), "verify: 40 failed") || !strings.Contains(err.Error(), "status 401") {
					t.Fatalf("err = %v\n%s", err, out.String())
				}
				return
			}
			if err != nil {
				t.Fatalf("runRespond: %v\n%s", err, out.String())
			}
			for _, name := range []string{"respond", "verify"} {
				for _, r := range rep.results[name] {
					if r.done != o.n || r.failed != 0 || r.rps() <= 0 {
						t.Fatalf("%s: done %d failed %d (%s)", name, r.done, r.failed, r.firstErr)
					}
				}
			}
			if len(rep.ratios) != o.rounds || !strings.Contains(out.String(), "gate + respond vs respond, same round") {
				t.Fatalf("ratios %v\n%s", rep.ratios, out.String())
			}
		})
	}
}
