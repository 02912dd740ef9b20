// Package webhookverify is a Caddy HTTP handler that lets a webhook through
// only after the provider's signature, timestamp and replay status check
// out, and then hands the next handler exactly the bytes the provider sent.
package webhookverify

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// DefaultMaxSize is the body size limit when max_size is not set (1 MiB).
const DefaultMaxSize int64 = 1 << 20

// Handler verifies a webhook delivery (signature, timestamp, replay) before
// passing it, byte-identical, to the next handler. A request that fails is
// answered with an HTTP error and never reaches the next handler.
//
// It sets these placeholders:
//
// Placeholder | Description
// ------------|-------------
// `{http.webhook_verify.provider}` | The configured provider name
// `{http.webhook_verify.verified}` | `true` when the request verified, else `false` (log_only mode forwards both)
// `{http.webhook_verify.id}` | The delivery id, when the provider sends one
// `{http.webhook_verify.timestamp}` | The verified timestamp (Unix seconds), when the scheme has one
// `{http.webhook_verify.key}` | Position (1-based, as in error messages) of the configured secret or public key that matched
// `{http.webhook_verify.replay}` | `new`, `duplicate`, `in_flight` or `unavailable` (replay on; in log_only mode duplicates are forwarded too); empty when replay is off or the request did not verify
// `{http.webhook_verify.error}` | Why verification failed (never contains a secret or signature); empty when it verified
//
// Every one of them is set on every request the handler sees (empty when
// it has no value), so none reaches a header or a body as literal text.
type Handler struct {
	// The provider whose signature scheme to verify, for example
	// `stripe`, `github`, `standard_webhooks` (aliases `svix`, `resend`),
	// `slack`, `shopify`, `paddle`, `maildesk`, `autosend` or `hmac`.
	Provider string `json:"provider,omitempty"`

	// Shared secrets. The first is the current one; more may be listed
	// during a rotation, and a request passes when it is signed with any.
	// Placeholders such as `{env.SECRET}` and `{file./run/secrets/x}` are
	// resolved at provision time; an empty secret is an error.
	Secrets []string `json:"secrets,omitempty"`

	// Public keys for asymmetric schemes, each optionally bound to a key
	// id. Placeholders are resolved as for secrets.
	PublicKeys []verifiers.PublicKey `json:"public_keys,omitempty"`

	// How far a signed timestamp may be from the current time, in either
	// direction. Default 5m; a negative value (Caddyfile: `off`) disables
	// the timestamp check.
	Tolerance caddy.Duration `json:"tolerance,omitempty"`

	// The largest body accepted, in bytes. Default 1 MiB. A request that
	// declares a larger Content-Length is refused with 413 before its body
	// is read (no 100 Continue is sent); a chunked body is cut after
	// max_size + 1 bytes with 413. The connection is closed after either.
	MaxSize int64 `json:"max_size,omitempty"`

	// How long the client may take to send the whole body, from the time
	// the handler starts reading it. Default 10s; at least 1s. A body not
	// received in time is answered 408 and the connection is closed.
	BodyTimeout caddy.Duration `json:"body_timeout,omitempty"`

	// The recipe of the generic `hmac` provider.
	HMAC *verifiers.HMACRecipe `json:"hmac,omitempty"`

	// The public URL the provider signs (`twilio`, `mandrill`), as
	// `scheme://host/path`; the request's query string is appended.
	URL string `json:"url,omitempty"`

	// With `url`: the path (escaped, without query) requests reach Caddy
	// on, when a proxy in front of Caddy serves the url's path elsewhere.
	// Default: the url's path. A request on any other path is refused
	// (401), since the signature covers the url, not the request's path.
	URLPath string `json:"url_path,omitempty"`

	// Allowed SNS topic ARNs (`sns`); empty allows any topic.
	// Placeholders are resolved.
	TopicARNs []string `json:"topic_arns,omitempty"`

	// Paths of pinned PEM certificates (`sns`), used instead of fetching
	// the signing certificate.
	Certificates []string `json:"certificates,omitempty"`

	// Confirm SNS subscriptions in the handler instead of forwarding the
	// SubscriptionConfirmation message (`sns`).
	AutoConfirm bool `json:"auto_confirm,omitempty"`

	// Basic auth user name (`postmark`). Placeholders are resolved.
	Username string `json:"username,omitempty"`

	// Basic auth password (`postmark`). Placeholders are resolved.
	Password string `json:"password,omitempty"`

	// A request header that must carry one of the secrets verbatim
	// (`postmark`, instead of Basic auth).
	Header string `json:"header,omitempty"`

	// Keep the credentials the gate checked (`postmark`'s secret header
	// or Basic Authorization) on the request passed to the next handler.
	// By default they are removed, so they reach neither the upstream nor
	// its logs. Caddy's own logs copy the request before any handler runs:
	// see the README's Logs section for the filter that keeps them out.
	KeepCredentials bool `json:"keep_credentials,omitempty"`

	// Allowed MailChannels customer handles (`mailchannels`): every event
	// in a verified body must carry one. MailChannels signs all its
	// customers' events with the same keys, so without this any
	// MailChannels customer can send signed events to this endpoint.
	// Placeholders are resolved.
	CustomerHandles []string `json:"customer_handles,omitempty"`

	// The token Meta sends in its GET subscription handshake
	// (`hub.verify_token`; `facebook_graph_api`, `facebook_messenger`,
	// `instagram`, `whatsapp`, alias `meta`): the handshake is answered
	// with its challenge only when the token matches, else 403.
	// Placeholders are resolved.
	VerifyToken string `json:"verify_token,omitempty"`

	// The id of the PayPal webhook (`paypal`), which PayPal signs along
	// with each delivery. Placeholders are resolved.
	WebhookID string `json:"webhook_id,omitempty"`

	// Replay protection; on by default.
	Replay *ReplayConfig `json:"replay,omitempty"`

	// What to do with a request that fails: `enforce` (default) refuses it;
	// `log_only` (shadow mode) verifies, logs and counts exactly as enforce
	// does but forwards every request, with `{http.webhook_verify.verified}`
	// telling whether it verified, and never blocks a duplicate (replay
	// still records verified deliveries). A body over max_size (413) or
	// not received in time (408) is refused in both modes: it was not read
	// whole. Handshakes are answered in both modes.
	Mode string `json:"mode,omitempty"`

	// A name for this route in metrics (the `route` label) and logs;
	// default: the name of the Caddy server the route is in (srv0, ...).
	Name string `json:"name,omitempty"`

	// Where the handler is configured, as `file:line`: the Caddyfile
	// adapter sets it, so that errors at load and warnings about the route
	// name the line. Informational; optional in JSON.
	Origin string `json:"origin,omitempty"`

	verifier  verifiers.Verifier
	replay    *replayState
	maxSize   int64
	logger    *zap.Logger
	metrics   *metrics
	logLimit  *logLimiter
	storeLog  *logLimiter // replay store failures, apart from rejections
	replayKey replayKeySource
	untrack   func() // stops counting this handler's replay store

	bodyTimeout time.Duration
}

