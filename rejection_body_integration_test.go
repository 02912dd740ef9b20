package webhookverify

import (
	"bufio"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// rejectionBodyConfig is a site whose routes refuse requests for each
// class of failure; %[4]s is an optional handle_errors block.
const rejectionBodyConfig = `
http://localhost:%[1]d {
	handle /rb/github {
		webhook_verify github {
			secret "%[2]s"
		}
		reverse_proxy %[3]s
	}
	handle /rb/small {
		webhook_verify github {
			secret "%[2]s"
			max_size 16
		}
		reverse_proxy %[3]s
	}
	handle /rb/stripe {
		webhook_verify stripe {
			secret %[5]s
		}
		reverse_proxy %[3]s
	}
	handle /rb/postmark {
		webhook_verify postmark {
			username rb-user
			password rb-password-not-in-answers
		}
		reverse_proxy %[3]s
	}
%[4]s}
`

// TestIntegrationRejectionBody: on a server without handle_errors routes,
// a refused request is answered with a short text naming the failure's
// class (and the headers of the refusal kept), never its detailed reason,
// a secret, an expected signature or the body; with handle_errors routes,
// the user's error route shapes the answer. The duplicate answer is
// unchanged.
func TestIntegrationRejectionBody(t *testing.T) {
	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	tc := newTester(t)
	load := func(t *testing.T, errorsBlock string) {
		tc.InitServer(globalOptions()+fmt.Sprintf(rejectionBodyConfig, testHTTPPort, ghSecret,
			srv.Listener.Addr().String(), errorsBlock, stripeTestSecret), "caddyfile")
		if t.Failed() {
			t.FailNow()
		}
	}
	load(t, "")

	forged := []byte(`{"marker":"body-text-never-answered"}`)
	stale := time.Now().Add(-time.Hour).Unix()
	basicAuth := "Basic " + base64.StdEncoding.EncodeToString([]byte("rb-user:wrong"))
	cases := []struct {
		name, path string
		headers    map[string]string
		body       []byte
		status     int
		text       string
		header     map[string]string // headers of the refusal that must be kept
	}{
		{"forged signature", "/rb/github", map[string]string{"X-Hub-Signature-256": ghSig}, forged,
			401, "webhook rejected: signature mismatch\n", nil},
		{"no signature", "/rb/github", nil, forged,
			400, "webhook rejected: malformed signing metadata\n", nil},
		{"stale timestamp", "/rb/stripe", map[string]string{"Stripe-Signature": signStripe(stripeTestSecret, stale, forged)}, forged,
			401, "webhook rejected: timestamp outside tolerance\n", nil},
		{"bad credentials", "/rb/postmark", map[string]string{"Authorization": basicAuth}, forged,
			401, "webhook rejected: bad credentials\n", map[string]string{"WWW-Authenticate": `Basic realm="webhook"`}},
		{"too large", "/rb/small", map[string]string{"X-Hub-Signature-256": ghSig}, forged,
			413, "webhook rejected: body too large\n", map[string]string{"Connection": "close"}},
	}
	m := hmac.New(sha256.New, []byte(ghSecret))
	m.Write(forged)
	expected := hex.EncodeToString(m.Sum(nil))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body, h := postH(t, tc, c.path, c.headers, c.body)
			if h.Get("Connection") == "" && c.header["Connection"] != "" {
				// net/http's client keeps it as Response.Close: ask again, raw.
				h.Set("Connection", rawConnectionHeader(t, c.path, c.headers, c.body))
			}
			if status != c.status || body != c.text {
				t.Errorf("got %d %q, want %d %q", status, body, c.status, c.text)
			}
			if ct, n := h.Get("Content-Type"), h.Get("X-Content-Type-Options"); ct != "text/plain; charset=utf-8" || n != "nosniff" {
				t.Errorf("Content-Type %q, X-Content-Type-Options %q, want text/plain; charset=utf-8 and nosniff", ct, n)
			}
			for k, v := range c.header {
				if got := h.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			for _, secret := range []string{ghSecret, stripeTestSecret, "rb-password-not-in-answers", expected, "body-text-never-answered", "X-Hub-Signature-256"} {
				if strings.Contains(body, secret) {
					t.Errorf("the answer %q holds %q", body, secret)
				}
			}
		})
	}
	if n := len(up.requests("/rb/github")) + len(up.requests("/rb/small")) + len(up.requests("/rb/stripe")) + len(up.requests("/rb/postmark")); n != 0 {
		t.Errorf("the upstream got %d refused requests", n)
	}

	t.Run("duplicate unchanged", func(t *testing.T) {
		body := []byte(fmt.Sprintf(`{"run":%d}`, time.Now().UnixNano()))
		m := hmac.New(sha256.New, []byte(ghSecret))
		m.Write(body)
		sig := map[string]string{"X-Hub-Signature-256": "sha256=" + hex.EncodeToString(m.Sum(nil))}
		if status, _ := post(t, tc, "/rb/github", sig, body); status != 200 {
			t.Fatalf("first copy: %d, want 200", status)
		}
		if status, got := post(t, tc, "/rb/github", sig, body); status != 200 || got != "duplicate delivery: already accepted\n" {
			t.Errorf("duplicate: %d %q, want 200 and the duplicate text", status, got)
		}
	})

	t.Run("handle_errors shapes the answer", func(t *testing.T) {
		load(t, "\thandle_errors {\n\t\trespond \"custom {err.status_code}\"\n\t}\n")
		for _, c := range cases {
			status, body, h := postH(t, tc, c.path, c.headers, c.body)
			if want := fmt.Sprintf("custom %d", c.status); status != c.status || body != want {
				t.Errorf("%s: got %d %q, want %d %q", c.name, status, body, c.status, want)
			}
			if n := h.Get("X-Content-Type-Options"); n != "" {
				t.Errorf("%s: the gate set X-Content-Type-Options %q on an answer of handle_errors", c.name, n)
			}
		}
	})
}

// rawConnectionHeader posts over a plain TCP connection and returns the
// Connection header of the answer (net/http's client does not show it).
func rawConnectionHeader(t *testing.T, path string, headers map[string]string, body []byte) string {
	t.Helper()
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", testHTTPPort))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n", path, len(body))
	for k, v := range headers {
		fmt.Fprintf(conn, "%s: %s\r\n", k, v)
	}
	fmt.Fprintf(conn, "\r\n%s", body)
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Close {
		return "close"
	}
	return resp.Header.Get("Connection")
}
