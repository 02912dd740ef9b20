//go:build unix

package queue

import (
	"errors"
	"testing"
	"time"

	"github.com/webhookverify/caddy-webhook-verify/internal/redistest"
)

// TestRedisRestartSameConsumer pins what a Redis store does for a process
// restarted under the same consumer name: nothing special. Its
// predecessor's leases are times, so the entries wait for the lease's end
// (another live instance could hold them; nothing tells them apart), then
// any instance claims them; the predecessor's tokens settle nothing.
func TestRedisRestartSameConsumer(t *testing.T) {
	r := redistest.Start(t, 0, "")
	old := newTestStore(t, r.Client(t, nil), "caddy-1")
	const q, vis = "restart", time.Minute
	mustAppend(t, old, q, testEntry("a"))
	now := time.Now()
	dying := claimAt(t, old, q, 1, vis, now, 1)[0]

	restarted := newTestStore(t, r.Client(t, nil), "caddy-1")
	claimAt(t, restarted, q, 10, vis, now.Add(time.Second), 0)
	statsAre(t, restarted, q, 0, 1, 0)
	l := claimAt(t, restarted, q, 10, vis, now.Add(vis), 1)[0]
	if l.Entry.Attempts != 2 || l.Token == dying.Token {
		t.Fatalf("after the lease: attempt %d, token %q (old %q)", l.Entry.Attempts, l.Token, dying.Token)
	}
	if err := restarted.Ack(bg, q, dying); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("the predecessor's token: %v, want ErrLeaseLost", err)
	}
	if err := restarted.Ack(bg, q, l); err != nil {
		t.Fatal(err)
	}
	statsAre(t, restarted, q, 0, 0, 0)
}
