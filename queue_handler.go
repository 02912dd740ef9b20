package webhookverify

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/webhookverify/caddy-webhook-verify/queue"
)

func init() {
	caddy.RegisterModule(Queue{})
}

// Defaults of webhook_queue.
const (
	// DefaultQueueName is the queue's name when `name` is not set.
	DefaultQueueName = "default"
	// DefaultQueueAck is the status of the answer once an entry is durable.
	DefaultQueueAck = http.StatusOK
	// DefaultQueueAttempts is how many delivery attempts an entry gets.
	DefaultQueueAttempts = 15
	// DefaultQueueMaxAge is how long after its acceptance an entry is
	// still attempted.
	DefaultQueueMaxAge = 72 * time.Hour
	// DefaultQueueBackoffMin and DefaultQueueBackoffMax bound the wait
	// between two attempts (exponential with jitter).
	DefaultQueueBackoffMin = 5 * time.Second
	DefaultQueueBackoffMax = time.Hour
	// DefaultQueueConcurrency is how many deliveries of one queue are in
	// flight at most.
	DefaultQueueConcurrency = 4
	// DefaultQueueVisibility is how long a claimed entry stays with its
	// worker before another may take it up again.
	DefaultQueueVisibility = 5 * time.Minute
	// DefaultQueueMaxEntries bounds a queue's entries (pending, in flight
	// and dead) when max_entries is not set.
	DefaultQueueMaxEntries = 100000
	// DefaultQueueMaxBytes bounds a queue's stored bytes when max_bytes is
	// not set (1 GiB).
	DefaultQueueMaxBytes = 1 << 30
)

// Headers sent to the app with every delivery attempt.
const (
	// QueueIDHeader carries the entry's stable id: the same on every
	// attempt, so the app can deduplicate.
	QueueIDHeader = "Webhook-Queue-Id"
	// QueueAttemptHeader carries the attempt number, from 1.
	QueueAttemptHeader = "Webhook-Queue-Attempt"
)

// queueVars are the webhook_verify placeholders an entry keeps (without
// the "http.webhook_verify." prefix) and restores when it is delivered.
var queueVars = []string{"provider", "verified", "id", "timestamp", "key", "replay"}

