//go:build unix

package webhookverify

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/webhookverify/caddy-webhook-verify/replay"
)

// Cluster tests: two real Caddy processes (the custom build of ./cmd/caddy)
// share one replay cache through Caddy's storage, first a file_system
// directory, then a real redis-server through the caddy.storage.redis module
// (github.com/pberkel/caddy-storage-redis). A delivery sent to both is
// forwarded once, and when Redis goes away a verified delivery gets 503
// (fail closed) without reaching the upstream, and the reason is logged.
//
// Each pair runs one instance with the storage given inline
// (`replay { storage <module> {...} }`) and the other with the global
// `storage` option and a bare `replay { storage }`. Every instance has its
// own HOME and XDG directories, so had either form fallen back to memory
// or to Caddy's default storage, the instances would not share entries and
// the upstream would see a copy twice.
//
// The tests need redis-server (Debian package redis-server; .ci/run installs
// it). Without it the Redis part is skipped, unless
// WEBHOOK_VERIFY_REQUIRE_REDIS=1, which makes it fail.

func TestCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ./cmd/caddy and runs Caddy processes; skipped with -short")
	}
	bin := buildCaddy(t)

	t.Run("file_system", func(t *testing.T) {
		root := t.TempDir()
		up := &upstream{}
		srv := httptest.NewServer(up)
		t.Cleanup(srv.Close)
		storage := fmt.Sprintf("file_system {\n\troot %q\n}", root)
		a := startCaddy(t, bin, "a", "", "storage "+storage, srv.Listener.Addr().String())
		b := startCaddy(t, bin, "b", "storage "+storage, "storage", srv.Listener.Addr().String())

		ids := clusterScenarios(t, a, b, up)
		entries, err := filepath.Glob(filepath.Join(root, "webhook_verify", "replay", "??", "*"))
		if err != nil {
			t.Fatal(err)
		}
		checkEntries(t, entries, ids)
	})

	t.Run("redis", func(t *testing.T) {
		rd := startRedis(t, freePorts(t, 1)[0])
		up := &upstream{}
		srv := httptest.NewServer(up)
		t.Cleanup(srv.Close)
		// timeout: go-redis dial/read/write timeout in seconds.
		storage := fmt.Sprintf("redis {\n\taddress %s\n\tkey_prefix wvtest\n\ttimeout 2\n}", rd.addr)
		a := startCaddy(t, bin, "a", "", "storage "+storage, srv.Listener.Addr().String())
		b := startCaddy(t, bin, "b", "storage "+storage, "storage", srv.Listener.Addr().String())

		ids := clusterScenarios(t, a, b, up)
		reply, err := redisDo(rd.addr, "KEYS", "wvtest/webhook_verify/replay/??/*")
		if err != nil {
			t.Fatalf("redis KEYS: %v", err)
		}
		keys, _ := reply.([]any)
		var entries []string
		for _, k := range keys {
			s, _ := k.(string)
			entries = append(entries, s)
		}
		checkEntries(t, entries, ids)

		t.Run("outage fails closed with 503 and is logged", func(t *testing.T) {
			rd.kill()
			id := uniqueID("outage")
			// Both at once; each answer is bounded by the replay store's
			// step timeout (replay.DefaultStorageTimeout, 5s). With Redis
			// down it comes after about 4s: go-redis retries the dial.
			//
			// Note: caddy-storage-redis v1.8.1 reports a failed GET as
			// fs.ErrNotExist (loadStorageData: `data == nil ||
			// errors.Is(err, redis.Nil)`), so the 503 here comes from the
			// failed lock, not from the failed load. A Redis that refuses
			// reads but accepts writes is caught by the store reading its
			// reservation back (TestClusterRedisReadsRefused).
			var wg sync.WaitGroup
			for _, c := range []*caddyInstance{a, b} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					start := time.Now()
					st, body, hdr := c.send(t, id, nil)
					took := time.Since(start)
					if st != http.StatusServiceUnavailable || hdr.Get("Retry-After") == "" {
						t.Errorf("%s: status %d %q (Retry-After %q) with Redis down, want 503 with Retry-After", c.name, st, body, hdr.Get("Retry-After"))
					}
					if took > replay.DefaultStorageTimeout+3*time.Second {
						t.Errorf("%s: 503 took %v, want it bounded by the storage timeout", c.name, took)
					}
					t.Logf("%s: %d after %v with Redis down", c.name, st, took.Round(time.Millisecond))
				}()
			}
			wg.Wait()
			if n := forwarded(up, id); n != 0 {
				t.Fatalf("upstream saw %d copies while the replay cache was down, want 0", n)
			}
			// Verification still comes first: a forged copy is 401, not 503.
			h := signedHeaders(id, nil)
			h["webhook-signature"] = "v1," + base64.StdEncoding.EncodeToString(make([]byte, 32))
			if st, _, _ := a.postHook(t, h); st != http.StatusUnauthorized {
				t.Errorf("forged copy with Redis down: status %d, want 401", st)
			}
			for _, c := range []*caddyInstance{a, b} {
				line := c.waitLog(t, 5*time.Second, func(e map[string]any) bool {
					return e["logger"] == "http.handlers.webhook_verify" && e["msg"] == "webhook replay store unavailable" &&
						e["result"] == "replay_unavailable" && e["delivery_id"] == id
				})
				if line == nil {
					t.Errorf("%s: no replay_unavailable log line for %s; log:\n%s", c.name, id, c.log.String())
					continue
				}
				reason, _ := line["reason"].(string)
				if !strings.Contains(reason, "unavailable") || line["level"] != "error" {
					t.Errorf("%s: log line %v: want level error (an operator's problem, not a rejection) and a reason naming the unavailable cache", c.name, line)
				}
				if strings.Contains(c.log.String(), strings.TrimPrefix(swSecret, "whsec_")) {
					t.Errorf("%s: the log contains the secret", c.name)
				}
				// The gate answered its 503 itself: no ERROR line of Caddy
				// with the request's headers.
				for _, l := range strings.Split(c.log.String(), "\n") {
					if strings.Contains(l, `"logger":"http.log.error`) && strings.Contains(l, id) {
						t.Errorf("%s: Caddy logged the outage's 503 with the request: %.300s", c.name, l)
					}
				}
			}

			// Redis comes back (empty: no persistence): the provider's
			// retry of the refused delivery goes through, once.
			rd = startRedis(t, rd.port)
			deadline := time.Now().Add(15 * time.Second)
			st, body := 0, ""
			for {
				st, body, _ = a.send(t, id, nil)
				if st != http.StatusServiceUnavailable || time.Now().After(deadline) {
					break
				}
				time.Sleep(200 * time.Millisecond)
			}
			if st != http.StatusOK || strings.Contains(body, "duplicate") {
				t.Fatalf("retry after Redis came back: status %d %q, want forwarded", st, body)
			}
			if st, body, _ := b.send(t, id, nil); st != http.StatusOK || !strings.Contains(body, "duplicate") {
				t.Errorf("copy to the other instance after recovery: status %d %q, want 200 duplicate", st, body)
			}
			if n := forwarded(up, id); n != 1 {
				t.Errorf("upstream saw %d copies, want 1", n)
			}
		})
	})
}

