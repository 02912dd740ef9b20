package verifiers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Fuzz targets of the recipe engine. Run longer with, for example:
//
//	go test -run '^$' -fuzz FuzzRecipe$ -fuzztime 5m ./verifiers
//	go test -run '^$' -fuzz FuzzRecipeTimestamp -fuzztime 5m ./verifiers
//
// The seed corpora in testdata/fuzz/ are replayed by plain go test.

const fuzzURL = "https://example.com/hook"

// fuzzSigned builds the signed string of a template the simple way, by
// substituting each placeholder in turn (independent of the compiled form).
func fuzzSigned(tmpl, id, ts, method, path, hdr, body string) (string, bool) {
	var b strings.Builder
	for tmpl != "" {
		i := strings.IndexByte(tmpl, '{')
		if i < 0 {
			b.WriteString(tmpl)
			break
		}
		b.WriteString(tmpl[:i])
		j := strings.IndexByte(tmpl[i:], '}')
		if j < 0 {
			return "", false
		}
		switch tmpl[i+1 : i+j] {
		case "body":
			b.WriteString(body)
		case "id":
			b.WriteString(id)
		case "timestamp":
			b.WriteString(ts)
		case "method":
			b.WriteString(method)
		case "path":
			b.WriteString(path)
		case "url":
			b.WriteString(fuzzURL)
		case "header:X-A":
			b.WriteString(hdr)
		default:
			return "", false
		}
		tmpl = tmpl[i+j+1:]
	}
	return b.String(), true
}

type fuzzDelivery struct{ id, ts, method, path, hdr, body string }

func (d fuzzDelivery) request(sig string, now time.Time) *Request {
	h := http.Header{}
	h.Set("X-Sig", sig)
	for k, v := range map[string]string{"X-Id": d.id, "X-Ts": d.ts, "X-A": d.hdr} {
		if v != "" {
			h.Set(k, v)
		}
	}
	return &Request{Method: d.method, URL: &url.URL{Scheme: "https", Host: "example.com", RawPath: d.path, Path: d.path},
		Header: h, Body: []byte(d.body), Now: now}
}

