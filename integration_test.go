package webhookverify

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// upstream records every request that reaches it.
type upstream struct {
	mu   sync.Mutex
	got  []recorded
	code int
}

type recorded struct {
	path   string
	body   []byte
	header http.Header
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	u.got = append(u.got, recorded{r.URL.Path, b, r.Header.Clone()})
	code := u.code
	u.mu.Unlock()
	// Test knobs (not signed, so a test can vary them between copies).
	if d, err := time.ParseDuration(r.Header.Get("X-Test-Delay")); err == nil {
		time.Sleep(d)
	}
	if c, err := strconv.Atoi(r.Header.Get("X-Test-Status")); err == nil {
		code = c
	}
	if code == 0 {
		code = http.StatusOK
	}
	w.WriteHeader(code)
	fmt.Fprintf(w, "upstream got %d bytes", len(b))
}

func (u *upstream) requests(path string) []recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []recorded
	for _, r := range u.got {
		if r.path == path {
			out = append(out, r)
		}
	}
	return out
}

// The Standard Webhooks test secret of the reference libraries
// (standard-webhooks/standard-webhooks libraries/*/ tests).
const swSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// GitHub's documented example: secret "It's a Secret to Everybody", payload
// "Hello, World!" (docs.github.com, "Validating webhook deliveries").
const (
	ghSecret = "It's a Secret to Everybody"
	ghBody   = "Hello, World!"
	ghSig    = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
)

// signSW signs like a Standard Webhooks sender, with the standard library
// HMAC (independent of the verifier under test).
func signSW(secret, id string, ts int64, body []byte) string {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		panic(err)
	}
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s.%d.", id, ts)
	m.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func signStripe(secret string, ts int64, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "%d.", ts)
	m.Write(body)
	return fmt.Sprintf("t=%d,v1=%s", ts, hex.EncodeToString(m.Sum(nil)))
}

const integrationConfig = `
http://localhost:%[4]d {
	handle /svix {
		webhook_verify svix {
			secret %[2]s
			max_size 1KiB
			replay off
		}
		reverse_proxy %[1]s
	}
	handle /replay {
		webhook_verify standard_webhooks {
			secret %[2]s
		}
		reverse_proxy %[1]s
	}
	handle /github {
		webhook_verify github {
			secret "%[3]s"
			replay off
		}
		reverse_proxy %[1]s
	}
}
`

func post(t *testing.T, tc *caddytest.Tester, path string, headers map[string]string, body []byte) (int, string) {
	t.Helper()
	status, b, _ := postH(t, tc, path, headers, body)
	return status, b
}

func postH(t *testing.T, tc *caddytest.Tester, path string, headers map[string]string, body []byte) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest("POST", baseURL()+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := tc.Client.Do(req)
	if err != nil {
		t.Errorf("request: %v", err)
		return 0, "", nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestIntegration(t *testing.T) {
	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()

	tc := newTester(t)
	tc.InitServer(globalOptions()+fmt.Sprintf(integrationConfig, srv.Listener.Addr().String(), swSecret, ghSecret, testHTTPPort), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}

	now := time.Now().Unix()
	// Bytes a JSON re-encoder would change: spacing, key order, escapes, CRLF.
	body := []byte("{ \"type\":\"email.sent\",  \"data\":{\"z\":1,\"a\":\"\\u00e9\"} }\r\n")
	sw := func(id string, ts int64, b []byte) map[string]string {
		return map[string]string{
			"svix-id":        id,
			"svix-timestamp": strconv.FormatInt(ts, 10),
			"svix-signature": signSW(swSecret, id, ts, b),
			"Content-Type":   "application/json",
		}
	}

	tests := []struct {
		name    string
		path    string
		headers map[string]string
		body    []byte
		want    int
		forward bool
	}{
		{"svix valid", "/svix", sw("msg_1", now, body), body, 200, true},
		{"svix tampered body", "/svix", sw("msg_2", now, body), append([]byte("x"), body...), 401, false},
		{"svix wrong secret", "/svix", map[string]string{"svix-id": "msg_3", "svix-timestamp": strconv.FormatInt(now, 10),
			"svix-signature": signSW("whsec_"+base64.StdEncoding.EncodeToString([]byte("another secret")), "msg_3", now, body)}, body, 401, false},
		{"svix stale", "/svix", sw("msg_4", now-600, body), body, 401, false},
		{"svix future", "/svix", sw("msg_5", now+600, body), body, 401, false},
		{"svix missing signature", "/svix", map[string]string{"svix-id": "msg_6", "svix-timestamp": strconv.FormatInt(now, 10)}, body, 400, false},
		{"svix too large", "/svix", sw("msg_7", now, bytes.Repeat([]byte("a"), 2048)), bytes.Repeat([]byte("a"), 2048), 413, false},
		{"github docs example", "/github", map[string]string{"X-Hub-Signature-256": ghSig, "X-GitHub-Delivery": "d-1"}, []byte(ghBody), 200, true},
		{"github forged", "/github", map[string]string{"X-Hub-Signature-256": ghSig}, []byte("Hello, World?"), 401, false},
		{"github missing header", "/github", nil, []byte(ghBody), 400, false},
	}
	t.Run("replay", func(t *testing.T) { replayCases(t, tc, up) })

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(up.requests(tt.path))
			status, _ := post(t, tc, tt.path, tt.headers, tt.body)
			if status != tt.want {
				t.Fatalf("status = %d, want %d", status, tt.want)
			}
			got := up.requests(tt.path)
			if !tt.forward {
				if len(got) != before {
					t.Fatalf("a rejected request reached the upstream")
				}
				return
			}
			if len(got) != before+1 {
				t.Fatalf("upstream saw %d new requests, want 1", len(got)-before)
			}
			last := got[len(got)-1]
			if !bytes.Equal(last.body, tt.body) {
				t.Errorf("upstream body = %q, want %q", last.body, tt.body)
			}
			if cl := last.header.Get("Content-Length"); cl != "" && cl != strconv.Itoa(len(tt.body)) {
				t.Errorf("upstream Content-Length = %s, want %d", cl, len(tt.body))
			}
		})
	}
}

