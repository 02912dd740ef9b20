package verifiers

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The recipe engine's verifier: the signature headers, the timestamp and
// the template's values read from a request, then the MAC (or hash, or
// token) under every configured key.

// recipeMaxEntries bounds the number of entries parsed from a list-form
// signature header (signatures, the timestamp and unknown entries alike),
// and the numbered headers of a "Name-*" signature header.
const recipeMaxEntries = 32

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

// CredentialHeaders names the header of the token scheme; the other
// schemes carry signatures, not secrets.
func (v *recipeVerifier) CredentialHeaders() []string {
	if v.scheme != "token" || len(v.sigHeaders) == 0 {
		return nil
	}
	return []string{http.CanonicalHeaderKey(v.sigHeaders[0])}
}

var (
	_ Verifier          = (*recipeVerifier)(nil)
	_ CredentialCarrier = (*recipeVerifier)(nil)
	_ Timestamped       = (*recipeVerifier)(nil)
	_ BodySigner        = (*recipeVerifier)(nil)
)