// FuzzRecipe: for any template that loads and any delivery it accepts, a
// different delivery (other id, timestamp, method, path, header or body)
// carrying the same signature is refused. This is the property that two
// requests never share a signed string; it is checked whatever the
// mutation, so a mutation that keeps the signed bytes (a byte moved from
// the body into the id) must be refused too.
func FuzzRecipe(f *testing.F) {
	type seed struct {
		tmpl, unit string
		a, b       fuzzDelivery
	}
	seeds := []seed{
		{"{id}.{body}", "", fuzzDelivery{"evt_1", "", "POST", "/h", "", "x.y"}, fuzzDelivery{"evt_1.x", "", "POST", "/h", "", "y"}},
		{"{id}.{timestamp}.{body}", "", fuzzDelivery{"msg_1", "1700000000", "POST", "/h", "", "{}"}, fuzzDelivery{"msg_1", "1700000000", "POST", "/h", "", "{} "}},
		{"{timestamp}.{body}", "iso8601", fuzzDelivery{"", "2023-11-14T22:13:20.5", "POST", "/h", "", "x"}, fuzzDelivery{"", "2023-11-14T22:13:20", "POST", "/h", "", "5.x"}},
		{"{body}{timestamp}", "rfc3339", fuzzDelivery{"", "2023-11-14T22:13:20Z", "POST", "/h", "", "{}"}, fuzzDelivery{"", "2023-11-14T22:13:20Z", "POST", "/h", "", "{} "}},
		{"{body}{timestamp}", "", fuzzDelivery{"", "1700000000", "POST", "/h", "", "a1"}, fuzzDelivery{"", "11700000000", "POST", "/h", "", "a"}},
		{"{method}{url}{body}{timestamp}", "ms", fuzzDelivery{"", "1700000000000", "POST", "/h", "", "[]"}, fuzzDelivery{"", "1700000000000", "PUT", "/h", "", "[]"}},
		{"{method} {path}\n{header:X-A}|{body}", "", fuzzDelivery{"", "", "POST", "/a/b", "v 1", "z"}, fuzzDelivery{"", "", "POST", "/a", "v 1", "z"}},
	}
	for _, s := range seeds {
		f.Add(s.tmpl, s.unit, s.a.id, s.a.ts, s.a.method, s.a.path, s.a.hdr, s.a.body,
			s.b.id, s.b.ts, s.b.method, s.b.path, s.b.hdr, s.b.body)
	}
	f.Fuzz(func(t *testing.T, tmpl, unit, id, ts, method, path, hdr, body, id2, ts2, method2, path2, hdr2, body2 string) {
		if len(tmpl) > 200 || len(body) > 1<<12 || len(body2) > 1<<12 {
			return
		}
		// Fields the template does not use are left out of both deliveries.
		uses := func(p string) bool { return strings.Contains(tmpl, p) }
		keep := func(p, s string) string {
			if uses(p) {
				return s
			}
			return ""
		}
		if !uses("{method}") {
			method, method2 = "POST", "POST"
		}
		if !uses("{path}") {
			path, path2 = "/", "/"
		}
		a := fuzzDelivery{keep("{id}", id), keep("{timestamp}", ts), method, path, keep("{header:X-A}", hdr), body}
		b := fuzzDelivery{keep("{id}", id2), keep("{timestamp}", ts2), method2, path2, keep("{header:X-A}", hdr2), body2}
		id, ts, hdr = a.id, a.ts, a.hdr
		r := HMACRecipe{SignatureHeader: "X-Sig", Content: tmpl, TimestampUnit: unit}
		if strings.Contains(tmpl, "{timestamp}") {
			r.TimestampHeader = "X-Ts"
		}
		if strings.Contains(tmpl, "{id}") {
			r.IDHeader = "X-Id"
		}
		cfg := Config{Provider: "hmac", Secrets: []string{"fuzz-key"}, HMAC: &r}
		if strings.Contains(tmpl, "{url}") {
			cfg.URL = fuzzURL
		}
		v, err := compileRecipe(cfg, r)
		if err != nil {
			return // refused at load
		}
		var now time.Time
		if v.hasTS {
			if now, err = v.parseTS(ts); err != nil {
				return
			}
		}
		signed, ok := fuzzSigned(tmpl, id, ts, method, path, hdr, body)
		if !ok {
			t.Fatalf("template %q loads but has an unknown placeholder", tmpl)
		}
		m := hmac.New(sha256.New, []byte("fuzz-key"))
		m.Write([]byte(signed))
		sig := hex.EncodeToString(m.Sum(nil))
		if _, err := v.Verify(a.request(sig, now)); err != nil {
			return // the original's values are not allowed
		}
		res, err := v.Verify(b.request(sig, now))
		if err == nil && b != a {
			signed2, _ := fuzzSigned(tmpl, id2, ts2, method2, path2, hdr2, body2)
			t.Fatalf("template %q: a different delivery %+v verified with the signature of %+v (signed %q vs %q, result %+v)",
				tmpl, b, a, signed2, signed, res)
		}
	})
}

// FuzzRecipeTimestamp: the timestamp parsers never panic, Unix timestamps
// are canonical digits, and an RFC 3339 timestamp (zone required) that
// parses has no proper prefix and no proper suffix that parses too: the
// property that lets {body}{timestamp} and {timestamp}.{body} be cut in
// one way only.
func FuzzRecipeTimestamp(f *testing.F) {
	for _, s := range []string{"1700000000", "01700000000", "1700000000123", "2020-01-01T00:00:00-07:00",
		"2020-01-01T00:00:00.123456789Z", "2020-01-01T00:00:00", "2020-01-01T00:00:00.5+01:00", "9999-12-31T23:59:59Z"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if ts, err := recipeParseSeconds(s); err == nil {
			if s[0] == '0' && len(s) > 1 || !recipeAllDigits(s) {
				t.Fatalf("%q parsed as seconds (%v)", s, ts)
			}
		}
		_, _ = recipeParseMillis(s)
		_, _ = recipeParseAuto(s)
		_, _ = recipeParseISO(s, false)
		if _, err := recipeParseISO(s, true); err != nil {
			return
		}
		for i := 1; i < len(s); i++ {
			if _, err := recipeParseISO(s[:i], true); err == nil {
				t.Fatalf("%q and its prefix %q both parse", s, s[:i])
			}
			if _, err := recipeParseISO(s[i:], true); err == nil {
				t.Fatalf("%q and its suffix %q both parse", s, s[i:])
			}
		}
		for j := 0; j < len(s); j++ {
			if !recipeISOChars[s[j]] {
				t.Fatalf("%q parses but holds %q, outside the charset the template check assumes", s, s[j])
			}
		}
	})
}
