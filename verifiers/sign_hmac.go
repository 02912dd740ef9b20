package verifiers

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// The signer of the recipe engine: the generic hmac provider and the
// preset rows (presets_<group>.go) without a signer of their own. It
// compiles the recipe with the verifier's own compileRecipe, so a recipe
// the verifier refuses is refused here too, with the same message, and the
// secret is decoded the same way (raw, base64, whsec).

func init() {
	recipeSignable, recipeSign = recipeBased, signByRecipe
	RegisterSigner("hmac", func(_ string, r SignRequest) (*Signed, error) {
		if r.Recipe == nil {
			return nil, fmt.Errorf("needs an hmac recipe (at least signature_header)")
		}
		return SignRecipe(*r.Recipe, r)
	})
}

// SignRecipe signs r.Body by recipe with r.Secret (and r.URL where the
// content has {url}). The timestamp is r.Now in the recipe's unit
// (seconds for "s" and "auto", milliseconds for "ms", RFC 3339 in UTC
// for "rfc3339" and "iso8601"); the id, when the recipe has id_header, is
// r.ID or a random one.
func SignRecipe(recipe HMACRecipe, r SignRequest) (*Signed, error) {
	if r.Secret == "" {
		return nil, fmt.Errorf("needs a secret")
	}
	cfg := Config{Provider: "hmac", Secrets: []string{r.Secret}}
	if strings.Contains(recipe.Content, "{url}") {
		cfg.URL = r.URL // the url only goes where the content signs it
	}
	v, err := compileRecipe(cfg, recipe)
	if err != nil {
		// compileRecipe's messages start with "provider hmac: ".
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "provider hmac: "))
	}
	return v.sign(r)
}

// recipeSigner is implemented by the recipe verifier and every verifier
// that embeds it (zoom, recipe presets): Sign falls back to it for a
// provider without a signer of its own.
type recipeSigner interface {
	sign(r SignRequest) (*Signed, error)
}

// sign signs r.Body with the first configured key of v. The request is
// taken to be a POST to r.URL (its path for {path}).
func (v *recipeVerifier) sign(r SignRequest) (*Signed, error) {
	name := v.sigHeaders[0]
	if base, ok := strings.CutSuffix(name, "*"); ok {
		name = base + "1"
	}
	s := newSigned(r.Body, contentType(r, "application/json"))
	if v.scheme == "token" {
		s.Header.Set(name, v.prefix+r.Secret)
		return s, nil
	}
	var ts string
	if v.hasTS && v.tsField == nil {
		switch {
		case v.tsUnit == "rfc3339" || v.tsUnit == "iso8601":
			ts = r.Now.UTC().Format(time.RFC3339Nano)
		case isSecondsParser(v):
			ts = strconv.FormatInt(r.Now.Unix(), 10)
		default:
			ts = strconv.FormatInt(r.Now.UnixMilli(), 10)
		}
	}
	var id string
	if v.idHeader != "" {
		if id = r.ID; id == "" {
			id = randomID("")
		}
		if strings.ContainsAny(id, "\r\n") {
			return nil, fmt.Errorf("id must not contain a line break")
		}
	}
	if v.tsField != nil {
		body, err := v.withTimestampField(r.Body, r.Now)
		if err != nil {
			return nil, err
		}
		if !bytes.Equal(body, r.Body) {
			r.Body = body
			s = newSigned(body, contentType(r, "application/json"))
			s.BodyRewritten = true
		}
	}
	vals := make([]string, len(v.content))
	for i, part := range v.content {
		var val, what string
		switch part.kind {
		case recipeLiteral, recipeBody:
			continue
		case recipeURL:
			vals[i] = v.url
			continue
		case recipeTimestamp:
			val, what = ts, "timestamp"
		case recipeID:
			val, what = id, "id"
		case recipeMethod:
			val, what = "POST", "method"
		case recipePath:
			u, err := url.Parse(r.URL)
			if err != nil || r.URL == "" {
				return nil, fmt.Errorf("content has {path}: needs the url the delivery is sent to")
			}
			val, what = u.EscapedPath(), "path"
		case recipeHeader:
			return nil, fmt.Errorf("content has {header:%s}: the signer cannot fill it", part.lit)
		}
		for j := 0; j < len(val); j++ {
			if !part.allowed[val[j]] {
				return nil, fmt.Errorf("%s has a character the signed content does not allow there", what)
			}
		}
		vals[i] = val
	}
	mac := v.mac(v.keys[0], r.Body, vals)
	var sig string
	switch v.encName {
	case "base64":
		sig = base64.StdEncoding.EncodeToString(mac)
	case "base64url":
		sig = base64.RawURLEncoding.EncodeToString(mac)
	default:
		sig = hex.EncodeToString(mac)
	}
	value := v.prefix + sig
	switch {
	case v.separator != "" && v.tsKey != "":
		value = v.tsKey + ts + v.separator + value
	case v.separator != "" && v.tsFirst:
		value = ts + v.separator + value
	}
	s.Header.Set(name, value)
	if v.tsHeader != "" {
		s.Header.Set(v.tsHeader, ts)
	}
	if v.idHeader != "" {
		s.Header.Set(v.idHeader, id)
	}
	if v.url != "" {
		if u, err := url.Parse(v.url); err == nil {
			s.Query = u.RawQuery
		}
	}
	return s, nil
}

