package webhookverify

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/webhookverify/caddy-webhook-verify/queue"
)

// Timing of the workers.
const (
	// queuePollInterval bounds how long a due entry (a retry whose time
	// came, an entry appended by another Caddy instance) waits for a
	// worker; an entry appended here wakes the workers at once.
	queuePollInterval = time.Second
	// queueSettleTimeout bounds the store call that ends an attempt.
	queueSettleTimeout = 30 * time.Second
	// queueErrorLogEvery spaces the warnings about a failing store.
	queueErrorLogEvery = time.Minute
	// maxQueueLastError bounds the error kept with an entry.
	maxQueueLastError = 300
)

// queueStopGrace is how long stopping workers wait for the attempts in
// flight before cutting them off (they are made due again at once). A
// variable for the tests.
var queueStopGrace = 5 * time.Second

// queueWorkerPool holds the workers of each queue (per store and name),
// shared by the configs that use the queue, so they survive reloads.
var queueWorkerPool = caddy.NewUsagePool()

// queueRuntime is what one provisioned webhook_queue handler gives its
// queue's workers: the deliver handlers and the retry settings. The newest
// config's runtime is used, so a reload that changes `deliver` applies to
// the entries already queued.
type queueRuntime struct {
	config      <-chan struct{} // the config's Done channel: identifies the config
	deliver     caddyhttp.Handler
	server      *caddyhttp.Server
	attempts    int
	maxAge      time.Duration
	backoffMin  time.Duration
	backoffMax  time.Duration
	concurrency int
	visibility  time.Duration
	logger      *zap.Logger
	metrics     *queueMetrics
}

// queueWorkers deliver the entries of one queue.
type queueWorkers struct {
	key, storeID, name string
	store              queue.Store

	mu       sync.Mutex
	runtimes []*queueRuntime // of the configs using the queue, oldest first
	cur      atomic.Pointer[queueRuntime]
	started  bool

	wakeCh   chan struct{}
	finished chan struct{}
	inflight atomic.Int64
	stop     context.CancelFunc // ends the dispatcher
	cutoff   context.CancelFunc // ends the attempts in flight
	stopCtx  context.Context
	attCtx   context.Context
	wg       sync.WaitGroup // the attempts in flight
	done     chan struct{}  // closed when the dispatcher has returned

	lastErrLog time.Time
}

// queueRegistry lists the live queues, for the admin API and the orphan
// report, by pool key.
var queueRegistry = struct {
	sync.Mutex
	m map[string]*queueWorkers
}{m: map[string]*queueWorkers{}}

func queueKey(storeID, name string) string { return storeID + "\x00" + name }

// queueConfigured reports whether queue name of store storeID is
// configured in this process.
func queueConfigured(storeID, name string) bool {
	queueRegistry.Lock()
	defer queueRegistry.Unlock()
	_, ok := queueRegistry.m[queueKey(storeID, name)]
	return ok
}

// joinQueueWorkers returns the workers of queue name in store storeID
// (starting them if they are new) with rt as their current runtime. The
// caller leaves them with leave(rt).
func joinQueueWorkers(storeID, name string, rt *queueRuntime) (*queueWorkers, error) {
	key := queueKey(storeID, name)
	v, _, err := queueWorkerPool.LoadOrNew(key, func() (caddy.Destructor, error) {
		st, err := acquireQueueStore(storeID)
		if err != nil {
			return nil, err
		}
		w := &queueWorkers{
			key: key, storeID: storeID, name: name, store: st,
			wakeCh: make(chan struct{}, 1), finished: make(chan struct{}, 1), done: make(chan struct{}),
		}
		w.stopCtx, w.stop = context.WithCancel(context.Background())
		w.attCtx, w.cutoff = context.WithCancel(context.Background())
		queueRegistry.Lock()
		queueRegistry.m[key] = w
		queueRegistry.Unlock()
		return w, nil
	})
	if err != nil {
		return nil, err
	}
	w := v.(*queueWorkers)
	if err := w.join(rt); err != nil {
		_, _ = queueWorkerPool.Delete(key)
		return nil, err
	}
	return w, nil
}

