package webhookverify

import (
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// Rejection log limits: each handler (route) writes at most logBurst
// rejection lines per logInterval; the rest of the interval's rejections
// are counted and reported in one summary line when it ends.
const (
	logBurst    = 10
	logInterval = time.Minute
)

// logLimiter bounds the rejection lines of one handler, so that a flood of
// forged requests writes a summary with a count instead of one line each.
type logLimiter struct {
	burst    int
	interval time.Duration
	now      func() time.Time
	// summary writes the summary of the suppressed lines of a window.
	summary func(suppressed int, byResult map[string]int, since time.Time)

	mu         sync.Mutex
	start      time.Time // of the current window
	n          int       // lines allowed in the window
	suppressed int
	byResult   map[string]int
	timer      *time.Timer
	closed     bool
}

func newLogLimiter(burst int, interval time.Duration, summary func(int, map[string]int, time.Time)) *logLimiter {
	return &logLimiter{burst: burst, interval: interval, now: time.Now, summary: summary}
}

// allow reports whether a rejection line with this result may be written
// now; when not, the rejection is counted for the window's summary.
func (l *logLimiter) allow(result string) bool {
	l.mu.Lock()
	now := l.now()
	var (
		flushN   int
		flushBy  map[string]int
		flushSin time.Time
	)
	if l.start.IsZero() || now.Sub(l.start) >= l.interval {
		// A new window; a summary still pending from the last one (its
		// timer has not fired yet) is written first.
		flushN, flushBy, flushSin = l.takeLocked()
		l.start, l.n = now, 0
	}
	l.n++
	ok := l.n <= l.burst
	if !ok {
		l.suppressed++
		if l.byResult == nil {
			l.byResult = map[string]int{}
		}
		l.byResult[result]++
		if l.timer == nil && !l.closed {
			l.timer = time.AfterFunc(l.start.Add(l.interval).Sub(now), l.flush)
		}
	}
	l.mu.Unlock()
	if flushN > 0 {
		l.summary(flushN, flushBy, flushSin)
	}
	return ok
}

// takeLocked returns and resets the pending summary.
func (l *logLimiter) takeLocked() (int, map[string]int, time.Time) {
	n, by, since := l.suppressed, l.byResult, l.start
	l.suppressed, l.byResult = 0, nil
	if l.timer != nil {
		l.timer.Stop()
		l.timer = nil
	}
	return n, by, since
}

// flush writes the pending summary, if any.
func (l *logLimiter) flush() {
	l.mu.Lock()
	n, by, since := l.takeLocked()
	l.mu.Unlock()
	if n > 0 {
		l.summary(n, by, since)
	}
}

// close writes the pending summary and stops the timer for good.
func (l *logLimiter) close() {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.flush()
}

// resultCounts is a zap object of suppressed rejections by result, in a
// stable order.
type resultCounts map[string]int

func (c resultCounts) MarshalLogObject(enc zapcore.ObjectEncoder) error {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		enc.AddInt(k, c[k])
	}
	return nil
}

// rejectionSummary returns the summary writer of h's rejection limiter.
func (h *Handler) rejectionSummary(logger *zap.Logger) func(int, map[string]int, time.Time) {
	return h.limitSummary(logger, zapcore.InfoLevel, "webhook rejections not logged one by one")
}

// storeFailureSummary returns the summary writer of h's replay store
// failure limiter.
func (h *Handler) storeFailureSummary(logger *zap.Logger) func(int, map[string]int, time.Time) {
	return h.limitSummary(logger, zapcore.ErrorLevel, "webhook replay store failures not logged one by one")
}

// limitSummary returns a summary writer that logs at level with msg.
func (h *Handler) limitSummary(logger *zap.Logger, level zapcore.Level, msg string) func(int, map[string]int, time.Time) {
	return func(n int, by map[string]int, since time.Time) {
		fields := []zap.Field{
			zap.String("provider", h.Provider),
			zap.Int("suppressed", n),
			zap.Object("by_result", resultCounts(by)),
			zap.Time("since", since),
		}
		if h.Name != "" {
			fields = append(fields, zap.String("name", h.Name))
		}
		if h.logOnly() {
			fields = append(fields, zap.String("mode", ModeLogOnly))
		}
		logger.Log(level, msg, fields...)
	}
}

