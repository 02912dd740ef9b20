package verifiers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"hash"
	"io"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The generic "hmac" provider: a declarative scheme described by an
// HMACRecipe (see recipe.go). The same engine backs the presets of
// presets.go (shopify, paddle, box, ...), which are one recipe each.

func init() {
	Register("hmac", newHMAC)
}

// recipeMaxEntries bounds the number of entries parsed from a list-form
// signature header (signatures, the timestamp and unknown entries alike),
// and the numbered headers of a "Name-*" signature header.
const recipeMaxEntries = 32

// recipeMaxTolerance bounds the tolerance of templates whose timestamp of
// digits touches the body with no literal between ({body}{timestamp}):
// moving a digit across that boundary changes the timestamp by at least
// 10^8 seconds, which only a bounded tolerance check refuses.
const recipeMaxTolerance = 365 * 24 * time.Hour

// newHMAC builds the generic recipe verifier from Config.HMAC.
func newHMAC(c Config) (Verifier, error) {
	if err := c.Allow("secret", "tolerance", "hmac", "url"); err != nil {
		return nil, err
	}
	if c.HMAC == nil {
		return nil, fmt.Errorf("provider %s needs an hmac recipe (at least signature_header)", c.Provider)
	}
	v, err := compileRecipe(c, *c.HMAC)
	if err != nil {
		return nil, err
	}
	return v, nil
}

// CheckRecipe validates the shape of a recipe without secrets, for the
// Caddyfile parser (errors with file and line). url is the configured url
// option ("" if none; a value with a placeholder is not checked).
func CheckRecipe(r HMACRecipe, url string, tolerance time.Duration) error {
	if strings.Contains(url, "{") {
		url = "https://example.invalid/"
	}
	_, err := compileShape(Config{Provider: "hmac", URL: url, Tolerance: tolerance}, r)
	return err
}

// recipePartKind is the kind of one piece of the signed-content template.
type recipePartKind uint8

const (
	recipeLiteral recipePartKind = iota
	recipeBody
	recipeTimestamp
	recipeID
	recipeMethod
	recipePath
	recipeURL
	recipeHeader
)

// recipePart is one piece of the precompiled signed-content template.
type recipePart struct {
	kind recipePartKind
	lit  []byte // the literal text; for recipeHeader the header name
	// For variable parts (timestamp, id, method, path, header): the bytes a
	// value may hold (the kind's charset, less the delimiting byte).
	allowed *[256]bool
}

// recipeVerifier verifies requests against a compiled HMACRecipe.
type recipeVerifier struct {
	cfg Config

	sigHeaders []string // the signature headers; numbered ones end in "*"
	multi      bool     // several signature headers (or numbered ones)
	scheme     string
	prefix     string
	separator  string
	tsHeader   string
	tsKey      string
	tsFirst    bool
	tsField    []string // the JSON pointer's reference tokens
	tsUnit     string
	idHeader   string
	url        string // the configured URL, when content has {url}
	urlQuery   string // its raw query

	urlPath urlPath // the path requests must arrive on (urlbind.go)

	hash    func() hash.Hash
	pad     mdPadding // the hash's padding (scheme hash: length extensions)
	macSize int
	encName string
	decode  func(string) ([]byte, bool)
	parseTS func(string) (time.Time, error)
	keys    [][]byte
	tokens  [][sha256.Size]byte // token scheme: the secrets' SHA-256
	content []recipePart

	hasTS   bool // a timestamp is required and checked
	signsTS bool // the timestamp is covered by the signature
	signsID bool // the delivery id is part of the signed content
}

// compileRecipe validates r, decodes the secrets of c and precompiles the
// content template. Errors name the offending field, never a secret.
func compileRecipe(c Config, r HMACRecipe) (*recipeVerifier, error) {
	v, err := compileShape(c, r)
	if err != nil {
		return nil, err
	}
	keys, err := recipeSecrets(c, r.SecretPrefix, r.SecretEncoding)
	if err != nil {
		return nil, err
	}
	if v.scheme == "token" {
		for _, k := range keys {
			v.tokens = append(v.tokens, sha256.Sum256(k))
		}
	} else {
		v.keys = keys
	}
	return v, nil
}

