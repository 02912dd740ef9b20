package verifiers

import (
	"strings"
	"testing"
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
