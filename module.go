// Package webhookverify is a Caddy HTTP handler that lets a webhook through
// only after the provider's signature, timestamp and replay status check
// out, and then hands the next handler exactly the bytes the provider sent.
package webhookverify

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

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
// `{http.webhook_verify.tenant}` | With `secret_from`: the tenant's expanded key, once it is valid; else empty
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

	// Secrets looked up per request instead of `secrets` (one route, a
	// secret per tenant): see SecretSource (tenants.go).
	SecretFrom *SecretSource `json:"secret_from,omitempty"`

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
	// see docs/metrics.md (What Caddy itself logs) for the filter that keeps them out.
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

	// Sign each verified request passed on in the Standard Webhooks
	// format, so the app can check it came through this gate: `whsec_`
	// secrets (v1, HMAC-SHA256) and `whsk_` Ed25519 keys (v1a; the app
	// holds only the `whpk_` public key, see `caddy webhook keygen
	// standard_webhooks`), one webhook-signature entry each. webhook-id is
	// the provider and the delivery ("stripe:event:evt_1"), the timestamp
	// the time of forwarding. Any webhook-* or svix-* header the request
	// came with is removed first, and a request passed on unverified
	// (log_only) gets none. Placeholders are resolved as for secrets.
	Attest []string `json:"attest,omitempty"`

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
	attest    *verifiers.Attester
	tenants   *tenantSource // secret_from (tenants.go)

	providerValue any         // Provider boxed once for its placeholder
	hot           *hotMetrics // the collectors of verified deliveries, cached

	bodyTimeout time.Duration
}

// placeholderNames are the placeholders the handler sets (see Handler).
var placeholderNames = []string{
	"http.webhook_verify.provider", "http.webhook_verify.verified", "http.webhook_verify.id",
	"http.webhook_verify.timestamp", "http.webhook_verify.key", "http.webhook_verify.replay",
	"http.webhook_verify.error", tenantPlaceholder,
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
	h.providerValue = h.Provider
	h.hot = new(hotMetrics)
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
	v, err := h.newVerifier(ctx, cfg)
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
		h.untrack = h.trackReplayEntries()
	}
	if err := h.provisionReplayKey(); err != nil {
		return err
	}
	return h.provisionAttest()
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

// Cleanup releases what this instance acquired.
func (h *Handler) Cleanup() error {
	h.closeLogs()
	h.releaseTenants()
	if h.replay == nil {
		return nil
	}
	if h.replay.redisPoolKey != "" {
		_, err := redisPool.Delete(h.replay.redisPoolKey)
		return err
	}
	if h.replay.poolKey != "" {
		_, err := memoryPool.Delete(h.replay.poolKey)
		return err
	}
	if h.replay.owned != nil {
		return h.replay.owned.Destruct()
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
	// Every documented placeholder resolves on every request ("" until
	// set), so none reaches a header or a response as literal text.
	resetPlaceholders(repl)
	repl.Set("http.webhook_verify.provider", h.providerPlaceholder())
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

	// One allocation for what the rest of the request needs (delivery.go).
	d := new(delivery)
	start := time.Now()
	d.req = verifiers.Request{
		Context: r.Context(),
		Method:  r.Method,
		URL:     requestURLInto(r, &d.url),
		Header:  r.Header,
		Body:    body,
		Now:     start,
	}
	res, err := h.verifier.Verify(&d.req)
	h.observeVerify(r, time.Since(start))
	if err == nil && res == nil {
		err = errors.New("verifier returned no result")
	}
	if err != nil {
		if h.logOnly() {
			// Passed on: the exact bytes, the buffer recycled after.
			d.held.restore(r, body)
			recycle = false
			next = d.recycler.wrap(next, r, &d.held, buf)
		}
		return h.fail(w, r, repl, next, err)
	}

	repl.Set("http.webhook_verify.verified", "true")
	repl.Set("http.webhook_verify.id", res.ID)
	// Numbered from 1, as configuration errors number secrets and keys.
	repl.Set("http.webhook_verify.key", keyPlaceholder(res.Key))
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
	d.held.restore(r, body)
	recycle = false
	if res.Act != nil {
		// The verifier answers this request itself: it takes the place of
		// the next handler, behind the same replay protection.
		next = h.actHandler(repl, res)
	}
	next = d.recycler.wrap(next, r, &d.held, buf)
	if res.Act == nil {
		if err := h.attestRequest(r, res, body); err != nil {
			return h.fail(w, r, repl, next, err)
		}
	}
	if h.replay != nil {
		return h.forwardOnce(w, r, repl, res, d, next)
	}
	if res.Act == nil {
		h.outcome(r, "verified", res.ID, nil)
	}
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

// requestURL reconstructs the absolute URL of the request as the client
// sent it: path and query from the request before any rewrite (uri
// strip_prefix, handle_path) changed them, host and scheme from the live
// request (Caddy's copy of the original request has neither a Host nor
// TLS state).
func requestURL(r *http.Request) *url.URL {
	return requestURLInto(r, new(url.URL))
}

// requestURLInto is requestURL into u.
func requestURLInto(r *http.Request, u *url.URL) *url.URL {
	*u = *r.URL
	// Caddy's copy of the original request holds only its method, remote
	// address, request URI and URL: scheme and host come from r.
	if orig, ok := r.Context().Value(caddyhttp.OriginalRequestCtxKey).(http.Request); ok && orig.URL != nil {
		*u = *orig.URL
	}
	u.Scheme = "http"
	if r.TLS != nil {
		u.Scheme = "https"
	}
	u.Host = r.Host
	u.User = nil
	return u
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

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
