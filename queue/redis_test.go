//go:build unix

package queue

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/webhookverify/caddy-webhook-verify/internal/redistest"
)

// These tests run the Redis store against a real redis-server (or
// valkey-server) started on a loopback port by internal/redistest: skipped
// without one, unless WEBHOOK_VERIFY_REQUIRE_REDIS=1.

var bg = context.Background()

const testPrefix = "wvtest:queue:"

func newTestStore(t testing.TB, c redis.UniversalClient, consumer string) *Redis {
	t.Helper()
	s, err := NewRedis(c, RedisOptions{Prefix: testPrefix, Consumer: consumer})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func testEntry(body string) *Entry {
	return &Entry{
		Method: http.MethodPost,
		URI:    "/hooks/stripe?x=1",
		Header: http.Header{"Content-Type": {"application/json"}, "X-Many": {"a", "b"}},
		Body:   []byte(body),
		Vars:   map[string]string{"provider": "stripe", "id": "evt_" + body},
	}
}

func mustAppend(t testing.TB, s Store, q string, e *Entry) string {
	t.Helper()
	id, err := s.Append(bg, q, e, Limits{})
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	return id
}

func claimAt(t testing.TB, s Store, q string, n int, vis time.Duration, now time.Time, want int) []Lease {
	t.Helper()
	ls, err := s.Claim(bg, q, n, vis, now)
	if err != nil {
		t.Fatalf("Claim: %v", err)
	}
	if len(ls) != want {
		t.Fatalf("Claim got %d leases, want %d", len(ls), want)
	}
	return ls
}

func statsAre(t testing.TB, s Store, q string, pending, inflight, dead int64) Stats {
	t.Helper()
	st, err := s.Stats(bg, q)
	if err != nil {
		t.Fatalf("Stats: %v", err)
	}
	if st.Pending != pending || st.InFlight != inflight || st.Dead != dead {
		t.Fatalf("Stats = %+v, want pending %d, in flight %d, dead %d", st, pending, inflight, dead)
	}
	return st
}

// TestRedisLifecycle walks entries through every state of the store.
func TestRedisLifecycle(t *testing.T) {
	r := redistest.Start(t, 0, "")
	s := newTestStore(t, r.Client(t, nil), "")
	const q = "stripe"
	now := time.Now()
	var ids []string
	var size int64
	for i := range 3 {
		e := testEntry("body" + strconv.Itoa(i))
		e.Created = now.Add(time.Duration(i-3) * time.Millisecond)
		size += e.Size()
		ids = append(ids, mustAppend(t, s, q, e))
		if e.ID != ids[i] || !e.NextAt.Equal(e.Created) {
			t.Fatalf("Append left ID %q NextAt %v", e.ID, e.NextAt)
		}
	}
	st := statsAre(t, s, q, 3, 0, 0)
	if st.Bytes != size || !st.OldestPending.Equal(now.Add(-3*time.Millisecond)) {
		t.Fatalf("Stats = %+v, want bytes %d, oldest %v", st, size, now.Add(-3*time.Millisecond))
	}

	ls := claimAt(t, s, q, 2, time.Minute, now, 2)
	for i, l := range ls {
		e := l.Entry
		if e.ID != ids[i] || e.Attempts != 1 || string(e.Body) != "body"+strconv.Itoa(i) ||
			e.Header.Get("Content-Type") != "application/json" || len(e.Header["X-Many"]) != 2 || e.Vars["provider"] != "stripe" {
			t.Fatalf("lease %d: %+v", i, e)
		}
	}
	statsAre(t, s, q, 1, 2, 0)
	// Ack the first, retry the second a minute later.
	if err := s.Ack(bg, q, ls[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(bg, q, ls[0]); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("second Ack: %v, want ErrLeaseLost", err)
	}
	at := now.Add(time.Minute)
	if err := s.Retry(bg, q, ls[1], at, Outcome{Status: 503, Error: "upstream 503"}); err != nil {
		t.Fatal(err)
	}
	if err := s.Dead(bg, q, ls[1], Outcome{}); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("Dead after Retry: %v, want ErrLeaseLost", err)
	}
	statsAre(t, s, q, 2, 0, 0)
	// Now only the third is due; the retried one at its time.
	third := claimAt(t, s, q, 10, time.Hour, now, 1)[0]
	if third.Entry.ID != ids[2] {
		t.Fatalf("claimed %s, want %s", third.Entry.ID, ids[2])
	}
	claimAt(t, s, q, 10, time.Minute, at.Add(-time.Millisecond), 0)
	second := claimAt(t, s, q, 10, time.Minute, at, 1)[0]
	if e := second.Entry; e.ID != ids[1] || e.Attempts != 2 || e.LastStatus != 503 || e.LastError != "upstream 503" || !e.NextAt.Equal(at) {
		t.Fatalf("retried entry: %+v", e)
	}
	if err := s.Dead(bg, q, second, Outcome{Status: 404, Error: "upstream 404"}); err != nil {
		t.Fatal(err)
	}
	statsAre(t, s, q, 0, 1, 1)

	dead, err := s.List(bg, q, true, 10, false)
	if err != nil || len(dead) != 1 || dead[0].ID != ids[1] || dead[0].Body != nil || dead[0].LastStatus != 404 {
		t.Fatalf("List dead = %+v, %v", dead, err)
	}
	live, err := s.List(bg, q, false, 10, true)
	if err != nil || len(live) != 1 || live[0].ID != ids[2] || string(live[0].Body) != "body2" {
		t.Fatalf("List live = %+v, %v", live, err)
	}
	g, err := s.Get(bg, q, ids[1])
	if err != nil || string(g.Body) != "body1" || g.Attempts != 2 {
		t.Fatalf("Get = %+v, %v", g, err)
	}
	if _, err := s.Get(bg, q, ids[0]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of an acked entry: %v, want ErrNotFound", err)
	}
	if _, err := s.Requeue(bg, q, ids[2]); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Requeue of a live entry: %v, want ErrNotFound", err)
	}
	if n, err := s.Requeue(bg, q, ""); err != nil || n != 1 {
		t.Fatalf("Requeue all = %d, %v", n, err)
	}
	statsAre(t, s, q, 1, 1, 0)
	again := claimAt(t, s, q, 10, time.Minute, time.Now(), 1)[0]
	if again.Entry.ID != ids[1] || again.Entry.Attempts != 1 {
		t.Fatalf("requeued entry: %+v", again.Entry)
	}
	if names, err := s.Queues(bg); err != nil || len(names) != 1 || names[0] != q {
		t.Fatalf("Queues = %v, %v", names, err)
	}
	if n, err := s.Purge(bg, q, ids[2], false); err != nil || n != 1 {
		t.Fatalf("Purge one = %d, %v", n, err)
	}
	if err := s.Ack(bg, q, third); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("Ack of a purged entry: %v, want ErrLeaseLost", err)
	}
	if _, err := s.Purge(bg, q, ids[2], false); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Purge unknown: %v, want ErrNotFound", err)
	}
	if n, err := s.Purge(bg, q, "", false); err != nil || n != 1 {
		t.Fatalf("Purge all = %d, %v", n, err)
	}
	if st := statsAre(t, s, q, 0, 0, 0); st.Bytes != 0 || !st.OldestPending.IsZero() {
		t.Fatalf("empty queue Stats = %+v", st)
	}
	if names, err := s.Queues(bg); err != nil || len(names) != 0 {
		t.Fatalf("Queues of an empty store = %v, %v", names, err)
	}
}

