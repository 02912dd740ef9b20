package verifiers

import (
	"strings"
	"testing"
	"time"
)

// TestEveryProviderRefusesForeignOptions: every registered provider (and
// alias) refuses an option only another provider takes, so a new Config
// option is refused everywhere it is not explicitly allowed.
func TestEveryProviderRefusesForeignOptions(t *testing.T) {
	foreign := []struct {
		option string
		set    func(*Config)
		takers []string // canonical providers that take it
	}{
		{"customer_handle", func(c *Config) { c.CustomerHandles = []string{"acme"} }, []string{"mailchannels"}},
		{"auto_confirm", func(c *Config) { c.AutoConfirm = true }, []string{"sns"}},
		{"username", func(c *Config) { c.Username = "u" }, []string{"postmark", "mailjet", "sparkpost", "brevo"}},
		{"verify_token", func(c *Config) { c.VerifyToken = "t" }, []string{"facebook_graph_api"}},
		{"webhook_id", func(c *Config) { c.WebhookID = "w" }, []string{"paypal"}},
	}
	for _, name := range Names() {
		for _, f := range foreign {
			takes := false
			for _, p := range f.takers {
				takes = takes || Canonical(name) == p
			}
			if takes {
				continue
			}
			t.Run(name+"/"+f.option, func(t *testing.T) {
				c := Config{Secrets: []string{"s"}}
				f.set(&c)
				_, err := New(name, c)
				if err == nil || !strings.Contains(err.Error(), "does not take") {
					t.Fatalf("New(%s) with %s: err %v, want a refusal", name, f.option, err)
				}
			})
		}
	}
}

func TestAllowPanicsOnUnknownOption(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("a misspelt option in Allow did not panic")
		}
	}()
	_ = Config{}.Allow("secrets")
}

// TestSecretSchemesConfig: slack, stripe and github take one or more
// secrets, a tolerance where their scheme has a timestamp, and nothing
// else; no refusal shows the secret. (Vectors: slack_test.go,
// stripe_test.go, github_test.go.)
func TestSecretSchemesConfig(t *testing.T) {
	for _, p := range []struct {
		provider       string
		secret, second string
		timestamped    bool
	}{
		{"slack", slackDocsSecret, slackGoSecret, true},
		{"stripe", stripeGoSecret, stripeGoRolled, true},
		{"github", ghDocsSecret, ghOctoSecret, false},
	} {
		s := []string{p.secret}
		tests := []struct {
			name string
			cfg  Config
			ok   bool
		}{
			{"one secret", Config{Secrets: s}, true},
			{"two secrets", Config{Secrets: []string{p.secret, p.second}}, true},
			{"two secrets and a tolerance", Config{Secrets: []string{p.secret, p.second}, Tolerance: time.Minute}, p.timestamped},
			{"tolerance off", Config{Secrets: s, Tolerance: -1}, p.timestamped},
			{"empty config", Config{}, false},
			{"empty secret", Config{Secrets: []string{""}}, false},
			{"empty second secret", Config{Secrets: []string{p.secret, ""}}, false},
			{"public_key", Config{Secrets: s, PublicKeys: []PublicKey{{Key: "k"}}}, false},
			{"hmac recipe", Config{Secrets: s, HMAC: &HMACRecipe{}}, false},
			{"url", Config{Secrets: s, URL: "https://example.com/"}, false},
			{"topic_arn", Config{Secrets: s, TopicARNs: []string{"arn"}}, false},
			{"certificate", Config{Secrets: s, Certificates: []string{"pem"}}, false},
			{"auto_confirm", Config{Secrets: s, AutoConfirm: true}, false},
			{"username", Config{Secrets: s, Username: "u"}, false},
			{"password", Config{Secrets: s, Password: "p"}, false},
			{"header", Config{Secrets: s, Header: "X-Token"}, false},
		}
		for _, tc := range tests {
			t.Run(p.provider+"/"+tc.name, func(t *testing.T) {
				_, err := New(p.provider, tc.cfg)
				if tc.ok != (err == nil) {
					t.Fatalf("New: err = %v, want ok = %v", err, tc.ok)
				}
				if err != nil && strings.Contains(err.Error(), p.secret) {
					t.Fatalf("error %q contains the secret", err)
				}
			})
		}
	}
}

// TestEd25519KeysConfig: discord and telnyx take public keys in their own
// form (hex, base64), no keyid and no secret; no refusal shows the key.
// (Vectors: discord_test.go, telnyx_test.go.)
func TestEd25519KeysConfig(t *testing.T) {
	for _, tc := range []struct {
		provider, name string
		cfg            Config
		ok             bool
	}{
		{"discord", "hex key", Config{PublicKeys: []PublicKey{{Key: discordPub}}}, true},
		{"discord", "no key", Config{}, false},
		{"discord", "base64 key", Config{PublicKeys: []PublicKey{{Key: "PUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw="}}}, false},
		{"discord", "short key", Config{PublicKeys: []PublicKey{{Key: discordPub[:62]}}}, false},
		{"discord", "key id", Config{PublicKeys: []PublicKey{{KeyID: "a", Key: discordPub}}}, false},
		{"discord", "secret", Config{PublicKeys: []PublicKey{{Key: discordPub}}, Secrets: []string{"s"}}, false},
		{"telnyx", "base64 key", Config{PublicKeys: []PublicKey{{Key: telnyxPub}}}, true},
		{"telnyx", "tolerance", Config{PublicKeys: []PublicKey{{Key: telnyxPub}}, Tolerance: time.Minute}, true},
		{"telnyx", "hex key", Config{PublicKeys: []PublicKey{{Key: discordPub}}}, false},
		{"telnyx", "no key", Config{}, false},
		{"telnyx", "secret", Config{PublicKeys: []PublicKey{{Key: telnyxPub}}, Secrets: []string{"s"}}, false},
	} {
		_, err := New(tc.provider, tc.cfg)
		if (err == nil) != tc.ok {
			t.Errorf("%s %s: err %v, want ok %v", tc.provider, tc.name, err, tc.ok)
		}
		if err != nil && (strings.Contains(err.Error(), discordPub[:20]) || strings.Contains(err.Error(), telnyxPub[:20])) {
			t.Errorf("%s %s: error %q names the key", tc.provider, tc.name, err)
		}
	}
}

// TestTimestampedFollowsTolerance: a scheme with a signed timestamp counts
// as timestamped (for replay's in-flight window) unless tolerance is off.
func TestTimestampedFollowsTolerance(t *testing.T) {
	for _, p := range []struct {
		provider string
		cfg      func(tol time.Duration) Config
	}{
		{"slack", func(tol time.Duration) Config { return Config{Secrets: []string{slackDocsSecret}, Tolerance: tol} }},
		{"stripe", func(tol time.Duration) Config { return Config{Secrets: []string{stripeGoSecret}, Tolerance: tol} }},
		{"svix", func(tol time.Duration) Config { return swConfig([]string{swSecret}, nil, tol) }},
	} {
		for _, tc := range []struct {
			tol  time.Duration
			want bool
		}{{0, true}, {time.Minute, true}, {-1, false}} {
			v, err := New(p.provider, p.cfg(tc.tol))
			if err != nil {
				t.Fatal(err)
			}
			if got := v.(Timestamped).HasTimestamp(); got != tc.want {
				t.Errorf("%s, tolerance %v: HasTimestamp = %v, want %v", p.provider, tc.tol, got, tc.want)
			}
		}
	}
}
