package webhookverify

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"

	"github.com/webhookverify/caddy-webhook-verify/internal/presetvectors"
	"github.com/webhookverify/caddy-webhook-verify/verifiers"
)

// TestIntegrationPresets runs every preset row's vector
// (internal/presetvectors) through Caddy: the signed delivery is forwarded
// byte-identical with its id placeholder, a second copy is a duplicate
// (200, not forwarded), a tampered copy gets 401 and is not forwarded, a
// stale copy (schemes with a signed timestamp) gets 401 and is not
// forwarded, and a row with a handshake answers it without forwarding. A
// new row is covered by adding its vector; a row without one fails here.
//
// Vectors older than the tolerance are sent to a route with `tolerance
// off`, and to a "-stale" route with the default tolerance; vectors whose
// scheme cannot turn the tolerance off (HubSpot v3) are re-signed at the
// current time by the vector's Fresh function (the standard library's
// HMAC over the provider's formula, not the recipe engine).
func TestIntegrationPresets(t *testing.T) {
	if testing.Short() {
		t.Skip("caddytest integration test")
	}
	covered := map[string]bool{}
	var routes []e2eRoute
	for _, v := range presetvectors.Vectors {
		row, ok := verifiers.LookupPreset(v.Provider)
		if !ok {
			t.Fatalf("vector for unknown preset %q", v.Provider)
		}
		covered[row.Name] = true
		opts := []string{}
		for _, s := range v.Secrets {
			opts = append(opts, "secret "+strconv.Quote(s))
		}
		if v.URL != "" {
			opts = append(opts, "url "+v.URL)
		}
		base := strings.Join(opts, "\n")
		// A signed url binds the path: the routes say which one they are on.
		at := func(path string) string {
			if v.URL == "" {
				return ""
			}
			return "\nurl_path " + path
		}
		main := base + at("/preset-"+v.Provider)
		if row.HasTimestamp() && v.Fresh == nil {
			main += "\ntolerance off"
		}
		routes = append(routes, e2eRoute{"/preset-" + v.Provider, v.Provider, main})
		if v.Stale {
			routes = append(routes, e2eRoute{"/preset-" + v.Provider + "-stale", v.Provider, base + at("/preset-"+v.Provider+"-stale")})
		}
	}
	for _, p := range verifiers.Presets() {
		if !covered[p.Name] {
			t.Errorf("preset %s has no vector in internal/presetvectors", p.Name)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	tc := newTester(t)
	tc.InitServer(e2eCaddyfile(srv.Listener.Addr().String(), routes, strconv.FormatInt(time.Now().UnixNano(), 36)), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}

	for _, v := range presetvectors.Vectors {
		t.Run(v.Provider, func(t *testing.T) {
			row, _ := verifiers.LookupPreset(v.Provider)
			path := "/preset-" + v.Provider
			query := ""
			if u, err := url.Parse(v.URL); err == nil && v.URL != "" && u.RawQuery != "" {
				query = "?" + u.RawQuery
			}
			method := v.Method
			if method == "" {
				method = http.MethodPost
			}
			hdr := v.Header
			if v.Fresh != nil {
				hdr = v.Fresh(time.Now())
			}
			body := []byte(v.Body)
			count := func(p string) int { return len(up.requests(p)) }

			st, msg := presetSend(t, tc, method, path+query, hdr, body)
			if st != 200 || msg != fmt.Sprintf("upstream got %d bytes", len(body)) {
				t.Fatalf("signed delivery: %d %q, want forwarded", st, msg)
			}
			got := up.requests(path)
			if len(got) != 1 {
				t.Fatalf("the upstream saw %d requests, want 1", len(got))
			}
			if !bytes.Equal(got[0].body, body) {
				t.Errorf("upstream body %q, want %q", got[0].body, body)
			}
			if p := got[0].header.Get("X-Wv-Provider"); p != v.Provider {
				t.Errorf("provider placeholder %q", p)
			}
			if row.Recipe.Scheme == "token" && got[0].header.Get(row.Recipe.SignatureHeader) != "" {
				t.Errorf("the token header %s reached the upstream", row.Recipe.SignatureHeader)
			}
			if id := got[0].header.Get("X-Wv-Id"); v.ID != "" && id != v.ID {
				t.Errorf("id placeholder %q, want %q", id, v.ID)
			}

			if st, msg := presetSend(t, tc, method, path+query, hdr, body); st != 200 || !strings.Contains(msg, "duplicate") {
				t.Errorf("second copy: %d %q, want 200 duplicate", st, msg)
			}

			tb, th := append(append([]byte{}, body...), ' '), hdr
			if v.TamperHeader != nil {
				tb, th = body, map[string]string{}
				for k, val := range hdr {
					th[k] = val
				}
				for k, val := range v.TamperHeader {
					th[k] = val
				}
			}
			if st, msg := presetSend(t, tc, method, path+query, th, tb); st != 401 {
				t.Errorf("tampered: %d %q, want 401", st, msg)
			}
			if v.Stale {
				sp := path + "-stale"
				if st, msg := presetSend(t, tc, method, sp+query, v.Header, body); st != 401 {
					t.Errorf("stale: %d %q, want 401", st, msg)
				}
				if n := count(sp); n != 0 {
					t.Errorf("stale copy forwarded %d times", n)
				}
			}
			if row.Handshake != nil {
				hm, hp := http.MethodHead, path+query
				if v.HandshakeMethod != "" {
					hm = v.HandshakeMethod
				}
				if v.HandshakeQuery != "" {
					hp = path + "?" + v.HandshakeQuery
				}
				st, msg := presetSend(t, tc, hm, hp, nil, nil)
				if st != 200 || (v.HandshakeBody != "" && msg != v.HandshakeBody) {
					t.Errorf("handshake (%s): %d %q, want 200 %q", hm, st, msg, v.HandshakeBody)
				}
			}
			if n := count(path); n != 1 {
				t.Errorf("the upstream saw %d requests in all, want 1", n)
			}
		})
	}
}

func presetSend(t *testing.T, tc *caddytest.Tester, method, path string, headers map[string]string, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, baseURL()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := tc.Client.Do(req)
	if err != nil {
		t.Errorf("request: %v", err)
		return 0, ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}
