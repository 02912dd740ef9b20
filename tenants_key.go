package webhookverify

import (
	"errors"
	"fmt"
	"strings"

	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// The key template of secret_from: literal text and placeholders, checked
// at load; expanded per request, each placeholder's value checked before
// any look-up, so that a request cannot name a key outside the template's
// shape (another directory, a parent, a hidden file).

// Bounds of a template and of the values its placeholders expand to.
const (
	maxTemplateLen    = 512
	maxTenantValueLen = 64
)

// keyTemplate is a parsed secret_from key.
type keyTemplate struct {
	raw   string
	parts []templatePart
}

// templatePart is literal text or, when placeholder is set, the name of a
// placeholder (without braces).
type templatePart struct {
	text        string
	placeholder bool
}

// parseKeyTemplate parses and checks a key template: placeholders are
// {name} (no nesting); the template's own path segments (placeholders
// standing for one safe name each) must not be empty, `.` or `..`. For a
// file, the template is a path with a directory before its first
// placeholder; a storage key does not start with `/`.
func parseKeyTemplate(raw, from string) (keyTemplate, error) {
	t := keyTemplate{raw: raw}
	if raw == "" {
		return t, errors.New("secret_from needs a key")
	}
	if len(raw) > maxTemplateLen {
		return t, fmt.Errorf("secret_from key longer than %d bytes", maxTemplateLen)
	}
	for s := raw; s != ""; {
		open := strings.IndexByte(s, '{')
		if close := strings.IndexByte(s, '}'); close >= 0 && (open < 0 || close < open) {
			return t, errors.New("secret_from key has a } without {")
		}
		if open < 0 {
			t.parts = append(t.parts, templatePart{text: s})
			break
		}
		if open > 0 {
			t.parts = append(t.parts, templatePart{text: s[:open]})
		}
		end := strings.IndexByte(s[open:], '}')
		if end < 0 {
			return t, errors.New("secret_from key has a { without }")
		}
		name := s[open+1 : open+end]
		if name == "" || strings.ContainsAny(name, "{ \t") {
			return t, fmt.Errorf("secret_from key has an invalid placeholder {%s}", name)
		}
		t.parts = append(t.parts, templatePart{text: name, placeholder: true})
		s = s[open+end+1:]
	}
	if strings.ContainsAny(raw, "\\\x00") {
		return t, errors.New(`secret_from key must not contain \ or NUL`)
	}
	if from == SecretFromStorage && strings.HasPrefix(raw, "/") {
		return t, errors.New("secret_from storage takes a storage key, which does not start with /")
	}
	shape := t.shape()
	segs := strings.Split(shape, "/")
	for i, seg := range segs {
		if i == 0 && seg == "" && from == SecretFromFile {
			continue // an absolute path
		}
		if seg == "" || seg == "." || seg == ".." {
			return t, errors.New("secret_from key has an empty, . or .. path segment")
		}
	}
	if from == SecretFromFile && t.dirLen() <= 0 {
		return t, errors.New("secret_from file needs a directory before the first placeholder (e.g. /etc/caddy/secrets/{http.request.uri.path.2})")
	}
	return t, nil
}

// shape is the template with each placeholder standing as "x".
func (t keyTemplate) shape() string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.placeholder {
			b.WriteString("x")
		} else {
			b.WriteString(p.text)
		}
	}
	return b.String()
}

// dirLen is the length of the template's fixed directory: the text before
// the last / that comes before the first placeholder (the whole template's
// last / when there is none); -1 when there is no such /.
func (t keyTemplate) dirLen() int {
	lit := t.raw
	if len(t.parts) > 0 && !t.parts[0].placeholder {
		lit = t.parts[0].text
	} else if len(t.parts) > 0 {
		lit = ""
	}
	return strings.LastIndexByte(lit, '/')
}

// expand returns the key for a request: each placeholder's value (get)
// must be a safe name (checkTenantValue), else the error wraps
// ErrMalformed (400). Errors name the placeholder, never its value.
func (t keyTemplate) expand(get func(name string) (string, bool)) (string, error) {
	var b strings.Builder
	for _, p := range t.parts {
		if !p.placeholder {
			b.WriteString(p.text)
			continue
		}
		v, ok := get(p.text)
		if !ok || v == "" {
			return "", fmt.Errorf("%w: secret_from: {%s} has no value", verifiers.ErrMalformed, p.text)
		}
		if !safeTenantValue(v) {
			return "", fmt.Errorf("%w: secret_from: {%s} is not a valid tenant name (1 to %d of A-Z a-z 0-9 . _ -, not starting with .)",
				verifiers.ErrMalformed, p.text, maxTenantValueLen)
		}
		b.WriteString(v)
	}
	return b.String(), nil
}

// safeTenantValue reports whether v may stand for a placeholder of a key:
// 1 to maxTenantValueLen bytes of A-Z a-z 0-9 . _ -, not starting with a
// dot. With the template's own segments checked at load, a key then has
// no segment a request chose to be empty, `.` or `..`, no / of its own,
// no hidden file and no percent-escape.
func safeTenantValue(v string) bool {
	if v == "" || len(v) > maxTenantValueLen || v[0] == '.' {
		return false
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
