package verifiers

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"net/textproto"
	"strings"
	"time"
)

// The generic "hmac" provider: a declarative HMAC scheme described by an
// HMACRecipe (see recipe.go). The same engine backs the fixed HMAC
// providers of this family (shopify, paddle, maildesk, autosend), which
// are one recipe each.

func init() {
	Register("hmac", newHMAC)
}

// recipeMaxEntries bounds the number of entries parsed from a list-form
// signature header (signatures, the timestamp and unknown entries alike).
const recipeMaxEntries = 32

// newHMAC builds the generic recipe verifier from Config.HMAC.
func newHMAC(c Config) (Verifier, error) {
	if err := c.Allow("secret", "tolerance", "hmac"); err != nil {
		return nil, err
	}
	if c.HMAC == nil {
		return nil, fmt.Errorf("provider %s needs an hmac recipe (at least signature_header)", c.Provider)
	}
	return newRecipeVerifier(c, *c.HMAC)
}

// recipeProvider builds a provider that is one fixed recipe (shopify,
// paddle, maildesk, autosend).
func recipeProvider(c Config, r HMACRecipe) (Verifier, error) {
	// A fixed recipe takes secret, and tolerance when its scheme has a
	// timestamp.
	if err := c.Allow("secret", "tolerance"); err != nil {
		return nil, err
	}
	if r.TimestampHeader == "" && r.TimestampKey == "" {
		if err := c.Reject("tolerance"); err != nil {
			return nil, err
		}
	}
	return newRecipeVerifier(c, r)
}