// join makes rt the current runtime and starts the dispatcher once.
func (w *queueWorkers) join(rt *queueRuntime) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, r := range w.runtimes {
		if r.config == rt.config {
			return fmt.Errorf("queue %q is configured twice on the same store in this config: give each webhook_queue its own name", w.name)
		}
	}
	w.runtimes = append(w.runtimes, rt)
	w.cur.Store(rt)
	if !w.started {
		w.started = true
		go w.run()
	}
	w.wake()
	return nil
}

// leave drops rt (its config is being cleaned up); the newest remaining
// runtime takes over. The last config to leave stops the workers.
func (w *queueWorkers) leave(rt *queueRuntime) error {
	w.mu.Lock()
	for i, r := range w.runtimes {
		if r == rt {
			w.runtimes = append(w.runtimes[:i], w.runtimes[i+1:]...)
			break
		}
	}
	if n := len(w.runtimes); n > 0 {
		w.cur.Store(w.runtimes[n-1])
	}
	w.mu.Unlock()
	_, err := queueWorkerPool.Delete(w.key)
	return err
}

// Destruct stops the workers when no config uses the queue any more: the
// dispatcher stops claiming, the attempts in flight get queueStopGrace to
// finish, then are cut off and made due again.
func (w *queueWorkers) Destruct() error {
	queueRegistry.Lock()
	if queueRegistry.m[w.key] == w {
		delete(queueRegistry.m, w.key)
	}
	queueRegistry.Unlock()
	w.stop()
	w.mu.Lock()
	started := w.started
	w.mu.Unlock()
	if started {
		<-w.done
	}
	idle := make(chan struct{})
	go func() { w.wg.Wait(); close(idle) }()
	select {
	case <-idle:
	case <-time.After(queueStopGrace):
		w.cutoff()
		<-idle
	}
	w.cutoff()
	_, err := queueStorePool.Delete(w.storeID)
	return err
}

// wake tells the dispatcher that an entry may be due.
func (w *queueWorkers) wake() {
	select {
	case w.wakeCh <- struct{}{}:
	default:
	}
}

// run claims due entries while there is room for more attempts, and
// waits for an append, a finished attempt or the poll interval otherwise.
func (w *queueWorkers) run() {
	defer close(w.done)
	tick := time.NewTicker(queuePollInterval)
	defer tick.Stop()
	for {
		rt := w.cur.Load()
		if free := int64(rt.concurrency) - w.inflight.Load(); free > 0 && w.stopCtx.Err() == nil {
			leases, err := w.claim(rt, int(free))
			if err != nil {
				w.logStoreError(rt, "claim", err)
			}
			if w.stopCtx.Err() != nil {
				w.release(leases)
				return
			}
			for _, l := range leases {
				w.inflight.Add(1)
				w.wg.Add(1)
				go func(l queue.Lease) {
					var once sync.Once
					free := func() {
						once.Do(func() {
							w.inflight.Add(-1)
							select {
							case w.finished <- struct{}{}:
							default:
							}
						})
					}
					defer w.wg.Done()
					defer free()
					w.deliver(l, free)
				}(l)
			}
			if err == nil && int64(len(leases)) == free {
				continue // there may be more due
			}
		}
		select {
		case <-w.stopCtx.Done():
			return
		case <-w.wakeCh:
		case <-w.finished:
		case <-tick.C:
		}
	}
}

// claim claims up to n entries. It is not cut short by a stop: a Redis
// claim abandoned after its script ran would leave the entries it took
// leased, with nobody to deliver them, for their visibility timeout.
func (w *queueWorkers) claim(rt *queueRuntime, n int) ([]queue.Lease, error) {
	ctx, cancel := context.WithTimeout(context.Background(), queueSettleTimeout)
	defer cancel()
	return w.store.Claim(ctx, w.name, n, rt.visibility, time.Now())
}

// release makes entries claimed during a stop due again at once, keeping
// their last outcome (the attempt Claim counted stays counted).
func (w *queueWorkers) release(leases []queue.Lease) {
	ctx, cancel := context.WithTimeout(context.Background(), queueSettleTimeout)
	defer cancel()
	for _, l := range leases {
		o := queue.Outcome{Status: l.Entry.LastStatus, Error: l.Entry.LastError}
		_ = w.store.Retry(ctx, w.name, l, time.Now(), o)
	}
}