// Queue is the webhook_queue handler: it stores each request it receives
// durably, answers `ack` (200) once the entry is on disk (or acknowledged by
// Redis), and delivers the stored request in the background to its
// `deliver` handlers, with retries, backoff and a dead-letter set. It is
// terminal: it never calls the next handler.
//
// Placed after webhook_verify, it queues verified, new deliveries only
// (handshakes and the verifier's own answers never reach it), and the
// replay cache commits a delivery on the queue's 2xx, so a provider's retry
// of an accepted delivery is a duplicate, never a second entry. Without
// webhook_verify before it, it is a generic durable buffer.
//
// Delivery is at least once (the app deduplicates on the Webhook-Queue-Id
// header); the order of delivery is not promised. Each attempt carries the
// headers Webhook-Queue-Id (the entry's stable id) and
// Webhook-Queue-Attempt (1, 2, ...), and the webhook_verify placeholders of
// the original request are set again, so `header_up X-Webhook-Id
// {http.webhook_verify.id}` works in `deliver`.
type Queue struct {
	// The queue's identity in its store, stable across restarts and
	// reloads: entries are found again by it. Default "default". Two
	// webhook_queue handlers of one config that use the same store need
	// distinct names (a load error says so). Renaming a queue leaves its
	// entries under the old name, reported as orphaned, never dropped.
	Name string `json:"name,omitempty"`

	// Where the entries are kept. Default: the file store in Caddy's data
	// directory.
	Store *QueueStoreConfig `json:"store,omitempty"`

	// The status of the answer once the entry is durable. Default 200;
	// must be a 2xx so that webhook_verify's replay cache commits it.
	Ack int `json:"ack,omitempty"`

	// At most this many delivery attempts per entry (default 15); after
	// the last failed one the entry is dead-lettered.
	RetryAttempts int `json:"retry_attempts,omitempty"`

	// No retry is scheduled after an entry is this old (default 72h): a
	// longer wait is cut to it, and a failure after it dead-letters the
	// entry. The first attempt after acceptance or a requeue is always
	// made.
	RetryMaxAge caddy.Duration `json:"retry_max_age,omitempty"`

	// The shortest and longest wait between attempts: the wait doubles from
	// backoff_min up to backoff_max, with jitter. Defaults 5s and 1h. A
	// Retry-After header in the app's answer is honoured up to backoff_max.
	BackoffMin caddy.Duration `json:"backoff_min,omitempty"`
	BackoffMax caddy.Duration `json:"backoff_max,omitempty"`

	// Deliveries of this queue in flight at once. Default 4.
	Concurrency int `json:"concurrency,omitempty"`

	// Beyond this many entries (pending, in flight and dead) new requests
	// are answered 503 with Retry-After, so the provider retries later.
	// Default 100000; nothing acknowledged is ever dropped.
	MaxEntries int64 `json:"max_entries,omitempty"`

	// Beyond this many stored bytes (bodies, URIs and headers), 503 as
	// for max_entries. Default 1 GiB.
	MaxBytes int64 `json:"max_bytes,omitempty"`

	// The largest body accepted when no webhook_verify precedes the queue
	// (behind webhook_verify its max_size applies). Default 1 MiB; larger
	// bodies get 413.
	MaxSize int64 `json:"max_size,omitempty"`

	// How long a claimed entry stays with its worker: an attempt is cut
	// off after it, and an entry whose worker died is taken up again once
	// it has passed. Default 5m.
	Visibility caddy.Duration `json:"visibility,omitempty"`

	// Queue the requests a `webhook_verify` in `mode log_only` passes on
	// although enforce mode would refuse them: those that did not verify
	// ({http.webhook_verify.verified} is "false") and replays
	// ({http.webhook_verify.replay} "duplicate" or "in_flight"). Off by
	// default: such a request gets the answer enforce mode would give
	// (401; 200 "duplicate"; 409) and nothing is stored, so unverified
	// input never reaches the queue by a log_only switch alone.
	AllowUnverified bool `json:"allow_unverified,omitempty"`

	// The handlers each entry is delivered through, as a subroute
	// (typically one reverse_proxy). A 2xx answer ends the entry; 5xx,
	// 408, 429 and errors without a status (connection refused) are
	// retried; other statuses dead-letter it.
	Deliver caddyhttp.RouteList `json:"deliver,omitempty"`

	// The attest keys of the webhook_verify before the queue (the same
	// values): each delivery attempt's webhook-timestamp and
	// webhook-signature are signed anew, with the stored webhook-id, so
	// the app's Standard Webhooks tolerance measures the attempt, not the
	// time in the queue. Only a stored signature made with one of these
	// keys is renewed; any other webhook-* or svix-* header is removed.
	// Without attest the stored headers go out as they were stored.
	// Placeholders are resolved as for webhook_verify's secrets.
	Attest []string `json:"attest,omitempty"`

	// deliverSegment holds the Caddyfile's deliver block until the http
	// adapter parses it as routes.
	deliverSegment *caddyfile.Dispenser

	store   queue.Store
	storeID string
	workers *queueWorkers
	rt      *queueRuntime
	maxSize int64
	limits  queue.Limits
	logger  *zap.Logger
	metrics *queueMetrics
}

// CaddyModule returns the Caddy module information.
func (Queue) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.webhook_queue",
		New: func() caddy.Module { return new(Queue) },
	}
}

// Provision opens the store, provisions the deliver routes and starts (or
// joins) the queue's workers, so delivery works after a restart before any
// request arrives.
func (q *Queue) Provision(ctx caddy.Context) error {
	if err := q.provision(ctx); err != nil {
		return fmt.Errorf("webhook_queue %s: %w", q.name(), err)
	}
	return nil
}