// replayCases runs the duplicate rows of the status table through Caddy.
func replayCases(t *testing.T, tc *caddytest.Tester, up *upstream) {
	body := []byte(`{"type":"email.delivered","data":{"id":"e1"}}`)
	sign := func(id string, extra map[string]string) map[string]string {
		ts := time.Now().Unix()
		h := map[string]string{
			"webhook-id":        id,
			"webhook-timestamp": strconv.FormatInt(ts, 10),
			"webhook-signature": signSW(swSecret, id, ts, body),
		}
		for k, v := range extra {
			h[k] = v
		}
		return h
	}
	count := func() int { return len(up.requests("/replay")) }

	t.Run("duplicate after 2xx gets 200 and is not forwarded", func(t *testing.T) {
		before := count()
		id := "msg_dup_" + strconv.FormatInt(time.Now().UnixNano(), 10)
		if st, _ := post(t, tc, "/replay", sign(id, nil), body); st != 200 {
			t.Fatalf("first copy: status %d", st)
		}
		// A later copy: new timestamp and signature, same signed id.
		st, msg := post(t, tc, "/replay", sign(id, nil), body)
		if st != 200 || !strings.Contains(msg, "duplicate") {
			t.Fatalf("second copy: status %d body %q, want 200 duplicate", st, msg)
		}
		if n := count() - before; n != 1 {
			t.Fatalf("upstream saw %d copies, want 1", n)
		}
	})

	t.Run("retry after upstream failure is forwarded", func(t *testing.T) {
		before := count()
		id := "msg_retry_" + strconv.FormatInt(time.Now().UnixNano(), 10)
		if st, _ := post(t, tc, "/replay", sign(id, map[string]string{"X-Test-Status": "500"}), body); st != 500 {
			t.Fatalf("first copy: status %d, want the upstream's 500", st)
		}
		if st, _ := post(t, tc, "/replay", sign(id, nil), body); st != 200 {
			t.Fatalf("retry: status %d, want 200 from the upstream", st)
		}
		if st, msg := post(t, tc, "/replay", sign(id, nil), body); st != 200 || !strings.Contains(msg, "duplicate") {
			t.Fatalf("third copy: status %d %q, want 200 duplicate", st, msg)
		}
		if n := count() - before; n != 2 {
			t.Fatalf("upstream saw %d copies, want 2", n)
		}
	})

	t.Run("copy while the first is in flight gets 409 with Retry-After", func(t *testing.T) {
		before := count()
		id := "msg_inflight_" + strconv.FormatInt(time.Now().UnixNano(), 10)
		done := make(chan int)
		go func() {
			st, _ := post(t, tc, "/replay", sign(id, map[string]string{"X-Test-Delay": "1s"}), body)
			done <- st
		}()
		deadline := time.Now().Add(3 * time.Second)
		for count() == before && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		st, _, hdr := postH(t, tc, "/replay", sign(id, nil), body)
		if st != 409 || hdr.Get("Retry-After") == "" {
			t.Errorf("copy in flight: status %d, Retry-After %q; want 409 with Retry-After", st, hdr.Get("Retry-After"))
		}
		if st := <-done; st != 200 {
			t.Errorf("first copy: status %d", st)
		}
		if n := count() - before; n != 1 {
			t.Fatalf("upstream saw %d copies, want 1", n)
		}
	})

	t.Run("50 concurrent copies reach the upstream once", func(t *testing.T) {
		before := count()
		id := "msg_burst_" + strconv.FormatInt(time.Now().UnixNano(), 10)
		var wg sync.WaitGroup
		statuses := make(chan int, 50)
		for i := 0; i < 50; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				st, _ := post(t, tc, "/replay", sign(id, map[string]string{"X-Test-Delay": "200ms"}), body)
				statuses <- st
			}()
		}
		wg.Wait()
		close(statuses)
		seen := map[int]int{}
		for st := range statuses {
			seen[st]++
		}
		if n := count() - before; n != 1 {
			t.Fatalf("upstream saw %d copies, want exactly 1 (statuses %v)", n, seen)
		}
		if seen[200]+seen[409] != 50 {
			t.Fatalf("statuses %v: want only 200 and 409", seen)
		}
	})

	t.Run("unverified copy never touches the cache", func(t *testing.T) {
		id := "msg_forged_" + strconv.FormatInt(time.Now().UnixNano(), 10)
		h := sign(id, nil)
		h["webhook-signature"] = "v1," + base64.StdEncoding.EncodeToString(make([]byte, 32))
		if st, _ := post(t, tc, "/replay", h, body); st != 401 {
			t.Fatalf("forged copy: status %d, want 401", st)
		}
		// Had the forged copy reserved the id, this genuine one would be refused.
		before := count()
		if st, msg := post(t, tc, "/replay", sign(id, nil), body); st != 200 || strings.Contains(msg, "duplicate") {
			t.Fatalf("genuine copy: status %d %q, want forwarded", st, msg)
		}
		if count()-before != 1 {
			t.Fatal("genuine copy was not forwarded")
		}
	})
}
