package webhookverify

import (
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/webhookverify/caddy-webhook-verify/verifiers"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// The handler's answers and outcomes: a failed verification refused (or
// passed on in log_only mode), the handler's own answers, the reason and
// status of each refusal, and the decision logged and counted (the log
// limiter: logs.go; the collectors: metrics.go).

// fail handles a request that failed verification: refused in enforce
// mode; logged, counted and passed on (marked unverified) in log_only
// mode (the caller has restored the body it read, if any).
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, repl *caddy.Replacer, next caddyhttp.Handler, err error) error {
	if !h.logOnly() {
		return h.reject(w, r, repl, "", err)
	}
	why, _ := reason(err)
	repl.Set("http.webhook_verify.error", err.Error())
	h.outcome(r, why, "", err)
	dropShadowHeaders(r)
	h.dropAttestation(r)
	return next.ServeHTTP(w, r)
}

// writeResponse writes an answer of the handler itself (a handshake, an
// action's result).
func writeResponse(w http.ResponseWriter, resp *verifiers.Response) error {
	for k, vs := range resp.Header {
		w.Header()[http.CanonicalHeaderKey(k)] = append([]string(nil), vs...)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.WriteHeader(resp.Status)
	_, err := io.WriteString(w, resp.Body)
	return err
}

// failureClasses maps each failure class to its result (logs, metrics)
// and status, first match first; a failure of none of them is internal.
var failureClasses = []struct {
	err    error
	result string
	status int
}{
	{errTooLarge, "too_large", http.StatusRequestEntityTooLarge},
	{errBodyTimeout, "body_timeout", http.StatusRequestTimeout},
	{verifiers.ErrMalformed, "malformed", http.StatusBadRequest},
	{verifiers.ErrTimestamp, "timestamp", http.StatusUnauthorized},
	{verifiers.ErrSignature, "signature", http.StatusUnauthorized},
	{verifiers.ErrCredentials, "credentials", http.StatusUnauthorized},
	{verifiers.ErrUnavailable, "unavailable", http.StatusServiceUnavailable},
	{verifiers.ErrForbidden, "forbidden", http.StatusForbidden},
	{errStoreUnavailable, resultStoreUnavailable, http.StatusServiceUnavailable},
}

// errInternal names the class of a failure of no other class.
var errInternal = errors.New("internal error")

// failureClass returns the class of a failure: the sentinel it wraps, its
// result and its status.
func failureClass(err error) (class error, result string, status int) {
	for _, c := range failureClasses {
		if errors.Is(err, c.err) {
			return c.err, c.result, c.status
		}
	}
	return errInternal, "internal", http.StatusInternalServerError
}

// reason names a failure for logs, metrics and the error placeholder.
func reason(err error) (string, int) {
	_, why, status := failureClass(err)
	return why, status
}

// reject logs the failure and ends the request with httpError: a Caddy
// HTTP error for handle_errors routes to shape, or, on a server without
// them, the gate's own answer.
func (h *Handler) reject(w http.ResponseWriter, r *http.Request, repl *caddy.Replacer, id string, err error) error {
	why, status := reason(err)
	repl.Set("http.webhook_verify.error", err.Error())
	if c, ok := h.verifier.(verifiers.Challenger); ok && errors.Is(err, verifiers.ErrCredentials) {
		if ch := c.Challenge(); ch != "" {
			w.Header().Set("WWW-Authenticate", ch)
		}
	}
	h.outcome(r, why, id, err)
	return h.httpError(w, r, status, err)
}

// outcome logs and counts the result of one request: one line per
// decision, verified ones at DEBUG (INFO in log_only mode), rejections at INFO (ERROR for
// internal errors), at most logBurst rejection lines per logInterval and
// route; replay store failures at ERROR, limited apart from rejections (a
// flood of forged requests cannot hide them). It never logs a secret, a
// signature or the body.
func (h *Handler) outcome(r *http.Request, result, id string, err error) {
	if result == "verified" {
		if c := h.collectors(r); c != nil {
			c.verified.Inc()
		}
	} else if h.metrics != nil {
		h.metrics.requests.WithLabelValues(h.Provider, h.route(r), result, h.modeLabel()).Inc()
	}
	if h.logger == nil {
		return
	}
	level := zapcore.DebugLevel
	msg := "webhook verified"
	switch result {
	case "handshake":
		msg = "webhook handshake answered"
	case "handled":
		msg = "webhook handled"
	case "duplicate", "in_flight":
		msg = "webhook duplicate"
	}
	if h.logOnly() {
		// Shadow mode: every decision at INFO, Caddy's default level, so
		// the logs show what enforce would do without DEBUG.
		level = zapcore.InfoLevel
	}
	limit := h.logLimit
	if err != nil {
		level, msg = zapcore.InfoLevel, "webhook rejected"
		switch result {
		case "internal":
			level = zapcore.ErrorLevel
		case resultStoreUnavailable:
			level, msg, limit = zapcore.ErrorLevel, "webhook replay store unavailable", h.storeLog
		}
	}
	ce := h.logger.Check(level, msg)
	if ce == nil {
		return
	}
	if err != nil && limit != nil && !limit.allow(result) {
		return
	}
	fields := make([]zap.Field, 0, 11)
	fields = append(fields, zap.String("provider", h.Provider))
	if h.Name != "" {
		fields = append(fields, zap.String("name", h.Name))
	}
	fields = append(fields, zap.String("result", result))
	if err != nil {
		fields = append(fields, zap.String("reason", err.Error()))
	}
	if id != "" {
		fields = append(fields, zap.String("delivery_id", truncate(id, 128)))
	}
	orig := r
	if o, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok {
		orig = &o
	}
	uri := orig.RequestURI
	if uri == "" && orig.URL != nil {
		uri = orig.URL.RequestURI()
	}
	fields = append(fields,
		zap.String("remote_ip", remoteHost(r)),
		zap.String("host", truncate(r.Host, 256)),
		zap.String("method", truncate(r.Method, 32)),
		zap.String("uri", truncate(logURI(uri), 1024)),
	)
	if h.logOnly() {
		fields = append(fields, zap.String("mode", ModeLogOnly))
	}
	ce.Write(fields...)
}

// route is the value of the route label: the handler's name, else the
// name of the server it runs in.
func (h *Handler) route(r *http.Request) string {
	if h.Name != "" {
		return h.Name
	}
	if srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server); ok && srv != nil {
		return srv.Name()
	}
	return ""
}

