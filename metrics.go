package webhookverify

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
	"go.uber.org/zap"

	"github.com/webhookverify/caddy-webhook-verify/replay"
	"github.com/webhookverify/caddy-webhook-verify/verifiers"
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
// log_only), so shadow-mode counts stand apart from enforcing ones;
// namespace is the replay namespace set in the config, else the canonical
// provider name followed by the route's `name` (defaultNamespaceLabel).
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
	if c := h.collectors(r); c != nil {
		c.verify.Observe(d.Seconds())
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

// defaultNamespaceLabel names a default replay namespace (none set) in
// logs and metrics: the canonical provider, then the route's name when it
// has one. The namespace itself holds a fingerprint of the secrets, which
// never leaves memory; without the name, two routes of one provider with
// other secrets (a cache each) would be reported as one.
func defaultNamespaceLabel(provider, name string) string {
	label := verifiers.Canonical(provider)
	if name != "" {
		label += "/" + name
	}
	return label
}

// replayEntriesGauge is the gauge caddy_webhook_verify_replay_entries{namespace}:
// at each scrape it reports the entries of each in-memory store in use,
// once, by namespace label. Stores are tracked with a reference count per
// handler that uses them, so a store shared by the routes of one namespace
// (or by the old and the new config during a reload) is counted once,
// under the smallest label its current handlers give it. Two stores with
// one label (two routes of one provider, other secrets, no namespace and
// no name) are summed, as a registry cannot hold two series with the same
// labels; the handler warns at load (trackReplayEntries).
type replayEntriesGauge struct {
	desc   *prometheus.Desc
	mu     sync.Mutex
	stores map[statser]*trackedStore
}

type trackedStore struct {
	labels map[string]int // references by label
}

// label is the store's label: the smallest of its handlers'.
func (t *trackedStore) label() string {
	first := ""
	for l := range t.labels {
		if first == "" || l < first {
			first = l
		}
	}
	return first
}

func newReplayEntriesGauge() *replayEntriesGauge {
	return &replayEntriesGauge{
		desc: prometheus.NewDesc("caddy_webhook_verify_replay_entries",
			"Entries (in flight and accepted, expired ones not yet swept included) in the in-memory replay caches, one series a cache, by replay namespace. Storage and Redis replay stores are not counted.",
			[]string{"namespace"}, nil),
		stores: map[statser]*trackedStore{},
	}
}

// track counts store (if it can count its entries) under label until the
// returned function is called. It also reports whether another store of
// the same config load is already counted under label.
func (e *replayEntriesGauge) track(store replay.Store, label string) (untrack func(), clash bool) {
	s, ok := store.(statser)
	if !ok {
		return func() {}, false
	}
	e.mu.Lock()
	for o, t := range e.stores {
		if o != s && t.labels[label] > 0 && sameLoad(o, s) {
			clash = true
		}
	}
	t := e.stores[s]
	if t == nil {
		t = &trackedStore{labels: map[string]int{}}
		e.stores[s] = t
	}
	t.labels[label]++
	e.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			e.mu.Lock()
			if t.labels[label]--; t.labels[label] <= 0 {
				delete(t.labels, label)
			}
			if len(t.labels) == 0 {
				delete(e.stores, s)
			}
			e.mu.Unlock()
		})
	}, clash
}

// sameLoad reports whether two stores were last fitted by one config load
// (a store of the config being replaced is not a clash).
func sameLoad(a, b statser) bool {
	la, ok1 := a.(interface{ loadedBy() context.Context })
	lb, ok2 := b.(interface{ loadedBy() context.Context })
	return ok1 && ok2 && la.loadedBy() == lb.loadedBy()
}

// trackReplayEntries counts the handler's replay store in the entries
// gauge until the returned function is called, and warns when another
// cache of this config is reported under the same namespace label.
func (h *Handler) trackReplayEntries() func() {
	untrack, clash := h.metrics.entries.track(h.replay.store, h.replay.label)
	if clash && h.logger != nil {
		h.logger.Warn("two in-memory replay caches are reported as one namespace in caddy_webhook_verify_replay_entries and in the replay logs (routes of one provider with other secrets and no namespace): give each route a name, or a replay namespace",
			zap.String("provider", h.Provider), zap.String("namespace", h.replay.label))
	}
	return untrack
}

// Describe implements prometheus.Collector.
func (e *replayEntriesGauge) Describe(ch chan<- *prometheus.Desc) { ch <- e.desc }

// Collect implements prometheus.Collector.
func (e *replayEntriesGauge) Collect(ch chan<- prometheus.Metric) {
	e.mu.Lock()
	sums := map[string]int{}
	for s, t := range e.stores {
		sums[t.label()] += s.Stats().Entries
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

// loadedBy is the config load that last fitted the cache.
func (c *memoryCache) loadedBy() context.Context {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.load
}

var _ statser = (*memoryCache)(nil)