func (q *Queue) provision(ctx caddy.Context) error {
	q.logger = ctx.Logger()
	if err := q.validate(); err != nil {
		return err
	}
	q.maxSize = q.MaxSize
	if q.maxSize == 0 {
		q.maxSize = DefaultMaxSize
	}
	q.limits = queue.Limits{MaxEntries: q.MaxEntries, MaxBytes: q.MaxBytes}
	if q.limits.MaxEntries == 0 {
		q.limits.MaxEntries = DefaultQueueMaxEntries
	}
	if q.limits.MaxBytes == 0 {
		q.limits.MaxBytes = DefaultQueueMaxBytes
	}
	renew, err := newAttester(q.Attest)
	if err != nil {
		return err
	}
	if len(q.Deliver) == 0 {
		return errors.New("deliver is required: the handlers each entry is delivered through")
	}
	if err := q.Deliver.Provision(ctx); err != nil {
		return fmt.Errorf("deliver: %v", err)
	}
	if q.metrics, err = provisionQueueMetrics(ctx); err != nil {
		return err
	}
	st, id, err := openQueueStore(ctx, q.Store)
	if err != nil {
		return err
	}
	q.store, q.storeID = st, id
	srv, _ := ctx.Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	if srv == nil {
		// Outside an http server (tests): the handlers still find one.
		srv = new(caddyhttp.Server)
	}
	q.rt = &queueRuntime{
		config:      ctx.Done(),
		deliver:     renewAttestation(renew, q.Deliver.Compile(noDeliverAnswer)),
		server:      srv,
		attempts:    orDefault(q.RetryAttempts, DefaultQueueAttempts),
		maxAge:      orDefault(time.Duration(q.RetryMaxAge), DefaultQueueMaxAge),
		backoffMin:  orDefault(time.Duration(q.BackoffMin), DefaultQueueBackoffMin),
		backoffMax:  orDefault(time.Duration(q.BackoffMax), DefaultQueueBackoffMax),
		concurrency: orDefault(q.Concurrency, DefaultQueueConcurrency),
		visibility:  orDefault(time.Duration(q.Visibility), DefaultQueueVisibility),
		logger:      q.logger,
		metrics:     q.metrics,
	}
	w, err := joinQueueWorkers(q.storeID, q.name(), q.rt)
	if err != nil {
		return err
	}
	q.workers = w
	return nil
}

// validate checks what the Caddyfile parser checks too, for JSON configs.
func (q *Queue) validate() error {
	if q.Ack != 0 && (q.Ack < 200 || q.Ack > 299) {
		return fmt.Errorf("ack must be a 2xx status, not %d", q.Ack)
	}
	for _, v := range []int64{int64(q.RetryAttempts), int64(q.RetryMaxAge), int64(q.BackoffMin), int64(q.BackoffMax),
		int64(q.Concurrency), q.MaxEntries, q.MaxBytes, q.MaxSize, int64(q.Visibility)} {
		if v < 0 {
			return errors.New("retry, backoff, concurrency, max_entries, max_bytes, max_size and visibility must not be negative")
		}
	}
	if q.BackoffMin > 0 && q.BackoffMax > 0 && q.BackoffMin > q.BackoffMax {
		return errors.New("backoff minimum is above its maximum")
	}
	if q.Visibility > 0 && time.Duration(q.Visibility) < time.Second {
		return errors.New("visibility must be at least 1s")
	}
	if strings.TrimSpace(q.Name) != q.Name {
		return errors.New("name must not start or end with white space")
	}
	return nil
}

// Validate implements caddy.Validator.
func (q *Queue) Validate() error {
	if q.store == nil || q.workers == nil {
		return errors.New("webhook_queue: not provisioned")
	}
	return nil
}

// Cleanup leaves the queue's workers (the last config to leave stops them)
// and its store.
func (q *Queue) Cleanup() error {
	var err error
	if q.workers != nil {
		err = q.workers.leave(q.rt)
		q.workers = nil
	}
	if q.storeID != "" {
		if _, e := queueStorePool.Delete(q.storeID); e != nil && err == nil {
			err = e
		}
		q.storeID = ""
	}
	return err
}

// name is the queue's name in its store.
func (q *Queue) name() string {
	if q.Name != "" {
		return q.Name
	}
	return DefaultQueueName
}

// ack is the status of the answer to an accepted request.
func (q *Queue) ack() int { return orDefault(q.Ack, DefaultQueueAck) }

const (
	// appendTimeout bounds one append (the stores bound theirs too).
	appendTimeout = 30 * time.Second
	// queueFullRetryAfter is the Retry-After (seconds) of a 503 for a
	// full queue: the app needs time to catch up.
	queueFullRetryAfter = "60"
)

