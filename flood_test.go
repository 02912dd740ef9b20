//go:build unix

package webhookverify

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
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
)

// Flood tests: tens of thousands of forged requests (bad signatures, random
// MailChannels keyids, random SNS SigningCertURLs and PayPal cert URLs) sent to an in-process
// Caddy over keep-alive connections by a bounded pool of workers. None may
// reach the upstream or the replay cache, and afterwards the heap, the
// goroutine count and the open file descriptors must be back near where
// they were; outbound key and certificate fetches must stay within the
// verifiers' budgets. The bounds are generous (a leak of one object, one
// goroutine or one descriptor per request would still fail them by far);
// nothing is timed.
//
// Outbound fetches never leave loopback: the MailChannels key fetcher and
// the SNS and PayPal certificate fetchers use clients without a Transport of their
// own (the handler passes no HTTPClient), so for the length of the test
// http.DefaultTransport is a floodTransport, which sends every request for a
// non-loopback host to a local server that counts it and answers 404, and
// refuses to dial anything else that is not loopback.

// floodSize is the number of forged requests, spread over the cases:
// 20000, fewer under the race detector (flood_race_test.go), which makes
// each request several times slower, and with -short.
var floodSize = 20000

const floodWorkers = 16

const floodConfig = `
http://localhost:%[1]d {
	handle /github {
		webhook_verify github {
			secret "%[3]s"
			replay {
				namespace flood_github
			}
		}
		reverse_proxy %[2]s
	}
	handle /stripe {
		webhook_verify stripe {
			secret whsec_flood
			replay {
				namespace flood_stripe
			}
		}
		reverse_proxy %[2]s
	}
	handle /sw {
		webhook_verify standard_webhooks {
			secret %[4]s
			replay {
				namespace flood_sw
			}
		}
		reverse_proxy %[2]s
	}
	handle /mc-pinned {
		webhook_verify mailchannels {
			public_key mckey %[5]s
			customer_handle abc123
			replay {
				namespace flood_mc_pinned
			}
		}
		reverse_proxy %[2]s
	}
	handle /mc-fetch {
		webhook_verify mailchannels {
			customer_handle abc123
			replay {
				namespace flood_mc_fetch
			}
		}
		reverse_proxy %[2]s
	}
	handle /sns-fetch {
		webhook_verify sns {
			topic_arn %[7]s
			replay {
				namespace flood_sns_fetch
			}
		}
		reverse_proxy %[2]s
	}
	handle /paypal-fetch {
		webhook_verify paypal {
			webhook_id WH-FLOOD
			replay {
				namespace flood_paypal_fetch
			}
		}
		reverse_proxy %[2]s
	}
	handle /sns-pinned {
		webhook_verify sns {
			certificate %[6]q
			topic_arn %[7]s
			replay {
				namespace flood_sns_pinned
			}
		}
		reverse_proxy %[2]s
	}
}
`

const floodTopic = "arn:aws:sns:us-east-1:123456789012:MyTopic"

// floodNamespaces are the replay namespaces of floodConfig.
var floodNamespaces = []string{"flood_github", "flood_stripe", "flood_sw", "flood_mc_pinned", "flood_mc_fetch", "flood_sns_fetch", "flood_sns_pinned", "flood_paypal_fetch"}

// floodTransport stands in for http.DefaultTransport: loopback requests go
// to orig, every other host is redirected to the counting key server.
type floodTransport struct {
	orig   http.RoundTripper
	target string // host:port of the key server

	mu     sync.Mutex
	byHost map[string]int
	total  atomic.Int64
}

func (f *floodTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.total.Add(1) // also orders every read of http.DefaultTransport before the test's restore
	host := r.URL.Hostname()
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		return f.orig.RoundTrip(r)
	}
	f.mu.Lock()
	f.byHost[host]++
	f.mu.Unlock()
	r2 := r.Clone(r.Context())
	r2.URL.Scheme, r2.URL.Host = "http", f.target
	r2.Header.Set("X-Flood-Host", host)
	return f.orig.RoundTrip(r2)
}

