package webhookverify

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// Integration tests of the hardening work (issue 10) through a real Caddy:
// the request URL the verifiers see, body limits and deadlines measured
// with raw TCP clients, trailers, the replay cache when full, and faults
// of the upstream and reloads. Bounds on time are hang guards, never speed
// assertions.

// MailChannels publishes no signed sample. This one covers @authority and
// @scheme; signed with the OpenSSL 3.0 CLI and a throwaway Ed25519 key
// (private key not kept):
//
//	openssl genpkey -algorithm ed25519 -out k.pem
//	openssl pkey -in k.pem -pubout                  # hardMcKey (PEM body)
//	printf '%s' "$hardMcBody" > body
//	D="sha-256=:$(openssl dgst -sha256 -binary body | base64 -w0):"
//	P='("@authority" "@scheme" "content-digest");created=1625098010;keyid="mckey-auth";alg="ed25519"'
//	printf '"@authority": %s\n"@scheme": %s\n"content-digest": %s\n"@signature-params": %s' "$A" "$S" "$D" "$P" > base
//	openssl pkeyutl -sign -inkey k.pem -rawin -in base | base64 -w0
//
// with A=mycompany.com or empty, S=http or https.
const (
	hardMcKey    = "MCowBQYDK2VwAyEAoBC7h8yPCV1r3mKE6irWSfYtEASs3DkV8HwWEPtc9fY="
	hardMcBody   = `[{"email":"sender@example.com","customer_handle":"abc123","timestamp":1625097600,"event":"delivered","request_id":"auth-1"}]`
	hardMcDigest = `sha-256=:EFxDuQ9w7oNDicbH+NQCaLY1xS38LSh7OMtCZpuNMJw=:`
	hardMcInput  = `sig_1=("@authority" "@scheme" "content-digest");created=1625098010;keyid="mckey-auth";alg="ed25519"`
	hardMcHTTP   = "6o3Tx0dC3fvuNebl4Y7vzRpW6esEiPWh+y/492jfwmiNkC+Q4JZX+PzZAWNY/dGFzLJ2MxiVoXXGrmxJsiaLDQ=="
	hardMcHTTPS  = "xbB5eeidNQK47wmpe4I3qgSc6fcvU5w5JvQUfyJaPUrPI2wndrGGqQJdDbQNgfgO2+3sG49YTC25qhRTMqh1Ag=="
	hardMcNoAuth = "DFhbvzbQs+qnPiW7jbHWmVNfIpPqJzZN9IVNSZIzqHzRIKo3tjqWvyKNxx7UF9NOjVELeacHDhMaAJyL97QJAA=="
)

func hardMcHeaders(sig string) map[string]string {
	return map[string]string{
		"Content-Type":    "application/json",
		"Content-Digest":  hardMcDigest,
		"Signature-Input": hardMcInput,
		"Signature":       "sig_1=:" + sig + ":",
	}
}

// trailerUpstream records what reaches it, trailers included.
type trailerUpstream struct {
	upstream
	mu       sync.Mutex
	trailers []http.Header
}

func (u *trailerUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body) // trailers are known after the body
	u.mu.Lock()
	u.trailers = append(u.trailers, r.Trailer.Clone())
	u.mu.Unlock()
	r.Body = io.NopCloser(bytes.NewReader(b))
	u.upstream.ServeHTTP(w, r)
}

