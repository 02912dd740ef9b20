package verifiers

import (
	"fmt"
	"strings"
	"time"
)

// The generic "hmac" provider: a declarative scheme described by an
// HMACRecipe (recipe.go). The same engine backs the preset rows of
// presets_*.go (shopify, paddle, box, ...), which are one recipe each.
//
// The engine by concern: recipe_template.go (the signed-content template
// and its ambiguity rules), recipe_timestamp.go (timestamp parsing),
// recipe_json.go (JSON pointers into the body), recipe_compile.go (a recipe
// and its secrets compiled into a verifier), recipe_verify.go (verifying a
// request), sign_hmac.go (signing one).

func init() {
	Register("hmac", newHMAC)
}

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