// compileShape is compileRecipe without the secrets.
func compileShape(c Config, r HMACRecipe) (*recipeVerifier, error) {
	p := c.Provider
	v := &recipeVerifier{cfg: c}
	canon := textproto.CanonicalMIMEHeaderKey

	first := strings.TrimSpace(r.SignatureHeader)
	if first == "" {
		return nil, fmt.Errorf("provider %s: signature_header is required", p)
	}
	seen := map[string]bool{}
	for _, h := range append([]string{first}, r.SignatureHeaders...) {
		h = strings.TrimSpace(h)
		name := strings.TrimSuffix(h, "*")
		if !recipeValidHeaderName(name) {
			return nil, fmt.Errorf("provider %s: signature_header %q is not a valid header name", p, h)
		}
		if seen[canon(h)] {
			return nil, fmt.Errorf("provider %s: signature header %q is named twice", p, h)
		}
		seen[canon(h)] = true
		v.sigHeaders = append(v.sigHeaders, h)
	}
	v.multi = len(v.sigHeaders) > 1 || strings.HasSuffix(first, "*")
	isSig := func(name string) bool {
		for _, h := range v.sigHeaders {
			if base, ok := strings.CutSuffix(h, "*"); ok {
				if n, found := strings.CutPrefix(canon(name), canon(base)); found && n != "" && recipeAllDigits(n) {
					return true
				}
			} else if canon(h) == canon(name) {
				return true
			}
		}
		return false
	}

	v.tsHeader = strings.TrimSpace(r.TimestampHeader)
	v.idHeader = strings.TrimSpace(r.IDHeader)
	for _, h := range []struct{ field, name string }{
		{"timestamp_header", v.tsHeader}, {"id_header", v.idHeader},
	} {
		if h.name == "" {
			continue
		}
		if !recipeValidHeaderName(h.name) {
			return nil, fmt.Errorf("provider %s: %s %q is not a valid header name", p, h.field, h.name)
		}
		if isSig(h.name) {
			if h.field == "timestamp_header" {
				return nil, fmt.Errorf("provider %s: timestamp_header must differ from signature_header (use timestamp_key in list form)", p)
			}
			return nil, fmt.Errorf("provider %s: id_header must differ from signature_header and timestamp_header", p)
		}
	}
	if v.idHeader != "" && canon(v.idHeader) == canon(v.tsHeader) {
		return nil, fmt.Errorf("provider %s: id_header must differ from signature_header and timestamp_header", p)
	}

	v.scheme = r.Scheme
	switch r.Scheme {
	case "", "hmac":
		v.scheme = "hmac"
	case "hash":
	case "token":
		for _, f := range []struct{ name, val string }{
			{"content", r.Content}, {"hash", r.Hash}, {"encoding", r.Encoding}, {"separator", r.Separator},
			{"timestamp_header", r.TimestampHeader}, {"timestamp_unit", r.TimestampUnit},
			{"timestamp_key", r.TimestampKey}, {"timestamp_field", r.TimestampField},
		} {
			if f.val != "" {
				return nil, fmt.Errorf("provider %s: scheme token does not take %s (nothing is signed)", p, f.name)
			}
		}
		if r.TimestampFirst {
			return nil, fmt.Errorf("provider %s: scheme token does not take timestamp_first (nothing is signed)", p)
		}
		if c.Tolerance != 0 {
			return nil, fmt.Errorf("provider %s: tolerance needs a timestamp (timestamp_header, timestamp_key, timestamp_first or timestamp_field)", p)
		}
		v.prefix = r.Prefix
		if v.multi {
			return nil, fmt.Errorf("provider %s: scheme token takes one signature header", p)
		}
		if c.URL != "" {
			return nil, fmt.Errorf("provider %s: url is only used by {url} in content", p)
		}
		return v, nil
	default:
		return nil, fmt.Errorf("provider %s: scheme %q is not one of hmac, hash, token", p, r.Scheme)
	}

	switch r.Hash {
	case "", "sha256":
		v.hash, v.macSize, v.pad = sha256.New, sha256.Size, mdSHA256
	case "sha1":
		v.hash, v.macSize, v.pad = sha1.New, sha1.Size, mdSHA1
	case "sha512":
		v.hash, v.macSize, v.pad = sha512.New, sha512.Size, mdSHA512
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

	v.separator = r.Separator
	v.prefix = r.Prefix
	v.tsKey = r.TimestampKey
	v.tsFirst = r.TimestampFirst
	if v.separator == "" && (v.tsKey != "" || v.tsFirst) {
		return nil, fmt.Errorf("provider %s: timestamp_key and timestamp_first need the list form (separator)", p)
	}
	if v.tsKey != "" && v.tsFirst {
		return nil, fmt.Errorf("provider %s: timestamp_key and timestamp_first exclude each other", p)
	}
	if v.tsKey != "" && v.tsKey == v.prefix {
		return nil, fmt.Errorf("provider %s: timestamp_key and prefix must differ", p)
	}
	if v.multi && (v.tsKey != "" || v.tsFirst) {
		return nil, fmt.Errorf("provider %s: several signature headers cannot carry a list-form timestamp", p)
	}
	if r.TimestampField != "" {
		if v.tsHeader != "" || v.tsKey != "" || v.tsFirst {
			return nil, fmt.Errorf("provider %s: timestamp_field excludes the other timestamp sources", p)
		}
		toks, err := recipeParsePointer(r.TimestampField)
		if err != nil {
			return nil, fmt.Errorf("provider %s: timestamp_field: %w", p, err)
		}
		v.tsField = toks
	}
	v.hasTS = v.tsHeader != "" || v.tsKey != "" || v.tsFirst || v.tsField != nil

	v.tsUnit = r.TimestampUnit
	switch r.TimestampUnit {
	case "", "s":
		v.tsUnit, v.parseTS = "s", recipeParseSeconds
	case "ms":
		v.parseTS = recipeParseMillis
	case "auto":
		v.parseTS = recipeParseAuto
	case "rfc3339":
		v.parseTS = func(s string) (time.Time, error) { return recipeParseISO(s, true) }
	case "iso8601":
		v.parseTS = func(s string) (time.Time, error) { return recipeParseISO(s, false) }
	default:
		return nil, fmt.Errorf("provider %s: timestamp_unit %q is not one of s, ms, auto, rfc3339, iso8601", p, r.TimestampUnit)
	}
	if r.TimestampUnit != "" && !v.hasTS {
		return nil, fmt.Errorf("provider %s: timestamp_unit needs timestamp_header, timestamp_key, timestamp_first or timestamp_field", p)
	}
	if !v.hasTS && c.Tolerance != 0 {
		return nil, fmt.Errorf("provider %s: tolerance needs a timestamp (timestamp_header, timestamp_key, timestamp_first or timestamp_field)", p)
	}

	tmpl := r.Content
	if tmpl == "" {
		tmpl = "{body}"
	}
	var err error
	v.content, err = recipeParseContent(tmpl)
	if err != nil {
		return nil, fmt.Errorf("provider %s: content: %w", p, err)
	}
	bodies := 0
	hasURL := false
	for _, part := range v.content {
		switch part.kind {
		case recipeBody:
			bodies++
		case recipeTimestamp, recipeID, recipeMethod, recipePath, recipeHeader:
			if bodies > 0 && v.scheme == "hash" {
				// A plain hash can be extended past its end: whoever saw
				// one signature can append to the body and end the signed
				// string with a value of their choice (a fresh timestamp).
				return nil, fmt.Errorf("provider %s: content %q: scheme hash cannot sign %s after {body}: a plain hash(secret || content) can be extended by anyone who saw one signature (length extension), so a value after the body could be replaced; put it before {body}, or use scheme hmac", p, tmpl, recipePartName(part))
			}
		}
		switch part.kind {
		case recipeTimestamp:
			v.signsTS = true
		case recipeID:
			v.signsID = true
		case recipeURL:
			hasURL = true
		case recipeHeader:
			name := string(part.lit)
			if isSig(name) {
				return nil, fmt.Errorf("provider %s: content: {header:%s} is a signature header", p, name)
			}
		}
	}
	if bodies != 1 {
		return nil, fmt.Errorf("provider %s: content must include {body} exactly once", p)
	}
	if v.signsTS && !v.hasTS {
		return nil, fmt.Errorf("provider %s: content uses {timestamp} but no timestamp_header, timestamp_key or timestamp_first is set", p)
	}
	if v.signsTS && v.tsField != nil {
		return nil, fmt.Errorf("provider %s: content cannot use {timestamp} with timestamp_field (the body signs it)", p)
	}
	if v.tsField != nil {
		v.signsTS = true // inside the signed body
	}
	if v.signsID && v.idHeader == "" {
		return nil, fmt.Errorf("provider %s: content uses {id} but id_header is not set", p)
	}
	if hasURL {
		if c.URL == "" {
			return nil, fmt.Errorf("provider %s: content uses {url}: the url option (the public URL the provider signs) is required", p)
		}
		u, err := recipeCheckURL(c.URL)
		if err != nil {
			return nil, fmt.Errorf("provider %s: url: %w", p, err)
		}
		v.url, v.urlQuery = c.URL, u.RawQuery
		if v.urlPath, err = newURLPath(c); err != nil {
			return nil, err
		}
	} else if c.URL != "" {
		return nil, fmt.Errorf("provider %s: url is only used by {url} in content", p)
	}
	if err := v.delimit(); err != nil {
		return nil, fmt.Errorf("provider %s: content %q: %w", p, tmpl, err)
	}
	return v, nil
}

// Charsets of the variable parts, before the delimiter is taken out.
var (
	recipeDigits    = recipeCharset("0123456789")
	recipeISOChars  = recipeCharset("0123456789-:.+TZ")
	recipeMethodSet = recipeCharset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	recipePathSet   = recipeCharset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~%!$&'()*+,;=:@/")
	recipeIDSet     = recipeRange(0x21, 0x7e) // printable ASCII, no space
	recipeValueSet  = recipeRange(0x20, 0x7e) // printable ASCII and space
)

func recipeCharset(s string) [256]bool {
	var set [256]bool
	for i := 0; i < len(s); i++ {
		set[s[i]] = true
	}
	return set
}

func recipeRange(lo, hi byte) [256]bool {
	var set [256]bool
	for c := int(lo); c <= int(hi); c++ {
		set[c] = true
	}
	return set
}

// delimit gives every variable part of the template its charset and makes
// sure the signed string can be cut into its parts in one way only.
//
// Left of {body} the string is read from the start: each variable part
// must be followed by fixed text (a literal or {url}) whose first byte it
// cannot contain; ids, paths and header values refuse that byte, while a
// timestamp or a method whose charset holds it makes the template
// ambiguous (refused), unless the timestamp is RFC 3339 (no valid value is
// a prefix of another). Right of {body} the same holds mirrored, from the
// end. Two variable parts side by side are refused, except a Unix
// timestamp of a pinned unit (s or ms) right next to {body}: moving a digit
// across multiplies or divides it by about 10, which puts it decades away
// from now, where the (required, bounded) tolerance check refuses it. With
// unit auto the length is not pinned (13 digits of ms and 10 of seconds
// are the same instant, whatever the tolerance), so that exception does
// not hold: refused.
func (v *recipeVerifier) delimit() error {
	parts := v.content
	bi := 0
	for i, p := range parts {
		if p.kind == recipeBody {
			bi = i
		}
	}
	// fixedEdge returns the first (or last) byte of a fixed part.
	fixedEdge := func(p recipePart, last bool) (byte, bool) {
		var s []byte
		switch p.kind {
		case recipeLiteral:
			s = p.lit
		case recipeURL:
			s = []byte(v.url)
		default:
			return 0, false
		}
		if last {
			return s[len(s)-1], true
		}
		return s[0], true
	}
	for i := range parts {
		p := &parts[i]
		var base [256]bool
		adaptive := false // the value refuses its delimiter
		switch p.kind {
		case recipeLiteral, recipeURL, recipeBody:
			continue
		case recipeTimestamp:
			if v.tsUnit == "rfc3339" || v.tsUnit == "iso8601" {
				base = recipeISOChars
			} else {
				base = recipeDigits
			}
		case recipeMethod:
			base = recipeMethodSet
		case recipePath:
			base, adaptive = recipePathSet, true
		case recipeID:
			base, adaptive = recipeIDSet, true
		case recipeHeader:
			base, adaptive = recipeValueSet, true
		}
		set := base
		p.allowed = &set
		name := recipePartName(*p)
		var nb int // the neighbour that delimits it
		if i < bi {
			nb = i + 1
		} else {
			nb = i - 1
		}
		if p.kind == recipeTimestamp && v.tsUnit == "rfc3339" {
			continue // prefix-free and suffix-free: delimits itself
		}
		if p.kind == recipeTimestamp && v.tsUnit == "iso8601" && i < bi {
			// Read from the start, a valid ISO 8601 value can only be
			// continued into a longer valid one by a fraction or a zone
			// (".", digits, "Z", "+", "-"): any other delimiting byte, even
			// one the value holds (Orb's ":"), ends it in one place only.
			if e, ok := fixedEdge(parts[nb], false); ok && strings.IndexByte("0123456789.Z+-", e) < 0 {
				continue
			}
		}
		edge, fixed := fixedEdge(parts[nb], i > bi)
		switch {
		case fixed && adaptive:
			set[edge] = false
		case fixed && !base[edge]:
		case fixed:
			return fmt.Errorf("%s can contain %q, the text that delimits it, so the parts can be cut in two ways", name, edge)
		case parts[nb].kind == recipeBody && p.kind == recipeTimestamp && v.tsUnit == "auto":
			// 13 digits of ms, or 10 of seconds and 3 moved across: the
			// same instant, so no tolerance tells the two cuts apart.
			return fmt.Errorf("%s touches {body} with no text between, and timestamp_unit auto lets its length vary (13 digits of ms or 10 of seconds at the same instant), so the parts can be cut in two ways: set timestamp_unit s or ms", name)
		case parts[nb].kind == recipeBody && p.kind == recipeTimestamp && v.tsUnit != "iso8601":
			tol, on := v.cfg.EffectiveTolerance()
			if !on {
				return fmt.Errorf("%s touches {body} with no text between: only the tolerance check tells them apart, so it cannot be off here: remove tolerance off (the default is 5m)", name)
			}
			if tol > recipeMaxTolerance {
				return fmt.Errorf("%s touches {body} with no text between: only a tolerance check (at most %s) tells them apart", name, recipeMaxTolerance)
			}
		default:
			return fmt.Errorf("%s and %s are side by side with no text between, so the parts can be cut in two ways", name, recipePartName(parts[nb]))
		}
	}
	return nil
}

func recipePartName(p recipePart) string {
	switch p.kind {
	case recipeBody:
		return "{body}"
	case recipeTimestamp:
		return "{timestamp}"
	case recipeID:
		return "{id}"
	case recipeMethod:
		return "{method}"
	case recipePath:
		return "{path}"
	case recipeURL:
		return "{url}"
	case recipeHeader:
		return "{header:" + string(p.lit) + "}"
	}
	return strconv.Quote(string(p.lit))
}

// recipeCheckURL checks a configured public URL: absolute http or https
// with a host, printable ASCII, no fragment.
func recipeCheckURL(s string) (*url.URL, error) {
	for i := 0; i < len(s); i++ {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return nil, fmt.Errorf("must be printable ASCII without spaces")
		}
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("not a URL")
	}
	if (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" || strings.Contains(s, "#") {
		return nil, fmt.Errorf("must be an absolute http or https URL without a fragment")
	}
	return u, nil
}