const hardeningConfig = `
http://mycompany.com {
	handle /myapp.php {
		# Caddy's copy of the original request keeps the path; the
		# verifier must still see it after this rewrite.
		rewrite * /internal/twilio?{query}
		webhook_verify twilio {
			secret 12345
			replay off
		}
		reverse_proxy %[1]s
	}
	handle /mc {
		webhook_verify mailchannels {
			public_key mckey-auth %[3]s
			tolerance off
			replay off
		}
		reverse_proxy %[1]s
	}
}
https://mycompany.com {
	tls internal
	handle /myapp.php {
		webhook_verify twilio {
			secret 12345
			replay off
		}
		reverse_proxy %[1]s
	}
	handle /mc {
		webhook_verify mailchannels {
			public_key mckey-auth %[3]s
			tolerance off
			replay off
		}
		reverse_proxy %[1]s
	}
}
http://localhost:%[2]d {
	handle /limit {
		webhook_verify github {
			secret "%[4]s"
			max_size 1KiB
			body_timeout 1s
			replay off
		}
		reverse_proxy %[1]s
	}
	handle /slow {
		webhook_verify github {
			secret "%[4]s"
			body_timeout 3s
			replay off
		}
		reverse_proxy %[1]s
	}
	handle /full {
		webhook_verify standard_webhooks {
			secret %[5]s
			replay {
				max_entries 10
				namespace hardening-full
			}
		}
		reverse_proxy %[1]s
	}
	handle /fault {
		webhook_verify standard_webhooks {
			secret %[5]s
			replay {
				namespace hardening-fault
			}
		}
		reverse_proxy %[6]s {
			transport http {
				response_header_timeout 1s
			}
		}
	}
	handle /flood-gh {
		webhook_verify github {
			secret "%[4]s"
			replay {
				namespace hardening-flood-gh
			}
		}
		reverse_proxy %[1]s
	}
	handle /flood-mc {
		webhook_verify mailchannels {
			public_key mckey-auth %[3]s
			tolerance off
			replay {
				namespace hardening-flood-mc
			}
		}
		reverse_proxy %[1]s
	}
	handle /flood-sns {
		webhook_verify sns {
			certificate %[8]q
			replay {
				namespace hardening-flood-sns
			}
		}
		reverse_proxy %[1]s
	}
	handle /steady {
		webhook_verify standard_webhooks {
			secret %[5]s
			replay {
				namespace hardening-steady
				max_entries %[7]d
			}
		}
		reverse_proxy %[1]s
	}
}
`

type hardEnv struct {
	tc        *caddytest.Tester
	up        *trailerUpstream
	upAddr    string
	faultAddr string
	steadyMax int
	snsCert   string
}

func (e *hardEnv) config() string {
	// A reload lets the old servers finish the requests they are
	// handling (the suite's 1ns grace period would cut them off).
	// h2c too, for the HTTP/2 body limits.
	global := strings.Replace(globalOptions(), "grace_period 1ns", "grace_period 10s\n\tservers {\n\t\tprotocols h1 h2 h2c\n\t}", 1)
	return global + fmt.Sprintf(hardeningConfig, e.upAddr, testHTTPPort, hardMcKey, ghSecret, swSecret, e.faultAddr, e.steadyMax, e.snsCert)
}

// freeAddr returns a loopback address nothing listens on (for now).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestIntegrationHardening(t *testing.T) {
	if testing.Short() {
		t.Skip("caddytest integration test")
	}
	up := &trailerUpstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()
	snsCert, err := filepath.Abs("verifiers/testdata/sns/awsphp/cert.pem")
	if err != nil {
		t.Fatal(err)
	}
	env := &hardEnv{up: up, upAddr: srv.Listener.Addr().String(), faultAddr: freeAddr(t), steadyMax: 100000, snsCert: snsCert}
	env.tc = newTester(t)
	env.tc.InitServer(env.config(), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	t.Run("request url", func(t *testing.T) { hardRequestURL(t, env) })
	t.Run("declared length over max_size", func(t *testing.T) { hardDeclaredTooLarge(t) })
	t.Run("100-continue within max_size", func(t *testing.T) { hardContinue(t) })
	t.Run("chunked body cut at max_size+1", func(t *testing.T) { hardChunked(t) })
	t.Run("http2 limits", func(t *testing.T) { hardHTTP2(t) })
	t.Run("body_timeout", func(t *testing.T) { hardBodyTimeout(t) })
	t.Run("trailers dropped", func(t *testing.T) { hardTrailers(t, env) })
	t.Run("reservations never evicted", func(t *testing.T) { hardFull(t, env) })
	t.Run("slowloris", func(t *testing.T) { hardSlowloris(t, env) })
	t.Run("upstream down, then back", func(t *testing.T) { hardUpstreamDown(t, env) })
	t.Run("upstream hangs past the proxy timeout", func(t *testing.T) { hardUpstreamHangs(t, env) })
	t.Run("reload under steady traffic", func(t *testing.T) { hardReload(t, env) })
	t.Run("floods of forged requests", func(t *testing.T) { hardFlood(t, env) })
}