// newRecipeVerifier is compileRecipe returning a nil interface on error
// (not an interface holding a nil pointer).
func newRecipeVerifier(c Config, r HMACRecipe) (Verifier, error) {
	v, err := compileRecipe(c, r)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// recipePartKind is the kind of one piece of the signed-content template.
type recipePartKind uint8

const (
	recipeLiteral recipePartKind = iota
	recipeBody
	recipeTimestamp
	recipeID
)

// recipePart is one piece of the precompiled signed-content template.
type recipePart struct {
	kind recipePartKind
	lit  []byte
}

// recipeVerifier verifies requests against a compiled HMACRecipe.
type recipeVerifier struct {
	cfg Config

	sigHeader string
	prefix    string
	separator string
	tsHeader  string
	tsKey     string
	idHeader  string

	hash    func() hash.Hash
	macSize int
	encName string
	decode  func(string) ([]byte, bool)
	parseTS func(string) (time.Time, error)
	keys    [][]byte
	content []recipePart

	hasTS   bool // a timestamp is required and checked
	signsTS bool // the timestamp is part of the signed content
	signsID bool // the delivery id is part of the signed content

	eventID string // a preset's event id pointer (EventIDer), "" for none
}

// compileRecipe validates r, decodes the secrets of c and precompiles the
// content template. Errors name the offending field, never a secret.
func compileRecipe(c Config, r HMACRecipe) (*recipeVerifier, error) {
	p := c.Provider
	v := &recipeVerifier{cfg: c}

	v.sigHeader = strings.TrimSpace(r.SignatureHeader)
	if v.sigHeader == "" {
		return nil, fmt.Errorf("provider %s: signature_header is required", p)
	}
	v.tsHeader = strings.TrimSpace(r.TimestampHeader)
	v.idHeader = strings.TrimSpace(r.IDHeader)
	for _, h := range []struct{ field, name string }{
		{"signature_header", v.sigHeader}, {"timestamp_header", v.tsHeader}, {"id_header", v.idHeader},
	} {
		if h.name != "" && !recipeValidHeaderName(h.name) {
			return nil, fmt.Errorf("provider %s: %s %q is not a valid header name", p, h.field, h.name)
		}
	}
	canon := textproto.CanonicalMIMEHeaderKey
	if v.tsHeader != "" && canon(v.tsHeader) == canon(v.sigHeader) {
		return nil, fmt.Errorf("provider %s: timestamp_header must differ from signature_header (use timestamp_key in list form)", p)
	}
	if v.idHeader != "" && (canon(v.idHeader) == canon(v.sigHeader) || canon(v.idHeader) == canon(v.tsHeader)) {
		return nil, fmt.Errorf("provider %s: id_header must differ from signature_header and timestamp_header", p)
	}

	switch r.Hash {
	case "", "sha256":
		v.hash, v.macSize = sha256.New, sha256.Size
	case "sha1":
		v.hash, v.macSize = sha1.New, sha1.Size
	case "sha512":
		v.hash, v.macSize = sha512.New, sha512.Size
	default:
		return nil, fmt.Errorf("provider %s: hash %q is not one of sha1, sha256, sha512", p, r.Hash)
	}

	switch r.Encoding {
	case "", "hex":
		v.encName, v.decode = "hex", DecodeHex
	case "base64":
		v.encName, v.decode = "base64", recipeDecodeBase64
	case "base64url":
		v.encName, v.decode = "base64url", recipeDecodeBase64URL
	default:
		return nil, fmt.Errorf("provider %s: encoding %q is not one of hex, base64, base64url", p, r.Encoding)
	}

	keys, err := recipeSecrets(c, r.SecretEncoding)
	if err != nil {
		return nil, err
	}
	v.keys = keys

	v.separator = r.Separator
	v.prefix = r.Prefix
	v.tsKey = r.TimestampKey
	if v.separator == "" && v.tsKey != "" {
		return nil, fmt.Errorf("provider %s: timestamp_key needs the list form (separator)", p)
	}
	if v.tsKey != "" && v.tsKey == v.prefix {
		return nil, fmt.Errorf("provider %s: timestamp_key and prefix must differ", p)
	}
	v.hasTS = v.tsHeader != "" || v.tsKey != ""

	switch r.TimestampUnit {
	case "", "s":
		v.parseTS = ParseUnix
	case "ms":
		v.parseTS = ParseUnixMilli
	case "auto":
		v.parseTS = recipeParseAuto
	default:
		return nil, fmt.Errorf("provider %s: timestamp_unit %q is not one of s, ms, auto", p, r.TimestampUnit)
	}
	if r.TimestampUnit != "" && !v.hasTS {
		return nil, fmt.Errorf("provider %s: timestamp_unit needs timestamp_header or timestamp_key", p)
	}
	if !v.hasTS && c.Tolerance != 0 {
		return nil, fmt.Errorf("provider %s: tolerance needs a timestamp (timestamp_header or timestamp_key)", p)
	}

	tmpl := r.Content
	if tmpl == "" {
		tmpl = "{body}"
	}
	v.content, err = recipeParseContent(tmpl)
	if err != nil {
		return nil, fmt.Errorf("provider %s: content: %w", p, err)
	}
	hasBody := false
	for _, part := range v.content {
		switch part.kind {
		case recipeBody:
			hasBody = true
		case recipeTimestamp:
			v.signsTS = true
		case recipeID:
			v.signsID = true
		}
	}
	if !hasBody {
		return nil, fmt.Errorf("provider %s: content must include {body}", p)
	}
	if v.signsTS && !v.hasTS {
		return nil, fmt.Errorf("provider %s: content uses {timestamp} but no timestamp_header or timestamp_key is set", p)
	}
	if v.signsID && v.idHeader == "" {
		return nil, fmt.Errorf("provider %s: content uses {id} but id_header is not set", p)
	}
	return v, nil
}

// recipeSecrets turns the configured secrets into HMAC keys according to
// the secret encoding.
func recipeSecrets(c Config, enc string) ([][]byte, error) {
	raw, err := RawSecrets(c)
	if err != nil {
		return nil, err
	}
	switch enc {
	case "", "raw":
		return raw, nil
	case "base64", "whsec":
	default:
		return nil, fmt.Errorf("provider %s: secret_encoding %q is not one of raw, base64, whsec", c.Provider, enc)
	}
	keys := make([][]byte, len(c.Secrets))
	for i, s := range c.Secrets {
		var (
			k  []byte
			ok bool
		)
		if enc == "whsec" {
			k, err = DecodeWhsec(s)
			ok = err == nil && len(k) > 0
		} else {
			k, ok = DecodeBase64(s)
		}
		if !ok {
			return nil, fmt.Errorf("provider %s: secret %d is not valid %s", c.Provider, i+1, enc)
		}
		keys[i] = k
	}
	return keys, nil
}

// recipeParseContent compiles a content template made of literal text and
// the placeholders {body}, {timestamp} and {id}. Any other {...}, or an
// unclosed {, is an error; a lone } is literal text.
func recipeParseContent(s string) ([]recipePart, error) {
	var (
		parts []recipePart
		lit   []byte
	)
	flush := func() {
		if len(lit) > 0 {
			parts = append(parts, recipePart{kind: recipeLiteral, lit: lit})
			lit = nil
		}
	}
	for i := 0; i < len(s); {
		if s[i] != '{' {
			lit = append(lit, s[i])
			i++
			continue
		}
		end := strings.IndexByte(s[i:], '}')
		if end < 0 {
			return nil, fmt.Errorf("unclosed { at offset %d", i)
		}
		name := s[i+1 : i+end]
		var kind recipePartKind
		switch name {
		case "body":
			kind = recipeBody
		case "timestamp":
			kind = recipeTimestamp
		case "id":
			kind = recipeID
		default:
			return nil, fmt.Errorf("unknown placeholder {%s} (known: {body}, {timestamp}, {id})", name)
		}
		flush()
		parts = append(parts, recipePart{kind: kind})
		i += end + 1
	}
	flush()
	return parts, nil
}

// recipeValidHeaderName reports whether s is an HTTP field name (an RFC 9110
// token).
func recipeValidHeaderName(s string) bool {
	if s == "" || len(s) > 256 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// recipeDecodeBase64 decodes standard base64, padded or not.
func recipeDecodeBase64(s string) ([]byte, bool) {
	return recipeDecodeWith(s, base64.StdEncoding, base64.RawStdEncoding)
}

// recipeDecodeBase64URL decodes URL-safe base64, padded or not.
func recipeDecodeBase64URL(s string) ([]byte, bool) {
	return recipeDecodeWith(s, base64.URLEncoding, base64.RawURLEncoding)
}

func recipeDecodeWith(s string, encs ...*base64.Encoding) ([]byte, bool) {
	for _, enc := range encs {
		if b, err := enc.Strict().DecodeString(s); err == nil && len(b) > 0 {
			return b, true
		}
	}
	return nil, false
}

// recipeParseAuto parses a Unix timestamp whose unit is told by its length:
// 13 digits or more are milliseconds, fewer are seconds.
func recipeParseAuto(s string) (time.Time, error) {
	if len(s) >= 13 {
		return ParseUnixMilli(s)
	}
	return ParseUnix(s)
}

// decodeSig decodes one signature and checks it has the size of the MAC.
func (v *recipeVerifier) decodeSig(s string) ([]byte, bool) {
	b, ok := v.decode(strings.TrimSpace(s))
	if !ok || len(b) != v.macSize {
		return nil, false
	}
	return b, true
}

// Verify checks r against the recipe: signature header, timestamp (if
// any), then the MAC of the signed content under every configured key.
func (v *recipeVerifier) Verify(r *Request) (*Result, error) {
	raw, err := Header(r.Header, v.sigHeader)
	if err != nil {
		return nil, err
	}

	var (
		sigs    [][]byte
		listTS  string
		hasList bool
	)
	if v.separator == "" {
		s := raw
		if v.prefix != "" {
			if !strings.HasPrefix(s, v.prefix) {
				return nil, fmt.Errorf("%w: header %s does not start with %q", ErrMalformed, v.sigHeader, v.prefix)
			}
			s = s[len(v.prefix):]
		}
		b, ok := v.decodeSig(s)
		if !ok {
			return nil, fmt.Errorf("%w: header %s is not a %s HMAC of the expected size", ErrMalformed, v.sigHeader, v.encName)
		}
		sigs = [][]byte{b}
	} else {
		entries := strings.SplitN(raw, v.separator, recipeMaxEntries+1)
		if len(entries) > recipeMaxEntries {
			return nil, fmt.Errorf("%w: header %s has more than %d entries", ErrMalformed, v.sigHeader, recipeMaxEntries)
		}
		found := 0
		for _, e := range entries {
			e = strings.TrimSpace(e)
			if e == "" {
				continue
			}
			if v.tsKey != "" && strings.HasPrefix(e, v.tsKey) {
				if hasList {
					return nil, fmt.Errorf("%w: header %s has more than one %q entry", ErrMalformed, v.sigHeader, v.tsKey)
				}
				listTS, hasList = strings.TrimSpace(e[len(v.tsKey):]), true
				continue
			}
			if !strings.HasPrefix(e, v.prefix) {
				continue // another version or an unknown entry
			}
			found++
			if b, ok := v.decodeSig(e[len(v.prefix):]); ok {
				sigs = append(sigs, b)
			}
		}
		if found == 0 {
			return nil, fmt.Errorf("%w: header %s has no %q signature", ErrMalformed, v.sigHeader, v.prefix)
		}
		if len(sigs) == 0 {
			return nil, fmt.Errorf("%w: header %s has no %s signature of the expected size", ErrMalformed, v.sigHeader, v.encName)
		}
	}

	var (
		tsStr string
		ts    time.Time
	)
	if v.hasTS {
		if v.tsKey != "" && !hasList {
			return nil, fmt.Errorf("%w: header %s has no %q entry", ErrMalformed, v.sigHeader, v.tsKey)
		}
		tsStr = listTS
		if v.tsHeader != "" {
			h, err := Header(r.Header, v.tsHeader)
			if err != nil {
				return nil, err
			}
			if v.tsKey != "" && h != listTS {
				return nil, fmt.Errorf("%w: header %s disagrees with the %q entry of %s", ErrMalformed, v.tsHeader, v.tsKey, v.sigHeader)
			}
			tsStr = h
		}
		if ts, err = v.parseTS(tsStr); err != nil {
			return nil, err
		}
		if err := CheckTimestamp(v.cfg, ts, r.Now); err != nil {
			return nil, err
		}
	}

	var id string
	if v.idHeader != "" {
		if v.signsID {
			id, err = Header(r.Header, v.idHeader)
		} else {
			id, err = OptionalHeader(r.Header, v.idHeader)
		}
		if err != nil {
			return nil, err
		}
	}

	expected := make([][]byte, len(v.keys))
	for i, k := range v.keys {
		m := hmac.New(v.hash, k)
		for _, part := range v.content {
			switch part.kind {
			case recipeLiteral:
				m.Write(part.lit)
			case recipeBody:
				m.Write(r.Body)
			case recipeTimestamp:
				io.WriteString(m, tsStr)
			case recipeID:
				io.WriteString(m, id)
			}
		}
		expected[i] = m.Sum(nil)
	}
	key, _, ok := MatchMAC(expected, sigs)
	if !ok {
		return nil, fmt.Errorf("%w: no signature in header %s matches", ErrSignature, v.sigHeader)
	}
	// The replay material is the MAC under the first secret, the same for
	// every copy of the delivery whichever of its signatures matched.
	res := &Result{ID: id, Signature: expected[0], Timestamp: ts, Key: key}
	if v.signsID {
		res.SignedID = id
	}
	return res, nil
}

// HasTimestamp reports whether requests carry a timestamp that is both
// checked against the tolerance and covered by the signature. A timestamp
// that is checked but not signed (AutoSend) does not bound replays, since
// it can be changed freely, so it does not count.
func (v *recipeVerifier) HasTimestamp() bool {
	_, on := v.cfg.EffectiveTolerance()
	return v.hasTS && v.signsTS && on
}