// recipeSecrets turns the configured secrets into keys according to the
// secret prefix and encoding.
func recipeSecrets(c Config, prefix, enc string) ([][]byte, error) {
	raw, err := RawSecrets(c)
	if err != nil {
		return nil, err
	}
	switch enc {
	case "", "raw", "base64", "whsec", "hex":
	default:
		return nil, fmt.Errorf("provider %s: secret_encoding %q is not one of raw, base64, hex, whsec", c.Provider, enc)
	}
	keys := make([][]byte, len(raw))
	for i, s := range c.Secrets {
		if prefix != "" {
			s = strings.TrimPrefix(s, prefix)
		}
		var (
			k  []byte
			ok bool
		)
		switch enc {
		case "", "raw":
			k, ok = []byte(s), s != ""
		case "whsec":
			k, err = DecodeWhsec(s)
			ok = err == nil && len(k) > 0
		case "hex":
			k, ok = DecodeHex(s)
		default:
			k, ok = DecodeBase64(s)
		}
		if !ok {
			if enc == "" || enc == "raw" {
				return nil, fmt.Errorf("provider %s: secret %d is empty after its prefix", c.Provider, i+1)
			}
			return nil, fmt.Errorf("provider %s: secret %d is not valid %s", c.Provider, i+1, enc)
		}
		keys[i] = k
	}
	return keys, nil
}

