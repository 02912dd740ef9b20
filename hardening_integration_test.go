package webhookverify

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
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

// rawConn opens a TCP connection to the test site with a hang guard.
func rawConn(t *testing.T) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", testHTTPPort))
	if err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	t.Cleanup(func() { c.Close() })
	return c
}

// readAnswer reads one response and then the connection to its end: it
// fails if the server neither answers nor closes within the hang guard.
func readAnswer(t *testing.T, c net.Conn) (*http.Response, string) {
	t.Helper()
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if _, err := io.Copy(io.Discard, br); err != nil {
		t.Fatalf("connection not closed after the answer: %v", err)
	}
	return resp, string(body)
}

func hardHead(path, extra string) string {
	return fmt.Sprintf("POST %s HTTP/1.1\r\nHost: localhost:%d\r\nX-Hub-Signature-256: %s\r\n%s\r\n", path, testHTTPPort, ghSig, extra)
}

// hardDeclaredTooLarge: a declared Content-Length over max_size is refused
// before the client sends a byte of the body, also with Expect:
// 100-continue (no 100 Continue), and the connection is closed.
func hardDeclaredTooLarge(t *testing.T) {
	for _, expect := range []bool{false, true} {
		t.Run(fmt.Sprintf("expect %v", expect), func(t *testing.T) {
			c := rawConn(t)
			extra := "Content-Length: 5000000\r\n"
			if expect {
				extra += "Expect: 100-continue\r\n"
			}
			if _, err := io.WriteString(c, hardHead("/limit", extra)); err != nil {
				t.Fatal(err)
			}
			// Nothing of the body is sent: the answer must come anyway.
			resp, _ := readAnswer(t, c)
			if resp.StatusCode != 413 {
				t.Fatalf("status %d, want 413 as the first answer", resp.StatusCode)
			}
			if !resp.Close {
				t.Errorf("no Connection: close on the 413")
			}
		})
	}
}

// hardContinue: a body within max_size announced with Expect: 100-continue
// gets its 100 Continue and is verified as usual.
func hardContinue(t *testing.T) {
	c := rawConn(t)
	if _, err := io.WriteString(c, hardHead("/limit", fmt.Sprintf("Content-Length: %d\r\nExpect: 100-continue\r\nConnection: close\r\n", len(ghBody)))); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "HTTP/1.1 100") {
		t.Fatalf("first line %q (%v), want 100 Continue", line, err)
	}
	if _, err := br.ReadString('\n'); err != nil { // the blank line
		t.Fatal(err)
	}
	if _, err := io.WriteString(c, ghBody); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("after the body: %v %v, want 200", resp, err)
	}
	resp.Body.Close()
}

// hardHTTP2: over HTTP/2 (h2c) too, a declared length over max_size is
// refused while the body is still to come, and a stalled body gets 408
// after body_timeout; the other streams of the connection go on.
func hardHTTP2(t *testing.T) {
	tr := &http.Transport{Protocols: new(http.Protocols)}
	tr.Protocols.SetUnencryptedHTTP2(true)
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 15 * time.Second}
	for _, tc := range []struct {
		name   string
		length int64
		want   int
	}{{"declared too large", 5_000_000, 413}, {"stalled body", 100, 408}} {
		t.Run(tc.name, func(t *testing.T) {
			pr, pw := io.Pipe()
			defer pw.Close()
			req, _ := http.NewRequest("POST", baseURL()+"/limit", pr)
			req.ContentLength = tc.length
			req.Header.Set("X-Hub-Signature-256", ghSig)
			go func() { _, _ = pw.Write([]byte("0123456789")) }() // then nothing
			resp, err := client.Do(req)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			resp.Body.Close()
			if resp.ProtoMajor != 2 || resp.StatusCode != tc.want {
				t.Fatalf("%s %d, want HTTP/2 %d", resp.Proto, resp.StatusCode, tc.want)
			}
			// The same connection still serves a signed delivery.
			req, _ = http.NewRequest("POST", baseURL()+"/limit", strings.NewReader(ghBody))
			req.Header.Set("X-Hub-Signature-256", ghSig)
			resp, err = client.Do(req)
			if err != nil {
				t.Fatalf("next request: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("next request: %d", resp.StatusCode)
			}
		})
	}
}