// TestRedisPurgeBatches: Purge and Requeue of more than one script's batch.
func TestRedisPurgeBatches(t *testing.T) {
	r := redistest.Start(t, 0, "")
	s := newTestStore(t, r.Client(t, nil), "")
	const q, n = "many", redisBatch*2 + 7
	if err := appendScript.Load(bg, s.client).Err(); err != nil {
		t.Fatal(err)
	}
	p := s.client.Pipeline()
	for range n {
		e := testEntry("x")
		e.Created = time.Now()
		e.NextAt = e.Created
		appendScript.Run(bg, p, s.keys(q), Encode(e), e.Size(), e.Created.UnixNano(), e.Created.UnixMicro(), e.NextAt.UnixMicro(), 0, 0, 0, randomHex(8))
	}
	if _, err := p.Exec(bg); err != nil {
		t.Fatal(err)
	}
	ls := claimAt(t, s, q, n, time.Minute, time.Now(), n)
	for _, l := range ls {
		if err := s.Dead(bg, q, l, Outcome{Status: 400}); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := s.Requeue(bg, q, ""); err != nil || got != n {
		t.Fatalf("Requeue = %d, %v; want %d", got, err, n)
	}
	if got, err := s.Purge(bg, q, "", true); err != nil || got != 0 {
		t.Fatalf("Purge dead = %d, %v; want 0", got, err)
	}
	if got, err := s.Purge(bg, q, "", false); err != nil || got != n {
		t.Fatalf("Purge = %d, %v; want %d", got, err, n)
	}
}

// TestRedisLeaseExpiry: a lease not settled within its visibility is
// handed out again (by the callers' clock), and the stale lease changes
// nothing.
func TestRedisLeaseExpiry(t *testing.T) {
	r := redistest.Start(t, 0, "")
	s := newTestStore(t, r.Client(t, nil), "")
	const q = "q"
	mustAppend(t, s, q, testEntry("a"))
	now := time.Now()
	first := claimAt(t, s, q, 1, time.Minute, now, 1)[0]
	claimAt(t, s, q, 1, time.Minute, now.Add(59*time.Second), 0)
	second := claimAt(t, s, q, 1, time.Minute, now.Add(time.Minute), 1)[0]
	if second.Entry.Attempts != 2 || second.Token == first.Token {
		t.Fatalf("second lease %+v (token %q, first %q)", second.Entry, second.Token, first.Token)
	}
	statsAre(t, s, q, 0, 1, 0)
	for name, err := range map[string]error{
		"Ack":   s.Ack(bg, q, first),
		"Retry": s.Retry(bg, q, first, now, Outcome{}),
		"Dead":  s.Dead(bg, q, first, Outcome{}),
	} {
		if !errors.Is(err, ErrLeaseLost) {
			t.Errorf("stale %s: %v, want ErrLeaseLost", name, err)
		}
	}
	if err := s.Ack(bg, q, second); err != nil {
		t.Fatal(err)
	}
	statsAre(t, s, q, 0, 0, 0)
}

// TestRedisTwoConsumers: two stores (two clients, two consumer names) on
// one queue; the first claims and dies without acking; the second gets
// the entry once the visibility timeout has passed, in real time.
func TestRedisTwoConsumers(t *testing.T) {
	r := redistest.Start(t, 0, "")
	a := newTestStore(t, r.Client(t, nil), "caddy-a")
	b := newTestStore(t, r.Client(t, nil), "caddy-b")
	const q, vis = "shared", 300 * time.Millisecond
	ids := map[string]bool{}
	for i := range 4 {
		ids[mustAppend(t, a, q, testEntry(strconv.Itoa(i)))] = true
	}
	dying := claimAt(t, a, q, 2, vis, time.Now(), 2)
	// b sees only the two a does not hold.
	got := claimAt(t, b, q, 10, vis, time.Now(), 2)
	for _, l := range got {
		if err := b.Ack(bg, q, l); err != nil {
			t.Fatal(err)
		}
	}
	claimAt(t, b, q, 10, vis, time.Now(), 0)
	time.Sleep(vis + 50*time.Millisecond)
	taken := claimAt(t, b, q, 10, vis, time.Now(), 2)
	for i, l := range taken {
		if l.Entry.ID != dying[i].Entry.ID || l.Entry.Attempts != 2 || !strings.HasPrefix(l.Token, "caddy-b/") {
			t.Fatalf("taken over: %+v token %q", l.Entry, l.Token)
		}
		if err := a.Ack(bg, q, dying[i]); !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("dead worker's Ack: %v, want ErrLeaseLost", err)
		}
		if err := b.Ack(bg, q, l); err != nil {
			t.Fatal(err)
		}
	}
	statsAre(t, b, q, 0, 0, 0)
}