func (f *floodTransport) count(host string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.byHost[host]
}

// floodGlobal is globalOptions with Caddy's logs written to logPath as JSON.
func floodGlobal(logPath string) string {
	return fmt.Sprintf(`{
	skip_install_trust
	admin localhost:%d
	http_port %d
	https_port %d
	grace_period 1ns
	log {
		output file %q
		format json
		level INFO
	}
}
`, testAdminPort, testHTTPPort, testHTTPSPort, logPath)
}

// floodStats is what must come back after a flood.
type floodStats struct {
	heap       uint64
	goroutines int
	fds        int
}

func readFloodStats(t *testing.T) floodStats {
	t.Helper()
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatalf("open files: %v", err)
	}
	return floodStats{heap: ms.HeapAlloc, goroutines: runtime.NumGoroutine(), fds: len(fds)}
}

// replayEntries returns the entries of the in-memory replay cache of a
// namespace (-1 if it has none).
func replayEntries(ns string) int {
	n := -1
	memoryPool.Range(func(k, v any) bool {
		if k != "memory/"+ns {
			return true
		}
		c := v.(*memoryCache)
		c.mu.RLock()
		n = c.mem.Stats().Entries
		c.mu.RUnlock()
		return false
	})
	return n
}

// logLines counts the lines of Caddy's log file by logger name.
func logLines(t *testing.T, path string) map[string]int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("log: %v", err)
	}
	defer f.Close()
	out := map[string]int{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		var l struct {
			Logger string `json:"logger"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			l.Logger = "?"
		}
		out[l.Logger]++
		out[""]++ // total
	}
	return out
}

// floodReq is one forged request.
type floodReq struct {
	path    string
	headers map[string]string
	body    []byte
}

func randHex(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return hex.EncodeToString(b)
}

func randB64(r *rand.Rand, n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return base64.StdEncoding.EncodeToString(b)
}

func randUUID(r *rand.Rand) string {
	h := randHex(r, 16)
	return h[:8] + "-" + h[8:12] + "-4" + h[13:16] + "-a" + h[17:20] + "-" + h[20:]
}

// floodKinds is the number of cases forge goes round.
const floodKinds = 8

// forge returns forged request i of a flood: the kind goes round the cases.
// Signatures are random bytes of the right shape, so each request gets as
// far as the signature check (or the key or certificate lookup).
func forge(r *rand.Rand, i int) floodReq {
	now := time.Now()
	switch i % floodKinds {
	case 0:
		body := []byte(`{"zen":"` + randHex(r, 8) + `"}`)
		return floodReq{"/github", map[string]string{
			"X-Hub-Signature-256": "sha256=" + randHex(r, 32),
			"X-GitHub-Delivery":   randUUID(r),
			"Content-Type":        "application/json",
		}, body}
	case 1:
		body := []byte(`{"id":"evt_` + randHex(r, 8) + `","object":"event"}`)
		return floodReq{"/stripe", map[string]string{
			"Stripe-Signature": fmt.Sprintf("t=%d,v1=%s", now.Unix(), randHex(r, 32)),
			"Content-Type":     "application/json",
		}, body}
	case 2:
		id := "msg_" + randHex(r, 8)
		if i%(10*floodKinds) == 2 {
			id = "msg_flood_target" // the id of the signed delivery sent afterwards
		}
		return floodReq{"/sw", map[string]string{
			"webhook-id":        id,
			"webhook-timestamp": strconv.FormatInt(now.Unix(), 10),
			"webhook-signature": "v1," + randB64(r, 32),
			"Content-Type":      "application/json",
		}, []byte(`{"type":"flood"}`)}
	case 3, 4:
		path := "/mc-pinned"
		if i%floodKinds == 4 {
			path = "/mc-fetch"
		}
		body := []byte(`[{"email":"sender@example.com","customer_handle":"abc123","timestamp":` +
			strconv.FormatInt(now.Unix(), 10) + `,"event":"delivered","request_id":"` + randHex(r, 8) + `"}]`)
		sum := sha256.Sum256(body)
		return floodReq{path, map[string]string{
			"Content-Digest":  "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":",
			"Signature-Input": fmt.Sprintf(`sig_1=("content-digest");created=%d;alg="ed25519";keyid="k-%s"`, now.Unix(), randHex(r, 8)),
			"Signature":       "sig_1=:" + randB64(r, 64) + ":",
			"Content-Type":    "application/json",
		}, body}
	case 7:
		return floodReq{"/paypal-fetch", map[string]string{
			"PAYPAL-TRANSMISSION-ID":   randUUID(r),
			"PAYPAL-TRANSMISSION-TIME": now.UTC().Format(time.RFC3339),
			"PAYPAL-TRANSMISSION-SIG":  randB64(r, 256),
			"PAYPAL-CERT-URL":          "https://api.paypal.com/v1/notifications/certs/CERT-" + randHex(r, 8),
			"PAYPAL-AUTH-ALGO":         "SHA256withRSA",
			"Content-Type":             "application/json",
		}, []byte(`{"id":"WH-` + randHex(r, 8) + `","event_type":"PAYMENT.CAPTURE.COMPLETED"}`)}
	default:
		path := "/sns-fetch"
		if i%floodKinds == 6 {
			path = "/sns-pinned"
		}
		m := map[string]string{
			"Type":             "Notification",
			"MessageId":        randUUID(r),
			"TopicArn":         floodTopic,
			"Message":          "flood " + randHex(r, 4),
			"Timestamp":        now.UTC().Format("2006-01-02T15:04:05.000Z"),
			"SignatureVersion": "1",
			"Signature":        randB64(r, 256),
			"SigningCertURL":   "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-" + randHex(r, 16) + ".pem",
			"UnsubscribeURL":   "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=" + floodTopic + ":" + randUUID(r),
		}
		body, _ := json.Marshal(m)
		return floodReq{path, map[string]string{
			"x-amz-sns-message-type": "Notification",
			"Content-Type":           "text/plain; charset=UTF-8",
		}, body}
	}
}

func TestFlood(t *testing.T) {
	// The key server: every outbound fetch ends here.
	keySrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.NotFound(w, r)
	}))
	defer keySrv.Close()
	ft := &floodTransport{orig: http.DefaultTransport, target: keySrv.Listener.Addr().String(), byHost: map[string]int{}}
	http.DefaultTransport = ft
	defer func() {
		ft.total.Load()
		http.DefaultTransport = ft.orig
	}()

	up := &upstream{}
	srv := httptest.NewServer(up)
	defer srv.Close()

	snsCert, err := filepath.Abs("verifiers/testdata/sns/sns.pem")
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(t.TempDir(), "caddy.log")
	tc := newTester(t)
	tc.InitServer(floodGlobal(logPath)+fmt.Sprintf(floodConfig, testHTTPPort, srv.Listener.Addr().String(),
		ghSecret, swSecret, e2eMcK1SPKI, snsCert, floodTopic), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}

	// The flood's own client: keep-alive connections, one per worker.
	tr := &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", fmt.Sprintf("127.0.0.1:%d", testHTTPPort))
		},
		MaxIdleConnsPerHost: floodWorkers,
	}
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	defer tr.CloseIdleConnections()

	statuses := map[string]map[int]int{} // path -> status -> count
	var stMu sync.Mutex
	run := func(n, seed int) {
		var next atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < floodWorkers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				rnd := rand.New(rand.NewPCG(uint64(seed), uint64(w)))
				for {
					i := int(next.Add(1)) - 1
					if i >= n {
						return
					}
					fr := forge(rnd, i)
					req, err := http.NewRequest("POST", baseURL()+fr.path, bytes.NewReader(fr.body))
					if err != nil {
						t.Error(err)
						return
					}
					for k, v := range fr.headers {
						req.Header.Set(k, v)
					}
					resp, err := client.Do(req)
					if err != nil {
						t.Errorf("%s: %v", fr.path, err)
						return
					}
					b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
					resp.Body.Close()
					stMu.Lock()
					if statuses[fr.path] == nil {
						statuses[fr.path] = map[int]int{}
					}
					if statuses[fr.path][resp.StatusCode] == 0 && resp.StatusCode != 401 && resp.StatusCode != 503 {
						t.Logf("%s: %d %q", fr.path, resp.StatusCode, b)
					}
					statuses[fr.path][resp.StatusCode]++
					stMu.Unlock()
				}
			}(w)
		}
		wg.Wait()
	}
	// settle closes the idle connections on both sides and waits (bounded)
	// for their goroutines to end, then measures.
	settle := func(limit func(floodStats) bool) floodStats {
		tr.CloseIdleConnections()
		var s floodStats
		for i := 0; i < 50; i++ {
			s = readFloodStats(t)
			if limit == nil || limit(s) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		return s
	}

	// Warm up: every path, pools, lazily built state, connections.
	run(floodKinds*floodWorkers*4, 1)
	base := settle(nil)
	baseLogs := logLines(t, logPath)
	baseMC := ft.count("api.mailchannels.net")
	baseSNS := ft.count("sns.us-east-1.amazonaws.com")
	basePayPal := ft.count("api.paypal.com")
	for k := range statuses {
		delete(statuses, k)
	}

	floodSize := floodSize
	if testing.Short() {
		floodSize /= 5
	}
	start := time.Now()
	run(floodSize, 2)
	elapsed := time.Since(start)

	const (
		maxHeapGrowth = 32 << 20
		maxGoroutines = 50
		maxFDs        = 50
	)
	after := settle(func(s floodStats) bool {
		return s.goroutines <= base.goroutines+maxGoroutines && s.fds <= base.fds+maxFDs &&
			s.heap <= base.heap+maxHeapGrowth
	})
	t.Logf("%d forged requests in %v; heap %d -> %d KiB, goroutines %d -> %d, open files %d -> %d",
		floodSize, elapsed.Round(time.Millisecond), base.heap>>10, after.heap>>10, base.goroutines, after.goroutines, base.fds, after.fds)
	if after.heap > base.heap+maxHeapGrowth {
		t.Errorf("heap grew by %d KiB over the flood (bound %d KiB)", (after.heap-base.heap)>>10, maxHeapGrowth>>10)
	}
	if after.goroutines > base.goroutines+maxGoroutines {
		t.Errorf("goroutines: %d before the flood, %d after (bound +%d)", base.goroutines, after.goroutines, maxGoroutines)
	}
	if after.fds > base.fds+maxFDs {
		t.Errorf("open files: %d before the flood, %d after (bound +%d)", base.fds, after.fds, maxFDs)
	}

	// Every forged request was refused: 401, or 503 where a key or
	// certificate lookup was refused for want of budget.
	for path, by := range statuses {
		t.Logf("%s: statuses %v", path, by)
		for code, n := range by {
			ok := code == 401 || (code == 503 && strings.HasSuffix(path, "-fetch"))
			if !ok {
				t.Errorf("%s: %d forged requests answered %d", path, n, code)
			}
		}
	}
	if n := len(up.got); n != 0 {
		t.Errorf("%d forged requests reached the upstream", n)
	}

	// Nothing entered the replay caches.
	for _, ns := range floodNamespaces {
		if n := replayEntries(ns); n > 0 {
			t.Errorf("replay namespace %s: %d entries after a flood of forged requests", ns, n)
		}
	}

	// Outbound fetches. MailChannels: only unknown keyids are looked up,
	// from a token bucket of 10 (mcFetchBurst) refilled one a second
	// (mcFetchInterval), shared process-wide; the pinned route never
	// fetches. SNS: at most one fetch per distinct SigningCertURL (a 404 is
	// remembered), none with a pinned certificate.
	mc := ft.count("api.mailchannels.net") - baseMC
	sns := ft.count("sns.us-east-1.amazonaws.com") - baseSNS
	paypal := ft.count("api.paypal.com") - basePayPal
	t.Logf("outbound fetches during the flood: mailchannels %d, sns %d, paypal %d; all hosts %v", mc, sns, paypal, ft.byHost)
	if bound := 10 + int(elapsed/time.Second) + 1; mc > bound {
		t.Errorf("mailchannels key fetches: %d in %v (bucket bound %d)", mc, elapsed, bound)
	}
	forged := func(path string) (n int) {
		for _, c := range statuses[path] {
			n += c
		}
		return n
	}
	// SNS and PayPal: a token bucket per route of 20, refilled one a
	// second (verifiers' snsFetchBurst, snsFetchRate).
	certBound := 20 + int(elapsed/time.Second) + 1
	if n := forged("/sns-fetch"); sns > n || sns > certBound {
		t.Errorf("sns certificate fetches: %d for %d forged messages with distinct urls (bucket bound %d)", sns, n, certBound)
	}
	if n := forged("/paypal-fetch"); paypal > n || paypal > certBound {
		t.Errorf("paypal certificate fetches: %d for %d forged deliveries with distinct urls (bucket bound %d)", paypal, n, certBound)
	}
	for host := range ft.byHost {
		if host != "api.mailchannels.net" && host != "sns.us-east-1.amazonaws.com" && host != "api.paypal.com" {
			t.Errorf("unexpected outbound request to %s", host)
		}
	}

	// Logs: measured, and bounded by the handler's rate limit: at most
	// logBurst rejection lines and one summary per route and minute. The
	// gate answers the 503s of refused fetches itself, so Caddy's server
	// writes no ERROR line (with the request's headers) for each.
	logs := logLines(t, logPath)
	diff := map[string]int{}
	for k, v := range logs {
		if d := v - baseLogs[k]; d != 0 {
			diff[k] = d
		}
	}
	t.Logf("log lines written during the flood, by logger (\"\" = total): %v", diff)
	if n := diff["http.handlers.webhook_verify"]; n > floodSize {
		t.Errorf("%d handler log lines for %d forged requests", n, floodSize)
	}
	if bound := len(floodNamespaces) * (logBurst + 1) * (int(elapsed/logInterval) + 2); diff[""] > bound {
		t.Errorf("%d log lines for %d forged requests (rate-limit bound %d)", diff[""], floodSize, bound)
	}

	// The routes still work, and the flood left no trace in the replay
	// cache: a signed delivery with the id the forgeries used is new.
	now := time.Now().Unix()
	body := []byte(`{"type":"flood.after"}`)
	if st, _ := post(t, tc, "/sw", map[string]string{
		"webhook-id":        "msg_flood_target",
		"webhook-timestamp": strconv.FormatInt(now, 10),
		"webhook-signature": signSW(swSecret, "msg_flood_target", now, body),
	}, body); st != 200 {
		t.Errorf("signed delivery after the flood: status %d, want 200", st)
	}
	if n := len(up.requests("/sw")); n != 1 {
		t.Errorf("signed delivery after the flood forwarded %d times, want 1", n)
	}
	if n := replayEntries("flood_sw"); n != 1 {
		t.Errorf("replay namespace flood_sw: %d entries after one signed delivery, want 1", n)
	}
	if st, _ := post(t, tc, "/github", map[string]string{"X-Hub-Signature-256": ghSig, "X-GitHub-Delivery": "flood-gh-1"}, []byte(ghBody)); st != 200 {
		t.Errorf("github docs example after the flood: status %d, want 200", st)
	}
}