// recipeParseContent compiles a content template made of literal text and
// the placeholders of HMACRecipe.Content. Any other {...}, or an unclosed
// {, is an error; a lone } is literal text.
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
		part := recipePart{}
		switch name {
		case "body":
			part.kind = recipeBody
		case "timestamp":
			part.kind = recipeTimestamp
		case "id":
			part.kind = recipeID
		case "method":
			part.kind = recipeMethod
		case "path":
			part.kind = recipePath
		case "url":
			part.kind = recipeURL
		default:
			h, ok := strings.CutPrefix(name, "header:")
			if !ok {
				return nil, fmt.Errorf("unknown placeholder {%s} (known: {body}, {timestamp}, {id}, {method}, {path}, {url}, {header:Name})", name)
			}
			if !recipeValidHeaderName(h) {
				return nil, fmt.Errorf("{header:%s}: not a valid header name", h)
			}
			part.kind, part.lit = recipeHeader, []byte(h)
		}
		flush()
		parts = append(parts, part)
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

func recipeAllDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
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

// decodeSig decodes one signature and checks it has the size of the MAC.
func (v *recipeVerifier) decodeSig(s string) ([]byte, bool) {
	b, ok := v.decode(strings.TrimSpace(s))
	if !ok || len(b) != v.macSize {
		return nil, false
	}
	return b, true
}

