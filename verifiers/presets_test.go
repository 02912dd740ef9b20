package verifiers

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/webhookverify/caddy-webhook-verify/internal/presetvectors"
)

// presetRequest builds the Request of a vector at now with headers h.
func presetRequest(v presetvectors.Vector, h map[string]string, body string, now time.Time) *Request {
	hdr := http.Header{}
	for k, val := range h {
		hdr.Set(k, val)
	}
	method := v.Method
	if method == "" {
		method = http.MethodPost
	}
	path := v.Path
	if path == "" {
		path = "/webhook"
		if pu, err := url.Parse(v.URL); err == nil && v.URL != "" {
			path = pu.EscapedPath() // a signed url binds the path
		}
	}
	u, _ := url.Parse("http://127.0.0.1:8080" + path)
	if v.URL != "" {
		if pu, err := url.Parse(v.URL); err == nil {
			u.RawQuery = pu.RawQuery
		}
	}
	return &Request{Context: context.Background(), Method: method, URL: u, Header: hdr, Body: []byte(body), Now: now}
}

// TestPresetVectors runs every row's vector: the genuine delivery
// verifies with the expected id, a tampered one is refused with 401, a
// stale one (where the scheme signs a timestamp) with 401, and every row
// has a vector.
func TestPresetVectors(t *testing.T) {
	covered := map[string]bool{}
	for _, vec := range presetvectors.Vectors {
		t.Run(vec.Provider, func(t *testing.T) {
			row, ok := LookupPreset(vec.Provider)
			if !ok {
				t.Fatalf("no preset row %q", vec.Provider)
			}
			covered[row.Name] = true
			if vec.Source == "" {
				t.Fatal("the vector cites no source")
			}
			v, err := New(vec.Provider, Config{Secrets: vec.Secrets, URL: vec.URL})
			if err != nil {
				t.Fatal(err)
			}
			res, err := v.Verify(presetRequest(vec, vec.Header, vec.Body, vec.Now))
			if err != nil {
				t.Fatalf("genuine delivery: %v", err)
			}
			if res.ID != vec.ID || (res.SignedID != "") != vec.SignedID {
				t.Errorf("ID %q SignedID %q, want %q (signed %v)", res.ID, res.SignedID, vec.ID, vec.SignedID)
			}
			if len(res.Signature) == 0 {
				t.Error("no replay material")
			}
			if tok := row.Recipe.Scheme == "token"; tok != (len(res.Consumed) == 1 && res.Consumed[0] == row.Recipe.SignatureHeader) {
				t.Errorf("Consumed = %v: a token header (and only it) is a credential to remove", res.Consumed)
			}

			tampered := presetRequest(vec, vec.Header, vec.Body+" ", vec.Now)
			if vec.TamperHeader != nil {
				h := map[string]string{}
				for k, val := range vec.Header {
					h[k] = val
				}
				for k, val := range vec.TamperHeader {
					h[k] = val
				}
				tampered = presetRequest(vec, h, vec.Body, vec.Now)
			}
			_, err = v.Verify(tampered)
			if !errors.Is(err, ErrSignature) && !errors.Is(err, ErrCredentials) {
				t.Errorf("tampered delivery: %v, want a 401 error", err)
			}
			for _, s := range vec.Secrets {
				if err != nil && strings.Contains(err.Error(), s) {
					t.Errorf("error %q reveals a secret", err)
				}
			}

			ts := v.(Timestamped).HasTimestamp()
			if ts != vec.Stale {
				t.Errorf("HasTimestamp = %v, the vector says stale = %v", ts, vec.Stale)
			}
			if vec.Stale {
				_, err := v.Verify(presetRequest(vec, vec.Header, vec.Body, vec.Now.Add(time.Hour)))
				if !errors.Is(err, ErrTimestamp) {
					t.Errorf("an hour later: %v, want ErrTimestamp", err)
				}
			}

			// The row's interfaces, through the table.
			if bs, ok := v.(BodySigner); !ok || bs.SignsBody() != (row.Recipe.Scheme != "token") {
				t.Errorf("BodySigner wrong for scheme %q", row.Recipe.Scheme)
			}
			if ei, ok := v.(EventIDer); !ok || ei.EventIDPointer() != row.EventID {
				t.Errorf("EventIDer wrong: want %q", row.EventID)
			}
			if _, hs := v.(Handshaker); hs != (row.Handshake != nil) {
				t.Errorf("Handshaker = %v, row handshake set = %v", hs, row.Handshake != nil)
			}
		})
	}
	for _, p := range Presets() {
		if !covered[p.Name] {
			t.Errorf("preset %s has no vector in internal/presetvectors", p.Name)
		}
		if p.Source == "" {
			t.Errorf("preset %s cites no source", p.Name)
		}
	}
}

// TestPresetOptions: a row takes secret, tolerance only with a timestamp,
// url only (and then always) when it signs one; nothing else.
func TestPresetOptions(t *testing.T) {
	for _, p := range Presets() {
		t.Run(p.Name, func(t *testing.T) {
			url := ""
			if p.takesURL() {
				url = "https://example.com/hook"
				if _, err := New(p.Name, Config{Secrets: []string{"k"}}); err == nil || !strings.Contains(err.Error(), "url") {
					t.Errorf("without url: %v", err)
				}
			} else if _, err := New(p.Name, Config{Secrets: []string{"k"}, URL: "https://example.com/"}); err == nil {
				t.Error("url accepted by a row that signs none")
			}
			_, err := New(p.Name, Config{Secrets: []string{"k"}, URL: url, Tolerance: time.Minute})
			if (err == nil) != p.HasTimestamp() {
				t.Errorf("tolerance: %v (has timestamp %v)", err, p.HasTimestamp())
			}
			for _, c := range []Config{
				{URL: url},
				{Secrets: []string{""}, URL: url},
				{Secrets: []string{"k"}, URL: url, Username: "u"},
				{Secrets: []string{"k"}, URL: url, HMAC: &HMACRecipe{SignatureHeader: "X"}},
				{Secrets: []string{"k"}, URL: url, PublicKeys: []PublicKey{{Key: "k"}}},
			} {
				if _, err := New(p.Name, c); err == nil {
					t.Errorf("config %+v accepted", c)
				}
			}
		})
	}
}

// TestTrelloHandshake: Trello's HEAD is answered 200 with nothing echoed;
// other methods are not a handshake.
func TestTrelloHandshake(t *testing.T) {
	v, err := New("trello", Config{Secrets: []string{"k"}, URL: "https://example.com/t"})
	if err != nil {
		t.Fatal(err)
	}
	hs := v.(Handshaker)
	resp, ok, err := hs.Handshake(&Request{Method: http.MethodHead, Header: http.Header{}})
	if err != nil || !ok || resp.Status != 200 || resp.Body != "" {
		t.Fatalf("HEAD: %+v %v %v", resp, ok, err)
	}
	if _, ok, err := hs.Handshake(&Request{Method: http.MethodPost, Header: http.Header{}}); ok || err != nil {
		t.Fatalf("POST taken for a handshake: %v %v", ok, err)
	}
}
