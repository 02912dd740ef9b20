package verifiers

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Mandrill (Mailchimp Transactional): X-Mandrill-Signature =
// base64(HMAC-SHA1(webhook key, URL + params)), where URL is the webhook
// URL exactly as entered in Mandrill (query string included; "a difference
// as small as including or removing a trailing slash will prevent the
// signature from validating") and params the POST fields sorted by name,
// each appended as name+value with no delimiter. Source: Mandrill's
// "Authenticating webhook requests"
// (https://mandrill.zendesk.com/hc/en-us/articles/205583257-How-to-Authenticate-Webhook-Requests ,
// formerly http://help.mandrill.com/entries/23704122).
//
// Config.URL is that URL, required and used verbatim (no port or scheme
// variants: Mandrill signs what was entered). Every webhook has its own key;
// configure the old and the new key while resetting one.
//
// The request's own URL is not what is signed, so its query string is held
// to the configured URL's: the raw query must be byte for byte the same
// (usually both empty), or ErrSignature; otherwise a signed delivery could
// carry any query to the upstream. So must the path (url_path when a proxy
// in front moves it: see urlbind.go).
//
// The body is a form with one field, mandrill_events (a JSON array). A
// repeated field name is ErrMalformed: the reference implementations read
// the form into a map (PHP $_POST, Rails params), so which value was signed
// would be ambiguous.
//
// No timestamp, no delivery id: replay protection keys on the signature.
//
// Mandrill checks a new webhook URL with an unsigned HEAD request and
// expects a 2xx: the handler answers any HEAD with 200 and an empty body
// itself (Handshake), without reading a body or forwarding anything.

func init() {
	Register("mandrill", newMandrill)
	RegisterSigner("mandrill", signMandrill)
}

type mandrill struct {
	url   string
	query string  // the configured URL's raw query
	bound urlPath // the path requests must arrive on
	keys  [][]byte
}

func newMandrill(c Config) (Verifier, error) {
	if err := c.Allow("secret", "url"); err != nil {
		return nil, err
	}
	keys, err := RawSecrets(c)
	if err != nil {
		return nil, err
	}
	if c.URL == "" {
		return nil, fmt.Errorf("provider %s needs url (the webhook URL exactly as entered in Mandrill)", c.Provider)
	}
	if strings.Contains(c.URL, "#") {
		return nil, fmt.Errorf("provider %s: url must not have a fragment", c.Provider)
	}
	if _, _, _, _, err := splitURL(c.URL); err != nil {
		return nil, fmt.Errorf("provider %s: %w", c.Provider, err)
	}
	u, err := url.Parse(c.URL)
	if err != nil {
		return nil, fmt.Errorf("provider %s: url must be an absolute http or https url", c.Provider)
	}
	bound, err := newURLPath(c)
	if err != nil {
		return nil, err
	}
	return &mandrill{url: c.URL, query: u.RawQuery, bound: bound, keys: keys}, nil
}

// Handshake answers Mandrill's HEAD on webhook creation.
func (v *mandrill) Handshake(r *Request) (*Response, bool, error) {
	if r.Method != http.MethodHead {
		return nil, false, nil
	}
	return &Response{Status: http.StatusOK}, true, nil
}

// HasTimestamp: Mandrill requests carry no timestamp.
func (v *mandrill) HasTimestamp() bool { return false }

func (v *mandrill) Verify(r *Request) (*Result, error) {
	s, err := Header(r.Header, "X-Mandrill-Signature")
	if err != nil {
		return nil, err
	}
	sig, ok := DecodeBase64(s)
	if !ok {
		return nil, fmt.Errorf("%w: X-Mandrill-Signature is not base64", ErrMalformed)
	}
	mt, _, err := formsigMediaType(r.Header)
	if err != nil {
		return nil, err
	}
	if mt != formsigFormType {
		return nil, fmt.Errorf("%w: body is not application/x-www-form-urlencoded", ErrMalformed)
	}
	fields, err := formsigParse(string(r.Body))
	if err != nil {
		return nil, err
	}
	if err := formsigUnique(fields); err != nil {
		return nil, err
	}
	params := []byte(formsigSorted(fields))
	expected := make([][]byte, len(v.keys))
	for i, k := range v.keys {
		expected[i] = MAC(sha1.New, k, []byte(v.url), params)
	}
	key, matched, ok := MatchMAC(expected, [][]byte{sig})
	if !ok {
		return nil, fmt.Errorf("%w: X-Mandrill-Signature", ErrSignature)
	}
	if err := mandrillEvents(fields); err != nil {
		return nil, err
	}
	if r.URL == nil {
		return nil, fmt.Errorf("%w: request url unknown", ErrMalformed)
	}
	if r.URL.RawQuery != v.query {
		return nil, fmt.Errorf("%w: the request's query string is not the configured url's (Mandrill does not sign the request's query)", ErrSignature)
	}
	if err := v.bound.check(r); err != nil {
		return nil, err
	}
	return &Result{Signature: matched, Key: key}, nil
}

// mandrillEvents requires the field mandrill_events holding valid JSON.
// Mandrill signs the sorted names and values concatenated without a
// delimiter, so the signed string of mandrill_events=X is also that of
// mandrill_event=sX, or of mandrill_events=X[:i] and a second field named
// from the rest of X: other bodies under a captured signature. With the
// field present and valid JSON (a JSON array has no complete proper
// prefix), neither split verifies.
func mandrillEvents(fields []formsigField) error {
	for _, f := range fields {
		if f.name == "mandrill_events" {
			if !json.Valid([]byte(f.value)) {
				return fmt.Errorf("%w: mandrill_events is not JSON", ErrMalformed)
			}
			return nil
		}
	}
	return fmt.Errorf("%w: no mandrill_events field", ErrMalformed)
}

// signMandrill: base64 HMAC-SHA1(webhook key, URL + sorted form fields).
// A JSON body becomes the form mandrill_events=<body>; any other body is
// taken as the form itself.
func signMandrill(_ string, r SignRequest) (*Signed, error) {
	key, err := needSecret(r)
	if err != nil {
		return nil, err
	}
	_, query, err := splitSignedURL(r.URL)
	if err != nil {
		return nil, err
	}
	body := r.Body
	rewritten := false
	if looksJSON(body) {
		body = []byte("mandrill_events=" + url.QueryEscape(string(body)))
		rewritten = true
	}
	fields, err := formsigParse(string(body))
	if err != nil {
		return nil, fmt.Errorf("body is neither JSON nor a valid form")
	}
	if err := formsigUnique(fields); err != nil {
		return nil, fmt.Errorf("body repeats a form field")
	}
	s := newSigned(body, formsigFormType)
	s.BodyRewritten = rewritten
	s.Header.Set("X-Mandrill-Signature", base64.StdEncoding.EncodeToString(MAC(sha1.New, key, []byte(r.URL), []byte(formsigSorted(fields)))))
	s.Query = query
	return s, nil
}

var _ Handshaker = (*mandrill)(nil)
