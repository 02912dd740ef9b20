package verifiers

import (
	"fmt"
	"net/http"
	"sync"
)

// Presets: providers whose scheme is one recipe of the generic engine
// (hmac.go, recipe_*.go), each a row of a table, its source cited in the row.
//
// # Adding a row
//
// Append a Preset to a table (presetsCore below, or a slice of your own in
// a presets_<family>.go file registered with addPresets from an init
// function) and give it one test vector in internal/presetvectors (cited:
// the provider's docs or SDK tests, else an independent signer's command).
// Nothing else changes: the row is registered under its name and aliases,
// the unit test (presets_test.go) and the end-to-end test through Caddy
// (integration_presets_test.go) pick up its vector, and the options it
// takes follow from its recipe:
//
//   - secret, always (the key, in the form the provider's dashboard shows
//     it: say in Recipe.SecretPrefix / SecretEncoding how it becomes the
//     key);
//   - tolerance, when the recipe has a timestamp;
//   - url (required), when the recipe's content has {url}.
//
// A row implements BodySigner (true unless the scheme is token) and
// EventIDer (EventID) for the handler; Handshake answers the provider's
// unsigned handshakes (Trello's HEAD). A provider that needs code of its
// own (a certificate, a body field signature, ...) gets its own file.
type Preset struct {
	// Name is the provider name (ngrok's id where ngrok has one).
	Name string
	// Aliases are other names the provider is known by.
	Aliases []string
	// Recipe is the scheme.
	Recipe HMACRecipe
	// EventID is the RFC 6901 pointer to the provider's stable event id in
	// the signed body (EventIDer), "" if none.
	EventID string
	// Source cites the scheme: docs URL, SDK repository, path and commit.
	Source string
	// Handshake, when set, answers the provider's unsigned handshake
	// requests (see Handshaker); nil means the provider has none.
	Handshake func(r *Request) (resp *Response, ok bool, err error)
	// OneSignature: the recipe's signature headers are names of one
	// signature (a header renamed over time), not signatures of several
	// keys; a request that carries more than one of them must carry the
	// same value in each, or it is refused as ambiguous (ErrMalformed).
	OneSignature bool
}

// presetsCore are the rows of the HMAC family that predate the table and
// the first rows written with it.
var presetsCore = []Preset{
	{
		// X-Shopify-Hmac-Sha256 is base64 HMAC-SHA256 of the raw body under
		// the app's client secret, verbatim; no timestamp.
		// X-Shopify-Webhook-Id is unsigned (logs); the replay key is the
		// signature. Newer "events" deliveries still send the X-Shopify-*
		// headers read here.
		Name: "shopify",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Shopify-Hmac-Sha256",
			Encoding:        "base64",
			IDHeader:        "X-Shopify-Webhook-Id",
		},
		Source: "github:Shopify/shopify-app-js packages/apps/shopify-api/lib/webhooks/validate.ts @1eb863d5cfce6904a4c017947b6e7b8692b7776f",
	},
	{
		// Paddle Billing: Paddle-Signature: ts=<unix s>;h1=<hex>[;h1=...],
		// h1 = HMAC-SHA256(secret, ts + ":" + body), the endpoint secret
		// (pdl_ntfset_...) verbatim. Several h1 during rotation; others
		// (h2=) ignored. Paddle's SDKs default to a 5 s tolerance (set
		// `tolerance 5s` to match). The body's event_id is the replay key:
		// "make your handler idempotent using event_id as a deduplication
		// key" (developer.paddle.com/webhooks/about/how-webhooks-work; one
		// event sent to several destinations has one notification_id each).
		Name: "paddle",
		Recipe: HMACRecipe{
			SignatureHeader: "Paddle-Signature",
			Separator:       ";",
			Prefix:          "h1=",
			TimestampKey:    "ts=",
			Content:         "{timestamp}:{body}",
		},
		EventID: "/event_id",
		Source:  "https://developer.paddle.com/webhooks/signature-verification ; github:PaddleHQ/paddle-go-sdk webhook_verifier.go @299c56f8e4f7aed20ebcf4bdc4ee6fbb795ce8c6",
	},
	{
		// Maildesk: X-Maildesk-Timestamp and X-Maildesk-Signature:
		// t=<unix s>,v1=<hex HMAC-SHA256(secret, t + "." + body)>; t must
		// equal the timestamp header. No delivery-id header; the JSON body's
		// eventId is "a unique ID for this event (use for idempotency)".
		Name: "maildesk",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Maildesk-Signature",
			Separator:       ",",
			Prefix:          "v1=",
			TimestampKey:    "t=",
			TimestampHeader: "X-Maildesk-Timestamp",
			Content:         "{timestamp}.{body}",
		},
		EventID: "/eventId",
		Source:  "https://maildesk.apidog.io/ (Maildesk Webhook Integration Guide)",
	},
	{
		// AutoSend: X-Webhook-Signature = hex HMAC-SHA256(secret, body).
		// X-Webhook-Timestamp (ms; older docs: s) is checked but NOT signed,
		// so it does not bound replays (HasTimestamp false).
		// X-Webhook-Delivery-Id is unsigned (logs).
		Name: "autosend",
		Recipe: HMACRecipe{
			SignatureHeader: "X-Webhook-Signature",
			TimestampHeader: "X-Webhook-Timestamp",
			TimestampUnit:   "auto",
			IDHeader:        "X-Webhook-Delivery-Id",
		},
		Source: "https://docs.autosend.com/others/webhooks/verify-requests ; https://autosend-13920f5c.mintlify.app/others/webhooks/verify-requests",
	},
}

