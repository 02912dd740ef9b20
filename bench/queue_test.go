package main

import (
	"bytes"
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestRunQueueSmoke runs -queue with a tiny N: every answer is the ack, the
// upstream gets every queued delivery, and the report names the goals.
func TestRunQueueSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Caddy")
	}
	targets := "file"
	if _, err := exec.LookPath("redis-server"); err == nil {
		targets = "file,redis"
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var out bytes.Buffer
	o := options{provider: "standard_webhooks", n: 40, c: 4, size: 512, replay: true, rounds: 1, timeout: time.Minute, redisServer: "redis-server"}
	qo := queueOptions{targets: targets, concurrency: 4, steady: 300 * time.Millisecond, rate: 50, appendfsync: "always"}
	rep, err := runQueue(ctx, o, qo, &out)
	if err != nil {
		t.Fatalf("runQueue: %v\n%s", err, out.String())
	}
	for _, name := range rep.targets {
		for _, r := range rep.results[name] {
			if r.done != o.n || r.failed != 0 || r.cut {
				t.Fatalf("%s: done %d failed %d cut %v (%s)", name, r.done, r.failed, r.cut, r.firstErr)
			}
		}
	}
	for _, name := range strings.Split(targets, ",") {
		if sr := rep.steady[name]; sr == nil || sr.sent != 15 || sr.failed != 0 {
			t.Fatalf("steady %s: %+v", name, sr)
		}
	}
	for _, want := range []string{"x respond", "goal >= 0.5", "p99 <= 25ms", "delivery keeps up", "upstream received"} {
		if !strings.Contains(out.String(), want) {
			t.Fatalf("output lacks %q:\n%s", want, out.String())
		}
	}
	if _, err := parseQueueTargets("file,s3"); err == nil {
		t.Fatal("an unknown store was accepted")
	}
}