// headerNames lists the signature headers to look at, numbered ones
// expanded.
func (v *recipeVerifier) headerNames() []string {
	if !v.multi {
		return v.sigHeaders
	}
	var names []string
	for _, h := range v.sigHeaders {
		base, numbered := strings.CutSuffix(h, "*")
		if !numbered {
			names = append(names, h)
			continue
		}
		for i := 1; i <= recipeMaxEntries; i++ {
			names = append(names, base+strconv.Itoa(i))
		}
	}
	return names
}

// signatures reads the signatures (and a list-form timestamp) of r.
func (v *recipeVerifier) signatures(r *Request) (sigs [][]byte, listTS string, hasList bool, err error) {
	if !v.multi {
		raw, err := Header(r.Header, v.sigHeaders[0])
		if err != nil {
			return nil, "", false, err
		}
		return v.parseSigHeader(v.sigHeaders[0], raw, true)
	}
	present := 0
	for _, name := range v.headerNames() {
		raw, err := OptionalHeader(r.Header, name)
		if err != nil {
			return nil, "", false, err
		}
		if raw == "" {
			continue
		}
		present++
		s, _, _, err := v.parseSigHeader(name, raw, false)
		if err != nil {
			continue // undecodable: ignored while another header may match
		}
		sigs = append(sigs, s...)
	}
	if present == 0 {
		return nil, "", false, fmt.Errorf("%w: missing header %s", ErrMalformed, strings.Join(v.sigHeaders, " or "))
	}
	if len(sigs) == 0 {
		return nil, "", false, fmt.Errorf("%w: no signature header holds a %s signature of the expected size", ErrMalformed, v.encName)
	}
	return sigs, "", false, nil
}