var (
	presetMu   sync.RWMutex
	presetRows = map[string]*Preset{} // by name and alias
	presetList []*Preset              // in registration order
)

func init() {
	addPresets(presetsCore)
}

// addPresets registers every row of a table under its name and aliases.
// It panics on a duplicate name or a row whose recipe does not compile,
// which are programming errors.
func addPresets(rows []Preset) {
	presetMu.Lock()
	defer presetMu.Unlock()
	for i := range rows {
		p := &rows[i]
		if _, err := compileShape(Config{Provider: p.Name, URL: presetDummyURL(p)}, p.Recipe); err != nil {
			panic("verifiers: preset " + p.Name + ": " + err.Error())
		}
		Register(p.Name, p.factory, p.Aliases...)
		presetList = append(presetList, p)
		for _, n := range append([]string{p.Name}, p.Aliases...) {
			presetRows[n] = p
		}
	}
}

// presetDummyURL stands for the url option when a row's recipe signs one.
func presetDummyURL(p *Preset) string {
	if p.takesURL() {
		return "https://example.invalid/webhook"
	}
	return ""
}

// Presets returns every registered preset row, in registration order.
func Presets() []Preset {
	presetMu.RLock()
	defer presetMu.RUnlock()
	out := make([]Preset, len(presetList))
	for i, p := range presetList {
		out[i] = *p
	}
	return out
}

// LookupPreset returns the row registered as name (or an alias).
func LookupPreset(name string) (Preset, bool) {
	presetMu.RLock()
	defer presetMu.RUnlock()
	p, ok := presetRows[name]
	if !ok {
		return Preset{}, false
	}
	return *p, true
}

// takesURL reports whether the row's content signs the configured url.
func (p *Preset) takesURL() bool {
	parts, err := recipeParseContent(p.Recipe.Content)
	if err != nil {
		return false
	}
	for _, part := range parts {
		if part.kind == recipeURL {
			return true
		}
	}
	return false
}

// HasTimestamp reports whether the row's scheme carries a timestamp (so
// it takes tolerance).
func (p *Preset) HasTimestamp() bool {
	r := p.Recipe
	return r.TimestampHeader != "" || r.TimestampKey != "" || r.TimestampFirst || r.TimestampField != ""
}

// Options lists the provider options the row takes.
func (p *Preset) Options() []string {
	opts := []string{"secret"}
	if p.HasTimestamp() {
		opts = append(opts, "tolerance")
	}
	if p.takesURL() {
		opts = append(opts, "url")
	}
	return opts
}

// factory builds the row's verifier.
func (p *Preset) factory(c Config) (Verifier, error) {
	if err := c.Allow(p.Options()...); err != nil {
		return nil, err
	}
	if p.takesURL() && c.URL == "" {
		return nil, fmt.Errorf("provider %s needs url (the public URL the provider signs)", c.Provider)
	}
	v, err := compileRecipe(c, p.Recipe)
	if err != nil {
		return nil, err
	}
	pv := &presetVerifier{recipeVerifier: v, row: p}
	if p.Handshake != nil {
		return &presetHandshaker{pv}, nil
	}
	return pv, nil
}

// presetVerifier is a row's compiled recipe with the row's interfaces.
type presetVerifier struct {
	*recipeVerifier
	row *Preset
}

// Verify checks r with the row's recipe, after the row's own rules.
func (v *presetVerifier) Verify(r *Request) (*Result, error) {
	if v.row.OneSignature {
		if err := oneSignature(r.Header, v.headerNames()); err != nil {
			return nil, err
		}
	}
	return v.recipeVerifier.Verify(r)
}

// oneSignature refuses a request whose headers names (alternative names
// of one signature header) carry different values.
func oneSignature(h http.Header, names []string) error {
	first, seen := "", ""
	for _, n := range names {
		for _, val := range h.Values(n) {
			if seen == "" {
				first, seen = val, n
			} else if val != first {
				return fmt.Errorf("%w: headers %s and %s carry different signatures", ErrMalformed, seen, n)
			}
		}
	}
	return nil
}

// EventIDPointer returns the row's event-id pointer (EventIDer).
func (v *presetVerifier) EventIDPointer() string {
	if !v.SignsBody() {
		return "" // the body is not authentic
	}
	return v.row.EventID
}

// presetHandshaker is a presetVerifier of a row with a handshake.
type presetHandshaker struct{ *presetVerifier }

// Handshake answers the row's unsigned handshakes.
func (v *presetHandshaker) Handshake(r *Request) (*Response, bool, error) {
	return v.row.Handshake(r)
}

// headHandshake answers HEAD requests with an empty 200 (Trello checks the
// callback URL with a HEAD when a webhook is created). Nothing is echoed.
func headHandshake(r *Request) (*Response, bool, error) {
	if r.Method != http.MethodHead {
		return nil, false, nil
	}
	return &Response{Status: http.StatusOK}, true, nil
}

var (
	_ Verifier    = (*presetVerifier)(nil)
	_ Timestamped = (*presetVerifier)(nil)
	_ BodySigner  = (*presetVerifier)(nil)
	_ EventIDer   = (*presetVerifier)(nil)
	_ Handshaker  = (*presetHandshaker)(nil)
)