// placeholderNames are the placeholders the handler sets (see Handler).
var placeholderNames = []string{
	"http.webhook_verify.provider", "http.webhook_verify.verified", "http.webhook_verify.id",
	"http.webhook_verify.timestamp", "http.webhook_verify.key", "http.webhook_verify.replay",
	"http.webhook_verify.error",
}

// Modes of the handler.
const (
	// ModeEnforce refuses requests that fail verification (the default).
	ModeEnforce = "enforce"
	// ModeLogOnly verifies, logs and counts, and forwards every request.
	ModeLogOnly = "log_only"
)

// logOnly reports whether the handler runs in shadow mode.
func (h *Handler) logOnly() bool { return h.Mode == ModeLogOnly }

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.webhook_verify",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision resolves secrets and builds the verifier. Its errors start
// with the directive and the provider ("webhook_verify stripe: secret 1 is
// empty"), so that the route is found in Caddy's chain of module names.
//
// The error is also logged at ERROR, with the file and line the Caddyfile
// gave, as the first line about it: Caddy's own error puts the chain of
// module names (a few hundred characters) before it.
func (h *Handler) Provision(ctx caddy.Context) error {
	err := directiveError(h.Provider, h.provision(ctx))
	if err != nil && h.Origin != "" {
		err = &configError{msg: err.Error() + ", at " + h.Origin, err: err}
	}
	if err != nil {
		ctx.Logger().Error(err.Error())
	}
	return err
}