func remoteHost(r *http.Request) string {
	if i := strings.LastIndexByte(r.RemoteAddr, ':'); i > 0 {
		return strings.Trim(r.RemoteAddr[:i], "[]")
	}
	return r.RemoteAddr
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// resultStoreUnavailable is the result (log, metrics) of a verified
// delivery the replay store could not check.
const resultStoreUnavailable = "replay_unavailable"

// httpError ends a request the gate refuses: it returns a Caddy HTTP
// error, for handle_errors routes to shape, except on a server without
// handle_errors routes. There Caddy would answer the status alone, with
// no body saying why, and, for a 5xx, log it at ERROR, once per request,
// with the copy of the request it made before any handler ran: every
// header, a credential the gate removed as much as whatever an
// unauthenticated client chose to send. So the gate answers it itself:
// the status, the headers already set (WWW-Authenticate, Retry-After,
// Connection: close) and a short text naming the failure's class
// (rejectionBody), and returns nil, so its own rate-limited line is the
// only one. Caddy logs the errors it is handed (when handle_errors routes
// exist) at DEBUG.
func (h *Handler) httpError(w http.ResponseWriter, r *http.Request, status int, err error) error {
	if !answersErrorsItself(r) {
		return caddyhttp.Error(status, err)
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/plain; charset=utf-8")
	hdr.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, rejectionBody(err))
	return nil
}

// rejectionBody is the body of a refusal the gate answers itself: the
// text of the failure's class only ("webhook rejected: signature
// mismatch"), never the detailed reason (that is logged), a secret, an
// expected signature or any part of the request.
func rejectionBody(err error) string {
	class, _, _ := failureClass(err)
	return "webhook rejected: " + class.Error() + "\n"
}

// answersErrorsItself reports whether the request is served by a Caddy
// server without handle_errors routes (outside a Caddy server, as in unit
// tests, errors are returned).
func answersErrorsItself(r *http.Request) bool {
	srv, ok := r.Context().Value(caddyhttp.ServerCtxKey).(*caddyhttp.Server)
	if !ok || srv == nil {
		return false
	}
	return srv.Errors == nil || len(srv.Errors.Routes) == 0
}