// TestRedisClaimOnce: concurrent claimers never get the same entry within
// one lease.
func TestRedisClaimOnce(t *testing.T) {
	r := redistest.Start(t, 0, "")
	c := r.Client(t, nil)
	const q, n = "race", 200
	s0 := newTestStore(t, c, "")
	for i := range n {
		mustAppend(t, s0, q, testEntry(strconv.Itoa(i)))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := newTestStore(t, c, "w"+strconv.Itoa(w))
			for {
				ls, err := s.Claim(bg, q, 3, time.Minute, time.Now())
				if err != nil {
					t.Error(err)
					return
				}
				if len(ls) == 0 {
					return
				}
				mu.Lock()
				for _, l := range ls {
					seen[l.Entry.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Fatalf("%d entries claimed, want %d", len(seen), n)
	}
	for id, k := range seen {
		if k != 1 {
			t.Fatalf("entry %s handed out %d times", id, k)
		}
	}
}

// TestRedisLimits: MaxEntries (dead letters included) and MaxBytes are
// checked in the append's script, so concurrent appends never overshoot.
func TestRedisLimits(t *testing.T) {
	r := redistest.Start(t, 0, "")
	s := newTestStore(t, r.Client(t, nil), "")
	size := testEntry("0123456789").Size()
	for _, tc := range []struct {
		name string
		lim  Limits
		want int
	}{
		{"max entries", Limits{MaxEntries: 7}, 7},
		{"max bytes", Limits{MaxBytes: 5*size + size/2}, 5},
		{"both", Limits{MaxEntries: 4, MaxBytes: 100 * size}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := "limits-" + tc.name
			var ok, full atomic.Int64
			var wg sync.WaitGroup
			for range 30 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, err := s.Append(bg, q, testEntry("0123456789"), tc.lim)
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, ErrFull):
						full.Add(1)
					default:
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if ok.Load() != int64(tc.want) || full.Load() != 30-int64(tc.want) {
				t.Fatalf("%d appended, %d full; want %d appended", ok.Load(), full.Load(), tc.want)
			}
		})
	}
	// Dead letters count against MaxEntries; purging them frees room.
	const q = "limits-dead"
	lim := Limits{MaxEntries: 1}
	if _, err := s.Append(bg, q, testEntry("a"), lim); err != nil {
		t.Fatal(err)
	}
	l := claimAt(t, s, q, 1, time.Minute, time.Now(), 1)[0]
	if err := s.Dead(bg, q, l, Outcome{Status: 400}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(bg, q, testEntry("b"), lim); !errors.Is(err, ErrFull) {
		t.Fatalf("Append over a dead letter: %v, want ErrFull", err)
	}
	if _, err := s.Purge(bg, q, "", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(bg, q, testEntry("b"), lim); err != nil {
		t.Fatal(err)
	}
}

func TestRedisContract(t *testing.T) {
	r := redistest.Start(t, 0, "")
	c := r.Client(t, &redis.Options{PoolSize: 32})
	var n atomic.Int64
	runStoreContract(t, func(t *testing.T) Store {
		s, err := NewRedis(c, RedisOptions{Prefix: fmt.Sprintf("%s%d:", testPrefix, n.Add(1))})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

// TestRedisRegistryRefresh: a process that keeps appending adds its queue
// to the registry again (at most once a minute), so a registry lost with a
// Redis restart without persistence comes back.
func TestRedisRegistryRefresh(t *testing.T) {
	r := redistest.Start(t, 0, "")
	admin := r.Client(t, nil)
	s := newTestStore(t, r.Client(t, nil), "")
	mustAppend(t, s, "q", testEntry("a"))
	admin.Del(bg, s.registryKey())
	mustAppend(t, s, "q", testEntry("b"))
	if names, _ := s.Queues(bg); len(names) != 0 {
		t.Fatalf("Queues = %v within the minute, want the registry left alone", names)
	}
	s.registered.Store("q", time.Now().Add(-registerEvery))
	mustAppend(t, s, "q", testEntry("c"))
	if names, err := s.Queues(bg); err != nil || len(names) != 1 || names[0] != "q" {
		t.Fatalf("Queues = %v, %v; want [q] once re-registered", names, err)
	}
}
