package verifiers

import (
	"crypto/hmac"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
)

// The signer of the recipe engine: the generic hmac provider and the fixed
// recipes (shopify, paddle, maildesk, autosend). It compiles the recipe
// with the verifier's own compileRecipe, so a recipe the verifier refuses
// is refused here too, with the same message, and the secret is decoded
// the same way (raw, base64, whsec).

func init() {
	RegisterSigner("hmac", func(_ string, r SignRequest) (*Signed, error) {
		if r.Recipe == nil {
			return nil, fmt.Errorf("needs an hmac recipe (at least signature_header)")
		}
		return SignRecipe(*r.Recipe, r)
	})
	for name, recipe := range map[string]HMACRecipe{
		"shopify":  shopifyRecipe,
		"paddle":   paddleRecipe,
		"maildesk": maildeskRecipe,
		"autosend": autosendRecipe,
	} {
		RegisterSigner(name, func(_ string, r SignRequest) (*Signed, error) {
			return SignRecipe(recipe, r)
		})
	}
}

// SignRecipe signs r.Body by recipe with r.Secret. The timestamp is r.Now
// in the recipe's unit (milliseconds for "ms" and "auto"); the id, when the
// recipe has id_header, is r.ID or a random one.
func SignRecipe(recipe HMACRecipe, r SignRequest) (*Signed, error) {
	if r.Secret == "" {
		return nil, fmt.Errorf("needs a secret")
	}
	v, err := compileRecipe(Config{Provider: "hmac", Secrets: []string{r.Secret}}, recipe)
	if err != nil {
		// compileRecipe's messages start with "provider hmac: ".
		return nil, fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "provider hmac: "))
	}
	var ts string
	if v.hasTS {
		switch recipe.TimestampUnit {
		case "ms", "auto":
			ts = strconv.FormatInt(r.Now.UnixMilli(), 10)
		default:
			ts = strconv.FormatInt(r.Now.Unix(), 10)
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
	m := hmac.New(v.hash, v.keys[0])
	for _, part := range v.content {
		switch part.kind {
		case recipeLiteral:
			m.Write(part.lit)
		case recipeBody:
			m.Write(r.Body)
		case recipeTimestamp:
			m.Write([]byte(ts))
		case recipeID:
			m.Write([]byte(id))
		}
	}
	mac := m.Sum(nil)
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
	if v.separator != "" && v.tsKey != "" {
		value = v.tsKey + ts + v.separator + value
	}
	s := newSigned(r.Body, contentType(r, "application/json"))
	s.Header.Set(v.sigHeader, value)
	if v.tsHeader != "" {
		s.Header.Set(v.tsHeader, ts)
	}
	if v.idHeader != "" {
		s.Header.Set(v.idHeader, id)
	}
	return s, nil
}
