package verifiers

import (
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"hash"
	"net/textproto"
	"net/url"
	"strings"
	"time"
)

// The recipe engine's compiler: an HMACRecipe and the configured secrets
// turned into a recipeVerifier, every field checked (errors name the
// field, never a secret).

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
	if err := recipeDelimit(v.content, v.url, v.tsUnit, c); err != nil {
		return nil, fmt.Errorf("provider %s: content %q: %w", p, tmpl, err)
	}
	return v, nil
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
