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
// Append a Preset to the table of its docs group (presets_email.go,
// presets_payments.go, presets_devtools.go, presets_chat.go,
// presets_business.go: the provider tables of docs/providers.md; a new group is a
// presets_<group>.go file registered with addPresets from an init
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

var (
	presetMu   sync.RWMutex
	presetRows = map[string]*Preset{} // by name and alias
	presetList []*Preset              // in registration order
)

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

// Provider names that are another provider under the name users know
// (presets_notes.md has the sources) are registered by their group's file
// with forwardTo (and signAs, or a signer of their own): each forwards to
// the provider that implements the scheme, by its registered name, so the
// options, errors and tests of that provider apply; the name keeps its own
// replay namespace and metrics label.

// forwardTo returns a factory that builds the provider registered as
// target with the caller's configuration (and its own provider name in
// messages).
func forwardTo(target string) Factory {
	return func(c Config) (Verifier, error) {
		return New(target, c)
	}
}

// signAs signs as the provider registered as target.
func signAs(target string) SignFunc {
	return func(_ string, r SignRequest) (*Signed, error) {
		return Sign(target, r)
	}
}

// presetQueryChallenge answers an unsigned GET handshake that carries its
// challenge in the query parameter name, by echoing it as text/plain
// (nosniff). The value must be 1 to 256 of A-Z a-z 0-9 - . _ ~ and sent
// once (else 400). A GET without the parameter is not a handshake.
func presetQueryChallenge(name string) func(r *Request) (*Response, bool, error) {
	return func(r *Request) (*Response, bool, error) {
		if r.Method != http.MethodGet || r.URL == nil {
			return nil, false, nil
		}
		vals, ok := r.URL.Query()[name]
		if !ok {
			return nil, false, nil
		}
		if len(vals) != 1 || !presetSafeToken(vals[0], 256) {
			return nil, true, fmt.Errorf("%w: %s is not 1 to 256 of A-Z a-z 0-9 - . _ ~, sent once", ErrMalformed, name)
		}
		h := http.Header{}
		h.Set("Content-Type", "text/plain; charset=utf-8")
		h.Set("X-Content-Type-Options", "nosniff")
		return &Response{Status: http.StatusOK, Header: h, Body: vals[0]}, true, nil
	}
}

// presetSafeToken reports whether s is 1 to max unreserved URI characters
// (RFC 3986: letters, digits, "-", ".", "_", "~").
func presetSafeToken(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '.', c == '_', c == '~':
		default:
			return false
		}
	}
	return true
}