// logStoreError warns about a failing store at most once a minute.
func (w *queueWorkers) logStoreError(rt *queueRuntime, op string, err error) {
	w.mu.Lock()
	due := time.Since(w.lastErrLog) >= queueErrorLogEvery
	if due {
		w.lastErrLog = time.Now()
	}
	w.mu.Unlock()
	if due {
		rt.logger.Warn("webhook_queue: store failing; entries wait", zap.String("queue", w.name),
			zap.String("op", op), zap.Error(err))
	}
}

// attemptResult is what one attempt came to.
type attemptResult struct {
	status     int
	retryAfter string
	err        error
	permanent  bool // the entry cannot be delivered as stored
}

// deliver makes one attempt at a claimed entry and settles it: Ack, Retry
// or Dead. It calls free once the attempt is over, before the settle: the
// attempt's slot (concurrency) goes to the next entry while the store
// writes the outcome (a bbolt commit, a Redis round trip), so delivery
// does not wait for two commits per entry and slot.
func (w *queueWorkers) deliver(l queue.Lease, free func()) {
	rt := w.cur.Load()
	e := l.Entry
	var res attemptResult
	var took time.Duration
	// No attempt is started for an entry scheduled after its age, except
	// the first after its acceptance or a requeue: an entry is never
	// dead-lettered without an attempt (a requeued one older than the age
	// gets one more), and one whose attempt was due in time is attempted
	// even when a worker takes it up late (a backlog, a restart).
	deadline := e.Created.Add(rt.maxAge)
	expired := e.Attempts > 1 && e.NextAt.After(deadline)
	if expired {
		res = attemptResult{status: e.LastStatus, err: errors.New(e.LastError)}
	} else {
		ctx, cancel := context.WithTimeout(w.attCtx, rt.visibility*9/10)
		start := time.Now()
		res = w.attempt(ctx, rt, e)
		took = time.Since(start)
		cancel()
		rt.metrics.observeDelivery(w.name, took)
	}
	free()

	ctx, cancel := context.WithTimeout(context.Background(), queueSettleTimeout)
	defer cancel()
	o := queue.Outcome{Status: res.status}
	if res.err != nil {
		o.Error = truncate(res.err.Error(), maxQueueLastError)
	}
	outcome := "delivered"
	var err error
	switch {
	case expired:
		outcome = "dead"
		if o.Error == "" {
			o.Error = "expired"
		}
		o.Error = truncate(fmt.Sprintf("expired after %s: %s", rt.maxAge, o.Error), maxQueueLastError)
		err = w.store.Dead(ctx, w.name, l, o)
	case res.err == nil && res.status >= 200 && res.status <= 299:
		err = w.store.Ack(ctx, w.name, l)
	case w.attCtx.Err() != nil:
		// Cut off by a stop: due again at once (the next Caddy, or the
		// new config, takes it up); the attempt still counts.
		outcome = "retry"
		o.Error = "caddy stopped during the attempt"
		err = w.store.Retry(ctx, w.name, l, time.Now(), o)
	case !res.permanent && retryable(res.status):
		delay := queue.Backoff(e.Attempts, rt.backoffMin, rt.backoffMax, rand.Float64)
		if d, ok := queue.RetryAfter(res.retryAfter, time.Now(), rt.backoffMax); ok {
			delay = d
		}
		now := time.Now()
		at := now.Add(delay)
		pastAge := at.After(deadline) && !deadline.After(now)
		if at.After(deadline) {
			// The wait (a Retry-After, a long backoff) ends after the
			// age: the last attempt is made when the age runs out.
			at = deadline
		}
		if e.Attempts >= rt.attempts || pastAge {
			outcome = "dead"
			err = w.store.Dead(ctx, w.name, l, o)
			break
		}
		outcome = "retry"
		err = w.store.Retry(ctx, w.name, l, at, o)
		if delay < queuePollInterval {
			// Sooner than the next poll: a wake-up of its own.
			time.AfterFunc(delay, w.wake)
		}
	default:
		outcome = "dead"
		err = w.store.Dead(ctx, w.name, l, o)
	}
	if errors.Is(err, queue.ErrLeaseLost) {
		outcome = "lease_lost"
	} else if err != nil {
		w.logStoreError(rt, "settle", err)
		outcome = "settle_failed"
	}
	rt.metrics.attempt(w.name, outcome)
	fields := []zap.Field{
		zap.String("queue", w.name), zap.String("entry_id", e.ID), zap.Int("attempt", e.Attempts),
		zap.Int("status", res.status), zap.String("outcome", outcome), zap.Duration("duration", took),
	}
	if id := e.Vars["id"]; id != "" {
		fields = append(fields, zap.String("webhook_id", id))
	}
	if o.Error != "" {
		fields = append(fields, zap.String("error", o.Error))
	}
	if outcome == "dead" {
		rt.logger.Warn("webhook_queue: entry dead-lettered", fields...)
	} else if ce := rt.logger.Check(zap.DebugLevel, "webhook_queue: attempt"); ce != nil {
		ce.Write(fields...)
	}
}