func (h *Handler) provision(ctx caddy.Context) error {
	h.logger = ctx.Logger()
	if err := h.checkChain(ctx); err != nil {
		return err
	}
	h.logLimit = newLogLimiter(logBurst, logInterval, h.rejectionSummary(h.logger))
	h.storeLog = newLogLimiter(logBurst, logInterval, h.storeFailureSummary(h.logger))
	h.maxSize = h.MaxSize
	if h.maxSize == 0 {
		h.maxSize = DefaultMaxSize
	}
	if err := h.checkDurations(); err != nil {
		return err
	}
	h.bodyTimeout = time.Duration(h.BodyTimeout)
	if h.bodyTimeout == 0 {
		h.bodyTimeout = DefaultBodyTimeout
	}
	cfg, err := h.verifierConfig()
	if err != nil {
		return err
	}
	v, err := verifiers.New(h.Provider, cfg)
	if err != nil {
		return err
	}
	h.verifier = v
	h.warnCredentialLogs()
	switch verifiers.Canonical(h.Provider) {
	case "sns":
		if len(cfg.TopicARNs) == 0 {
			h.logger.Warn("sns without topic_arn: any AWS account can subscribe this endpoint to its own topic and have its messages verified")
		}
	case "facebook_graph_api":
		if cfg.VerifyToken == "" {
			h.logger.Warn("meta provider without verify_token: Meta's GET subscription handshake is refused with 403")
		}
	case "mailchannels":
		if len(cfg.CustomerHandles) == 0 {
			h.logger.Warn("mailchannels without customer_handle: events signed for any MailChannels customer are accepted")
		}
		if len(cfg.PublicKeys) == 0 {
			h.logger.Info("mailchannels without public_key: signing keys are fetched from MailChannels by key id; pin them with public_key to avoid the fetch")
		}
	}
	if h.metrics, err = provisionMetrics(ctx); err != nil {
		return err
	}
	if err := h.provisionReplay(ctx, cfg); err != nil {
		return err
	}
	if h.replay != nil && h.metrics != nil {
		h.untrack = h.metrics.entries.track(h.replay.store, h.replay.label)
	}
	return h.provisionReplayKey()
}

