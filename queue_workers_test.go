package webhookverify

import (
	"context"
	"net/http"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"

	"github.com/webhookverify/caddy-webhook-verify/queue"
)

// The tests in this file run a queue's workers in the test process (so
// `go test -race` covers their goroutines), on a real bbolt store, with a
// deliver handler written in Go instead of a reverse_proxy.

// testApp is a deliver handler: it answers each attempt with what answer
// returns for it (status, Retry-After), and records the attempts.
type testApp struct {
	mu       sync.Mutex
	attempts []testAttempt
	answer   func(id string, attempt int) (int, string)
	block    chan struct{} // when set, attempts wait for it (or their context)
}

type testAttempt struct {
	id      string
	attempt int
	at      time.Time
	status  int
}

func (a *testApp) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	id := r.Header.Get(QueueIDHeader)
	n, _ := strconv.Atoi(r.Header.Get(QueueAttemptHeader))
	if a.block != nil {
		select {
		case <-a.block:
		case <-r.Context().Done():
			return caddyhttp.Error(http.StatusBadGateway, r.Context().Err())
		}
	}
	status, retryAfter := http.StatusOK, ""
	if a.answer != nil {
		status, retryAfter = a.answer(id, n)
	}
	a.mu.Lock()
	a.attempts = append(a.attempts, testAttempt{id, n, time.Now(), status})
	a.mu.Unlock()
	if retryAfter != "" {
		w.Header().Set("Retry-After", retryAfter)
	}
	w.WriteHeader(status)
	return nil
}

func (a *testApp) of(id string) []testAttempt {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []testAttempt
	for _, at := range a.attempts {
		if at.id == id {
			out = append(out, at)
		}
	}
	return out
}

// testQueue is a queue's workers on a bbolt file, outside Caddy.
type testQueue struct {
	name    string
	store   queue.Store
	storeID string
	rt      *queueRuntime
	w       *queueWorkers
	logs    *observer.ObservedLogs
	stopped bool
}

// startTestQueue opens a bbolt file (or wraps it with wrap), puts it in the
// store pool and starts the workers of queue name on it with app as the
// deliver handler. tune changes the runtime before the start.
func startTestQueue(t *testing.T, name string, app caddyhttp.Handler, wrap func(queue.Store) queue.Store, tune func(*queueRuntime)) *testQueue {
	t.Helper()
	path := filepath.Join(t.TempDir(), "q.db")
	b, err := queue.OpenBolt(path, queue.BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var st queue.Store = b
	if wrap != nil {
		st = wrap(b)
	}
	id := "test:" + path
	if _, _, err := queueStorePool.LoadOrNew(id, func() (caddy.Destructor, error) {
		return newPooledQueueStore(id, st, nil), nil
	}); err != nil {
		t.Fatal(err)
	}
	core, logs := observer.New(zapcore.DebugLevel)
	tq := &testQueue{name: name, store: st, storeID: id, logs: logs}
	done := make(chan struct{})
	tq.rt = &queueRuntime{
		config:      done,
		deliver:     app,
		server:      new(caddyhttp.Server),
		attempts:    5,
		maxAge:      time.Hour,
		backoffMin:  20 * time.Millisecond,
		backoffMax:  40 * time.Millisecond,
		concurrency: 4,
		visibility:  time.Hour,
		logger:      zap.New(core),
	}
	if tune != nil {
		tune(tq.rt)
	}
	if tq.w, err = joinQueueWorkers(id, name, tq.rt); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tq.stop(t) })
	return tq
}

// stop leaves the workers (the last user: they stop) and closes the store.
func (tq *testQueue) stop(t *testing.T) {
	t.Helper()
	if tq.stopped {
		return
	}
	tq.stopped = true
	if err := tq.w.leave(tq.rt); err != nil {
		t.Error(err)
	}
	if _, err := queueStorePool.Delete(tq.storeID); err != nil {
		t.Error(err)
	}
}

