// Package fetch is the bounded fetch-and-cache helper of the verifiers
// that fetch keys or certificates named by (or chosen from) unauthenticated
// requests: SNS signing certificates, MailChannels public keys, PayPal
// certificates.
//
// Client.Get is one bounded GET: a timeout, a size cap, no redirects, and
// a status check (404 is ErrNotFound, any other non-200 and every transport
// failure ErrUnavailable; both as a *StatusError that tells the status). Cache[V] sits on top: it keeps
// parsed values by URL (at most MaxEntries, first in first out), remembers
// failures for FailTTL (at most MaxFailures URLs), shares one load among
// the concurrent requests for a URL (the load runs detached from the
// request that started it, so a client that hangs up cannot cancel it for
// the others), bounds the loads running at once (MaxConcurrent; a request
// that finds no free slot within SlotWait gets ErrUnavailable) and, when
// Rate is set, the loads started per second (a token bucket of Burst).
//
// Errors never quote the URL (it may come from the request body).
package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

var (
	// ErrNotFound: the server says there is no such resource (404).
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: the resource could not be had (transport failure,
	// another status, too large, no free slot, rate limited).
	ErrUnavailable = errors.New("unavailable")
)

// StatusError is the error of a response other than 200: it wraps
// ErrNotFound for a 404, ErrUnavailable otherwise, and tells the status
// (errors.As) for callers that read more into it.
type StatusError struct {
	Code     int
	sentinel error
}

func (e *StatusError) Error() string { return fmt.Sprintf("%v: status %d", e.sentinel, e.Code) }

// Unwrap returns ErrNotFound or ErrUnavailable.
func (e *StatusError) Unwrap() error { return e.sentinel }

// Defaults for zero Limits fields.
const (
	DefaultTimeout       = 10 * time.Second
	DefaultMaxSize       = 64 << 10
	DefaultMaxEntries    = 32
	DefaultMaxFailures   = 256
	DefaultFailTTL       = 5 * time.Minute
	DefaultMaxConcurrent = 4
	DefaultSlotWait      = 2 * time.Second
)

// Limits bound a Client and a Cache. Zero fields take the defaults above.
type Limits struct {
	// Timeout bounds one GET, headers and body.
	Timeout time.Duration
	// MaxSize is the largest response body accepted, in bytes.
	MaxSize int64
	// MaxEntries is the number of parsed values a Cache keeps.
	MaxEntries int
	// MaxFailures is the number of failed URLs a Cache remembers.
	MaxFailures int
	// FailTTL is how long a failure is remembered (answered without a
	// new fetch).
	FailTTL time.Duration
	// MaxConcurrent bounds the loads of a Cache running at once.
	MaxConcurrent int
	// SlotWait is how long a load waits for a free slot.
	SlotWait time.Duration
	// Rate, when positive, is the number of loads a Cache may start per
	// second once Burst is spent; 0 means no rate limit.
	Rate float64
	// Burst is the token bucket size when Rate is set (at least 1).
	Burst int
}

func (l Limits) withDefaults() Limits {
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	if l.MaxSize <= 0 {
		l.MaxSize = DefaultMaxSize
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.MaxFailures <= 0 {
		l.MaxFailures = DefaultMaxFailures
	}
	if l.FailTTL <= 0 {
		l.FailTTL = DefaultFailTTL
	}
	if l.MaxConcurrent <= 0 {
		l.MaxConcurrent = DefaultMaxConcurrent
	}
	if l.SlotWait <= 0 {
		l.SlotWait = DefaultSlotWait
	}
	if l.Rate > 0 && l.Burst < 1 {
		l.Burst = 1
	}
	return l
}

// Client makes bounded GETs.
type Client struct {
	http   *http.Client
	limits Limits
}

// NewClient returns a Client on a copy of hc (nil: a new client) that never
// follows redirects and times out after l.Timeout.
func NewClient(hc *http.Client, l Limits) *Client {
	l = l.withDefaults()
	var c http.Client
	if hc != nil {
		c = *hc
	}
	if c.Timeout <= 0 || c.Timeout > l.Timeout {
		c.Timeout = l.Timeout
	}
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &Client{http: &c, limits: l}
}

// HTTPClient returns the client used (redirects off).
func (c *Client) HTTPClient() *http.Client { return c.http }

// Get fetches url and returns the body of a 200 response of at most
// MaxSize bytes. header, if not nil, is added to the request.
func (c *Client) Get(ctx context.Context, url string, header http.Header) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, c.limits.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: invalid request", ErrUnavailable)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%w: request failed", ErrUnavailable)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return nil, &StatusError{Code: resp.StatusCode, sentinel: ErrNotFound}
	default:
		return nil, &StatusError{Code: resp.StatusCode, sentinel: ErrUnavailable}
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.limits.MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the response failed", ErrUnavailable)
	}
	if int64(len(b)) > c.limits.MaxSize {
		return nil, fmt.Errorf("%w: response too large", ErrUnavailable)
	}
	return b, nil
}