// directiveError prefixes a configuration error with the directive and the
// provider, dropping the verifiers' own "provider <name>" prefix; nil stays
// nil. The wrapped error stays reachable with errors.Is/As.
func directiveError(provider string, err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "provider "+provider+": ")
	msg = strings.TrimPrefix(msg, "provider "+provider+" ")
	return &configError{msg: "webhook_verify " + provider + ": " + msg, err: err}
}

// configError is a configuration error with a message for users.
type configError struct {
	msg string
	err error
}

func (e *configError) Error() string { return e.msg }
func (e *configError) Unwrap() error { return e.err }

// closeLogs writes a pending rejection summary and stops the limiter.
func (h *Handler) closeLogs() {
	if h.logLimit != nil {
		h.logLimit.close()
	}
	if h.storeLog != nil {
		h.storeLog.close()
	}
	if h.untrack != nil {
		h.untrack()
	}
}

// caddyRedacted are the request headers Caddy's logs redact unless the
// server sets should_log_credentials.
var caddyRedacted = map[string]bool{"Authorization": true, "Cookie": true, "Proxy-Authorization": true}

// warnCredentialLogs warns, once per load, when a request carries a
// secret where Caddy logs it: a header the verifier checks (Caddy's access
// log and its error log copy every request header before any handler
// runs, so the gate's removing the header cannot keep it out of them), or
// Meta's verify token in the handshake's query (the access log's uri). The
// warning gives the log filter that keeps it out.
func (h *Handler) warnCredentialLogs() {
	if h.logger == nil {
		return
	}
	var names []string
	if cc, ok := h.verifier.(verifiers.CredentialCarrier); ok {
		for _, n := range cc.CredentialHeaders() {
			if !caddyRedacted[n] {
				names = append(names, n)
			}
		}
	}
	query := h.VerifyToken != ""
	if len(names) == 0 && !query {
		return
	}
	fields := []zap.Field{zap.String("provider", h.Provider)}
	if len(names) > 0 {
		fields = append(fields, zap.Strings("headers", names))
	}
	if query {
		fields = append(fields, zap.Strings("query", secretQueryParams))
	}
	fields = append(fields, zap.String("caddyfile", credentialLogFilter(names, query)))
	h.logger.Warn("Caddy's logs copy the request before any handler runs, with this route's secret: add the log filter shown to the site's log block (access log) and to the log block of the global options (http.log.error)", fields...)
}

// secretQueryParams are the query parameters that carry a secret (Meta's
// handshake verify token).
var secretQueryParams = []string{"hub.verify_token"}

// credentialLogFilter returns the Caddyfile log block that deletes the
// named headers (and, with query, the secret query parameters) from the
// request in Caddy's log lines: the same block in a site, for its access
// log, and in the global options, for the default log that carries
// http.log.error.
func credentialLogFilter(names []string, query bool) string {
	var b strings.Builder
	b.WriteString("log {\n\tformat filter {\n")
	for _, n := range names {
		fmt.Fprintf(&b, "\t\trequest>headers>%s delete\n", n)
	}
	if query {
		b.WriteString("\t\trequest>uri query {\n")
		for _, p := range secretQueryParams {
			fmt.Fprintf(&b, "\t\t\tdelete %s\n", p)
		}
		b.WriteString("\t\t}\n")
	}
	b.WriteString("\t}\n}")
	return b.String()
}

// logURI returns a request URI for the gate's log lines, with the values
// of secret query parameters replaced.
func logURI(uri string) string {
	path, q, ok := strings.Cut(uri, "?")
	if !ok {
		return uri
	}
	parts := strings.Split(q, "&")
	changed := false
	for i, p := range parts {
		k, _, _ := strings.Cut(p, "=")
		if dk, err := url.QueryUnescape(k); err == nil {
			k = dk
		}
		if slices.Contains(secretQueryParams, k) {
			parts[i], changed = k+"=REDACTED", true
		}
	}
	if !changed {
		return uri
	}
	return path + "?" + strings.Join(parts, "&")
}
