package webhookverify

import (
	"errors"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"
)

// metrics holds the collectors of the handler. They are created once per
// process and registered on each config's registry at provision time.
type metrics struct {
	requests  *prometheus.CounterVec
	evictions *prometheus.CounterVec
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
			Help:      "Webhook requests by provider and result (verified, handled, duplicate, in_flight, malformed, timestamp, signature, credentials, unavailable, too_large, replay_unavailable, internal).",
		}, []string{"provider", "result"}),
		evictions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "caddy",
			Subsystem: "webhook_verify",
			Name:      "replay_evictions_total",
			Help:      "Unexpired entries evicted from a full in-memory replay cache, by replay namespace.",
		}, []string{"namespace"}),
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
	for _, c := range []prometheus.Collector{sharedMet.requests, sharedMet.evictions} {
		if err := reg.Register(c); err != nil {
			var are prometheus.AlreadyRegisteredError
			if !errors.As(err, &are) {
				return nil, err
			}
		}
	}
	return sharedMet, nil
}
