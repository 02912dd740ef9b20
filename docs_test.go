package webhookverify

import (
	"encoding/json"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/webhookverify/caddy-webhook-verify/internal/redistest"
)

// TestDocsExamples adapts and validates (provisions, without starting)
// every Caddyfile block of docs/examples.md, so the examples users copy
// keep loading as the module changes.
func TestDocsExamples(t *testing.T) {
	raw, err := os.ReadFile("docs/examples.md")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{
		// A SendGrid verification key from SendGrid's own test suite (see
		// verifiers/sendgrid_test.go); everything else just needs a value.
		"SENDGRID_VERIFICATION_KEY": "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA==",
		"RESEND_WEBHOOK_SECRET":     "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"SES_TOPIC_ARN":             "arn:aws:sns:us-east-1:123456789012:ses-events",
	}
	blocks := regexp.MustCompile("(?s)```caddyfile\n(.*?)```").FindAllStringSubmatch(string(raw), -1)
	if len(blocks) < 5 {
		t.Fatalf("found %d caddyfile blocks in docs/examples.md", len(blocks))
	}
	for _, m := range regexp.MustCompile(`\{env\.([A-Z0-9_]+)\}`).FindAllStringSubmatch(string(raw), -1) {
		if _, ok := env[m[1]]; !ok {
			env[m[1]] = "test-" + strings.ToLower(m[1])
		}
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	adapter := caddyconfig.GetAdapter("caddyfile")
	for i, b := range blocks {
		// Keep validation local: no certificates, no storage outside the test.
		body := strings.ReplaceAll(b[1], "/srv/shared/caddy", t.TempDir())
		if strings.Contains(body, "redis://127.0.0.1:6379") {
			// The Redis example loads against a real server (the store
			// checks its eviction policy at load).
			body = strings.ReplaceAll(body, "127.0.0.1:6379", redistest.Start(t, 0, "").Addr)
		}
		body = "{\n\tauto_https off\n\tadmin off\n}\n" + strings.Replace(body, "{\n\tstorage", "{\n\tauto_https off\n\tadmin off\n\tstorage", 1)
		if strings.Count(body, "auto_https off") > 1 {
			body = body[strings.Index(body, "}\n")+2:]
		}
		js, warnings, err := adapter.Adapt([]byte(body), nil)
		if err != nil {
			t.Errorf("block %d: adapt: %v", i+1, err)
			continue
		}
		for _, w := range warnings {
			t.Logf("block %d: adapt warning: %s", i+1, w.Message)
		}
		var cfg caddy.Config
		if err := json.Unmarshal(js, &cfg); err != nil {
			t.Fatalf("block %d: %v", i+1, err)
		}
		if err := caddy.Validate(&cfg); err != nil {
			t.Errorf("block %d: validate: %v", i+1, err)
		}
	}
}
