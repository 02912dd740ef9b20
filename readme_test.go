package webhookverify

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// TestReadmeProviders keeps the provider tables (docs/providers.md) true: every
// registered provider and alias is documented in a row, and a preset's
// default replay key (an event id read from the signed body) is the one
// its row names.
func TestReadmeProviders(t *testing.T) {
	raw, err := os.ReadFile("docs/providers.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]string{} // provider name -> its table row
	name := regexp.MustCompile("`([a-z0-9_.]+)`")
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		first := strings.SplitN(line[1:], "|", 2)[0]
		for _, m := range name.FindAllStringSubmatch(first, -1) {
			rows[m[1]] = line
		}
	}
	for _, n := range verifiers.Names() {
		if _, ok := rows[n]; !ok {
			t.Errorf("provider %q has no row in docs/providers.md", n)
		}
	}
	for _, p := range verifiers.Presets() {
		row, ok := rows[p.Name]
		if !ok {
			continue // reported above
		}
		switch {
		case p.EventID != "" && !strings.Contains(row, "`"+p.EventID+"`"):
			t.Errorf("docs/providers.md row of %s does not name its replay key, body `%s`", p.Name, p.EventID)
		case p.EventID == "" && strings.Contains(row, "body `/"):
			t.Errorf("docs/providers.md row of %s names a body replay key, but the preset has none", p.Name)
		}
	}
}

// TestReadmeProviderList: the README's list of providers by group names
// every provider and alias (it links each group to docs/providers.md).
func TestReadmeProviderList(t *testing.T) {
	raw, err := os.ReadFile("README.md")
	if err != nil {
		t.Fatal(err)
	}
	s := string(raw)
	start, end := strings.Index(s, "\n## Providers\n"), strings.Index(s, "\n## Never lose a webhook\n")
	if start < 0 || end < start {
		t.Fatal("README has no Providers section before Never lose a webhook")
	}
	for _, n := range verifiers.Names() {
		if !strings.Contains(s[start:end], "`"+n+"`") {
			t.Errorf("provider %q is not in the README's provider list", n)
		}
	}
}