// isSecondsParser reports whether v reads a 10-digit timestamp as Unix
// seconds (units s and auto: those get seconds, as Zoom sends them); unit
// ms gets milliseconds. The compiled recipe keeps only its parser.
func isSecondsParser(v *recipeVerifier) bool {
	t, err := v.parseTS("1700000000")
	return err == nil && t.Unix() == 1700000000
}

// withTimestampField returns body with the timestamp member of a
// one-level timestamp_field pointer added at r.Now when a JSON object body
// lacks it (Linear's webhookTimestamp); a body that has it is kept.
func (v *recipeVerifier) withTimestampField(body []byte, now time.Time) ([]byte, error) {
	if _, err := recipeJSONField(body, v.tsField); err == nil {
		return body, nil
	}
	trimmed := bytes.TrimSpace(body)
	if len(v.tsField) != 1 || len(trimmed) < 2 || trimmed[0] != '{' {
		return nil, fmt.Errorf("the body must be a JSON object holding the timestamp field")
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	if !isSecondsParser(v) {
		ts = strconv.FormatInt(now.UnixMilli(), 10)
	}
	name, _ := json.Marshal(v.tsField[0])
	member := string(name) + ":" + ts
	rest := bytes.TrimSpace(trimmed[1:])
	if rest[0] != '}' {
		member += ","
	}
	out := append([]byte("{"+member), rest...)
	if _, err := recipeJSONField(out, v.tsField); err != nil {
		return nil, fmt.Errorf("the body must be a JSON object holding the timestamp field")
	}
	return out, nil
}

// signByRecipe is Sign for a provider built on the recipe engine without
// a signer of its own (zoom, recipe presets).
func signByRecipe(provider string, r SignRequest) (*Signed, error) {
	if r.Secret == "" {
		return nil, fmt.Errorf("provider %s: needs a secret", provider)
	}
	u := "" // the url goes to presets that sign one ({url}) only
	if probeURL(provider) != "" {
		u = r.URL
	}
	rs, err := recipeSignerFor(provider, r.Secret, u)
	if err != nil {
		// The constructor's errors name the secret's position, never its value.
		return nil, err
	}
	return rs.sign(r)
}

// recipeBased reports whether provider's verifier is built on the recipe
// engine and takes a secret alone (zoom, recipe presets): such a provider
// is signed by the engine, with a signer of its own or without one.
func recipeBased(provider string) bool {
	_, err := recipeSignerFor(provider, probeSecret, probeURL(provider))
	return err == nil
}

// probeURL is a url for presets that sign one ({url}), "" for the others.
func probeURL(name string) string {
	if p, ok := LookupPreset(name); ok && p.takesURL() {
		return "https://example.invalid/webhook"
	}
	return ""
}

// probeSecret decodes as raw, base64 and whsec alike, to find out whether
// a provider is built on the recipe engine.
const probeSecret = "dGVzdC1zZWNyZXQ="

// recipeSignerFor builds provider with secret and returns it as a
// recipeSigner, if it is one.
func recipeSignerFor(provider, secret, url string) (recipeSigner, error) {
	if !Known(provider) {
		return nil, fmt.Errorf("unknown provider %q", provider)
	}
	v, err := New(provider, Config{Provider: provider, Secrets: []string{secret}, URL: url})
	if err != nil {
		return nil, err
	}
	rs, ok := v.(recipeSigner)
	if !ok {
		return nil, fmt.Errorf("not a recipe provider")
	}
	return rs, nil
}