// verifierConfig resolves placeholders and reads certificate files.
func (h *Handler) verifierConfig() (verifiers.Config, error) {
	repl := caddy.NewReplacer()
	resolve := func(what string, i int, s string) (string, error) {
		// A placeholder the replacer does not know ({enx.X}, or a request
		// placeholder, which has no value at provision time) would be
		// kept as literal text: a secret anyone reading the config could
		// sign with. Refused, without echoing any part of the value
		// (write a literal brace as \{ or \}).
		if _, err := repl.ReplaceOrErr(s, false, true); err != nil {
			return "", fmt.Errorf("%s %d contains an unknown placeholder (only global ones such as {env.NAME} and {file.path} are resolved here)", what, i+1)
		}
		out, err := repl.ReplaceOrErr(s, true, false)
		if err != nil {
			return "", fmt.Errorf("%s %d: %v", what, i+1, err)
		}
		if out == "" {
			return "", fmt.Errorf("%s %d is empty", what, i+1)
		}
		return out, nil
	}
	cfg := verifiers.Config{
		Provider:    h.Provider,
		Tolerance:   time.Duration(h.Tolerance),
		HMAC:        h.HMAC,
		AutoConfirm: h.AutoConfirm,
		Header:      h.Header,
	}
	for i, s := range h.Secrets {
		v, err := resolve("secret", i, s)
		if err != nil {
			return cfg, err
		}
		cfg.Secrets = append(cfg.Secrets, v)
	}
	for i, k := range h.PublicKeys {
		v, err := resolve("public_key", i, k.Key)
		if err != nil {
			return cfg, err
		}
		cfg.PublicKeys = append(cfg.PublicKeys, verifiers.PublicKey{KeyID: k.KeyID, Key: v})
	}
	for i, a := range h.TopicARNs {
		v, err := resolve("topic_arn", i, a)
		if err != nil {
			return cfg, err
		}
		cfg.TopicARNs = append(cfg.TopicARNs, v)
	}
	for i, c := range h.CustomerHandles {
		v, err := resolve("customer_handle", i, c)
		if err != nil {
			return cfg, err
		}
		cfg.CustomerHandles = append(cfg.CustomerHandles, v)
	}
	for i, p := range h.Certificates {
		pem, err := os.ReadFile(repl.ReplaceAll(p, ""))
		if err != nil {
			return cfg, fmt.Errorf("certificate %d: %v", i+1, err)
		}
		cfg.Certificates = append(cfg.Certificates, string(pem))
	}
	var err error
	for _, f := range []struct {
		what string
		in   string
		out  *string
	}{{"url", h.URL, &cfg.URL}, {"url_path", h.URLPath, &cfg.URLPath}, {"username", h.Username, &cfg.Username}, {"password", h.Password, &cfg.Password},
		{"verify_token", h.VerifyToken, &cfg.VerifyToken}, {"webhook_id", h.WebhookID, &cfg.WebhookID}} {
		if f.in == "" {
			continue
		}
		if *f.out, err = resolve(f.what, 0, f.in); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// Duration bounds checked at load, for the Caddyfile and JSON alike.
const (
	// MaxTolerance is the largest timestamp tolerance accepted.
	MaxTolerance = 24 * time.Hour
	// MinReplayTTL is the shortest ttl and in_flight_ttl accepted.
	MinReplayTTL = time.Second
	// MaxReplayTTL is the longest ttl and in_flight_ttl accepted.
	MaxReplayTTL = 366 * 24 * time.Hour
	// MaxBodyTimeout is the longest body_timeout accepted.
	MaxBodyTimeout = time.Hour
)

// checkDurations applies the bounds of tolerance, body_timeout and the
// replay TTLs (zero means the default; a negative tolerance means off).
func (h *Handler) checkDurations() error {
	if tol := time.Duration(h.Tolerance); tol > MaxTolerance {
		return fmt.Errorf("tolerance must be at most %v", MaxTolerance)
	}
	if bt := time.Duration(h.BodyTimeout); bt != 0 && (bt < MinBodyTimeout || bt > MaxBodyTimeout) {
		return fmt.Errorf("body_timeout must be between %v and %v", MinBodyTimeout, MaxBodyTimeout)
	}
	if rc := h.Replay; rc != nil && !rc.Disabled {
		for _, d := range []struct {
			name string
			v    caddy.Duration
		}{{"ttl", rc.TTL}, {"in_flight_ttl", rc.InFlightTTL}} {
			if v := time.Duration(d.v); v != 0 && (v < MinReplayTTL || v > MaxReplayTTL) {
				return fmt.Errorf("replay: %s must be between %v and %v", d.name, MinReplayTTL, MaxReplayTTL)
			}
		}
	}
	return nil
}

// Validate checks the configuration for obvious mistakes.
func (h *Handler) Validate() error {
	return directiveError(h.Provider, h.validate())
}

func (h *Handler) validate() error {
	if h.Provider == "" {
		return errors.New("provider is required")
	}
	if h.MaxSize < 0 {
		return errors.New("max_size must not be negative")
	}
	if h.Mode != "" && h.Mode != ModeEnforce && h.Mode != ModeLogOnly {
		return fmt.Errorf("mode %q is not enforce or log_only", h.Mode)
	}
	if err := h.checkDurations(); err != nil {
		return err
	}
	if h.verifier == nil {
		return errors.New("verifier not provisioned")
	}
	return nil
}

// ServeHTTP verifies the request and, if it is authentic and new, passes it
// on with its exact body. In log_only mode every request is passed on.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	repl, _ := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
	if repl == nil {
		repl = caddy.NewReplacer()
	}
	// Every documented placeholder is set on every request, so none
	// reaches a header or a response as literal text.
	for _, name := range placeholderNames {
		repl.Set(name, "")
	}
	repl.Set("http.webhook_verify.provider", h.Provider)
	repl.Set("http.webhook_verify.verified", "false")

	if hs, ok := h.verifier.(verifiers.Handshaker); ok {
		resp, ok, err := hs.Handshake(&verifiers.Request{
			Context: r.Context(),
			Method:  r.Method,
			URL:     requestURL(r),
			Header:  r.Header,
			Now:     time.Now(),
		})
		if err == nil && ok && resp == nil {
			err = errors.New("verifier handshake returned no response")
		}
		if err != nil {
			// The body has not been read: in log_only mode the request
			// goes on as it came.
			return h.fail(w, r, repl, next, err)
		}
		if ok {
			h.outcome(r, "handshake", "", nil)
			return writeResponse(w, resp)
		}
	}

	body, buf, err := h.readBody(w, r)
	if err != nil {
		// Too large or too slow: refused in every mode, since the body
		// was not read whole.
		return h.reject(w, r, repl, "", err)
	}
	// The buffer goes back to the pool when the request is refused or
	// answered here; once handed to the next handler, recycleAfter decides.
	recycle := true
	defer func() {
		if recycle {
			putBody(buf)
		}
	}()

	vr := &verifiers.Request{
		Context: r.Context(),
		Method:  r.Method,
		URL:     requestURL(r),
		Header:  r.Header,
		Body:    body,
		Now:     time.Now(),
	}
	start := time.Now()
	res, err := h.verifier.Verify(vr)
	h.observeVerify(r, time.Since(start))
	if err == nil && res == nil {
		err = errors.New("verifier returned no result")
	}
	if err != nil {
		if h.logOnly() {
			// Passed on: the exact bytes, the buffer recycled after.
			hb := restoreBody(r, body)
			recycle = false
			next = recycleAfter(next, r, hb, buf)
		}
		return h.fail(w, r, repl, next, err)
	}

	repl.Set("http.webhook_verify.verified", "true")
	repl.Set("http.webhook_verify.id", res.ID)
	// Numbered from 1, as configuration errors number secrets and keys.
	repl.Set("http.webhook_verify.key", strconv.Itoa(res.Key+1))
	ts := ""
	if !res.Timestamp.IsZero() {
		ts = strconv.FormatInt(res.Timestamp.Unix(), 10)
	}
	repl.Set("http.webhook_verify.timestamp", ts)

	if res.Reply != nil {
		// A verified handshake: answered here, never forwarded, and not a
		// delivery for the replay cache.
		h.outcome(r, "handshake", res.ID, nil)
		return writeResponse(w, res.Reply)
	}

	h.dropConsumed(r, res)
	if h.logOnly() {
		dropShadowHeaders(r)
	}
	hb := restoreBody(r, body)
	recycle = false
	if res.Act != nil {
		// The verifier answers this request itself: it takes the place of
		// the next handler, behind the same replay protection.
		next = h.actHandler(repl, res)
	}
	next = recycleAfter(next, r, hb, buf)
	if h.replay != nil {
		return h.forwardOnce(w, r, repl, res, body, next)
	}
	if res.Act == nil {
		h.outcome(r, "verified", res.ID, nil)
	}
	return next.ServeHTTP(w, r)
}

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
	return next.ServeHTTP(w, r)
}

