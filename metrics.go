package webhookverify

import (
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/webhookverify/caddy-webhook-verify/replay"
)

// metrics holds the collectors of the handler. They are created once per
// process and registered on each config's registry at provision time, so a
// reload keeps the counters counting.
//
// Labels come from small fixed sets: provider is the name written in the
// config (an alias stays an alias, as in {http.webhook_verify.provider});
// route is the handler's `name`, else the Caddy server's name (srv0, ...,
// as in Caddy's own caddy_http_* metrics); result is one of the outcomes
// listed in the requests_total help; mode is the handler's mode (enforce,
// log_only), so shadow-mode counts stand apart from enforcing ones; namespace is the replay namespace
// set in the config, else the canonical provider name.
type metrics struct {
	requests  *prometheus.CounterVec
	verify    *prometheus.HistogramVec
	evictions *prometheus.CounterVec
	entries   *replayEntriesGauge
}

var (
	metricsOnce sync.Once
	sharedMet   *metrics
)

func newMetrics() *metrics {
	return &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy",
			Subsystem: "webhook_verify",
			Name:      "requests_total",
			Help:      "Webhook requests by provider, route, result (verified, handshake, handled, duplicate, in_flight, malformed, timestamp, signature, credentials, forbidden, unavailable, too_large, body_timeout, replay_unavailable, internal) and mode (enforce, log_only): a log_only route's results are what enforce would have done, every request passed on.",
		}, []string{"provider", "route", "result", "mode"}),
		verify: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "caddy",
			Subsystem: "webhook_verify",
			Name:      "verify_duration_seconds",
			Help:      "Time to verify a request's signature once its body was read (key and certificate fetches included), by provider and route, accepted and refused alike.",
			// 10µs (an HMAC) to about 2.6s (a certificate fetch).
			Buckets: prometheus.ExponentialBuckets(10e-6, 4, 10),
		}, []string{"provider", "route"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy",
			Subsystem: "webhook_verify",
			Name:      "replay_evictions_total",
			Help:      "Unexpired entries evicted from a full in-memory replay cache, by replay namespace.",
		}, []string{"namespace"}),
		entries: newReplayEntriesGauge(),
	}
}

// provisionMetrics registers the collectors on the context's registry,
// tolerating a registration left by an earlier config.
func provisionMetrics(ctx caddy.Context) (*metrics, error) {
	metricsOnce.Do(func() { sharedMet = newMetrics() })
	reg := ctx.GetMetricsRegistry()
	if reg == nil {
		return sharedMet, nil
	}
	for _, c := range []prometheus.Collector{sharedMet.requests, sharedMet.verify, sharedMet.evictions, sharedMet.entries} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
		}
	}
	return sharedMet, nil
}

// observeVerify records how long one verification took.
func (h *Handler) observeVerify(r *http.Request, d time.Duration) {
	if h.metrics != nil {
		h.metrics.verify.WithLabelValues(h.Provider, h.route(r)).Observe(d.Seconds())
	}
}

// modeLabel is the value of the mode label.
func (h *Handler) modeLabel() string {
	if h.logOnly() {
		return ModeLogOnly
	}
	return ModeEnforce
}

// statser is a replay store that can count its entries (the in-memory
// store). The storage and Redis stores cannot count cheaply (a scan of
// the whole keyspace) and report nothing.
type statser interface {
	Stats() replay.MemoryStats
}

// replayEntriesGauge is the gauge caddy_webhook_verify_replay_entries{namespace}:
// at each scrape it sums the entries of the in-memory stores in use, by
// namespace label. Stores are tracked with a reference count per handler
// that uses them, so a store shared by identical routes (or the old and the
// new config during a reload) is counted once.
type replayEntriesGauge struct {
	desc   *prometheus.Desc
	mu     sync.Mutex
	stores map[statser]*trackedStore
}

type trackedStore struct {
	label string
	refs  int
}

func newReplayEntriesGauge() *replayEntriesGauge {
	return &replayEntriesGauge{
		desc: prometheus.NewDesc("caddy_webhook_verify_replay_entries",
			"Entries (in flight and accepted, expired ones not yet swept included) in the in-memory replay caches, by replay namespace. Storage and Redis replay stores are not counted.",
			[]string{"namespace"}, nil),
		stores: map[statser]*trackedStore{},
	}
}

// track counts store (if it can count its entries) under label until the
// returned function is called.
func (e *replayEntriesGauge) track(store replay.Store, label string) func() {
	s, ok := store.(statser)
	if !ok {
		return func() {}
	}
	e.mu.Lock()
	t := e.stores[s]
	if t == nil {
		t = &trackedStore{label: label}
		e.stores[s] = t
	}
	t.refs++
	e.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			e.mu.Lock()
			if t.refs--; t.refs <= 0 {
				delete(e.stores, s)
			}
			e.mu.Unlock()
		})
	}
}

// Describe implements prometheus.Collector.
func (e *replayEntriesGauge) Describe(ch chan<- *prometheus.Desc) { ch <- e.desc }

// Collect implements prometheus.Collector.
func (e *replayEntriesGauge) Collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	sums := map[string]int{}
	for s, t := range e.stores {
		sums[t.label] += s.Stats().Entries
	}
	e.mu.Unlock()
	for label, n := range sums {
		ch <- prometheus.MustNewConstMetric(e.desc, prometheus.GaugeValue, float64(n), label)
	}
}

// Stats counts the entries of the namespace's current in-memory store.
func (c *memoryCache) Stats() replay.MemoryStats {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.mem.Stats()
}

var _ statser = (*memoryCache)(nil)