// hardChunked: a chunked body is cut at max_size+1 bytes: with exactly
// max_size+1 bytes sent (and the body not finished) the 413 comes and the
// connection closes; with max_size bytes the server keeps waiting (the body
// may still end there) until body_timeout.
func hardChunked(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want int
	}{{1025, 413}, {1024, 408}} {
		t.Run(strconv.Itoa(tc.n), func(t *testing.T) {
			c := rawConn(t)
			msg := hardHead("/limit", "Transfer-Encoding: chunked\r\n") +
				fmt.Sprintf("%x\r\n%s\r\n", tc.n, strings.Repeat("a", tc.n))
			if _, err := io.WriteString(c, msg); err != nil {
				t.Fatal(err)
			}
			resp, _ := readAnswer(t, c)
			if resp.StatusCode != tc.want || !resp.Close {
				t.Fatalf("status %d (close %v), want %d and Connection: close", resp.StatusCode, resp.Close, tc.want)
			}
		})
	}
}

// hardBodyTimeout: a body not received within body_timeout gets 408 and
// the connection is closed, also when the client is still sending.
func hardBodyTimeout(t *testing.T) {
	c := rawConn(t)
	if _, err := io.WriteString(c, hardHead("/limit", "Content-Length: 100\r\n")+"0123456789"); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	defer close(stop)
	go func() { // keep trickling: the deadline is on the whole body
		for {
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
				if _, err := c.Write([]byte("x")); err != nil {
					return
				}
			}
		}
	}()
	resp, _ := readAnswer(t, c)
	if resp.StatusCode != 408 || !resp.Close {
		t.Fatalf("status %d (close %v), want 408 and Connection: close", resp.StatusCode, resp.Close)
	}
}

