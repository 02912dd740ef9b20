// Package verifiers holds the webhook signature schemes that the
// webhook_verify Caddy handler can check: one file per provider or scheme
// family, each registered by name in init.
//
// The package knows nothing of Caddy. A Verifier receives the raw body and
// the request metadata, and returns either a Result (the request is
// authentic) or an error wrapping one of the sentinel errors below, which
// the handler maps to an HTTP status. Error texts never contain a secret,
// an expected signature or any part of the body.
package verifiers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Sentinel errors. Every error a Verifier returns wraps exactly one of them.
var (
	// ErrMalformed: signing metadata missing, malformed or ambiguous (400).
	ErrMalformed = errors.New("malformed signing metadata")
	// ErrTimestamp: the signed timestamp is outside the tolerance (401).
	ErrTimestamp = errors.New("timestamp outside tolerance")
	// ErrSignature: no signature in the request matches any configured key (401).
	ErrSignature = errors.New("signature mismatch")
	// ErrCredentials: credentials (Basic auth, a shared header) are wrong (401,
	// with a WWW-Authenticate challenge where the scheme has one).
	ErrCredentials = errors.New("bad credentials")
	// ErrUnavailable: verification could not be completed because a needed
	// resource (a signing certificate, a public key) could not be had (503).
	ErrUnavailable = errors.New("verification unavailable")
	// ErrForbidden: a policy refusal (403): a handshake carried a wrong
	// verify token, or a message is from a sender the configuration does
	// not allow (an SNS topic not in topic_arn, a MailChannels customer
	// handle not in customer_handle).
	ErrForbidden = errors.New("forbidden")
)

// DefaultTolerance is the timestamp tolerance used when Config.Tolerance is 0.
const DefaultTolerance = 5 * time.Minute

// Request is what a Verifier sees of an incoming HTTP request. Body holds the
// raw bytes exactly as received; verifiers must not modify it.
type Request struct {
	// Context of the HTTP request; outbound fetches must honour it.
	Context context.Context
	// Method is the HTTP method.
	Method string
	// URL is the absolute URL as received: scheme, host, path and raw query.
	URL *url.URL
	// Header holds the request headers.
	Header http.Header
	// Body is the raw request body.
	Body []byte
	// Now is the time of verification.
	Now time.Time
}

// Result describes an authentic request.
type Result struct {
	// ID is the provider's delivery id, for logs and placeholders. It may come
	// from an unsigned header and must not be used alone as a replay key.
	ID string
	// SignedID is a delivery id covered by the signature (Standard Webhooks'
	// webhook-id, Mailgun's token, SNS's MessageId). Empty if there is none.
	SignedID string
	// Signature is the replay key material when SignedID is empty. It must
	// be the same for every copy of one delivery, whichever of several
	// signatures in the request matched: HMAC schemes with signature lists
	// give the expected MAC under the first configured secret, schemes with
	// one signature give the verified signature (canonical form), and
	// schemes with several asymmetric signatures a digest of what they all
	// cover.
	Signature []byte
	// Items, when set, are the replay key materials of the signed items of
	// a batch (Adyen's notification items), one per item, each the same
	// for every copy of its item (like Signature, from signed material
	// only) and all different (a batch that repeats an item is
	// ErrMalformed). The handler then keys the replay cache per item
	// instead of by SignedID or Signature: it forwards the batch only if
	// every item is new, answers it as a duplicate if every item was
	// accepted, refuses it (409) otherwise, so that neither a subset nor
	// a superset of an accepted batch reaches the app, and commits or
	// releases the items together.
	Items [][]byte
	// Timestamp is the signed (or, where the provider has no signed one, the
	// checked) timestamp of the delivery; zero if the scheme has none.
	Timestamp time.Time
	// Key is the position (0-based) of the configured secret or public key
	// that matched.
	Key int
	// Consumed names request headers that carry credentials the verifier
	// checked (a shared-secret header, Basic Authorization). The handler
	// removes them before passing the request on, so they reach neither
	// the upstream nor its logs.
	Consumed []string
	// Reply, when non-nil, is a verified handshake (Slack url_verification,
	// Zoom endpoint.url_validation, Discord PING, ...): the handler writes
	// it at once and neither forwards the request nor touches the replay
	// cache (answering a handshake twice is harmless and expected).
	Reply *Response
	// Act, when non-nil, means the request is answered here instead of
	// being forwarded (for example an SNS subscription confirmed by the
	// handler). The handler calls it after the replay check, only for a new
	// delivery, and writes the Response it returns; an error is handled
	// like a verification error (it wraps a sentinel). A 2xx Response
	// counts as accepted for replay protection.
	Act func(ctx context.Context) (*Response, error)
}

