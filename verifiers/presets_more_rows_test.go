package verifiers

import (
	"errors"
	"net/http"
	"net/url"
	"testing"
)

// The rows of presets_catalog.go are tested with every other row by
// TestPresetVectors (presets_test.go) on their vectors
// (internal/presetvectors/presets_catalog.go), signed by
// TestSignRoundTrip's recipe presets loop, and sent through Caddy by
// TestIntegrationPresets. Here: what only some rows have.

func TestPresetClearbitKeyPrefix(t *testing.T) {
	pv := loadPresetVectors(t)["clearbit"]
	// The API key as the dashboard shows it (sk_...) and without the prefix.
	for _, s := range []string{pv.Secrets[0], pv.Secrets[0][3:]} {
		v, err := New("clearbit", Config{Secrets: []string{s}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(pv.request()); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
}

func TestPresetNylasChallenge(t *testing.T) {
	v, err := New("nylas", Config{Secrets: []string{"s"}})
	if err != nil {
		t.Fatal(err)
	}
	hs := v.(Handshaker)
	get := func(q string) *Request {
		return &Request{Method: http.MethodGet, URL: &url.URL{Path: "/nylas", RawQuery: q}, Header: http.Header{}}
	}
	resp, ok, err := hs.Handshake(get("challenge=bc609b38-c81f-47fb-a275-1d9bd61a968b"))
	if err != nil || !ok || resp.Status != 200 || resp.Body != "bc609b38-c81f-47fb-a275-1d9bd61a968b" ||
		resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Type") != "text/plain; charset=utf-8" {
		t.Fatalf("challenge: %+v %v %v", resp, ok, err)
	}
	for _, q := range []string{"challenge=", "challenge=%3Cscript%3E", "challenge=a&challenge=b", "challenge=" + string(make([]byte, 257))} {
		if _, ok, err := hs.Handshake(get(q)); !ok || !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: ok %v err %v, want 400", q, ok, err)
		}
	}
	for _, r := range []*Request{get("other=1"), get(""), {Method: http.MethodPost, URL: &url.URL{RawQuery: "challenge=x"}}} {
		if _, ok, err := hs.Handshake(r); ok || err != nil {
			t.Errorf("%s %q: a handshake (%v)", r.Method, r.URL.RawQuery, err)
		}
	}
}

// TestRecipeISO8601Delimiter: an ISO 8601 timestamp before {body} may be
// delimited by a byte it holds (":", Orb's "v1:{timestamp}:{body}") but not
// by one that could continue it into another valid value ("." of a
// fraction, "+"/"-" of a zone, "Z", digits).
func TestRecipeISO8601Delimiter(t *testing.T) {
	base := HMACRecipe{SignatureHeader: "X-Sig", TimestampHeader: "X-Ts", TimestampUnit: "iso8601"}
	for content, ok := range map[string]bool{
		"v1:{timestamp}:{body}": true,
		"{timestamp}|{body}":    true,
		"{timestamp}.{body}":    false,
		"{timestamp}+{body}":    false,
		"{timestamp}-{body}":    false,
		"{timestamp}Z{body}":    false,
		"{timestamp}0{body}":    false,
	} {
		r := base
		r.Content = content
		_, err := compileRecipe(Config{Provider: "hmac", Secrets: []string{"k"}}, r)
		if (err == nil) != ok {
			t.Errorf("%q: err %v, want ok %v", content, err, ok)
		}
	}
}
