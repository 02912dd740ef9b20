package queue

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/webhookverify/caddy-webhook-verify/internal/redistest"
)

// The Redis store's keys and scripts: one round trip an operation, and
// every key of a queue in one Cluster slot.

// countingHook counts the round trips to Redis (a pipeline is one).
type countingHook struct{ n atomic.Int64 }

func (h *countingHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *countingHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error { h.n.Add(1); return next(ctx, cmd) }
}

func (h *countingHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error { h.n.Add(1); return next(ctx, cmds) }
}

// TestRedisRoundTrips: every operation is one round trip once the scripts
// are loaded (and the queue registered).
func TestRedisRoundTrips(t *testing.T) {
	r := redistest.Start(t, 0, "")
	c := r.Client(t, nil)
	h := new(countingHook)
	c.AddHook(h)
	s := newTestStore(t, c, "")
	const q = "rt"
	now := time.Now().Add(time.Hour) // everything appended below is due
	warm := func() {
		mustAppend(t, s, q, testEntry("warm"))
		l := claimAt(t, s, q, 1, time.Minute, now, 1)[0]
		s.Retry(bg, q, l, now, Outcome{})
		l = claimAt(t, s, q, 1, time.Minute, now, 1)[0]
		s.Dead(bg, q, l, Outcome{})
		s.Stats(bg, q)
		s.Requeue(bg, q, "")
		l = claimAt(t, s, q, 1, time.Minute, now, 1)[0]
		s.Ack(bg, q, l)
	}
	warm()
	var l Lease
	for _, op := range []struct {
		name string
		run  func()
	}{
		{"append", func() { mustAppend(t, s, q, testEntry("x")) }},
		{"claim", func() { l = claimAt(t, s, q, 1, time.Minute, now, 1)[0] }},
		{"retry", func() { s.Retry(bg, q, l, now, Outcome{Status: 500}) }},
		{"claim again", func() { l = claimAt(t, s, q, 1, time.Minute, now, 1)[0] }},
		{"ack", func() { s.Ack(bg, q, l) }},
		{"stats", func() { s.Stats(bg, q) }},
	} {
		before := h.n.Load()
		op.run()
		if n := h.n.Load() - before; n != 1 {
			t.Errorf("%s: %d round trips, want 1", op.name, n)
		}
	}
}

// TestRedisHashTags: on a (one-node) Redis Cluster every script runs on
// one slot; a CROSSSLOT error would fail it.
func TestRedisHashTags(t *testing.T) {
	r := redistest.Start(t, 0, "", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	admin := r.Client(t, nil)
	if err := admin.Do(bg, "CLUSTER", "ADDSLOTSRANGE", "0", "16383").Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(admin.ClusterInfo(bg).Val(), "cluster_state:ok") {
		if time.Now().After(deadline) {
			t.Fatal("cluster state not ok")
		}
		time.Sleep(50 * time.Millisecond)
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{r.Addr}})
	t.Cleanup(func() { cc.Close() })
	s := newTestStore(t, cc, "")
	for _, q := range []string{"stripe", "a}b", "}", "%7D", "{x}"} {
		k := s.keys(q)
		slot := admin.ClusterKeySlot(bg, k[0]).Val()
		for _, key := range k[1:] {
			if got := admin.ClusterKeySlot(bg, key).Val(); got != slot {
				t.Fatalf("queue %q: key %s in slot %d, %s in %d", q, key, got, k[0], slot)
			}
		}
		mustAppend(t, s, q, testEntry(q))
		l := claimAt(t, s, q, 1, time.Minute, time.Now(), 1)[0]
		if err := s.Dead(bg, q, l, Outcome{Status: 400}); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Requeue(bg, q, ""); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Stats(bg, q); err != nil {
			t.Fatal(err)
		}
	}
	if s.keys("%7D")[0] == s.keys("}")[0] {
		t.Fatal("escaped names collide")
	}
	names, err := s.Queues(bg)
	if err != nil || len(names) != 5 {
		t.Fatalf("Queues = %v, %v", names, err)
	}
	if err := CheckEviction(bg, cc); err != nil {
		t.Fatalf("CheckEviction on the cluster: %v", err)
	}
	if _, err := s.Append(bg, "", testEntry("x"), Limits{}); err == nil {
		t.Fatal("Append to the empty queue name succeeded")
	}
}
