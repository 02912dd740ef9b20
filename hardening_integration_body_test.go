package webhookverify

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Hardening through Caddy, the request body: declared sizes, 100-continue,
// HTTP/2, chunked bodies, body deadlines, slow clients, trailers, with raw
// TCP clients (see hardening_integration_test.go for the Caddy they talk to).

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
