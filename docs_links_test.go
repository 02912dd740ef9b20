package webhookverify

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docPages are the Markdown pages whose links are checked.
func docPages(t *testing.T) []string {
	t.Helper()
	pages := []string{"README.md", "CONTRIBUTING.md", "CHANGELOG.md", "xcaddy.md", "bench/README.md"}
	more, err := filepath.Glob("docs/*.md")
	if err != nil {
		t.Fatal(err)
	}
	return append(pages, more...)
}

// mdAnchors are the anchors GitHub makes of a page's headings.
func mdAnchors(src string) map[string]bool {
	out := map[string]bool{}
	fence := false
	for _, l := range strings.Split(src, "\n") {
		if strings.HasPrefix(l, "```") {
			fence = !fence
		}
		if fence || !strings.HasPrefix(l, "#") {
			continue
		}
		h := strings.TrimSpace(strings.TrimLeft(l, "#"))
		var b strings.Builder
		for _, r := range strings.ToLower(h) {
			switch {
			case r == ' ':
				b.WriteByte('-')
			case r == '-' || r == '_' || r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
				b.WriteRune(r)
			}
		}
		out[b.String()] = true
	}
	return out
}

// TestDocsLinks: every relative link of the README, CONTRIBUTING, the
// CHANGELOG, xcaddy.md, bench/README.md and docs/*.md resolves: the file
// exists, and an anchor is a heading of the page it names.
func TestDocsLinks(t *testing.T) {
	link := regexp.MustCompile(`\[[^\]]*\]\(([^)\s]+)\)`)
	anchors := map[string]map[string]bool{}
	anchorsOf := func(path string) map[string]bool {
		if a, ok := anchors[path]; ok {
			return a
		}
		raw, err := os.ReadFile(path)
		if err != nil {
			return nil
		}
		anchors[path] = mdAnchors(string(raw))
		return anchors[path]
	}
	for _, page := range docPages(t) {
		raw, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		// Links inside code blocks are not links.
		text := regexp.MustCompile("(?s)```.*?```").ReplaceAllString(string(raw), "")
		for _, m := range link.FindAllStringSubmatch(text, -1) {
			target := m[1]
			if regexp.MustCompile(`^[a-z]+:`).MatchString(target) {
				continue
			}
			file, anchor, _ := strings.Cut(target, "#")
			path := page
			if file != "" {
				path = filepath.Join(filepath.Dir(page), file)
				if _, err := os.Stat(path); err != nil {
					t.Errorf("%s: link %s: %v", page, target, err)
					continue
				}
			}
			if anchor != "" && strings.HasSuffix(path, ".md") && !anchorsOf(path)[anchor] {
				t.Errorf("%s: link %s: no heading #%s in %s", page, target, anchor, path)
			}
		}
	}
}

// TestDocsPageExamples adapts and validates every Caddyfile block of the
// README and the docs pages other than examples.md and queue.md (which
// TestDocsExamples and TestQueueDocs check with their fixtures): a whole
// config as it is, a block of directives inside a site. Syntax blocks
// (with <placeholders>) and blocks marked as fragments are skipped.
func TestDocsPageExamples(t *testing.T) {
	t.Setenv("STRIPE_WEBHOOK_SECRET", "whsec_test")
	t.Setenv("GATE_ATTEST_SECRET", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") // docs/attest.md
	pages := []string{"README.md"}
	more, _ := filepath.Glob("docs/*.md")
	for _, p := range more {
		if p != "docs/examples.md" && p != "docs/queue.md" {
			pages = append(pages, p)
		}
	}
	blockRe := regexp.MustCompile("(?s)```caddyfile\n(.*?)```")
	checked := 0
	for _, page := range pages {
		raw, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`\{env\.([A-Z0-9_]+)\}`).FindAllStringSubmatch(string(raw), -1) {
			if os.Getenv(m[1]) == "" {
				t.Setenv(m[1], "test-"+strings.ToLower(m[1]))
			}
		}
		for i, m := range blockRe.FindAllStringSubmatch(string(raw), -1) {
			b := m[1]
			if strings.Contains(b, "<") || strings.Contains(b, "...") || strings.Contains(b, "…") {
				continue // syntax, not an example
			}
			src := b
			if first := strings.TrimSpace(strings.SplitN(b, "\n", 2)[0]); first == "{" {
				src = strings.Replace(b, "{\n", "{\n\tadmin off\n", 1)
				if !regexp.MustCompile(`(?m)^[^\s{}#][^\n]*\{\s*$`).MatchString(b) {
					src += "http://localhost {\n\trespond ok\n}\n"
				}
			} else if !regexp.MustCompile(`(?m)^[a-z0-9.:/*-]+ \{\s*$`).MatchString(strings.SplitN(b, "\n", 2)[0]) || strings.HasPrefix(b, "handle") || strings.HasPrefix(b, "route") || strings.HasPrefix(b, "webhook_verify") {
				src = "{\n\tadmin off\n}\nhttp://localhost {\n" + b + "}\n"
			} else {
				src = "{\n\tadmin off\n}\n" + b
			}
			if err := validateCaddyfile(t, page, src); err != nil {
				t.Errorf("%s block %d: %v\n%s", page, i+1, err, src)
			}
			checked++
		}
	}
	t.Logf("%d blocks checked", checked)
	if checked < 3 {
		t.Errorf("checked %d blocks", checked)
	}
}

// TestReleaseTagDocumented: the tag the CHANGELOG says the next release
// gets is the one xcaddy.md builds.
func TestReleaseTagDocumented(t *testing.T) {
	cl, err := os.ReadFile("CHANGELOG.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^## Unreleased \(to be tagged (v\d+\.\d+\.\d+)\)`).FindSubmatch(cl)
	if m == nil {
		t.Fatal(`CHANGELOG.md has no "## Unreleased (to be tagged vX.Y.Z)" entry`)
	}
	x, err := os.ReadFile("xcaddy.md")
	if err != nil {
		t.Fatal(err)
	}
	tag := string(m[1])
	for _, want := range []string{"xcaddy build --with github.com/webhookverify/caddy-webhook-verify@" + tag + "\n", "git tag -a " + tag, "@v0.0.0-00010101000000-000000000000=."} {
		if !strings.Contains(string(x), want) {
			t.Errorf("xcaddy.md does not contain %q", want)
		}
	}
}