// retryable reports whether an attempt that ended with status (0: an error
// without status, such as a refused connection) is tried again.
func retryable(status int) bool {
	return status == 0 || status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500
}

// errNoDeliverAnswer is the error of a deliver chain that wrote nothing:
// retried, since it is a configuration to fix, not an answer of the app.
var errNoDeliverAnswer = errors.New("no deliver handler answered")

// noDeliverAnswer ends the deliver routes.
var noDeliverAnswer = caddyhttp.HandlerFunc(func(http.ResponseWriter, *http.Request) error {
	return errNoDeliverAnswer
})

// attempt sends e through the deliver handlers as a fresh request, with a
// Caddy request context as a server would give it.
func (w *queueWorkers) attempt(ctx context.Context, rt *queueRuntime, e *queue.Entry) (res attemptResult) {
	req, err := http.NewRequestWithContext(ctx, e.Method, e.URI, bytes.NewReader(e.Body))
	if err != nil {
		return attemptResult{err: fmt.Errorf("stored request: %v", err), permanent: true}
	}
	req.RequestURI = e.URI
	req.Header = e.Header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	req.Host = req.Header.Get("Host")
	req.Header.Del("Host")
	req.Header.Set(QueueIDHeader, e.ID)
	req.Header.Set(QueueAttemptHeader, strconv.Itoa(e.Attempts))
	// The attempt comes from this Caddy itself.
	req.RemoteAddr = "127.0.0.1:0"
	body := e.Body
	req.ContentLength = int64(len(body))
	if len(body) == 0 {
		req.Body = http.NoBody
	}
	req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }

	repl := caddy.NewReplacer()
	for k, v := range e.Vars {
		repl.Set("http.webhook_verify."+k, v)
	}
	dw := &deliveryWriter{header: http.Header{}}
	req = caddyhttp.PrepareRequest(req, repl, dw, rt.server)
	defer func() {
		// A handler's panic (reverse_proxy aborts with one when the
		// answer breaks off) is a failed attempt, never a dead worker.
		if p := recover(); p != nil {
			res = attemptResult{status: dw.status, err: fmt.Errorf("deliver handler panicked: %v", p)}
			if dw.status >= 200 && dw.status <= 299 {
				// The app took the entry before the answer broke off.
				res.err = nil
			}
		}
	}()
	err = rt.deliver.ServeHTTP(dw, req)
	res = attemptResult{status: dw.status, err: err, retryAfter: dw.header.Get("Retry-After")}
	if err != nil && dw.status == 0 {
		var he caddyhttp.HandlerError
		if errors.As(err, &he) {
			res.status = he.StatusCode
			if he.Err != nil {
				res.err = he.Err
			}
		}
	} else if err != nil && dw.status >= 200 && dw.status <= 299 {
		// The status is what the app said; an error after it (the
		// answer's body broke off) does not undo the delivery.
		res.err = nil
	}
	if err == nil && dw.status == 0 {
		res.err = errNoDeliverAnswer
	}
	return res
}

// deliveryWriter takes the deliver handlers' answer: the status and
// headers are kept, the body is counted and dropped.
type deliveryWriter struct {
	header http.Header
	status int
	n      int64
}

func (d *deliveryWriter) Header() http.Header { return d.header }

func (d *deliveryWriter) WriteHeader(status int) {
	if d.status == 0 && status >= 200 {
		d.status = status
	}
}

func (d *deliveryWriter) Write(p []byte) (int, error) {
	if d.status == 0 {
		d.status = http.StatusOK
	}
	d.n += int64(len(p))
	return len(p), nil
}

// Flush lets streaming handlers flush.
func (d *deliveryWriter) Flush() {}

var _ http.Flusher = (*deliveryWriter)(nil)