// parseSigHeader parses one signature header's value.
func (v *recipeVerifier) parseSigHeader(name, raw string, withTS bool) (sigs [][]byte, listTS string, hasList bool, err error) {
	if v.separator == "" {
		s := raw
		if v.prefix != "" {
			if !strings.HasPrefix(s, v.prefix) {
				return nil, "", false, fmt.Errorf("%w: header %s does not start with %q", ErrMalformed, name, v.prefix)
			}
			s = s[len(v.prefix):]
		}
		b, ok := v.decodeSig(s)
		if !ok {
			return nil, "", false, fmt.Errorf("%w: header %s is not a %s signature of the expected size", ErrMalformed, name, v.encName)
		}
		return [][]byte{b}, "", false, nil
	}
	entries := strings.SplitN(raw, v.separator, recipeMaxEntries+1)
	if len(entries) > recipeMaxEntries {
		return nil, "", false, fmt.Errorf("%w: header %s has more than %d entries", ErrMalformed, name, recipeMaxEntries)
	}
	found := 0
	for i, e := range entries {
		e = strings.TrimSpace(e)
		if withTS && v.tsFirst && i == 0 {
			listTS, hasList = e, e != ""
			continue
		}
		if e == "" {
			continue
		}
		if withTS && v.tsKey != "" && strings.HasPrefix(e, v.tsKey) {
			if hasList {
				return nil, "", false, fmt.Errorf("%w: header %s has more than one %q entry", ErrMalformed, name, v.tsKey)
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
		return nil, "", false, fmt.Errorf("%w: header %s has no %q signature", ErrMalformed, name, v.prefix)
	}
	if len(sigs) == 0 {
		return nil, "", false, fmt.Errorf("%w: header %s has no %s signature of the expected size", ErrMalformed, name, v.encName)
	}
	return sigs, listTS, hasList, nil
}

// Verify checks r against the recipe: signature headers, timestamp (if
// any), the values of the template, then the MAC (or hash) of the signed
// content under every configured key.
func (v *recipeVerifier) Verify(r *Request) (*Result, error) {
	if v.scheme == "token" {
		return v.verifyToken(r)
	}
	sigs, listTS, hasList, err := v.signatures(r)
	if err != nil {
		return nil, err
	}

	var (
		tsStr string
		ts    time.Time
	)
	if v.hasTS {
		switch {
		case v.tsField != nil:
			if tsStr, err = recipeJSONField(r.Body, v.tsField); err != nil {
				return nil, err
			}
		case (v.tsKey != "" || v.tsFirst) && !hasList:
			return nil, fmt.Errorf("%w: header %s has no timestamp entry", ErrMalformed, v.sigHeaders[0])
		default:
			tsStr = listTS
		}
		if v.tsHeader != "" {
			h, err := Header(r.Header, v.tsHeader)
			if err != nil {
				return nil, err
			}
			if hasList && h != listTS {
				return nil, fmt.Errorf("%w: header %s disagrees with the timestamp entry of %s", ErrMalformed, v.tsHeader, v.sigHeaders[0])
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

	// The values of the template, each checked against its charset.
	vals := make([]string, len(v.content))
	for i, part := range v.content {
		var (
			val  string
			what string
		)
		switch part.kind {
		case recipeLiteral, recipeBody:
			continue
		case recipeURL:
			if r.URL == nil || r.URL.RawQuery != v.urlQuery {
				return nil, fmt.Errorf("%w: the request's query string is not the configured url's (the provider signs the configured url)", ErrSignature)
			}
			if err := v.urlPath.check(r); err != nil {
				return nil, err
			}
			vals[i] = v.url
			continue
		case recipeTimestamp:
			val, what = tsStr, "timestamp"
		case recipeID:
			val, what = id, "header "+v.idHeader
		case recipeMethod:
			val, what = r.Method, "method"
		case recipePath:
			if r.URL != nil {
				val = r.URL.EscapedPath()
			}
			what = "path"
		case recipeHeader:
			what = "header " + string(part.lit)
			if val, err = Header(r.Header, string(part.lit)); err != nil {
				return nil, err
			}
		}
		if val == "" {
			return nil, fmt.Errorf("%w: empty %s", ErrMalformed, what)
		}
		for j := 0; j < len(val); j++ {
			if !part.allowed[val[j]] {
				return nil, fmt.Errorf("%w: %s has a character the signed content does not allow there", ErrMalformed, what)
			}
		}
		vals[i] = val
	}

	expected := make([][]byte, len(v.keys))
	for i, k := range v.keys {
		expected[i] = v.mac(k, r.Body, vals)
	}
	key, _, ok := MatchMAC(expected, sigs)
	if !ok {
		return nil, fmt.Errorf("%w: no signature in header %s matches", ErrSignature, strings.Join(v.sigHeaders, ", "))
	}
	// Only after a match: the check depends on the secret's length, which
	// a client without a valid signature must not learn from 400 vs 401.
	if v.scheme == "hash" {
		var pre, post bytes.Buffer
		bi := v.bodyIndex()
		v.writeParts(&pre, v.content[:bi], nil, vals[:bi])
		v.writeParts(&post, v.content[bi+1:], nil, vals[bi+1:])
		if v.pad.glued(len(v.keys[key]), pre.Bytes(), r.Body, post.Bytes()) {
			return nil, fmt.Errorf("%w: the signed content holds the hash's padding where a shorter signed message ends: a length extension of another delivery (scheme hash is a plain hash, not an HMAC)", ErrMalformed)
		}
	}
	// The replay material is the MAC under the first secret, the same for
	// every copy of the delivery whichever of its signatures matched.
	res := &Result{ID: id, Signature: expected[0], Timestamp: ts, Key: key}
	if v.signsID {
		res.SignedID = id
	}
	return res, nil
}

// mac is the MAC (scheme hmac) or hash (scheme hash) of the signed
// content under key; vals holds the validated value of each variable part.
func (v *recipeVerifier) mac(key, body []byte, vals []string) []byte {
	var m hash.Hash
	if v.scheme == "hash" {
		m = v.hash()
		m.Write(key)
	} else {
		m = hmac.New(v.hash, key)
	}
	v.writeParts(m, v.content, body, vals)
	return m.Sum(nil)
}

// bodyIndex is the position of {body} in the template.
func (v *recipeVerifier) bodyIndex() int {
	for i, part := range v.content {
		if part.kind == recipeBody {
			return i
		}
	}
	return -1
}

// writeParts writes the signed content of parts to w; vals holds the
// value of each part (vals[j] for parts[j]).
func (v *recipeVerifier) writeParts(w io.Writer, parts []recipePart, body []byte, vals []string) {
	for j, part := range parts {
		switch part.kind {
		case recipeLiteral:
			w.Write(part.lit)
		case recipeBody:
			w.Write(body)
		default:
			io.WriteString(w, vals[j])
		}
	}
}

// verifyToken checks a header carrying the secret itself, in constant time
// (the SHA-256 of both sides is compared, so lengths do not show).
func (v *recipeVerifier) verifyToken(r *Request) (*Result, error) {
	name := v.sigHeaders[0]
	raw, err := Header(r.Header, name)
	if err != nil {
		return nil, err
	}
	if v.prefix != "" {
		s, ok := strings.CutPrefix(raw, v.prefix)
		if !ok {
			return nil, fmt.Errorf("%w: header %s does not start with %q", ErrMalformed, name, v.prefix)
		}
		raw = s
	}
	got := sha256.Sum256([]byte(raw))
	key := -1
	for i, t := range v.tokens {
		if subtle.ConstantTimeCompare(got[:], t[:]) == 1 && key < 0 {
			key = i
		}
	}
	if key < 0 {
		return nil, fmt.Errorf("%w: header %s does not hold a configured token", ErrCredentials, name)
	}
	var id string
	if v.idHeader != "" {
		if id, err = OptionalHeader(r.Header, v.idHeader); err != nil {
			return nil, err
		}
	}
	// The token is the same on every delivery: the replay material is the
	// body's digest. The header is a credential: the handler removes it
	// (unless keep_credentials).
	sum := sha256.Sum256(r.Body)
	return &Result{ID: id, Signature: sum[:], Key: key, Consumed: []string{name}}, nil
}

// HasTimestamp reports whether requests carry a timestamp that is both
// checked against the tolerance and covered by the signature. A timestamp
// that is checked but not signed (AutoSend) does not bound replays, since
// it can be changed freely, so it does not count.
func (v *recipeVerifier) HasTimestamp() bool {
	_, on := v.cfg.EffectiveTolerance()
	return v.hasTS && v.signsTS && on
}

// SignsBody reports whether the signature covers the whole raw body: always,
// except in the token scheme, which signs nothing.
func (v *recipeVerifier) SignsBody() bool { return v.scheme != "token" }

var (
	_ Verifier    = (*recipeVerifier)(nil)
	_ Timestamped = (*recipeVerifier)(nil)
	_ BodySigner  = (*recipeVerifier)(nil)
)