// Response is an answer the handler writes instead of forwarding.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// Header holds extra response headers. Without a Content-Type the
	// handler sends text/plain; charset=utf-8.
	Header http.Header
	// Body is a short body (plain text unless Header says otherwise).
	Body string
}

// Verifier checks one request.
type Verifier interface {
	Verify(r *Request) (*Result, error)
}

// Handshaker is implemented by verifiers whose provider sends unsigned
// handshake requests (Meta's GET with hub.challenge, Dropbox's GET
// ?challenge=, Mandrill's HEAD, ...). The handler calls Handshake before
// reading the body; ok false means the request is not a handshake and is
// verified as usual. A handshake is answered with resp and never
// forwarded; it never touches the replay cache. An error wraps a sentinel
// (ErrMalformed for a value too long or of unexpected characters: 400;
// ErrForbidden for a wrong verify token: 403). Unsigned handshakes must
// echo only bounded values of a safe character set.
type Handshaker interface {
	Handshake(r *Request) (resp *Response, ok bool, err error)
}

// BodySigner is implemented by verifiers whose signature covers the whole
// raw body with a cryptographic hash, so that fields read from the body
// after verification are authentic (replay { key json <pointer> } needs
// it). A verifier that does not implement it (or returns false) is taken
// not to sign the whole body, and the handler binds the body to the
// delivery: it keeps a SHA-256 of the body of the first verified copy with
// each replay key for the replay TTL, whether that copy is accepted or
// not, and refuses (401, ErrSignature) a later copy with the same key and
// another body (PayPal's CRC32, Adyen's and Mailgun's signed fields, SNS's
// selected fields, Twilio's, Mandrill's and Plivo's form fields). This is
// the marker: nothing in Result asks for it, so a new verifier that signs
// less than the body is bound without having to say so.
type BodySigner interface {
	SignsBody() bool
}

// EventIDer is implemented by verifiers (presets) whose provider carries a
// stable event id in the signed body that survives the provider's re-signed
// retries: EventIDPointer returns its RFC 6901 JSON pointer (for example
// "/id" for Stripe), the default replay key of the provider. "" means none.
type EventIDer interface {
	EventIDPointer() string
}

// CredentialCarrier is implemented by verifiers that check a request header
// carrying a secret itself (not a signature made with it): postmark's (and
// its aliases') shared header or Basic Authorization, the token scheme of
// the hmac recipe (gitlab's X-Gitlab-Token). The header is in every
// accepted request, so whatever logs the request's headers logs the
// secret; the handler tells the user at load which headers to filter from
// the server's logs.
type CredentialCarrier interface {
	// CredentialHeaders returns the canonical names of the headers that
	// carry a secret.
	CredentialHeaders() []string
}

// Timestamped is implemented by verifiers whose scheme carries a checked
// timestamp; the handler uses it to choose a replay TTL that covers the
// tolerance window on both sides.
type Timestamped interface {
	HasTimestamp() bool
}

// Challenger is implemented by verifiers whose ErrCredentials failures
// carry an HTTP authentication challenge: the handler sends Challenge() as
// WWW-Authenticate with the 401, unless it is empty.
type Challenger interface {
	Challenge() string
}

// PublicKey is a configured public key, optionally bound to a key id.
type PublicKey struct {
	// KeyID restricts the key to signatures naming this key id; empty
	// matches any key id.
	KeyID string `json:"key_id,omitempty"`
	// Key is the key material: PEM, base64 DER, or a provider-specific
	// form (such as whpk_ for Standard Webhooks).
	Key string `json:"key"`
}

// Config is the configuration of one verifier, with secrets already
// resolved (placeholders replaced). Fields a provider does not use must be
// left empty; constructors reject the ones they do not take.
type Config struct {
	// Provider is the name the verifier was looked up by (an alias or the
	// canonical name).
	Provider string
	// Secrets are the shared secrets, current first, in the order configured.
	Secrets []string
	// PublicKeys are the public keys for asymmetric schemes.
	PublicKeys []PublicKey
	// Tolerance: 0 means DefaultTolerance, negative disables the timestamp check.
	Tolerance time.Duration
	// HMAC is the recipe of the generic hmac provider.
	HMAC *HMACRecipe
	// URL is the public URL the provider signs (twilio, mandrill).
	URL string
	// URLPath, with URL, is the path requests arrive on at Caddy when it
	// is not URL's (a proxy in front moves the endpoint); see urlbind.go.
	URLPath string
	// TopicARNs is the allow-list of SNS topic ARNs (empty allows any).
	TopicARNs []string
	// Certificates are pinned PEM certificates (SNS), used instead of fetching.
	Certificates []string
	// AutoConfirm makes the SNS verifier confirm subscriptions itself.
	AutoConfirm bool
	// Username is the Basic auth user name (postmark).
	Username string
	// Password is the Basic auth password (postmark).
	Password string
	// Header names a header that carries a shared secret verbatim (postmark).
	Header string
	// CustomerHandles, when set, is the allow-list of MailChannels
	// customer handles: every event in a verified body must carry one.
	CustomerHandles []string
	// VerifyToken is the token of Meta's GET subscription handshake
	// (hub.verify_token), compared in constant time.
	VerifyToken string
	// WebhookID is the id of the PayPal webhook the deliveries are for: it
	// is part of what PayPal signs.
	WebhookID string
	// HTTPClient is used for outbound fetches (certificates, public keys).
	// Nil means a client with a short timeout.
	HTTPClient *http.Client
}

