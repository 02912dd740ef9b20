// Tests of secret_from's key template and the check of its values.

package webhookverify

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

func TestTenantKeyTemplate(t *testing.T) {
	tests := []struct {
		from, key string
		err       string // "" = accepted
		dir       string // file: the fixed directory
	}{
		{SecretFromStorage, "webhook-secrets/stripe/{http.request.uri.path.2}", "", ""},
		{SecretFromStorage, "s/{http.request.host}/{http.request.uri.path.1}.secret", "", ""},
		{SecretFromStorage, "static/key", "", ""},
		{SecretFromFile, "/etc/caddy/secrets/stripe/{http.request.uri.path.2}", "", "/etc/caddy/secrets/stripe"},
		{SecretFromFile, "/etc/caddy/secrets/{http.request.uri.path.2}/stripe", "", "/etc/caddy/secrets"},
		{SecretFromFile, "/etc/caddy/{a}.{b}", "", "/etc/caddy"},
		{SecretFromFile, "secrets/{a}", "", "secrets"},
		{SecretFromFile, "/etc/caddy/stripe.secret", "", "/etc/caddy"},
		{SecretFromStorage, "", "needs a key", ""},
		{SecretFromStorage, "a/" + strings.Repeat("x", maxTemplateLen), "longer than", ""},
		{SecretFromStorage, "a/{x", "without }", ""},
		{SecretFromStorage, "a/x}", "without {", ""},
		{SecretFromStorage, "a/{}", "invalid placeholder", ""},
		{SecretFromStorage, "a/{x y}", "invalid placeholder", ""},
		{SecretFromStorage, "a/../{x}", ". or ..", ""},
		{SecretFromStorage, "a/./{x}", ". or ..", ""},
		{SecretFromStorage, "a//{x}", "empty", ""},
		{SecretFromStorage, "a/{x}/", "empty", ""},
		{SecretFromStorage, "../{x}", ". or ..", ""},
		{SecretFromStorage, "/abs/{x}", "does not start with /", ""},
		{SecretFromStorage, `a\{x}`, `\`, ""},
		{SecretFromFile, "{x}", "needs a directory", ""},
		{SecretFromFile, "/{x}", "needs a directory", ""},
		{SecretFromFile, "/etc/../{x}", ". or ..", ""},
		{SecretFromFile, "/etc/caddy/{x}/../y", ". or ..", ""},
	}
	for _, tt := range tests {
		t.Run(tt.from+" "+tt.key, func(t *testing.T) {
			tpl, err := parseKeyTemplate(tt.key, tt.from)
			if tt.err == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if tt.dir != "" && tt.key[:tpl.dirLen()] != tt.dir {
					t.Errorf("directory %q, want %q", tt.key[:tpl.dirLen()], tt.dir)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Fatalf("error %v, want one with %q", err, tt.err)
			}
		})
	}
}

// TestTenantKeyExpand: each placeholder's value is checked before any
// look-up; traversal and escapes are refused (400), without echoing the
// value.
func TestTenantKeyExpand(t *testing.T) {
	tpl, err := parseKeyTemplate("webhook-secrets/stripe/{t}", SecretFromStorage)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		value string
		ok    bool
	}{
		{"acme", true},
		{"acme.example", true},
		{"Tenant_42-b", true},
		{strings.Repeat("a", maxTenantValueLen), true},
		{"", false},
		{".", false},
		{"..", false},
		{".hidden", false},
		{"../x", false},
		{"a/b", false},
		{"/", false},
		{"%2e%2e", false},
		{"%2F", false},
		{"a%00", false},
		{"a\x00", false},
		{`a\b`, false},
		{"a b", false},
		{"café", false},
		{"a:b", false},
		{strings.Repeat("a", maxTenantValueLen+1), false},
	}
	for _, tt := range tests {
		t.Run(tt.value, func(t *testing.T) {
			key, err := tpl.expand(func(string) (string, bool) { return tt.value, true })
			if tt.ok {
				if err != nil || key != "webhook-secrets/stripe/"+tt.value {
					t.Fatalf("key %q, %v", key, err)
				}
				return
			}
			if !errors.Is(err, verifiers.ErrMalformed) {
				t.Fatalf("key %q, error %v; want ErrMalformed", key, err)
			}
			if len(tt.value) > 2 && strings.Contains(err.Error(), tt.value) {
				t.Errorf("error %q echoes the value", err)
			}
		})
	}
	if _, err := tpl.expand(func(string) (string, bool) { return "", false }); !errors.Is(err, verifiers.ErrMalformed) {
		t.Errorf("unknown placeholder: %v, want ErrMalformed", err)
	}
}

// FuzzTenantKey: whatever a request puts in the placeholders, an
// accepted key has the template's shape: as many segments, none empty,
// `.` or `..`, and it is its own clean path.
func FuzzTenantKey(f *testing.F) {
	for _, s := range []string{"acme", "..", "%2e%2e", "a/b", ".x", "a.b", "", "é", strings.Repeat("z", 70)} {
		f.Add(s, "x")
	}
	tpl, err := parseKeyTemplate("/srv/secrets/{a}/{b}.secret", SecretFromFile)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		key, err := tpl.expand(func(name string) (string, bool) {
			if name == "a" {
				return a, true
			}
			return b, true
		})
		if err != nil {
			if !errors.Is(err, verifiers.ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		segs := strings.Split(key, "/")
		if len(segs) != 5 || segs[3] != a || filepath.Clean(key) != key || !strings.HasPrefix(key, "/srv/secrets/") {
			t.Fatalf("key %q from %q, %q leaves the template's shape", key, a, b)
		}
		for _, s := range segs[1:] {
			if s == "" || s == "." || s == ".." || strings.HasPrefix(s, ".") {
				t.Fatalf("key %q has segment %q", key, s)
			}
		}
	})
}