func (tq *testQueue) append(t *testing.T, e *queue.Entry) string {
	t.Helper()
	id, err := tq.store.Append(context.Background(), tq.name, e, queue.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	tq.w.wake()
	return id
}

func (tq *testQueue) stats(t *testing.T) queue.Stats {
	t.Helper()
	st, err := tq.store.Stats(context.Background(), tq.name)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func testEntryFor(body string) *queue.Entry {
	return &queue.Entry{Method: http.MethodPost, URI: "/hook", Header: http.Header{"Host": {"example.com"}}, Body: []byte(body)}
}

// waitDead waits until queue tq holds n dead letters and nothing else.
func (tq *testQueue) waitSettled(t *testing.T, dead int64) queue.Stats {
	t.Helper()
	var st queue.Stats
	if !waitUntil(10*time.Second, func() bool {
		st = tq.stats(t)
		return st.Pending == 0 && st.InFlight == 0 && st.Dead == dead
	}) {
		t.Fatalf("queue %s: %+v, want everything settled with %d dead letters", tq.name, st, dead)
	}
	return st
}

// waitUntil polls cond for at most d.
func waitUntil(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(10 * time.Millisecond)
	}
	return true
}

// TestQueueWorkersRetryAfterWithinAge: an app answering 503 with a
// Retry-After that ends after the entry's retry age must not dead-letter
// the entry at once while attempts and time are left: its last attempt is
// made when the age runs out.
func TestQueueWorkersRetryAfterWithinAge(t *testing.T) {
	const maxAge = 700 * time.Millisecond
	app := &testApp{answer: func(_ string, n int) (int, string) {
		if n == 1 {
			return http.StatusServiceUnavailable, "3600" // an hour; the age ends first
		}
		return http.StatusOK, ""
	}}
	tq := startTestQueue(t, "retry-after", app, nil, func(rt *queueRuntime) {
		rt.maxAge = maxAge
		rt.backoffMax = 2 * time.Hour // Retry-After is not cut short by backoff_max
	})
	start := time.Now()
	id := tq.append(t, testEntryFor("a"))
	tq.waitSettled(t, 0)
	got := app.of(id)
	if len(got) != 2 || got[1].status != 200 {
		t.Fatalf("attempts %+v, want a second, delivered, attempt at the end of the age", got)
	}
	if d := got[1].at.Sub(start); d < maxAge-100*time.Millisecond {
		t.Errorf("second attempt %v after the append, want it about when the age (%v) ends", d, maxAge)
	}
}

// TestQueueWorkersRequeueExpired: a dead letter that was dead-lettered for
// its age, requeued by `caddy webhook queue retry`, is attempted again
// (before, it went straight back to the dead letters without an attempt,
// being still older than retry's age).
func TestQueueWorkersRequeueExpired(t *testing.T) {
	fail := true
	var mu sync.Mutex
	app := &testApp{answer: func(string, int) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		if fail {
			return http.StatusInternalServerError, ""
		}
		return http.StatusOK, ""
	}}
	tq := startTestQueue(t, "requeue", app, nil, func(rt *queueRuntime) {
		rt.maxAge = 200 * time.Millisecond
		rt.attempts = 100
	})
	id := tq.append(t, testEntryFor("a"))
	tq.waitSettled(t, 1)
	time.Sleep(300 * time.Millisecond) // well past the age
	mu.Lock()
	fail = false
	mu.Unlock()
	before := len(app.of(id))
	if n, err := tq.store.Requeue(context.Background(), tq.name, ""); err != nil || n != 1 {
		t.Fatalf("requeue: %d, %v", n, err)
	}
	tq.w.wake()
	tq.waitSettled(t, 0)
	if got := app.of(id); len(got) != before+1 || got[len(got)-1].status != 200 || got[len(got)-1].attempt != 1 {
		t.Fatalf("after the requeue: attempts %+v (before it %d), want one more, attempt 1, delivered", got, before)
	}
}