// actHandler runs a verifier's Act and writes its response.
func (h *Handler) actHandler(repl *caddy.Replacer, res *verifiers.Result) caddyhttp.Handler {
	return caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
		resp, err := res.Act(r.Context())
		if err == nil && resp == nil {
			err = errors.New("verifier action returned no response")
		}
		if err != nil {
			return h.reject(w, r, repl, res.ID, err)
		}
		h.outcome(r, "handled", res.ID, nil)
		return writeResponse(w, resp)
	})
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

// Body reading limits.
const (
	// DefaultBodyTimeout is how long a client may take to send the body
	// when body_timeout is not set.
	DefaultBodyTimeout = 10 * time.Second
	// MinBodyTimeout is the shortest body_timeout accepted.
	MinBodyTimeout = time.Second
	// maxPooledBody is the largest body buffer kept for reuse; larger
	// ones are left to the garbage collector.
	maxPooledBody = 256 << 10
)

// errTooLarge marks a body over max_size.
var errTooLarge = errors.New("body too large")

// errBodyTimeout marks a body not received within body_timeout.
var errBodyTimeout = errors.New("body not received in time")

// bodyPool holds body buffers between requests. A buffer starts empty and
// grows with the bytes that arrive, so a client that only declares a
// large body, or sends it slowly, costs no more memory than it sent.
var bodyPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// putBody returns a body buffer to the pool. It must only be called once
// nothing refers to the buffer's bytes any more.
func putBody(buf *bytes.Buffer) {
	if buf == nil || buf.Cap() > maxPooledBody {
		return
	}
	buf.Reset()
	bodyPool.Put(buf)
}

