package webhookverify

import (
	"sort"
	"strings"
	"sync"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
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

// rejectionSummary returns the summary writer of h's limiter.
func (h *Handler) rejectionSummary(logger *zap.Logger) func(int, map[string]int, time.Time) {
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
		logger.Info("webhook rejections not logged one by one", fields...)
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
	if h.untrack != nil {
		h.untrack()
	}
}