// TestQueueWorkersStopMidAttempt: when the last config using a queue goes
// (a reload that removes it, a stop) while an attempt is in flight, the
// attempt gets the grace period, is cut off, and the entry is made due
// again at once (not left leased for its visibility timeout), with the
// interrupted attempt counted.
func TestQueueWorkersStopMidAttempt(t *testing.T) {
	defer func(g time.Duration) { queueStopGrace = g }(queueStopGrace)
	queueStopGrace = 100 * time.Millisecond
	app := &testApp{block: make(chan struct{})}
	tq := startTestQueue(t, "stop", app, nil, nil)
	id := tq.append(t, testEntryFor("a"))
	if !waitUntil(5*time.Second, func() bool { return tq.stats(t).InFlight == 1 }) {
		t.Fatal("the entry was not claimed")
	}
	// One more reference keeps the store open after the workers are gone
	// (reopening the file would free the lease by itself).
	b, err := acquireQueueStore(tq.storeID)
	if err != nil {
		t.Fatal(err)
	}
	defer queueStorePool.Delete(tq.storeID)
	tq.stop(t) // returns once the workers are gone
	e, err := b.Get(context.Background(), tq.name, id)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := b.Stats(context.Background(), tq.name)
	if s.Pending != 1 || s.InFlight != 0 || e.Attempts != 1 || time.Until(e.NextAt) > time.Second {
		t.Fatalf("after the stop: %+v, entry attempts %d next %v; want pending and due now, attempt 1 counted", s, e.Attempts, e.NextAt)
	}
}

// cutClaims wraps a store: once armed, Claim waits for release, then
// claims in the store but, if its context ended meanwhile, returns the
// context's error, as a Redis Claim whose script ran while the client gave
// up on the answer.
type cutClaims struct {
	queue.Store
	mu      sync.Mutex
	armed   bool
	entered chan struct{}
	release chan struct{}
}

func (c *cutClaims) Claim(ctx context.Context, name string, n int, vis time.Duration, now time.Time) ([]queue.Lease, error) {
	c.mu.Lock()
	armed := c.armed
	c.armed = false
	c.mu.Unlock()
	if armed {
		close(c.entered)
		<-c.release
		ls, err := c.Store.Claim(context.Background(), name, n, vis, now)
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return ls, err
	}
	return c.Store.Claim(ctx, name, n, vis, now)
}

// TestQueueWorkersStopDuringClaim: a stop that lands while the dispatcher
// waits for a Claim must not leave the claimed entries leased for their
// visibility timeout (5m by default) with nobody to deliver them: the
// claim is not cut off, and entries claimed after the stop are made due
// again at once.
func TestQueueWorkersStopDuringClaim(t *testing.T) {
	cut := &cutClaims{entered: make(chan struct{}), release: make(chan struct{})}
	app := &testApp{}
	tq := startTestQueue(t, "stop-claim", app, func(s queue.Store) queue.Store { cut.Store = s; return cut }, nil)
	time.Sleep(50 * time.Millisecond) // the dispatcher's first, empty, claim
	cut.mu.Lock()
	cut.armed = true
	cut.mu.Unlock()
	tq.append(t, testEntryFor("a"))
	select {
	case <-cut.entered:
	case <-time.After(5 * time.Second):
		t.Fatal("no claim")
	}
	b, err := acquireQueueStore(tq.storeID)
	if err != nil {
		t.Fatal(err)
	}
	defer queueStorePool.Delete(tq.storeID)
	stopped := make(chan struct{})
	go func() { tq.stop(t); close(stopped) }()
	time.Sleep(100 * time.Millisecond) // the stop is under way, waiting for the dispatcher
	close(cut.release)
	<-stopped
	s, err := b.Stats(context.Background(), tq.name)
	if err != nil {
		t.Fatal(err)
	}
	if s.Pending+s.InFlight != 1 || s.InFlight != 0 {
		t.Fatalf("after a stop during a claim: %+v, want the entry pending (due again), not left in flight", s)
	}
	app.mu.Lock()
	n := len(app.attempts)
	app.mu.Unlock()
	if n != 0 {
		t.Errorf("%d attempts after the stop, want none", n)
	}
}