// doHost sends a POST for host (HTTP on the test port, or HTTPS on the
// test HTTPS port, trusting Caddy's internal CA blindly).
func doHost(t *testing.T, scheme, host, pathQuery string, headers map[string]string, body []byte) (int, string) {
	t.Helper()
	port := testHTTPPort
	if scheme == "https" {
		port = testHTTPSPort
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, network, fmt.Sprintf("127.0.0.1:%d", port))
		},
		TLSClientConfig: &tls.Config{ServerName: host, InsecureSkipVerify: true}, //nolint:gosec // Caddy's internal CA, loopback
	}
	defer tr.CloseIdleConnections()
	req, err := http.NewRequest("POST", scheme+"://"+host+pathQuery, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := (&http.Client{Transport: tr, Timeout: 20 * time.Second}).Do(req)
	if err != nil {
		t.Fatalf("request: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// hardRequestURL: Caddy's copy of the original request has neither Host nor
// TLS; the verifiers must see the host and scheme of the live request and
// the path and query the client sent (before rewrites).
func hardRequestURL(t *testing.T, env *hardEnv) {
	py := []byte(e2eTwilioPyParams.Encode())
	gp := []byte(e2eTwilioGoParams.Encode())
	form := func(sig string) map[string]string {
		return map[string]string{"X-Twilio-Signature": sig, "Content-Type": "application/x-www-form-urlencoded"}
	}
	mc := []byte(hardMcBody)
	for _, c := range []struct {
		name, scheme, path string
		headers            map[string]string
		body               []byte
		want               int
	}{
		// twilio-go http vector (http://mycompany.com/myapp.php?foo=1&bar=2), no url option.
		{"twilio http without url", "http", "/myapp.php?foo=1&bar=2", form("n2xBNyzSW7rfYStDtOFiFMv7qNo="), gp, 200},
		// twilio-python test_validation (https://mycompany.com/myapp.php?foo=1&bar=2).
		{"twilio https without url", "https", "/myapp.php?foo=1&bar=2", form("RSOYDt4T1cUTdK1PDd93/VVr8B8="), py, 200},
		{"twilio https signature on http", "http", "/myapp.php?foo=1&bar=2", form("RSOYDt4T1cUTdK1PDd93/VVr8B8="), py, 401},
		{"twilio other query", "http", "/myapp.php?foo=1&bar=3", form("n2xBNyzSW7rfYStDtOFiFMv7qNo="), gp, 401},
		{"mailchannels @authority and @scheme http", "http", "/mc", hardMcHeaders(hardMcHTTP), mc, 200},
		{"mailchannels @authority and @scheme https", "https", "/mc", hardMcHeaders(hardMcHTTPS), mc, 200},
		{"mailchannels https signature on http", "http", "/mc", hardMcHeaders(hardMcHTTPS), mc, 401},
		{"mailchannels http signature on https", "https", "/mc", hardMcHeaders(hardMcHTTP), mc, 401},
		{"mailchannels empty authority", "http", "/mc", hardMcHeaders(hardMcNoAuth), mc, 401},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := len(env.up.requests("/internal/twilio")) + len(env.up.requests("/myapp.php")) + len(env.up.requests("/mc"))
			status, msg := doHost(t, c.scheme, "mycompany.com", c.path, c.headers, c.body)
			if status != c.want {
				t.Fatalf("status %d (%q), want %d", status, msg, c.want)
			}
			after := len(env.up.requests("/internal/twilio")) + len(env.up.requests("/myapp.php")) + len(env.up.requests("/mc"))
			if forwarded := after - before; (c.want == 200) != (forwarded == 1) {
				t.Fatalf("upstream saw %d requests", forwarded)
			}
		})
	}
}
