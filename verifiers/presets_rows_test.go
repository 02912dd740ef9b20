package verifiers

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// The preset rows (presets_<group>.go) are tested together by
// TestPresetVectors (presets_test.go) on their vectors
// (internal/presetvectors), signed by
// TestSignRoundTrip's recipe presets loop, and sent through Caddy by
// TestIntegrationPresets. Here: what only some rows have.

// TestPresetClearbitKey: the HMAC key is the API key as the dashboard
// shows it, sk_ included (issue 13, item 11; the vector is node's, keyed
// with the whole key); the key without sk_ is another key.
func TestPresetClearbitKey(t *testing.T) {
	pv := loadPresetVectors(t)["clearbit"]
	for _, tt := range []struct {
		secret string
		want   error
	}{{pv.Secrets[0], nil}, {strings.TrimPrefix(pv.Secrets[0], "sk_"), ErrSignature}} {
		v, err := New("clearbit", Config{Secrets: []string{tt.secret}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(pv.request()); !errors.Is(err, tt.want) {
			t.Errorf("key %q: %v, want %v", tt.secret, err, tt.want)
		}
	}
}

// TestPresetTrendMicroHeaders: X-TrendMicro-Signature (current docs) and
// X-Conformity-Signature (older docs) are both read; both sent must carry
// one value, else the request is ambiguous (400) (issue 13, item 11).
func TestPresetTrendMicroHeaders(t *testing.T) {
	pv := loadPresetVectors(t)["trendmicro_conformity"]
	sig := pv.Headers["X-TrendMicro-Signature"]
	other := strings.Repeat("0", len(sig))
	v, err := New("trendmicro_conformity", Config{Secrets: pv.Secrets})
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		h    map[string]string
		want error
	}{
		{"current header", map[string]string{"X-TrendMicro-Signature": sig}, nil},
		{"older header", map[string]string{"X-Conformity-Signature": sig}, nil},
		{"both, one value", map[string]string{"X-TrendMicro-Signature": sig, "X-Conformity-Signature": sig}, nil},
		{"both, the older wrong", map[string]string{"X-TrendMicro-Signature": sig, "X-Conformity-Signature": other}, ErrMalformed},
		{"both, the current wrong", map[string]string{"X-TrendMicro-Signature": other, "X-Conformity-Signature": sig}, ErrMalformed},
		{"older header, wrong", map[string]string{"X-Conformity-Signature": other}, ErrSignature},
		{"neither", map[string]string{}, ErrMalformed},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := pv.request()
			r.Header = http.Header{}
			for k, val := range tt.h {
				r.Header.Set(k, val)
			}
			if _, err := v.Verify(r); !errors.Is(err, tt.want) {
				t.Errorf("%v, want %v", err, tt.want)
			}
		})
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