// hardTrailers: a chunked request with trailers arrives upstream without
// them (nothing signed them).
func hardTrailers(t *testing.T, env *hardEnv) {
	before := len(env.up.requests("/limit"))
	c := rawConn(t)
	msg := hardHead("/limit", "Transfer-Encoding: chunked\r\nTrailer: X-Evil\r\nConnection: close\r\n") +
		fmt.Sprintf("%x\r\n%s\r\n0\r\nX-Evil: injected\r\n\r\n", len(ghBody), ghBody)
	if _, err := io.WriteString(c, msg); err != nil {
		t.Fatal(err)
	}
	resp, _ := readAnswer(t, c)
	if resp.StatusCode != 200 {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	got := env.up.requests("/limit")
	if len(got) != before+1 || string(got[len(got)-1].body) != ghBody {
		t.Fatalf("upstream did not get the signed body")
	}
	env.up.mu.Lock()
	last := env.up.trailers[len(env.up.trailers)-1]
	env.up.mu.Unlock()
	if len(last) != 0 || got[len(got)-1].header.Get("X-Evil") != "" {
		t.Fatalf("trailers reached the upstream: %v", last)
	}
}

func swHeaders(id string, body []byte, extra ...string) map[string]string {
	ts := time.Now().Unix()
	h := map[string]string{
		"webhook-id":        id,
		"webhook-timestamp": strconv.FormatInt(ts, 10),
		"webhook-signature": signSW(swSecret, id, ts, body),
		"Content-Type":      "application/json",
	}
	for i := 0; i+1 < len(extra); i += 2 {
		h[extra[i]] = extra[i+1]
	}
	return h
}

// hardFull: with max_entries 10, a delivery held by a slow upstream, then
// 10 other deliveries, then a copy of the first: the copy gets 409 (the
// reservation was not evicted) and the upstream sees the first once.
func hardFull(t *testing.T, env *hardEnv) {
	body := []byte(`{"type":"full"}`)
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	held := "msg_held_" + nonce
	done := make(chan int, 1)
	before := len(env.up.requests("/full"))
	go func() {
		st, _ := post(t, env.tc, "/full", swHeaders(held, body, "X-Test-Delay", "2s"), body)
		done <- st
	}()
	for deadline := time.Now().Add(10 * time.Second); len(env.up.requests("/full")) == before; {
		if time.Now().After(deadline) {
			t.Fatal("the held delivery never reached the upstream")
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := range 10 {
		if st, msg := post(t, env.tc, "/full", swHeaders(fmt.Sprintf("msg_other_%s_%d", nonce, i), body), body); st != 200 {
			t.Fatalf("other delivery %d: %d %q", i, st, msg)
		}
	}
	if st, _ := post(t, env.tc, "/full", swHeaders(held, body), body); st != 409 {
		t.Errorf("copy of the held delivery: status %d, want 409", st)
	}
	if st := <-done; st != 200 {
		t.Errorf("held delivery: status %d", st)
	}
	n := 0
	for _, r := range env.up.requests("/full") {
		if r.header.Get("Webhook-Id") == held {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("upstream saw the held delivery %d times, want 1", n)
	}
}

// hardSlowloris: hundreds of connections trickling their bodies do not
// stop signed deliveries on other connections, and every one of them is
// answered 408 and closed after body_timeout.
func hardSlowloris(t *testing.T, env *hardEnv) {
	const slow = 200
	baseline := runtime.NumGoroutine()
	var answered, closed atomic.Int32
	var wg sync.WaitGroup
	conns := make([]net.Conn, 0, slow)
	for range slow {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", testHTTPPort))
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		if _, err := io.WriteString(c, hardHead("/slow", "Content-Length: 1000\r\n")); err != nil {
			t.Fatal(err)
		}
	}
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	stop := make(chan struct{})
	for _, c := range conns {
		wg.Add(1)
		go func(c net.Conn) {
			defer wg.Done()
			go func() {
				t := time.NewTicker(100 * time.Millisecond)
				defer t.Stop()
				for {
					select {
					case <-stop:
						return
					case <-t.C:
						if _, err := c.Write([]byte("x")); err != nil {
							return
						}
					}
				}
			}()
			br := bufio.NewReader(c)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				return
			}
			resp.Body.Close()
			if resp.StatusCode == 408 {
				answered.Add(1)
			}
			// EOF, or a reset (the client was still trickling when the
			// server closed): gone either way; a timeout is not.
			if _, err := io.Copy(io.Discard, br); err == nil || !isTimeout(err) {
				closed.Add(1)
			}
		}(c)
	}
	// While they trickle, signed deliveries go through.
	for i := range 5 {
		if st, msg := post(t, env.tc, "/slow", map[string]string{"X-Hub-Signature-256": ghSig}, []byte(ghBody)); st != 200 {
			t.Fatalf("signed delivery %d during the slowloris: %d %q", i, st, msg)
		}
	}
	if a := answered.Load(); a != 0 {
		t.Errorf("%d slow connections were answered before the signed deliveries finished", a)
	}
	wg.Wait()
	close(stop)
	if a, c := answered.Load(), closed.Load(); a != slow || c != slow {
		t.Fatalf("%d of %d slow connections got 408, %d were closed", a, slow, c)
	}
	// Their goroutines are gone too (generous margin for the test's own).
	for deadline := time.Now().Add(10 * time.Second); runtime.NumGoroutine() > baseline+50; {
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines, %d before the slowloris", runtime.NumGoroutine(), baseline)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// hardUpstreamDown: the upstream is down (502, the reservation released),
// then back: the provider's retry is forwarded, and a further copy is a
// duplicate.
func hardUpstreamDown(t *testing.T, env *hardEnv) {
	body := []byte(`{"type":"down"}`)
	id := "msg_down_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if st, _ := post(t, env.tc, "/fault", swHeaders(id, body), body); st != 502 {
		t.Fatalf("upstream down: status %d, want 502", st)
	}
	ln, err := net.Listen("tcp", env.faultAddr)
	if err != nil {
		t.Skipf("the fault upstream's port was taken meanwhile: %v", err)
	}
	fault := &upstream{}
	srv := &http.Server{Handler: fault}
	// No kept-alive connections left behind for the next test's server
	// on this address (reverse_proxy does not resend a POST on one).
	srv.SetKeepAlivesEnabled(false)
	go srv.Serve(ln)
	defer srv.Close()
	if st, msg := post(t, env.tc, "/fault", swHeaders(id, body), body); st != 200 || strings.Contains(msg, "duplicate") {
		t.Fatalf("retry with the upstream back: %d %q, want forwarded", st, msg)
	}
	if st, msg := post(t, env.tc, "/fault", swHeaders(id, body), body); st != 200 || !strings.Contains(msg, "duplicate") {
		t.Fatalf("third copy: %d %q, want a duplicate", st, msg)
	}
	if n := len(fault.requests("/fault")); n != 1 {
		t.Fatalf("upstream saw %d copies, want 1", n)
	}
}

// hardUpstreamHangs: the upstream answers nothing within reverse_proxy's
// response_header_timeout: the reservation is released, so the retry is
// forwarded.
func hardUpstreamHangs(t *testing.T, env *hardEnv) {
	ln, err := net.Listen("tcp", env.faultAddr)
	if err != nil {
		t.Skipf("the fault upstream's port was taken meanwhile: %v", err)
	}
	fault := &upstream{}
	srv := &http.Server{Handler: fault}
	// No kept-alive connections left behind for the next test's server
	// on this address (reverse_proxy does not resend a POST on one).
	srv.SetKeepAlivesEnabled(false)
	go srv.Serve(ln)
	defer srv.Close()
	body := []byte(`{"type":"hang"}`)
	id := "msg_hang_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if st, _ := post(t, env.tc, "/fault", swHeaders(id, body, "X-Test-Delay", "3s"), body); st < 500 {
		t.Fatalf("hanging upstream: status %d, want a 5xx", st)
	}
	if n := len(fault.requests("/fault")); n != 1 {
		t.Fatalf("the upstream got %d requests, want the one it hung on", n)
	}
	if st, msg := post(t, env.tc, "/fault", swHeaders(id, body), body); st != 200 || strings.Contains(msg, "duplicate") {
		t.Fatalf("retry: %d %q, want forwarded", st, msg)
	}
}

// hardReload: config reloads (POST /load to the admin API, one of them
// changing max_entries) under steady signed traffic lose no request, and
// the replay state survives them.
func hardReload(t *testing.T, env *hardEnv) {
	body := []byte(`{"type":"steady"}`)
	nonce := strconv.FormatInt(time.Now().UnixNano(), 36)
	var sent, failed, resent atomic.Int32
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One connection per delivery: on a kept-alive connection a
			// request can cross the server's closing of that idle
			// connection at a reload, which no server can answer (HTTP/1.1;
			// Go's client does not resend a POST, a provider would retry).
			client := &http.Client{Timeout: 20 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				id := fmt.Sprintf("msg_steady_%s_%d_%d", nonce, g, i)
				sent.Add(1)
				// A provider resends a delivery that got no answer; the
				// resend must be forwarded or known as a duplicate.
				for try := 0; ; try++ {
					req, _ := http.NewRequest("POST", baseURL()+"/steady", bytes.NewReader(body))
					for k, v := range swHeaders(id, body) {
						req.Header.Set(k, v)
					}
					resp, err := client.Do(req)
					if err != nil {
						if try < 3 {
							resent.Add(1)
							continue
						}
						failed.Add(1)
						firstErr.CompareAndSwap(nil, err.Error())
						break
					}
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || (try == 0 && strings.Contains(string(b), "duplicate")) {
						failed.Add(1)
						firstErr.CompareAndSwap(nil, fmt.Sprintf("%s: %d %q", id, resp.StatusCode, b))
					}
					break
				}
			}
		}()
	}
	load := func(cfg string) {
		req, _ := http.NewRequest("POST", fmt.Sprintf("http://localhost:%d/load", testAdminPort), strings.NewReader(cfg))
		req.Header.Set("Content-Type", "text/caddyfile")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Errorf("reload: %v", err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("reload: %d %s", resp.StatusCode, b)
		}
	}
	time.Sleep(200 * time.Millisecond)
	for i := range 4 {
		// every other reload resizes the cache, never below what the run
		// sends (an evicted accepted entry would be forwarded again)
		env.steadyMax = 100000 + 50000*(i%2)
		load(env.config())
		time.Sleep(200 * time.Millisecond)
	}
	close(stop)
	wg.Wait()
	if f := failed.Load(); f != 0 {
		t.Fatalf("%d of %d deliveries failed across reloads; first: %v", f, sent.Load(), firstErr.Load())
	}
	// A connection the old server had accepted but not read yet can be
	// reset by the reload (below the handler); the provider resends.
	t.Logf("%d deliveries, %d resent after a connection error", sent.Load(), resent.Load())
	if sent.Load() < 4 {
		t.Fatalf("only %d deliveries sent", sent.Load())
	}
	// Every delivery reached the upstream once, and is remembered.
	seen := map[string]int{}
	for _, r := range env.up.requests("/steady") {
		if id := r.header.Get("Webhook-Id"); strings.Contains(id, nonce) {
			seen[id]++
		}
	}
	if len(seen) != int(sent.Load()) {
		t.Fatalf("upstream saw %d distinct deliveries, %d were sent", len(seen), sent.Load())
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("%s reached the upstream %d times", id, n)
		}
	}
	first := fmt.Sprintf("msg_steady_%s_0_0", nonce)
	if st, msg := post(t, env.tc, "/steady", swHeaders(first, body), body); st != 200 || !strings.Contains(msg, "duplicate") {
		t.Fatalf("copy of a delivery accepted before the reloads: %d %q, want a duplicate", st, msg)
	}
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// hardResources is what a flood must leave where it was.
type hardResources struct {
	heap       uint64
	goroutines int
	files      int
	entries    map[string]int
}

func hardMeasure(t *testing.T, namespaces ...string) hardResources {
	t.Helper()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fds, err := os.ReadDir("/proc/self/fd")
	files := len(fds)
	if err != nil {
		files = -1 // not Linux: not measured
	}
	r := hardResources{heap: ms.HeapAlloc, goroutines: runtime.NumGoroutine(), files: files, entries: map[string]int{}}
	memoryPool.Range(func(key, val any) bool {
		for _, ns := range namespaces {
			if key == "memory/"+ns {
				r.entries[ns] = val.(*memoryCache).stats().Entries
			}
		}
		return true
	})
	return r
}

// hardFlood: tens of thousands of forged requests (bad signatures, random
// MailChannels keyids, random SNS certificate URLs; keys and certificates
// pinned, so nothing leaves loopback) are all refused, reach neither the
// upstream nor the replay cache, and leave the heap, the goroutines and
// the open files where they were (generous margins).
func hardFlood(t *testing.T, env *hardEnv) {
	n := 7000 // per kind
	if testing.Short() {
		n = 500
	}
	var snsMsg map[string]string
	for _, v := range e2eSnsPHPVectors {
		if v["Type"] == "Notification" {
			snsMsg = v
			break
		}
	}
	if snsMsg == nil {
		t.Fatal("no SNS Notification vector")
	}
	rnd := func(i int, kind string) string {
		return fmt.Sprintf("%x", []byte(fmt.Sprintf("%s-%d-%d", kind, i, time.Now().UnixNano())))
	}
	forged := func(kind, i int) (string, map[string]string, []byte) {
		switch kind {
		case 0:
			return "/flood-gh", map[string]string{"X-Hub-Signature-256": "sha256=" + fmt.Sprintf("%064x", i)}, []byte(ghBody)
		case 1:
			in := fmt.Sprintf(`sig_1=("@authority" "@scheme" "content-digest");created=1625098010;keyid="k%s";alg="ed25519"`, rnd(i, "mc")[:20])
			h := hardMcHeaders(hardMcHTTP)
			h["Signature-Input"] = in
			return "/flood-mc", h, []byte(hardMcBody)
		default:
			m := map[string]string{}
			for k, v := range snsMsg {
				m[k] = v
			}
			m["SigningCertURL"] = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-" + rnd(i, "sns")[:32] + ".pem"
			m["MessageId"] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
			b, _ := json.Marshal(m)
			return "/flood-sns", map[string]string{"Content-Type": "text/plain; charset=UTF-8", "X-Amz-Sns-Message-Type": "Notification", "X-Amz-Sns-Message-Id": m["MessageId"]}, b
		}
	}
	namespaces := []string{"hardening-flood-gh", "hardening-flood-mc", "hardening-flood-sns"}
	tr := &http.Transport{MaxIdleConnsPerHost: 8}
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}
	var bad atomic.Int32
	var firstBad atomic.Value
	run := func(count int) {
		var wg sync.WaitGroup
		jobs := make(chan [2]int)
		for range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range jobs {
					path, h, body := forged(j[0], j[1])
					req, _ := http.NewRequest("POST", baseURL()+path, bytes.NewReader(body))
					for k, v := range h {
						req.Header.Set(k, v)
					}
					resp, err := client.Do(req)
					if err != nil {
						bad.Add(1)
						firstBad.CompareAndSwap(nil, err.Error())
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 400 && resp.StatusCode != 401 {
						bad.Add(1)
						firstBad.CompareAndSwap(nil, fmt.Sprintf("%s: status %d", path, resp.StatusCode))
					}
				}
			}()
		}
		for i := range count {
			for kind := range 3 {
				jobs <- [2]int{kind, i}
			}
		}
		close(jobs)
		wg.Wait()
	}
	run(300) // warm up: pools, caches, connections
	before := hardMeasure(t, namespaces...)
	run(n)
	tr.CloseIdleConnections()
	if b := bad.Load(); b != 0 {
		t.Fatalf("%d forged requests were not refused with 400/401; first: %v", b, firstBad.Load())
	}
	for _, p := range []string{"/flood-gh", "/flood-mc", "/flood-sns"} {
		if got := len(env.up.requests(p)); got != 0 {
			t.Fatalf("%d forged requests reached the upstream on %s", got, p)
		}
	}
	var after hardResources
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		after = hardMeasure(t, namespaces...)
		settled := after.goroutines <= before.goroutines+20 && after.files <= before.files+20
		if settled || time.Now().After(deadline) {
			break
		}
	}
	t.Logf("%d forged requests: heap %d -> %d KiB, goroutines %d -> %d, open files %d -> %d",
		3*n, before.heap>>10, after.heap>>10, before.goroutines, after.goroutines, before.files, after.files)
	if after.heap > 2*before.heap+16<<20 {
		t.Errorf("heap grew from %d to %d bytes", before.heap, after.heap)
	}
	if after.goroutines > before.goroutines+20 {
		t.Errorf("goroutines: %d before, %d after", before.goroutines, after.goroutines)
	}
	if after.files > before.files+20 {
		t.Errorf("open files: %d before, %d after", before.files, after.files)
	}
	for _, ns := range namespaces {
		if after.entries[ns] != 0 || before.entries[ns] != 0 {
			t.Errorf("replay cache %s holds %d entries (%d before): forged requests reached it", ns, after.entries[ns], before.entries[ns])
		}
	}
}
