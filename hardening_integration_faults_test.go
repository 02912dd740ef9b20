package webhookverify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// Hardening through Caddy, faults and pressure: the replay cache when full,
// the upstream down or hanging, reloads under load, floods and the resources
// they leave (see hardening_integration_test.go for the Caddy they run in).

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
