package webhookverify

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/caddyserver/caddy/v2"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/webhookverify/caddy-webhook-verify/replay"
	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// The request path's own storage: what ServeHTTP needs for one delivery,
// allocated once per request instead of piece by piece (the verifier's
// request and URL, the held body and its first reader, the recycler, the
// status writer, the replay unit, the replay key's material), and the
// placeholder values that are the same for every request, boxed once.
// None of it is pooled or shared between requests: a reader of the body
// still held after the request (see heldBody) keeps its own delivery.

// delivery is the per-request state of ServeHTTP.
type delivery struct {
	req      verifiers.Request
	url      url.URL
	held     heldBody
	recycler recycler
	sw       statusWriter
	rww      caddyhttp.ResponseWriterWrapper
	unit     [1]replayUnit
	material [96]byte // replay key material (a "sig:" and 64 hex digits fit)
}

// statusWriter returns the delivery's status writer around w.
func (d *delivery) statusWriter(w http.ResponseWriter) *statusWriter {
	d.rww.ResponseWriter = w
	d.sw = statusWriter{ResponseWriterWrapper: &d.rww}
	return &d.sw
}

// providerPlaceholder is the value of {http.webhook_verify.provider},
// boxed at provision time.
func (h *Handler) providerPlaceholder() any {
	if h.providerValue != nil {
		return h.providerValue
	}
	return h.Provider
}

// placeholderKeys are the values of {http.webhook_verify.key} for the
// first secrets and keys, boxed once (a string put in an interface
// allocates).
var placeholderKeys = func() (v [16]any) {
	for i := range v {
		v[i] = strconv.Itoa(i + 1)
	}
	return v
}()

// keyPlaceholder is the value of {http.webhook_verify.key} for the
// 0-based key index i.
func keyPlaceholder(i int) any {
	if i >= 0 && i < len(placeholderKeys) {
		return placeholderKeys[i]
	}
	return strconv.Itoa(i + 1)
}

// replayPlaceholderValue is replayPlaceholder(s) as a constant in an
// interface (no allocation).
func replayPlaceholderValue(s replay.State) any {
	switch s {
	case replay.New:
		return "new"
	case replay.Accepted:
		return "duplicate"
	case replay.InFlight:
		return "in_flight"
	}
	return s.String()
}

// hotMetrics caches the collectors every verified delivery touches, for
// the route it was last seen on: WithLabelValues hashes its labels and
// takes a lock on every call. The collectors are created once per process
// and never deleted, so a cached child stays the one WithLabelValues
// would return.
type hotMetrics struct {
	last atomic.Pointer[routeCollectors]
}

type routeCollectors struct {
	route    string
	verify   prometheus.Observer
	verified prometheus.Counter
}

// collectors returns the route's cached collectors (nil without metrics).
func (h *Handler) collectors(r *http.Request) *routeCollectors {
	if h.metrics == nil {
		return nil
	}
	route := h.route(r)
	if h.hot != nil {
		if c := h.hot.last.Load(); c != nil && c.route == route {
			return c
		}
	}
	c := &routeCollectors{
		route:    route,
		verify:   h.metrics.verify.WithLabelValues(h.Provider, route),
		verified: h.metrics.requests.WithLabelValues(h.Provider, route, "verified", h.modeLabel()),
	}
	if h.hot != nil {
		h.hot.last.Store(c)
	}
	return c
}

// resetPlaceholders makes every documented placeholder resolve to ""
// until this request sets it, as setting each to "" would, without a map
// insert per placeholder and request: placeholderDefault answers the
// ones not set (it comes after the replacer's static values). Values an
// earlier handler of the chain set (another webhook_verify) are deleted
// first, as they would have been overwritten.
func resetPlaceholders(repl *caddy.Replacer) {
	if _, ok := repl.Get("http.webhook_verify.provider"); ok {
		for _, name := range placeholderNames {
			repl.Delete(name)
		}
	}
	repl.Map(placeholderDefault)
}

// placeholderDefault is "" for a documented placeholder.
func placeholderDefault(key string) (any, bool) {
	if !strings.HasPrefix(key, "http.webhook_verify.") {
		return nil, false
	}
	for _, name := range placeholderNames {
		if name == key {
			return "", true
		}
	}
	return nil, false
}