// TestClusterRedisReadsRefused runs Caddy against a real Redis whose user
// may write but not read (an ACL without GET). caddy-storage-redis v1.8.1
// reports such a failed read as "not found"; the replay store must notice
// that its reservation cannot be read back and refuse with 503 rather than
// forward every copy.
func TestClusterRedisReadsRefused(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ./cmd/caddy and runs Caddy processes; skipped with -short")
	}
	rd := startRedis(t, freePorts(t, 1)[0])
	if _, err := redisDo(rd.addr, "ACL", "SETUSER", "wv", "on", ">wv-pass", "~*", "&*", "+@all", "-get"); err != nil {
		t.Fatalf("redis ACL SETUSER: %v", err)
	}
	bin := buildCaddy(t)
	up := &upstream{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	storage := fmt.Sprintf("redis {\n\taddress %s\n\tusername wv\n\tpassword wv-pass\n\tkey_prefix wvacl\n\ttimeout 2\n}", rd.addr)
	c := startCaddy(t, bin, "acl", "", "storage "+storage, srv.Listener.Addr().String())
	id := uniqueID("noget")
	for i := 0; i < 2; i++ {
		if st, body, _ := c.send(t, id, nil); st != http.StatusServiceUnavailable {
			t.Errorf("copy %d with reads refused: status %d %q, want 503", i+1, st, body)
		}
	}
	if n := forwarded(up, id); n != 0 {
		t.Fatalf("upstream saw %d copies while the store could not read, want 0", n)
	}
}

