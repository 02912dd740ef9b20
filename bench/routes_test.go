package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
)

// -routes: each count is loaded and its last route answers every
// delivery; a delivery the gate refuses fails the run.
func TestRunRoutesSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Caddy")
	}
	signers["bench-bad"] = func() (signer, error) { return badSigner{}, nil }
	defer delete(signers, "bench-bad")
	for _, tc := range []struct {
		provider string
		fail     bool
	}{{"github", false}, {"bench-bad", true}} {
		t.Run(tc.provider, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			var out bytes.Buffer
			o := options{provider: tc.provider, n: 20, c: 2, size: 256, replay: true, rounds: 1, timeout: time.Minute, routes: "1,3"}
			res, err := runRoutes(ctx, o, &out)
			if tc.fail {
				if err == nil || !strings.Contains(err.Error(), "status 401") {
					t.Fatalf("err = %v\n%s", err, out.String())
				}
				return
			}
			if err != nil || len(res) != 2 {
				t.Fatalf("runRoutes: %v\n%s", err, out.String())
			}
			for _, r := range res {
				if r.last.done != o.n || r.last.failed != 0 || r.load <= 0 {
					t.Fatalf("%d routes: done %d failed %d load %v", r.routes, r.last.done, r.last.failed, r.load)
				}
			}
		})
	}
	if _, err := parseRoutes("1,0"); err == nil {
		t.Error("parseRoutes accepted 0")
	}
}