// readBody reads the whole body within body_timeout, refusing one larger
// than maxSize. The returned buffer (nil for an empty body) holds the
// bytes; the caller gives it back with putBody once the request is done.
// On an error the connection is marked to be closed after the response,
// and the buffer is already given back.
func (h *Handler) readBody(w http.ResponseWriter, r *http.Request) ([]byte, *bytes.Buffer, error) {
	if r.ContentLength > h.maxSize {
		// Before reading a byte: no 100 Continue goes out, and the
		// client is not made to send what will be refused.
		abortRead(w, r)
		return nil, nil, errTooLarge
	}
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return []byte{}, nil, nil
	}
	rc := http.NewResponseController(w)
	timeout := h.bodyTimeout
	if timeout <= 0 {
		timeout = DefaultBodyTimeout
	}
	deadlineSet := rc.SetReadDeadline(time.Now().Add(timeout)) == nil
	// MaxBytesReader reads at most maxSize+1 bytes and tells the server
	// to close the connection once the limit is hit.
	rd := http.MaxBytesReader(w, r.Body, h.maxSize)
	buf := bodyPool.Get().(*bytes.Buffer)
	_, err := buf.ReadFrom(rd)
	if err != nil {
		putBody(buf)
		abortRead(w, r)
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return nil, nil, errTooLarge
		case errors.Is(err, os.ErrDeadlineExceeded):
			return nil, nil, errBodyTimeout
		}
		return nil, nil, fmt.Errorf("%w: reading body: %v", verifiers.ErrMalformed, err)
	}
	if deadlineSet {
		// The rest of the request (the upstream's answer) is not bound
		// by the body's deadline; a read deadline left behind would end
		// the request's context while the upstream works.
		_ = rc.SetReadDeadline(time.Time{})
	}
	_ = r.Body.Close()
	return buf.Bytes(), buf, nil
}

// abortRead makes sure nothing more is read from a request whose body is
// refused: the connection is closed after the response (HTTP/1), and the
// read deadline is moved to now, so neither net/http's draining of the
// unread body nor a client that stops sending can hold the connection.
func abortRead(w http.ResponseWriter, r *http.Request) {
	if r.ProtoMajor == 1 {
		// In HTTP/2 this header would close every stream of the
		// connection; there, the stream alone is reset.
		w.Header().Set("Connection", "close")
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now())
}

// restoreBody hands the next handler the exact bytes that were verified.
// Request trailers are dropped: nothing signed them; so is Expect. The bytes may live in
// a pooled buffer: the returned body gives them out until it is retired.
func restoreBody(r *http.Request, body []byte) *heldBody {
	hb := &heldBody{b: body}
	r.ContentLength = int64(len(body))
	r.TransferEncoding = nil
	r.Trailer = nil
	// The body is in hand: the upstream is not to be asked for a 100
	// Continue (it would reach the client as a second one).
	r.Header.Del("Expect")
	if len(body) == 0 {
		// Known to be empty: sent upstream without a body, not chunked.
		r.Body = http.NoBody
		r.GetBody = func() (io.ReadCloser, error) { return http.NoBody, nil }
		return hb
	}
	r.Body = hb.reader()
	r.GetBody = func() (io.ReadCloser, error) { return hb.reader(), nil }
	return hb
}

// heldBody gives the next handler readers over the verified bytes, until
// retire: from then on every read fails, so a reader still in use (a
// transport that goes on writing a request body after the response came
// back) can never see the bytes of a later request in the reused buffer.
type heldBody struct {
	mu      sync.Mutex
	b       []byte
	retired bool
}

// errBodyRetired is returned by reads after the request was done.
var errBodyRetired = errors.New("webhook_verify: request body read after the request was done")

func (hb *heldBody) reader() io.ReadCloser { return &heldReader{hb: hb} }

// retire ends every reader; the bytes may be reused once it returns.
func (hb *heldBody) retire() {
	hb.mu.Lock()
	hb.retired = true
	hb.b = nil
	hb.mu.Unlock()
}

