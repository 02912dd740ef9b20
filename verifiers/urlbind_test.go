package verifiers

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestURLPathBinding: with url set, a request must arrive on the url's
// path (or url_path), compared in its escaped form (issue 13, item 8).
func TestURLPathBinding(t *testing.T) {
	tests := []struct {
		name, cfgURL, urlPath, reqPath string
		want                           error
	}{
		{"same path", "https://example.com/square/hook", "", "/square/hook", nil},
		{"another path", "https://example.com/square/hook", "", "/square/admin/delete-everything", ErrSignature},
		{"trailing slash", "https://example.com/square/hook", "", "/square/hook/", ErrSignature},
		{"other escaping", "https://example.com/square/hook", "", "/square/%68ook", ErrSignature},
		{"escaped slash", "https://example.com/a/b", "", "/a%2Fb", ErrSignature},
		{"escaped in the url too", "https://example.com/a%2Fb", "", "/a%2Fb", nil},
		{"no path is /", "https://example.com", "", "/", nil},
		{"no path, request elsewhere", "https://example.com", "", "/x", ErrSignature},
		{"url_path", "https://example.com/square/hook", "/hook", "/hook", nil},
		{"url_path, the url's path", "https://example.com/square/hook", "/hook", "/square/hook", ErrSignature},
		{"no url: nothing bound", "", "", "/anything", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := newURLPath(Config{Provider: "x", URL: tt.cfgURL, URLPath: tt.urlPath})
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse("http://127.0.0.1:8080" + tt.reqPath)
			if err != nil {
				t.Fatal(err)
			}
			if err := p.check(&Request{URL: u}); !errors.Is(err, tt.want) {
				t.Errorf("%v, want %v", err, tt.want)
			}
		})
	}
	if p, _ := newURLPath(Config{URL: "https://example.com/h"}); !errors.Is(p.check(&Request{}), ErrMalformed) {
		t.Error("a request without a url passed")
	}
}

// TestURLPathConfig: url_path must be a path, goes only with url, and only
// to providers that take url.
func TestURLPathConfig(t *testing.T) {
	for _, bad := range []string{"hook", "/hook?x=1", "/hook#f", "/a b", "/é"} {
		if _, err := newURLPath(Config{URL: "https://example.com/", URLPath: bad}); err == nil {
			t.Errorf("url_path %q accepted", bad)
		}
	}
	if _, err := New("twilio", Config{Secrets: []string{"k"}, URLPath: "/x"}); err == nil || !strings.Contains(err.Error(), "url_path") {
		t.Errorf("url_path without url: %v", err)
	}
	if _, err := New("github", Config{Secrets: []string{"k"}, URLPath: "/x"}); err == nil || !strings.Contains(err.Error(), "url_path") {
		t.Errorf("url_path on github: %v", err)
	}
	for _, c := range []struct{ provider, url string }{
		{"twilio", "https://example.com/t"}, {"mandrill", "https://example.com/m"}, {"plivo", "https://example.com/p"},
		{"square", "https://example.com/s"}, {"trello", "https://example.com/t"}, {"hubspot", "https://example.com/h"},
	} {
		if _, err := New(c.provider, Config{Secrets: []string{"k"}, URL: c.url, URLPath: "/x"}); err != nil {
			t.Errorf("%s with url_path: %v", c.provider, err)
		}
	}
}

// TestTwilioPathBinding: twilio with url signs the configured path, so a
// request on another path is refused; without url the request's own URL is
// signed and nothing more is checked.
func TestTwilioPathBinding(t *testing.T) {
	s, err := Sign("twilio", SignRequest{Secret: twilioToken, URL: "https://mycompany.com/myapp.php", Body: []byte(twilioBody)})
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Secrets: []string{twilioToken}, URL: "https://mycompany.com/myapp.php"}
	if _, err := signVerify(t, "twilio", cfg, "http://127.0.0.1:8080/myapp.php", s, time.Now()); err != nil {
		t.Fatalf("on the url's path: %v", err)
	}
	if _, err := signVerify(t, "twilio", cfg, "http://127.0.0.1:8080/other.php", s, time.Now()); !errors.Is(err, ErrSignature) {
		t.Fatalf("on another path: %v", err)
	}
}