// Cache holds values loaded by URL (or any key), bounded as Limits say.
// The zero value is not usable: use NewCache.
type Cache[V any] struct {
	limits Limits

	mu      sync.Mutex
	values  map[string]V
	order   []string
	fails   map[string]failure
	forder  []string
	flights map[string]*flight[V]
	tokens  float64
	last    time.Time
	slots   chan struct{}
}

type failure struct {
	err error
	at  time.Time
}

type flight[V any] struct {
	done chan struct{}
	v    V
	err  error
}

// NewCache returns an empty Cache with the limits l.
func NewCache[V any](l Limits) *Cache[V] {
	l = l.withDefaults()
	return &Cache[V]{limits: l, values: map[string]V{}, fails: map[string]failure{},
		flights: map[string]*flight[V]{}, tokens: float64(l.Burst), slots: make(chan struct{}, l.MaxConcurrent)}
}

// Get returns the value for key: cached, or the remembered failure (within
// FailTTL of now), or the result of load, which runs once for all
// concurrent callers, in a slot, detached from ctx (it gets a context
// without ctx's cancellation); a caller whose ctx ends stops waiting with
// ErrUnavailable. A value load returns is cached; its error is remembered
// unless it is the Cache's own (no slot, rate limited). now is the time of
// the request (tests pass a fixed one).
func (c *Cache[V]) Get(ctx context.Context, key string, now time.Time, load func(ctx context.Context) (V, error)) (V, error) {
	var zero V
	c.mu.Lock()
	if v, ok := c.values[key]; ok {
		c.mu.Unlock()
		return v, nil
	}
	if f, ok := c.fails[key]; ok && !now.Before(f.at) && now.Sub(f.at) < c.limits.FailTTL {
		c.mu.Unlock()
		return zero, f.err
	}
	if ctx.Err() != nil {
		c.mu.Unlock()
		return zero, fmt.Errorf("%w: cancelled", ErrUnavailable)
	}
	fl, busy := c.flights[key]
	if !busy {
		if !c.take(now) {
			c.mu.Unlock()
			return zero, fmt.Errorf("%w: fetches rate limited", ErrUnavailable)
		}
		fl = &flight[V]{done: make(chan struct{})}
		c.flights[key] = fl
		go c.run(context.WithoutCancel(ctx), key, now, fl, load)
	}
	c.mu.Unlock()
	select {
	case <-fl.done:
		return fl.v, fl.err
	case <-ctx.Done():
		return zero, fmt.Errorf("%w: cancelled", ErrUnavailable)
	}
}

var errBusy = fmt.Errorf("%w: too many fetches at once", ErrUnavailable)

func (c *Cache[V]) run(ctx context.Context, key string, now time.Time, fl *flight[V], load func(context.Context) (V, error)) {
	wait := time.NewTimer(c.limits.SlotWait)
	select {
	case c.slots <- struct{}{}:
		wait.Stop()
		fl.v, fl.err = load(ctx)
		<-c.slots
	case <-wait.C:
		fl.err = errBusy
	}
	c.mu.Lock()
	delete(c.flights, key)
	switch {
	case fl.err == nil:
		c.put(key, fl.v)
	case fl.err != errBusy:
		c.fail(key, fl.err, now)
	}
	c.mu.Unlock()
	close(fl.done)
}

// Limits returns the limits of c, defaults filled in.
func (c *Cache[V]) Limits() Limits { return c.limits }

// Forget drops key's value and failure.
func (c *Cache[V]) Forget(key string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.values, key)
	delete(c.fails, key)
}

// Len returns the number of cached values and remembered failures.
func (c *Cache[V]) Len() (values, failures int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.values), len(c.fails)
}

// InFlight returns the number of loads under way.
func (c *Cache[V]) InFlight() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.flights)
}

// take consumes a rate token; c.mu is held.
func (c *Cache[V]) take(now time.Time) bool {
	if c.limits.Rate <= 0 {
		return true
	}
	if c.last.IsZero() {
		c.last = now
	} else if now.After(c.last) {
		c.tokens += now.Sub(c.last).Seconds() * c.limits.Rate
		if max := float64(c.limits.Burst); c.tokens > max {
			c.tokens = max
		}
		c.last = now
	}
	if c.tokens < 1 {
		return false
	}
	c.tokens--
	return true
}

// put caches a value, dropping the oldest when full; c.mu is held.
func (c *Cache[V]) put(key string, v V) {
	delete(c.fails, key)
	if _, ok := c.values[key]; !ok {
		if len(c.order) >= c.limits.MaxEntries {
			delete(c.values, c.order[0])
			c.order = c.order[1:]
		}
		c.order = append(c.order, key)
	}
	c.values[key] = v
}

// fail remembers a failure, dropping the oldest when full; c.mu is held.
func (c *Cache[V]) fail(key string, err error, now time.Time) {
	if _, ok := c.fails[key]; !ok {
		if len(c.forder) >= c.limits.MaxFailures {
			delete(c.fails, c.forder[0])
			c.forder = c.forder[1:]
		}
		c.forder = append(c.forder, key)
	}
	c.fails[key] = failure{err: err, at: now}
}