// ServeHTTP stores the request and answers ack once it is durable, or 503
// (nothing kept) when it cannot be. It never calls next.
func (q *Queue) ServeHTTP(w http.ResponseWriter, r *http.Request, _ caddyhttp.Handler) error {
	if !q.AllowUnverified {
		if done, err := q.refuseUnverified(w, r); done {
			return err
		}
	}
	e, err := q.entry(w, r)
	if err != nil {
		return err
	}
	// The answer depends on the append alone, even when the client goes.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), appendTimeout)
	defer cancel()
	id, err := q.store.Append(ctx, q.name(), e, q.limits)
	if errors.Is(err, queue.ErrInvalid) {
		// Too many header fields to store faithfully: refused, as a
		// server refuses too large a header.
		q.metrics.accepted(q.name(), "invalid")
		return caddyhttp.Error(http.StatusRequestHeaderFieldsTooLarge, err)
	}
	if err != nil {
		result := "unavailable"
		if errors.Is(err, queue.ErrFull) {
			result = "full"
			w.Header().Set("Retry-After", queueFullRetryAfter)
		}
		q.metrics.accepted(q.name(), result)
		q.logger.Error("webhook_queue: request not queued", zap.String("queue", q.name()),
			zap.String("result", result), zap.Error(err))
		return caddyhttp.Error(http.StatusServiceUnavailable, fmt.Errorf("queue %s: %s", q.name(), result))
	}
	q.metrics.accepted(q.name(), "queued")
	q.workers.wake()
	if ce := q.logger.Check(zap.DebugLevel, "webhook_queue: queued"); ce != nil {
		ce.Write(zap.String("queue", q.name()), zap.String("entry_id", id), zap.Int("bytes", len(e.Body)))
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set(QueueIDHeader, id)
	w.WriteHeader(q.ack())
	_, err = io.WriteString(w, "queued\n")
	return err
}

// refuseUnverified answers, as enforce mode would, a request that a
// log_only webhook_verify passed on although it did not verify or is a
// replay; done is false for every other request (verified and new, or no
// webhook_verify before the queue).
func (q *Queue) refuseUnverified(w http.ResponseWriter, r *http.Request) (done bool, err error) {
	repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if !ok {
		return false, nil
	}
	if v, ok := repl.GetString("http.webhook_verify.verified"); ok && v != "true" {
		q.metrics.accepted(q.name(), "unverified")
		return true, caddyhttp.Error(http.StatusUnauthorized,
			errors.New("webhook_queue: not queued: the request did not verify (a log_only webhook_verify passed it on; allow_unverified queues it)"))
	}
	switch v, _ := repl.GetString("http.webhook_verify.replay"); v {
	case "duplicate":
		// Its first copy was acknowledged, so it is stored already.
		q.metrics.accepted(q.name(), "duplicate")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, err := io.WriteString(w, "duplicate delivery: already accepted\n")
		return true, err
	case "in_flight":
		q.metrics.accepted(q.name(), "duplicate")
		w.Header().Set("Retry-After", retryAfter)
		return true, caddyhttp.Error(http.StatusConflict, errors.New("webhook_queue: not queued: duplicate delivery still in flight"))
	}
	return false, nil
}

// entry reads the request into a queue entry. Behind webhook_verify the
// body is already in memory, bounded by its max_size; otherwise it is read
// here within max_size and the default body timeout.
func (q *Queue) entry(w http.ResponseWriter, r *http.Request) (*queue.Entry, error) {
	limit := q.maxSize
	if _, gated := r.Body.(*heldReader); gated {
		limit = r.ContentLength
	}
	rd := &Handler{maxSize: limit, bodyTimeout: DefaultBodyTimeout}
	body, buf, err := rd.readBody(w, r)
	switch {
	case errors.Is(err, errTooLarge):
		return nil, caddyhttp.Error(http.StatusRequestEntityTooLarge, err)
	case errors.Is(err, errBodyTimeout):
		return nil, caddyhttp.Error(http.StatusRequestTimeout, err)
	case err != nil:
		return nil, caddyhttp.Error(http.StatusBadRequest, err)
	}
	e := &queue.Entry{
		Method: r.Method,
		URI:    r.URL.RequestURI(),
		Header: r.Header.Clone(),
		Body:   append([]byte{}, body...),
	}
	putBody(buf)
	for _, k := range []string{"Connection", "Keep-Alive", "Proxy-Connection", "Te", "Trailer", "Transfer-Encoding", "Upgrade", "Expect", QueueIDHeader, QueueAttemptHeader} {
		e.Header.Del(k)
	}
	if r.Host != "" {
		// net/http keeps Host out of the header map; the entry keeps it
		// there, and delivery puts it back in req.Host.
		e.Header.Set("Host", r.Host)
	}
	if repl, ok := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer); ok {
		for _, k := range queueVars {
			if v, ok := repl.GetString("http.webhook_verify." + k); ok {
				if e.Vars == nil {
					e.Vars = map[string]string{}
				}
				e.Vars[k] = v
			}
		}
	}
	return e, nil
}

// orDefault returns v, or def when v is zero.
func orDefault[T int | int64 | time.Duration](v, def T) T {
	if v == 0 {
		return def
	}
	return v
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Queue)(nil)
	_ caddy.Validator             = (*Queue)(nil)
	_ caddy.CleanerUpper          = (*Queue)(nil)
	_ caddyhttp.MiddlewareHandler = (*Queue)(nil)
)
