//go:build unix

package queue

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// These tests run the Redis store against a real redis-server (or
// valkey-server) started on a loopback port, as replay/redis_test.go
// does. Without one they are skipped, unless WEBHOOK_VERIFY_REQUIRE_REDIS=1,
// which makes them fail. WEBHOOK_VERIFY_REDIS_SERVER names the server
// binary (default: redis-server).

var bg = context.Background()

// testRedis is a redis-server process.
type testRedis struct {
	addr string
	port int
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

func redisServerBin(t testing.TB) string {
	t.Helper()
	name := os.Getenv("WEBHOOK_VERIFY_REDIS_SERVER")
	if name == "" {
		name = "redis-server"
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("WEBHOOK_VERIFY_REQUIRE_REDIS") == "1" {
			t.Fatalf("%s not found and WEBHOOK_VERIFY_REQUIRE_REDIS=1: %v", name, err)
		}
		t.Skipf("%s not found (apt-get install redis-server): %v", name, err)
	}
	return bin
}

func freeLoopbackPort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startTestRedis starts a server without persistence (unless extra says
// otherwise) on port (0: a free one), in dir ("": a new temporary one),
// and waits until it answers PING.
func startTestRedis(t testing.TB, port int, dir string, extra ...string) *testRedis {
	t.Helper()
	bin := redisServerBin(t)
	if port == 0 {
		port = freeLoopbackPort(t)
	}
	if dir == "" {
		dir = t.TempDir()
	}
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", dir, "--daemonize", "no"}, extra...)
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	r := &testRedis{addr: fmt.Sprintf("127.0.0.1:%d", port), port: port, dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(r.done) }()
	t.Cleanup(r.kill)
	c := redis.NewClient(&redis.Options{Addr: r.addr, MaxRetries: -1})
	defer c.Close()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := c.Ping(bg).Err()
		if err == nil {
			return r
		}
		if strings.Contains(err.Error(), "LOADING") {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		select {
		case <-r.done:
			t.Fatalf("%s exited:\n%s", bin, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not answering on %s", bin, r.addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill stops the server abruptly (SIGKILL), as a crash would.
func (r *testRedis) kill() {
	select {
	case <-r.done:
		return
	default:
	}
	_ = syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
	}
}

func (r *testRedis) client(t testing.TB, opts *redis.Options) *redis.Client {
	t.Helper()
	if opts == nil {
		opts = new(redis.Options)
	}
	opts.Addr = r.addr
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

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
	r := startTestRedis(t, 0, "")
	s := newTestStore(t, r.client(t, nil), "")
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
	r := startTestRedis(t, 0, "")
	s := newTestStore(t, r.client(t, nil), "")
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
	r := startTestRedis(t, 0, "")
	s := newTestStore(t, r.client(t, nil), "")
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
	r := startTestRedis(t, 0, "")
	a := newTestStore(t, r.client(t, nil), "caddy-a")
	b := newTestStore(t, r.client(t, nil), "caddy-b")
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
	r := startTestRedis(t, 0, "")
	c := r.client(t, nil)
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
	r := startTestRedis(t, 0, "")
	s := newTestStore(t, r.client(t, nil), "")
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

// TestRedisUnavailable: Redis down (and a Redis refusing writes) fails
// every operation with ErrUnavailable; nothing is kept of a failed append.
func TestRedisUnavailable(t *testing.T) {
	r := startTestRedis(t, 0, "")
	c := r.client(t, &redis.Options{MaxRetries: -1, DialTimeout: 300 * time.Millisecond, ContextTimeoutEnabled: true})
	s, err := NewRedis(c, RedisOptions{Prefix: testPrefix, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	const q = "down"
	mustAppend(t, s, q, testEntry("before"))
	l := claimAt(t, s, q, 1, time.Minute, time.Now(), 1)[0]

	t.Run("out of memory", func(t *testing.T) {
		admin := r.client(t, nil)
		admin.ConfigSet(bg, "maxmemory-policy", "noeviction")
		admin.ConfigSet(bg, "maxmemory", "1")
		defer admin.ConfigSet(bg, "maxmemory", "0")
		_, err := s.Append(bg, q, testEntry("oom"), Limits{})
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "OOM") {
			t.Fatalf("Append on a full Redis: %v, want ErrUnavailable (OOM)", err)
		}
	})
	statsAre(t, s, q, 0, 1, 0)

	r.kill()
	start := time.Now()
	if _, err := s.Append(bg, q, testEntry("during"), Limits{}); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("Append with Redis down: %v, want ErrUnavailable", err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Append with Redis down took %v", took)
	}
	checks := map[string]error{
		"Ack":      s.Ack(bg, q, l),
		"Retry":    s.Retry(bg, q, l, time.Now(), Outcome{}),
		"Dead":     s.Dead(bg, q, l, Outcome{}),
		"CheckEv.": CheckEviction(bg, c),
	}
	_, checks["Claim"] = s.Claim(bg, q, 1, time.Minute, time.Now())
	_, checks["Stats"] = s.Stats(bg, q)
	_, checks["List"] = s.List(bg, q, false, 1, false)
	_, checks["Get"] = s.Get(bg, q, l.Entry.ID)
	_, checks["Requeue"] = s.Requeue(bg, q, "")
	_, checks["Purge"] = s.Purge(bg, q, "", false)
	_, checks["Queues"] = s.Queues(bg)
	for name, err := range checks {
		if !errors.Is(err, ErrUnavailable) {
			t.Errorf("%s with Redis down: %v, want ErrUnavailable", name, err)
		}
	}
	// The same client works again once Redis is back.
	startTestRedis(t, r.port, "")
	deadline := time.Now().Add(5 * time.Second)
	for c.Ping(bg).Err() != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	mustAppend(t, s, q, testEntry("after"))
	statsAre(t, s, q, 1, 0, 0) // the restarted server had no persistence
}

// TestRedisReadOnlyReplica: a replica refuses the append (READONLY).
func TestRedisReadOnlyReplica(t *testing.T) {
	primary := startTestRedis(t, 0, "")
	replica := startTestRedis(t, 0, "", "--replicaof", "127.0.0.1", strconv.Itoa(primary.port))
	s := newTestStore(t, replica.client(t, &redis.Options{MaxRetries: -1}), "")
	_, err := s.Append(bg, "q", testEntry("x"), Limits{})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "READONLY") {
		t.Fatalf("Append to a replica: %v, want ErrUnavailable (READONLY)", err)
	}
}

// TestRedisCheckEviction: the maxmemory-policies that could evict entries
// are refused, an ACL that denies CONFIG is told apart.
func TestRedisCheckEviction(t *testing.T) {
	r := startTestRedis(t, 0, "")
	admin := r.client(t, nil)
	for _, tc := range []struct {
		policy string
		want   error
	}{
		{"noeviction", nil},
		{"volatile-lru", nil},
		{"volatile-ttl", nil},
		{"allkeys-lru", ErrEvicting},
		{"allkeys-lfu", ErrEvicting},
		{"allkeys-random", ErrEvicting},
	} {
		t.Run(tc.policy, func(t *testing.T) {
			if err := admin.ConfigSet(bg, "maxmemory-policy", tc.policy).Err(); err != nil {
				t.Fatal(err)
			}
			err := CheckEviction(bg, admin)
			if !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
				t.Fatalf("CheckEviction: %v, want %v", err, tc.want)
			}
			if err != nil && !strings.Contains(err.Error(), tc.policy) {
				t.Errorf("error %q does not name the policy", err)
			}
		})
	}
	t.Run("config denied by acl", func(t *testing.T) {
		admin.ConfigSet(bg, "maxmemory-policy", "allkeys-lru")
		if err := admin.Do(bg, "ACL", "SETUSER", "noconfig", "on", ">pw", "~*", "&*", "+@all", "-config").Err(); err != nil {
			t.Fatal(err)
		}
		c := r.client(t, &redis.Options{Username: "noconfig", Password: "pw"})
		err := CheckEviction(bg, c)
		if !errors.Is(err, ErrEvictionUnchecked) || errors.Is(err, ErrEvicting) || errors.Is(err, ErrUnavailable) {
			t.Fatalf("CheckEviction without CONFIG: %v, want ErrEvictionUnchecked alone", err)
		}
	})
}

// TestRedisCorrupt: an entry whose stored bytes do not decode is moved
// aside (to {q}:bad), never returned and never blocks the entries behind
// it.
func TestRedisCorrupt(t *testing.T) {
	r := startTestRedis(t, 0, "")
	admin := r.client(t, nil)
	var reported []string
	s, err := NewRedis(r.client(t, nil), RedisOptions{Prefix: testPrefix, OnCorrupt: func(q, id string, err error) {
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("OnCorrupt called with %v, want ErrCorrupt", err)
		}
		reported = append(reported, q+"/"+id)
	}})
	if err != nil {
		t.Fatal(err)
	}
	const q = "bad"
	now := time.Now()
	var badIDs []string
	for _, blob := range []string{"\x00garbage\xff", ""} {
		id, err := s.appendRaw(bg, q, []byte(blob), 10, now, now, Limits{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		badIDs = append(badIDs, id)
	}
	good := mustAppend(t, s, q, testEntry("good"))
	// A stream entry written by someone else, outside the schedule, is
	// never claimed either.
	admin.XAdd(bg, &redis.XAddArgs{Stream: s.keys(q)[kStream], Values: []string{"e", "junk"}})
	statsAre(t, s, q, 3, 0, 0)

	now = time.Now()
	ls := claimAt(t, s, q, 1, time.Minute, now, 0) // the first bad one, moved aside
	ls = claimAt(t, s, q, 10, time.Minute, now, 1)
	if ls[0].Entry.ID != good {
		t.Fatalf("claimed %s, want the good entry %s", ls[0].Entry.ID, good)
	}
	statsAre(t, s, q, 0, 1, 0)
	if len(reported) != 2 || reported[0] != q+"/"+badIDs[0] || reported[1] != q+"/"+badIDs[1] {
		t.Fatalf("reported %v, want %v", reported, badIDs)
	}
	aside, err := admin.XRange(bg, s.keys(q)[kAside], "-", "+").Result()
	if err != nil || len(aside) != 2 || aside[0].Values["id"] != badIDs[0] || aside[0].Values["e"] != "\x00garbage\xff" {
		t.Fatalf("aside stream = %+v, %v", aside, err)
	}
	if st, _ := s.Stats(bg, q); st.Bytes != ls[0].Entry.Size() {
		t.Fatalf("bytes %d after moving aside, want %d", st.Bytes, ls[0].Entry.Size())
	}
	// List moves a corrupt entry aside too; Get reports it.
	id, _ := s.appendRaw(bg, q, []byte("junk"), 1, now, now, Limits{}, 0)
	if _, err := s.Get(bg, q, id); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Get of a corrupt entry: %v, want ErrCorrupt", err)
	}
	if l, err := s.List(bg, q, false, 10, false); err != nil || len(l) != 1 || l[0].ID != good {
		t.Fatalf("List = %+v, %v; want the good entry only", l, err)
	}
	statsAre(t, s, q, 0, 1, 0)
}

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
	r := startTestRedis(t, 0, "")
	c := r.client(t, nil)
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
	r := startTestRedis(t, 0, "", "--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf")
	admin := r.client(t, nil)
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
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{r.addr}})
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

// TestRedisPersistence: what an acknowledged entry survives, per Redis
// persistence setting, when redis-server is killed (SIGKILL) and
// restarted on the same directory. With appendfsync everysec, Redis
// postpones the AOF write by up to about 2s while a background fsync runs,
// and answers meanwhile: a kill at once lost all 20 acknowledged entries
// in 3 runs of 20 here (see the Redis type's doc), so that case first
// waits until Redis reports its AOF buffer written (settle). A power cut
// is not simulated.
func TestRedisPersistence(t *testing.T) {
	for _, tc := range []struct {
		name     string
		args     []string
		settle   bool
		survives bool
	}{
		{"aof always", []string{"--appendonly", "yes", "--appendfsync", "always"}, false, true},
		{"aof everysec, once the aof buffer is written", []string{"--appendonly", "yes", "--appendfsync", "everysec"}, true, true},
		{"no persistence", nil, false, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := startTestRedis(t, 0, dir, tc.args...)
			s := newTestStore(t, r.client(t, &redis.Options{MaxRetries: -1}), "")
			const q, n = "durable", 20
			for i := range n {
				mustAppend(t, s, q, testEntry(strconv.Itoa(i)))
			}
			l := claimAt(t, s, q, 1, time.Minute, time.Now(), 1)[0]
			if tc.settle {
				// Wait until Redis has written its AOF buffer (it may
				// postpone the write while a background fsync runs).
				admin := r.client(t, nil)
				start, deadline := time.Now(), time.Now().Add(15*time.Second)
				written := regexp.MustCompile(`(?m)^aof_buffer_length:0\r?$`)
				for !written.MatchString(admin.Info(bg, "persistence").Val()) {
					if time.Now().After(deadline) {
						t.Fatal("the AOF buffer was not written within 15s")
					}
					time.Sleep(20 * time.Millisecond)
				}
				t.Logf("AOF buffer written %v after the last append", time.Since(start))
			}
			r.kill()
			r2 := startTestRedis(t, r.port, dir, tc.args...)
			s2 := newTestStore(t, r2.client(t, nil), "")
			st, err := s2.Stats(bg, q)
			if err != nil {
				t.Fatal(err)
			}
			if tc.survives {
				if st.Pending != n-1 || st.InFlight != 1 {
					t.Fatalf("after kill -9: %+v, want %d pending, 1 in flight", st, n-1)
				}
				if err := s2.Ack(bg, q, l); err != nil {
					t.Fatalf("Ack of a lease taken before the crash: %v", err)
				}
			} else if st.Pending+st.InFlight != 0 {
				t.Fatalf("after kill -9 without persistence: %+v, want empty", st)
			}
		})
	}
}

// benchPersistence are the Redis persistence settings the benchmarks run
// under.
var benchPersistence = []struct {
	name string
	args []string
}{
	{"none", nil},
	{"aof_everysec", []string{"--appendonly", "yes", "--appendfsync", "everysec"}},
	{"aof_always", []string{"--appendonly", "yes", "--appendfsync", "always"}},
}

// BenchmarkRedisAppend: parallel appends of 1 KiB entries to one queue
// (8 goroutines per GOMAXPROCS), per persistence setting.
func BenchmarkRedisAppend(b *testing.B) {
	body := strings.Repeat("x", 1024)
	for _, p := range benchPersistence {
		b.Run(p.name, func(b *testing.B) {
			r := startTestRedis(b, 0, "", p.args...)
			s := newTestStore(b, r.client(b, &redis.Options{PoolSize: 64}), "")
			b.SetBytes(1024)
			b.ReportAllocs()
			b.SetParallelism(8)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Append(bg, "bench", testEntry(body), Limits{MaxEntries: 1 << 40}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkRedisClaimAck: parallel Claim of one entry then Ack (two round
// trips), on a queue filled beforehand.
func BenchmarkRedisClaimAck(b *testing.B) {
	r := startTestRedis(b, 0, "")
	s := newTestStore(b, r.client(b, &redis.Options{PoolSize: 64}), "")
	body := strings.Repeat("x", 1024)
	p := s.client.Pipeline()
	if err := appendScript.Load(bg, s.client).Err(); err != nil {
		b.Fatal(err)
	}
	for range b.N + 100 {
		e := testEntry(body)
		e.Created, e.NextAt = time.Now(), time.Now()
		appendScript.Run(bg, p, s.keys("bench"), Encode(e), e.Size(), e.Created.UnixNano(), e.Created.UnixMicro(), e.NextAt.UnixMicro(), 0, 0, 0, randomHex(8))
		if p.Len() >= 1000 {
			if _, err := p.Exec(bg); err != nil {
				b.Fatal(err)
			}
		}
	}
	if _, err := p.Exec(bg); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			ls, err := s.Claim(bg, "bench", 1, time.Minute, time.Now())
			if err != nil || len(ls) != 1 {
				b.Errorf("Claim: %d, %v", len(ls), err)
				return
			}
			if err := s.Ack(bg, "bench", ls[0]); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func TestRedisContract(t *testing.T) {
	r := startTestRedis(t, 0, "")
	c := r.client(t, &redis.Options{PoolSize: 32})
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
	r := startTestRedis(t, 0, "")
	admin := r.client(t, nil)
	s := newTestStore(t, r.client(t, nil), "")
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