type heldReader struct {
	hb  *heldBody
	off int
}

func (r *heldReader) Read(p []byte) (int, error) {
	r.hb.mu.Lock()
	defer r.hb.mu.Unlock()
	if r.hb.retired {
		return 0, errBodyRetired
	}
	if r.off >= len(r.hb.b) {
		return 0, io.EOF
	}
	n := copy(p, r.hb.b[r.off:])
	r.off += n
	return n, nil
}

func (r *heldReader) Close() error { return nil }

// recycleAfter wraps next so that the pooled body buffer is given back once
// next is done with it. The buffer is kept out of the pool (left to the
// garbage collector) when next fails or panics, since error routes
// (handle_errors) may read the request body again after this handler
// returned.
func recycleAfter(next caddyhttp.Handler, r *http.Request, hb *heldBody, buf *bytes.Buffer) caddyhttp.Handler {
	if buf == nil {
		return next
	}
	return &recycler{next: next, r: r, hb: hb, buf: buf}
}

// recycler is the next handler wrapped by recycleAfter.
type recycler struct {
	next caddyhttp.Handler
	r    *http.Request
	hb   *heldBody
	buf  *bytes.Buffer
}

func (rc *recycler) ServeHTTP(w http.ResponseWriter, r *http.Request) error {
	err := rc.next.ServeHTTP(w, r)
	if err == nil {
		rc.recycle()
	}
	return err
}

// recycle ends the body's readers and gives its buffer back. Call it only
// when nothing will read the request body any more (next succeeded, or a
// duplicate was answered without calling next).
func (rc *recycler) recycle() {
	if rc.buf == nil {
		return
	}
	rc.hb.retire()
	rc.r.Body, rc.r.GetBody = http.NoBody, nil
	putBody(rc.buf)
	rc.buf = nil
}

// dropConsumed removes from the request the credentials the verifier
// consumed (a shared-secret header, Basic Authorization), so they reach
// neither the next handler nor the logs, unless keep_credentials is set.
func (h *Handler) dropConsumed(r *http.Request, res *verifiers.Result) {
	if h.KeepCredentials {
		return
	}
	for _, name := range res.Consumed {
		r.Header.Del(name)
	}
}

// requestURL reconstructs the absolute URL of the request as the client
// sent it: path and query from the request before any rewrite (uri
// strip_prefix, handle_path) changed them, host and scheme from the live
// request (Caddy's copy of the original request has neither a Host nor
// TLS state).
func requestURL(r *http.Request) *url.URL {
	u := *r.URL
	// Caddy's copy of the original request holds only its method, remote
	// address, request URI and URL: scheme and host come from r.
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		u = *orig.URL
	}
	u.Scheme = "http"
	if r.TLS != nil {
		u.Scheme = "https"
	}
	u.Host = r.Host
	u.User = nil
	return &u
}

// reason names a failure for logs, metrics and the error placeholder.
func reason(err error) (string, int) {
	switch {
	case errors.Is(err, errTooLarge):
		return "too_large", http.StatusRequestEntityTooLarge
	case errors.Is(err, errBodyTimeout):
		return "body_timeout", http.StatusRequestTimeout
	case errors.Is(err, verifiers.ErrMalformed):
		return "malformed", http.StatusBadRequest
	case errors.Is(err, verifiers.ErrTimestamp):
		return "timestamp", http.StatusUnauthorized
	case errors.Is(err, verifiers.ErrSignature):
		return "signature", http.StatusUnauthorized
	case errors.Is(err, verifiers.ErrCredentials):
		return "credentials", http.StatusUnauthorized
	case errors.Is(err, verifiers.ErrUnavailable):
		return "unavailable", http.StatusServiceUnavailable
	case errors.Is(err, verifiers.ErrForbidden):
		return "forbidden", http.StatusForbidden
	default:
		return "internal", http.StatusInternalServerError
	}
}

// reject logs the failure and returns it as a Caddy HTTP error, so that
// handle_errors routes can shape the response (see httpError for the 5xx
// answered here).
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
	if h.metrics != nil {
		h.metrics.requests.WithLabelValues(h.Provider, h.route(r), result).Inc()
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

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