// clusterScenarios sends copies of deliveries to both instances and checks
// that the upstream sees each once (twice after an upstream failure). It
// returns the ids it accepted.
func clusterScenarios(t *testing.T, a, b *caddyInstance, up *upstream) []string {
	t.Helper()
	var ids []string

	t.Run("sequential copies", func(t *testing.T) {
		id := uniqueID("seq")
		ids = append(ids, id)
		if st, body, _ := a.send(t, id, nil); st != 200 || strings.Contains(body, "duplicate") {
			t.Fatalf("first copy via a: status %d %q, want forwarded", st, body)
		}
		for _, c := range []*caddyInstance{b, a} {
			if st, body, _ := c.send(t, id, nil); st != 200 || !strings.Contains(body, "duplicate") {
				t.Errorf("copy via %s: status %d %q, want 200 duplicate", c.name, st, body)
			}
		}
		if n := forwarded(up, id); n != 1 {
			t.Fatalf("upstream saw %d copies, want 1", n)
		}
	})

	t.Run("retry after upstream 500 via the other instance", func(t *testing.T) {
		id := uniqueID("retry")
		ids = append(ids, id)
		if st, _, _ := a.send(t, id, map[string]string{"X-Test-Status": "500"}); st != 500 {
			t.Fatalf("first copy via a: status %d, want the upstream's 500", st)
		}
		if st, body, _ := b.send(t, id, nil); st != 200 || strings.Contains(body, "duplicate") {
			t.Fatalf("retry via b: status %d %q, want forwarded", st, body)
		}
		if st, body, _ := a.send(t, id, nil); st != 200 || !strings.Contains(body, "duplicate") {
			t.Errorf("third copy via a: status %d %q, want 200 duplicate", st, body)
		}
		if n := forwarded(up, id); n != 2 {
			t.Fatalf("upstream saw %d copies, want 2", n)
		}
	})

	t.Run("copy while in flight on the other instance gets 409", func(t *testing.T) {
		id := uniqueID("inflight")
		ids = append(ids, id)
		first := make(chan int, 1)
		go func() {
			st, _, _ := a.send(t, id, map[string]string{"X-Test-Delay": "1500ms"})
			first <- st
		}()
		deadline := time.Now().Add(10 * time.Second)
		for forwarded(up, id) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		st, _, hdr := b.send(t, id, nil)
		if st != http.StatusConflict || hdr.Get("Retry-After") == "" {
			t.Errorf("copy via b while in flight: status %d, Retry-After %q; want 409 with Retry-After", st, hdr.Get("Retry-After"))
		}
		if st := <-first; st != 200 {
			t.Errorf("first copy via a: status %d, want 200", st)
		}
		if st, body, _ := b.send(t, id, nil); st != 200 || !strings.Contains(body, "duplicate") {
			t.Errorf("copy via b after the first finished: status %d %q, want 200 duplicate", st, body)
		}
		if n := forwarded(up, id); n != 1 {
			t.Fatalf("upstream saw %d copies, want 1", n)
		}
	})

	t.Run("concurrent copies to both instances", func(t *testing.T) {
		id := uniqueID("burst")
		ids = append(ids, id)
		const n = 10
		type result struct {
			inst, body string
			status     int
		}
		results := make(chan result, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := 0; i < n; i++ {
			c := []*caddyInstance{a, b}[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				st, body, _ := c.send(t, id, map[string]string{"X-Test-Delay": "500ms"})
				results <- result{c.name, body, st}
			}()
		}
		close(start)
		wg.Wait()
		close(results)
		seen := map[string]int{}
		fwd := 0
		for r := range results {
			key := strconv.Itoa(r.status)
			switch {
			case r.status == 200 && strings.Contains(r.body, "duplicate"):
				key = "200-duplicate"
			case r.status == 200:
				fwd++
			case r.status == 409:
			default:
				t.Errorf("copy via %s: status %d %q, want 200 or 409", r.inst, r.status, r.body)
			}
			seen[key]++
		}
		if got := forwarded(up, id); got != 1 || fwd != 1 {
			t.Fatalf("upstream saw %d copies and %d copies were answered by it, want 1 (statuses %v)", got, fwd, seen)
		}
		t.Logf("statuses of %d concurrent copies: %v", n, seen)
	})
	return ids
}

// checkEntries checks that the shared storage holds one hashed entry per
// accepted delivery, with no delivery id in clear.
func checkEntries(t *testing.T, entries, ids []string) {
	t.Helper()
	hashed := regexp.MustCompile(`/[0-9a-f]{2}/[0-9a-f]{64}$`)
	for _, e := range entries {
		if !hashed.MatchString(filepath.ToSlash(e)) {
			t.Errorf("storage entry %q is not <shard>/<64 hex digits>", e)
		}
	}
	if len(entries) != len(ids) {
		t.Errorf("shared storage holds %d replay entries, want %d (one per delivery): %v", len(entries), len(ids), entries)
	}
}

var idSeq struct {
	sync.Mutex
	n int
}

func uniqueID(kind string) string {
	idSeq.Lock()
	defer idSeq.Unlock()
	idSeq.n++
	return fmt.Sprintf("msg_cluster_%s_%d_%d", kind, time.Now().UnixNano(), idSeq.n)
}

// forwarded counts the copies of delivery id the upstream received.
func forwarded(up *upstream, id string) int {
	n := 0
	for _, r := range up.requests("/hook") {
		if r.header.Get("Webhook-Id") == id {
			n++
		}
	}
	return n
}

var clusterBody = []byte(`{"type":"invoice.paid","data":{"id":"in_1"}}`)

// signedHeaders signs clusterBody as delivery id now (a fresh timestamp and
// signature per copy, as a provider's retry would have).
func signedHeaders(id string, extra map[string]string) map[string]string {
	ts := time.Now().Unix()
	h := map[string]string{
		"webhook-id":        id,
		"webhook-timestamp": strconv.FormatInt(ts, 10),
		"webhook-signature": signSW(swSecret, id, ts, clusterBody),
		"Content-Type":      "application/json",
	}
	for k, v := range extra {
		h[k] = v
	}
	return h
}