// EffectiveTolerance returns the tolerance to apply and whether the check is on.
func (c Config) EffectiveTolerance() (time.Duration, bool) {
	switch {
	case c.Tolerance < 0:
		return 0, false
	case c.Tolerance == 0:
		return DefaultTolerance, true
	default:
		return c.Tolerance, true
	}
}

// options lists every provider option of Config, in the order errors name
// them.
var options = []string{"secret", "public_key", "tolerance", "hmac", "url", "url_path", "topic_arn",
	"certificate", "auto_confirm", "username", "password", "header", "customer_handle", "verify_token", "webhook_id"}

// isSet reports whether option o is set in c.
func (c Config) isSet(o string) bool {
	switch o {
	case "secret":
		return len(c.Secrets) > 0
	case "public_key":
		return len(c.PublicKeys) > 0
	case "hmac":
		return c.HMAC != nil
	case "url":
		return c.URL != ""
	case "url_path":
		return c.URLPath != ""
	case "topic_arn":
		return len(c.TopicARNs) > 0
	case "certificate":
		return len(c.Certificates) > 0
	case "auto_confirm":
		return c.AutoConfirm
	case "username":
		return c.Username != ""
	case "password":
		return c.Password != ""
	case "header":
		return c.Header != ""
	case "tolerance":
		return c.Tolerance != 0
	case "customer_handle":
		return len(c.CustomerHandles) > 0
	case "verify_token":
		return c.VerifyToken != ""
	case "webhook_id":
		return c.WebhookID != ""
	}
	panic("verifiers: unknown option " + o)
}

// Allow returns an error naming the first option set in c that is not
// among the given ones. Constructors call it with the options they take,
// so a misplaced option (including one added to Config later) is a
// configuration error instead of being ignored. Taking url implies
// url_path.
func (c Config) Allow(allowed ...string) error {
	for _, a := range allowed {
		c.isSet(a) // panics on a misspelt option
	}
	for _, o := range options {
		if o == "url_path" && slices.Contains(allowed, "url") {
			continue // url_path goes with url
		}
		if c.isSet(o) && !slices.Contains(allowed, o) {
			return fmt.Errorf("provider %s does not take %s", c.Provider, o)
		}
	}
	return nil
}

// Reject returns an error naming the first of the given options that is
// set in c, for options a provider takes only in some configurations.
func (c Config) Reject(rejected ...string) error {
	for _, o := range rejected {
		if c.isSet(o) {
			return fmt.Errorf("provider %s does not take %s", c.Provider, o)
		}
	}
	return nil
}

// Factory builds a Verifier from its configuration.
type Factory func(Config) (Verifier, error)

var (
	registryMu sync.RWMutex
	registry   = map[string]Factory{}
	canonical  = map[string]string{}
)

// Register makes a provider available under name and its aliases. It
// panics on a duplicate name, which is a programming error.
func Register(name string, f Factory, aliases ...string) {
	registryMu.Lock()
	defer registryMu.Unlock()
	for _, n := range append([]string{name}, aliases...) {
		if _, dup := registry[n]; dup {
			panic("verifiers: duplicate provider " + n)
		}
		registry[n] = f
		canonical[n] = name
	}
}

// New builds the verifier registered as name (or an alias of it).
func New(name string, cfg Config) (Verifier, error) {
	registryMu.RLock()
	f, ok := registry[name]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown provider %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	if cfg.Provider == "" {
		cfg.Provider = name
	}
	return f(cfg)
}

// Known reports whether name is a registered provider or alias.
func Known(name string) bool {
	registryMu.RLock()
	defer registryMu.RUnlock()
	_, ok := registry[name]
	return ok
}

// Canonical returns the canonical provider name of name or an alias.
func Canonical(name string) string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return canonical[name]
}

// Names lists every registered provider name and alias, sorted.
func Names() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}
