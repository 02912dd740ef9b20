// The verifier's configuration, built at provision from the handler's fields:
// placeholders resolved, certificate files read, durations bounded.

package webhookverify

import (
	"fmt"
	"os"
	"time"

	"github.com/caddyserver/caddy/v2"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// verifierConfig resolves placeholders and reads certificate files.
func (h *Handler) verifierConfig() (verifiers.Config, error) {
	repl := caddy.NewReplacer()
	resolve := func(what string, i int, s string) (string, error) {
		return resolveSecret(repl, what, i, s)
	}
	cfg := verifiers.Config{
		Provider:    h.Provider,
		Tolerance:   time.Duration(h.Tolerance),
		HMAC:        h.HMAC,
		AutoConfirm: h.AutoConfirm,
		Header:      h.Header,
	}
	for i, s := range h.Secrets {
		v, err := resolve("secret", i, s)
		if err != nil {
			return cfg, err
		}
		cfg.Secrets = append(cfg.Secrets, v)
	}
	for i, k := range h.PublicKeys {
		v, err := resolve("public_key", i, k.Key)
		if err != nil {
			return cfg, err
		}
		cfg.PublicKeys = append(cfg.PublicKeys, verifiers.PublicKey{KeyID: k.KeyID, Key: v})
	}
	for i, a := range h.TopicARNs {
		v, err := resolve("topic_arn", i, a)
		if err != nil {
			return cfg, err
		}
		cfg.TopicARNs = append(cfg.TopicARNs, v)
	}
	for i, c := range h.CustomerHandles {
		v, err := resolve("customer_handle", i, c)
		if err != nil {
			return cfg, err
		}
		cfg.CustomerHandles = append(cfg.CustomerHandles, v)
	}
	for i, p := range h.Certificates {
		pem, err := os.ReadFile(repl.ReplaceAll(p, ""))
		if err != nil {
			return cfg, fmt.Errorf("certificate %d: %v", i+1, err)
		}
		cfg.Certificates = append(cfg.Certificates, string(pem))
	}
	var err error
	for _, f := range []struct {
		what string
		in   string
		out  *string
	}{{"url", h.URL, &cfg.URL}, {"url_path", h.URLPath, &cfg.URLPath}, {"username", h.Username, &cfg.Username}, {"password", h.Password, &cfg.Password},
		{"verify_token", h.VerifyToken, &cfg.VerifyToken}, {"webhook_id", h.WebhookID, &cfg.WebhookID}} {
		if f.in == "" {
			continue
		}
		if *f.out, err = resolve(f.what, 0, f.in); err != nil {
			return cfg, err
		}
	}
	return cfg, nil
}

// resolveSecret resolves the placeholders of a secret or key, the i-th
// (from 0) of its kind. A placeholder the replacer does not know ({enx.X},
// or a request placeholder, which has no value at provision time) would
// be kept as literal text: a secret anyone reading the config could sign
// with. Refused, without echoing any part of the value (write a literal
// brace as \{ or \}).
func resolveSecret(repl *caddy.Replacer, what string, i int, s string) (string, error) {
	if _, err := repl.ReplaceOrErr(s, false, true); err != nil {
		return "", fmt.Errorf("%s %d contains an unknown placeholder (only global ones such as {env.NAME} and {file.path} are resolved here)", what, i+1)
	}
	out, err := repl.ReplaceOrErr(s, true, false)
	if err != nil {
		return "", fmt.Errorf("%s %d: %v", what, i+1, err)
	}
	if out == "" {
		return "", fmt.Errorf("%s %d is empty", what, i+1)
	}
	return out, nil
}

// Duration bounds checked at load, for the Caddyfile and JSON alike.
const (
	// MaxTolerance is the largest timestamp tolerance accepted.
	MaxTolerance = 24 * time.Hour
	// MinReplayTTL is the shortest ttl and in_flight_ttl accepted.
	MinReplayTTL = time.Second
	// MaxReplayTTL is the longest ttl and in_flight_ttl accepted.
	MaxReplayTTL = 366 * 24 * time.Hour
	// MaxBodyTimeout is the longest body_timeout accepted.
	MaxBodyTimeout = time.Hour
)

// checkDurations applies the bounds of tolerance, body_timeout and the
// replay TTLs (zero means the default; a negative tolerance means off).
func (h *Handler) checkDurations() error {
	if tol := time.Duration(h.Tolerance); tol > MaxTolerance {
		return fmt.Errorf("tolerance must be at most %v", MaxTolerance)
	}
	if bt := time.Duration(h.BodyTimeout); bt != 0 && (bt < MinBodyTimeout || bt > MaxBodyTimeout) {
		return fmt.Errorf("body_timeout must be between %v and %v", MinBodyTimeout, MaxBodyTimeout)
	}
	if rc := h.Replay; rc != nil && !rc.Disabled {
		for _, d := range []struct {
			name string
			v    caddy.Duration
		}{{"ttl", rc.TTL}, {"in_flight_ttl", rc.InFlightTTL}} {
			if v := time.Duration(d.v); v != 0 && (v < MinReplayTTL || v > MaxReplayTTL) {
				return fmt.Errorf("replay: %s must be between %v and %v", d.name, MinReplayTTL, MaxReplayTTL)
			}
		}
	}
	return nil
}
