package webhookverify

import (
	"cmp"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/webhookverify/caddy-webhook-verify/queue"
)

// queueMetrics holds the collectors of webhook_queue, created once per
// process and registered on each config's registry (as metrics does). The
// route label is the queue's name; outcome and result come from the small
// fixed sets in the help texts.
type queueMetrics struct {
	requests *prometheus.CounterVec
	attempts *prometheus.CounterVec
	duration *prometheus.HistogramVec
	state    *queueStateCollector
}

var (
	queueMetricsOnce sync.Once
	sharedQueueMet   *queueMetrics
)

func newQueueMetrics() *queueMetrics {
	return &queueMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy",
			Subsystem: "webhook_queue",
			Name:      "requests_total",
			Help:      "Requests reaching webhook_queue, by route (the queue's name) and result (queued, full, unavailable, invalid, unverified, duplicate).",
		}, []string{"route", "result"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy",
			Subsystem: "webhook_queue",
			Name:      "attempts_total",
			Help:      "Delivery attempts by route and outcome (delivered, retry, dead, lease_lost, settle_failed).",
		}, []string{"route", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "caddy",
			Subsystem: "webhook_queue",
			Name:      "delivery_duration_seconds",
			Help:      "Time of one delivery attempt through the deliver handlers, by route.",
			// 1ms to about 65s.
			Buckets: prometheus.ExponentialBuckets(1e-3, 4, 9),
		}, []string{"route"}),
		state: newQueueStateCollector(),
	}
}

// provisionQueueMetrics registers the collectors on the context's
// registry, tolerating a registration left by an earlier config.
func provisionQueueMetrics(ctx caddy.Context) (*queueMetrics, error) {
	queueMetricsOnce.Do(func() { sharedQueueMet = newQueueMetrics() })
	reg := ctx.GetMetricsRegistry()
	if reg == nil {
		return sharedQueueMet, nil
	}
	for _, c := range []prometheus.Collector{sharedQueueMet.requests, sharedQueueMet.attempts, sharedQueueMet.duration, sharedQueueMet.state} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
		}
	}
	return sharedQueueMet, nil
}

func (m *queueMetrics) accepted(route, result string) {
	if m != nil {
		m.requests.WithLabelValues(route, result).Inc()
	}
}

func (m *queueMetrics) attempt(route, outcome string) {
	if m != nil {
		m.attempts.WithLabelValues(route, outcome).Inc()
	}
}

func (m *queueMetrics) observeDelivery(route string, d time.Duration) {
	if m != nil {
		m.duration.WithLabelValues(route).Observe(d.Seconds())
	}
}

// queueStatsTimeout bounds the store calls of one scrape.
const queueStatsTimeout = 2 * time.Second

// queueStateCollector reports, at each scrape, every queue of every open
// store (configured or not: entries of a queue no longer configured are
// counted too, with configured="false"):
//
//	caddy_webhook_queue_entries{route,state,configured}  state: pending, in_flight, dead
//	caddy_webhook_queue_bytes{route,configured}
//	caddy_webhook_queue_oldest_pending_age_seconds{route,configured}
type queueStateCollector struct {
	entries, bytes, oldest *prometheus.Desc
}

func newQueueStateCollector() *queueStateCollector {
	return &queueStateCollector{
		entries: prometheus.NewDesc("caddy_webhook_queue_entries",
			"Entries of each queue by state (pending, in_flight, dead); configured is false for a queue that holds entries but is configured nowhere.",
			[]string{"route", "state", "configured"}, nil),
		bytes: prometheus.NewDesc("caddy_webhook_queue_bytes",
			"Bytes stored by each queue (what max_bytes bounds).",
			[]string{"route", "configured"}, nil),
		oldest: prometheus.NewDesc("caddy_webhook_queue_oldest_pending_age_seconds",
			"Age of the oldest entry not yet delivered (pending or in flight), 0 when there is none: alert when it grows.",
			[]string{"route", "configured"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *queueStateCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.entries
	ch <- c.bytes
	ch <- c.oldest
}

// Collect implements prometheus.Collector.
func (c *queueStateCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), queueStatsTimeout)
	defer cancel()
	now := time.Now()
	seen := map[string]bool{} // a name reported once, by its configured store
	for _, q := range listQueues(ctx) {
		if seen[q.Name] {
			continue
		}
		seen[q.Name] = true
		if q.err != nil {
			continue
		}
		conf := "false"
		if q.Configured {
			conf = "true"
		}
		s := q.stats
		ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(s.Pending), q.Name, "pending", conf)
		ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(s.InFlight), q.Name, "in_flight", conf)
		ch <- prometheus.MustNewConstMetric(c.entries, prometheus.GaugeValue, float64(s.Dead), q.Name, "dead", conf)
		ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.GaugeValue, float64(s.Bytes), q.Name, conf)
		age := 0.0
		if !s.OldestPending.IsZero() {
			age = max(now.Sub(s.OldestPending).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(c.oldest, prometheus.GaugeValue, age, q.Name, conf)
	}
}

// queueInfo describes one queue of an open store.
type queueInfo struct {
	Name       string
	StoreID    string
	Configured bool
	store      queue.Store
	stats      queue.Stats
	err        error
}

// listQueues lists the configured queues, then the other queues holding
// entries in the open stores, each with its stats.
func listQueues(ctx context.Context) []queueInfo {
	queueRegistry.Lock()
	var out []queueInfo
	stores := map[string]queue.Store{}
	for _, w := range queueRegistry.m {
		out = append(out, queueInfo{Name: w.name, StoreID: w.storeID, Configured: true, store: w.store})
		stores[w.storeID] = w.store
	}
	queueRegistry.Unlock()
	for id, st := range stores {
		names, err := st.Queues(ctx)
		if err != nil {
			continue
		}
		for _, n := range names {
			if !queueConfigured(id, n) {
				out = append(out, queueInfo{Name: n, StoreID: id, store: st})
			}
		}
	}
	for i := range out {
		out[i].stats, out[i].err = out[i].store.Stats(ctx, out[i].Name)
	}
	slices.SortFunc(out, func(a, b queueInfo) int {
		if a.Configured != b.Configured {
			if a.Configured {
				return -1
			}
			return 1
		}
		return cmp.Or(strings.Compare(a.Name, b.Name), strings.Compare(a.StoreID, b.StoreID))
	})
	return out
}
