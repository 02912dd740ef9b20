//go:build unix

package webhookverify

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The webhook_queue tests run the built ./cmd/caddy (as the cluster tests
// do) with the real bbolt file store, in front of a test upstream, so that
// the process can be killed with SIGKILL and started again on its data.

func TestQueueFile(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ./cmd/caddy and runs Caddy processes; skipped with -short")
	}
	bin := buildCaddy(t)
	ports := freePorts(t, 1)
	hookUpAddr := fmt.Sprintf("127.0.0.1:%d", ports[0]) // nothing listens there yet
	plain := &queueUp{}
	plainAddr := listenOn(t, "127.0.0.1:0", plain)
	qc := startQueueCaddy(t, bin, "q", queueOpts{hookUp: hookUpAddr, plainUp: plainAddr})

	// 1. Accepted while the app is down, acknowledged once durable; the
	// gate's replay cache commits on the queue's 200, so the provider's
	// retry of an accepted delivery is a duplicate, not a second entry.
	// Then kill -9 before any delivery; after the restart, every
	// acknowledged entry is delivered.
	t.Run("acked while app down, kill -9, restart, all delivered", func(t *testing.T) {
		var ids []string
		for i := 0; i < 20; i++ {
			id := uniqueID("queue")
			st, body, h := qc.send(t, id, nil)
			if st != 200 || body != "queued\n" || h.Get(QueueIDHeader) == "" {
				t.Fatalf("accept %d: %d %q, want 200 queued with an entry id", i, st, body)
			}
			ids = append(ids, id)
		}
		st, body, _ := qc.send(t, ids[0], nil)
		if st != 200 || !strings.Contains(body, "duplicate") {
			t.Fatalf("provider retry of an accepted delivery: %d %q, want 200 duplicate", st, body)
		}
		list := qc.cli(t, "list")
		if !regexpMatch(`(?m)^main\s+true\s+20\s+`, list) && !regexpMatch(`(?m)^main\s+true\s+\d+\s+\d+\s+0\s`, list) {
			t.Errorf("queue list before the kill:\n%s", list)
		}
		qc.p.kill()
		hook := &queueUp{}
		listenOn(t, hookUpAddr, hook)
		qc.start(t)
		ok := waitFor(20*time.Second, func() bool {
			for _, id := range ids {
				if len(hook.attempts("Webhook-Id", id)) == 0 {
					return false
				}
			}
			return true
		})
		if !ok {
			t.Fatalf("after the restart, not every acknowledged entry was delivered: %d attempts", len(hook.got))
		}
		entries := map[string]bool{}
		for _, id := range ids {
			for _, g := range hook.attempts("Webhook-Id", id) {
				entries[g.header.Get(QueueIDHeader)] = true
				if !bytes.Equal(g.body, clusterBody) || g.method != "POST" || g.uri != "/hook" {
					t.Errorf("delivered %s %s %q, want POST /hook with the exact body", g.method, g.uri, g.body)
				}
				if g.header.Get("X-Verified-Id") != id || g.header.Get("X-Verified-Provider") != "standard_webhooks" {
					t.Errorf("placeholders in deliver: id %q provider %q, want %q standard_webhooks (restored from the entry)",
						g.header.Get("X-Verified-Id"), g.header.Get("X-Verified-Provider"), id)
				}
			}
		}
		if len(entries) != len(ids) {
			t.Errorf("%d distinct entries delivered for %d deliveries (the duplicate must not be queued)", len(entries), len(ids))
		}
	})

	// 2. The app answers 500 three times, then 200: delivered at attempt
	// 4, the attempt header counting 1..4 under one entry id, with the
	// stored method, URI, Host, headers and body each time.
	t.Run("500 three times then 200", func(t *testing.T) {
		body := []byte("flaky body \x00\xff")
		st, h := qc.postPlain(t, "flaky?x=1&y=2", map[string]string{"X-Test-Fail": "3", "X-Custom": "kept", "Content-Type": "application/octet-stream"}, body)
		if st != 200 {
			t.Fatalf("accept: %d", st)
		}
		id := h.Get(QueueIDHeader)
		if !waitFor(15*time.Second, func() bool { return len(plain.attempts(QueueIDHeader, id)) >= 4 }) {
			t.Fatalf("attempts: %d, want 4", len(plain.attempts(QueueIDHeader, id)))
		}
		time.Sleep(500 * time.Millisecond)
		got := plain.attempts(QueueIDHeader, id)
		if len(got) != 4 {
			t.Fatalf("%d attempts, want exactly 4", len(got))
		}
		for i, g := range got {
			if a := g.header.Get(QueueAttemptHeader); a != strconv.Itoa(i+1) {
				t.Errorf("attempt %d carried %s %q", i+1, QueueAttemptHeader, a)
			}
			if g.uri != "/plain/flaky?x=1&y=2" || g.method != "POST" || !bytes.Equal(g.body, body) ||
				g.header.Get("X-Custom") != "kept" || g.header.Get("Content-Type") != "application/octet-stream" ||
				!strings.HasPrefix(g.host, "127.0.0.1:") {
				t.Errorf("attempt %d: %s %s host %s %q %v", i+1, g.method, g.uri, g.host, g.body, g.header)
			}
			if want := []int{500, 500, 500, 200}[i]; g.status != want {
				t.Errorf("attempt %d answered %d, want %d", i+1, g.status, want)
			}
		}
		if d := got[3].at.Sub(got[2].at); d < 25*time.Millisecond {
			t.Errorf("retry after %v: no backoff", d)
		}
	})

	// 3. A 4xx is dead at once; 500s past `retry 5` are dead after five
	// attempts; `caddy webhook queue retry` requeues them and they are
	// delivered.
	t.Run("dead letters requeued by the command", func(t *testing.T) {
		_, h4 := qc.postPlain(t, "bad", map[string]string{"X-Test-Status": "422"}, []byte("a"))
		_, h5 := qc.postPlain(t, "down", map[string]string{"X-Test-Fail": "99", "X-Test-Retry-After": "0"}, []byte("b"))
		id4, id5 := h4.Get(QueueIDHeader), h5.Get(QueueIDHeader)
		ok := waitFor(15*time.Second, func() bool {
			return strings.Contains(qc.cli(t, "show", "--route", "plain", "--dead"), id5) &&
				strings.Contains(qc.cli(t, "show", "--route", "plain", "--dead"), id4)
		})
		if !ok {
			t.Fatalf("not dead-lettered:\n%s", qc.cli(t, "show", "--route", "plain", "--dead"))
		}
		if n := len(plain.attempts(QueueIDHeader, id4)); n != 1 {
			t.Errorf("422: %d attempts, want 1", n)
		}
		if n := len(plain.attempts(QueueIDHeader, id5)); n != 5 {
			t.Errorf("500s: %d attempts, want 5 (retry 5)", n)
		}
		var one adminEntry
		if err := json.Unmarshal([]byte(qc.cli(t, "show", "--route", "plain", id4)), &one); err != nil {
			t.Fatal(err)
		}
		if one.LastStatus != 422 || string(one.Body) != "a" {
			t.Errorf("show %s: status %d body %q, want 422 and the body", id4, one.LastStatus, one.Body)
		}
		if e := qc.waitLog(t, 5*time.Second, func(m map[string]any) bool {
			return m["msg"] == "webhook_queue: entry dead-lettered" && m["entry_id"] == id5
		}); e == nil || e["level"] != "warn" || e["status"] != float64(500) {
			t.Errorf("dead letter log line: %v", e)
		}
		plain.setHealthy(true)
		defer plain.setHealthy(false)
		if out := qc.cli(t, "retry", "--route", "plain"); !strings.Contains(out, `"requeued": 2`) {
			t.Fatalf("retry: %s", out)
		}
		if !waitFor(10*time.Second, func() bool {
			d := plain.delivered2xx(QueueIDHeader)
			return d[id4] == 1 && d[id5] == 1
		}) {
			t.Fatalf("requeued entries not delivered: %v", plain.delivered2xx(QueueIDHeader))
		}
		if g := plain.attempts(QueueIDHeader, id5); g[len(g)-1].header.Get(QueueAttemptHeader) != "1" {
			t.Errorf("requeued entry's attempt header %q, want 1 (attempts reset)", g[len(g)-1].header.Get(QueueAttemptHeader))
		}
		// purge: one id, then nothing left.
		_, h := qc.postPlain(t, "bad2", map[string]string{"X-Test-Status": "404"}, []byte("c"))
		plain.setHealthy(false)
		waitFor(5*time.Second, func() bool {
			return strings.Contains(qc.cli(t, "show", "--route", "plain", "--dead"), h.Get(QueueIDHeader))
		})
		if out := qc.cli(t, "purge", "--route", "plain", "--dead"); !strings.Contains(out, `"purged": 1`) {
			t.Errorf("purge --dead: %s", out)
		}
	})

	// A full queue answers 503 with Retry-After and keeps nothing more.
	t.Run("full queue: 503, nothing kept", func(t *testing.T) {
		post := func() (int, http.Header) {
			resp, err := qc.client.Post(qc.base+"/tiny", "text/plain", strings.NewReader("x"))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode, resp.Header
		}
		if st, _ := post(); st != 200 {
			t.Fatalf("first: %d", st)
		}
		st, h := post()
		if st != http.StatusServiceUnavailable || h.Get("Retry-After") != queueFullRetryAfter {
			t.Fatalf("over max_entries: %d Retry-After %q, want 503 and %s", st, h.Get("Retry-After"), queueFullRetryAfter)
		}
		if list := qc.cli(t, "list"); !regexpMatch(`(?m)^tiny\s+true\s+[01]\s+[01]\s+0\s`, list) {
			t.Errorf("list:\n%s", list)
		}
		if out := qc.cli(t, "purge", "--route", "tiny", "--all"); !strings.Contains(out, `"purged": 1`) {
			t.Errorf("purge --all: %s", out)
		}
		if st, _ := post(); st != 200 {
			t.Errorf("after the purge: %d", st)
		}
	})

	// 4. Reloads under steady traffic: every acknowledged entry is
	// delivered, none answered 2xx twice, and the new deliver handlers
	// apply to what was queued.
	t.Run("reload under steady traffic", func(t *testing.T) {
		stop := make(chan struct{})
		var mu sync.Mutex
		var acked []string
		var broken int // requests cut off by a reload: never acknowledged, the provider retries them
		var wg sync.WaitGroup
		for s := 0; s < 4; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					st, h, err := qc.tryPlain("steady", nil, []byte("steady"))
					mu.Lock()
					switch {
					case err != nil:
						broken++
					case st == 200:
						acked = append(acked, h.Get(QueueIDHeader))
					default:
						t.Errorf("steady accept: %d", st)
					}
					mu.Unlock()
				}
			}()
		}
		for i := 0; i < 4; i++ {
			time.Sleep(300 * time.Millisecond)
			qc.writeConfig(t, queueOpts{hookUp: hookUpAddr, plainUp: plainAddr, deliverExtra: fmt.Sprintf("request_header X-Config v%d", i)})
			out, err := exec.Command(qc.bin, "reload", "--config", qc.cfgPath, "--adapter", "caddyfile", "--address", fmt.Sprintf("127.0.0.1:%d", qc.admin)).CombinedOutput()
			if err != nil {
				t.Errorf("reload %d: %v\n%s", i, err, out)
				break
			}
		}
		time.Sleep(300 * time.Millisecond)
		close(stop)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		if len(acked) < 50 {
			t.Fatalf("only %d accepted during the reloads", len(acked))
		}
		if !waitFor(20*time.Second, func() bool { return plain.allDelivered(acked) }) {
			t.Fatalf("not every acknowledged entry was delivered")
		}
		d := plain.delivered2xx(QueueIDHeader)
		for _, id := range acked {
			if d[id] != 1 {
				t.Errorf("entry %s answered 2xx %d times", id, d[id])
			}
		}
		last := plain.attempts("X-Config", "v3")
		if len(last) == 0 {
			t.Errorf("no delivery went through the last config's deliver handlers")
		}
		t.Logf("%d entries accepted and delivered across 4 reloads (%d requests cut off by the reloads, never acknowledged)", len(acked), broken)
	})
}

func TestQueueRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ./cmd/caddy and runs Caddy and redis-server processes; skipped with -short")
	}
	rd := startRedis(t, freePorts(t, 1)[0])
	bin := buildCaddy(t)
	gate := make(chan struct{})
	up := &queueUp{gate: gate}
	upAddr := listenOn(t, "127.0.0.1:0", up)
	store := fmt.Sprintf("store redis redis://%s {\n\tkey_prefix qtest:\n}", rd.addr)
	a := startQueueCaddy(t, bin, "a", queueOpts{plainUp: upAddr, plainStore: store, deliverExtra: "request_header X-Caddy a"})
	b := startQueueCaddy(t, bin, "b", queueOpts{plainUp: upAddr, plainStore: store, deliverExtra: "request_header X-Caddy b"})

	// Two Caddy processes on one queue: a is killed while its attempts are
	// in flight; b takes them up once their lease (visibility 2s) ends.
	t.Run("two instances, one killed mid-delivery", func(t *testing.T) {
		var ids []string
		for i := 0; i < 24; i++ {
			st, h := a.postPlain(t, "shared", nil, []byte(fmt.Sprint("entry ", i)))
			if st != 200 {
				t.Fatalf("accept %d: %d", i, st)
			}
			ids = append(ids, h.Get(QueueIDHeader))
		}
		arrived := func(c string) int {
			up.mu.Lock()
			defer up.mu.Unlock()
			return up.arrived[c]
		}
		// Both instances' attempts are held by the upstream; kill a while
		// its attempts are in flight (before their 1.8s attempt timeout).
		if !waitFor(10*time.Second, func() bool { return arrived("a") > 0 && arrived("b") > 0 }) {
			t.Fatalf("attempts held: a %d, b %d; want both instances delivering", arrived("a"), arrived("b"))
		}
		killed := time.Now()
		a.p.kill()
		time.Sleep(200 * time.Millisecond)
		up.mu.Lock()
		up.gate = nil
		up.mu.Unlock()
		close(gate)
		if !waitFor(20*time.Second, func() bool { return up.allDelivered(ids) }) {
			t.Fatalf("not every entry delivered after a was killed: %v", up.delivered2xx(QueueIDHeader))
		}
		taken := 0
		for _, id := range ids {
			got := up.attempts(QueueIDHeader, id)
			if got[0].header.Get("X-Caddy") == "a" && got[0].status == 0 && !got[0].at.Before(killed) {
				last := got[len(got)-1]
				if last.header.Get("X-Caddy") != "b" || last.status != 200 {
					t.Errorf("entry %s, cut off in a, ended %d through %s", id, last.status, last.header.Get("X-Caddy"))
				}
				taken++
			}
		}
		if taken == 0 {
			t.Errorf("no entry was in flight in a when it was killed: the test proved nothing")
		}
		t.Logf("%d entries in flight in the killed instance were delivered by the other", taken)
	})

	t.Run("redis down at accept: 503", func(t *testing.T) {
		rd.kill()
		start := time.Now()
		st, _ := b.postPlain(t, "down", nil, []byte("x"))
		if st != http.StatusServiceUnavailable {
			t.Errorf("accept with Redis down: %d, want 503", st)
		}
		if took := time.Since(start); took > 10*time.Second {
			t.Errorf("503 after %v", took)
		}
	})

	t.Run("allkeys-lru refused at provision", func(t *testing.T) {
		lru := startRedis(t, freePorts(t, 1)[0], "--maxmemory-policy", "allkeys-lru")
		cfg := fmt.Sprintf("{\n\tadmin off\n}\nhttp://127.0.0.1:1 {\n\twebhook_queue {\n\t\tstore redis redis://%s\n\t\tdeliver {\n\t\t\trespond 200\n\t\t}\n\t}\n}\n", lru.addr)
		path := filepath.Join(t.TempDir(), "Caddyfile")
		if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(bin, "validate", "--config", path, "--adapter", "caddyfile").CombinedOutput()
		if err == nil || !strings.Contains(string(out), "redis may evict queue entries: maxmemory-policy is") || !strings.Contains(string(out), "allkeys-lru") {
			t.Errorf("validate with allkeys-lru: %v\n%s", err, out)
		}
	})
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }
