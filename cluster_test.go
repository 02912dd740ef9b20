//go:build unix

package webhookverify

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"

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

// buildCaddy builds ./cmd/caddy once for the test.
func buildCaddy(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go not found: %v", err)
	}
	bin := filepath.Join(t.TempDir(), "caddy")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	start := time.Now()
	out, err := exec.CommandContext(ctx, gobin, "build", "-buildvcs=false", "-o", bin, "./cmd/caddy").CombinedOutput()
	if err != nil {
		t.Fatalf("go build ./cmd/caddy: %v\n%s", err, out)
	}
	t.Logf("built ./cmd/caddy in %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// freePorts returns n distinct free loopback ports, none of them a port the
// suite's in-process Caddy uses (picked, but maybe not listened on yet).
func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	var ports []int
	for tries := 0; len(ports) < n && tries < 100; tries++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		if p := l.Addr().(*net.TCPAddr).Port; p != testAdminPort && p != testHTTPPort && p != testHTTPSPort {
			ports = append(ports, p)
		}
	}
	if len(ports) < n {
		t.Fatal("no free ports")
	}
	return ports
}

// syncBuffer collects a process's output.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// proc is a child process in its own process group.
type proc struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // valid once done is closed
}

func startProc(t *testing.T, out io.Writer, env []string, name string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	p := &proc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM to the process group, then SIGKILL after 5s.
func (p *proc) stop() {
	if p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.kill()
	}
}

// kill sends SIGKILL to the process group and waits (at most 10s) for it.
func (p *proc) kill() {
	if p.exited() {
		return
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
}

// caddyInstance is one Caddy process serving /hook and /health.
type caddyInstance struct {
	name   string
	base   string
	log    *syncBuffer
	p      *proc
	client *http.Client
}

const clusterCaddyfile = `{
	admin 127.0.0.1:%[1]d
	auto_https off
	persist_config off
	grace_period 1s
%[2]s
}

http://127.0.0.1:%[3]d {
	bind 127.0.0.1
	handle /health {
		respond "ok %[4]s"
	}
	handle /hook {
		webhook_verify standard_webhooks {
			secret %[5]s
			replay {
%[6]s
			}
		}
		reverse_proxy %[7]s
	}
}
`

// startCaddy starts `caddy run` with global options globalExtra and the
// replay block replayBody, in front of upstream, and waits until it serves.
func startCaddy(t *testing.T, bin, name, globalExtra, replayBody, upstreamAddr string) *caddyInstance {
	t.Helper()
	ports := freePorts(t, 2)
	dir := filepath.Join(t.TempDir(), name)
	for _, d := range []string{"home", "data", "config"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	cfg := fmt.Sprintf(clusterCaddyfile, ports[0], indent(globalExtra, 1), ports[1], name, swSecret, indent(replayBody, 4), upstreamAddr)
	cfgPath := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(),
		"HOME="+filepath.Join(dir, "home"),
		"XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
	)
	c := &caddyInstance{
		name:   name,
		base:   fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
		log:    new(syncBuffer),
		client: &http.Client{Timeout: 20 * time.Second},
	}
	c.p = startProc(t, c.log, env, bin, "run", "--config", cfgPath, "--adapter", "caddyfile")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("caddy %s log:\n%s", name, c.log.String())
		}
	})

	deadline := time.Now().Add(30 * time.Second)
	for {
		if c.p.exited() {
			t.Fatalf("caddy %s exited: %v\nconfig:\n%s\nlog:\n%s", name, c.p.err, cfg, c.log.String())
		}
		resp, err := c.client.Get(c.base + "/health")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 && string(b) == "ok "+name {
				return c
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy %s not serving after 30s (last error %v)\nlog:\n%s", name, err, c.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func indent(s string, tabs int) string {
	if s == "" {
		return ""
	}
	pre := strings.Repeat("\t", tabs)
	return pre + strings.ReplaceAll(s, "\n", "\n"+pre)
}

// send posts a freshly signed copy of delivery id to /hook.
func (c *caddyInstance) send(t *testing.T, id string, extra map[string]string) (int, string, http.Header) {
	return c.postHook(t, signedHeaders(id, extra))
}

func (c *caddyInstance) postHook(t *testing.T, headers map[string]string) (int, string, http.Header) {
	req, err := http.NewRequest("POST", c.base+"/hook", bytes.NewReader(clusterBody))
	if err != nil {
		t.Error(err)
		return 0, "", nil
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := c.client.Do(req)
	if err != nil {
		t.Errorf("POST via %s: %v", c.name, err)
		return 0, "", nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// waitLog returns the first JSON log entry that match accepts, waiting at
// most d for it to be written.
func (c *caddyInstance) waitLog(t *testing.T, d time.Duration, match func(map[string]any) bool) map[string]any {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		sc := bufio.NewScanner(strings.NewReader(c.log.String()))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var e map[string]any
			if json.Unmarshal(sc.Bytes(), &e) == nil && match(e) {
				return e
			}
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// redisProc is a redis-server on a loopback port, without persistence.
type redisProc struct {
	addr string
	port int
	out  *syncBuffer
	p    *proc
}

// startRedis starts redis-server on port and waits until it answers PING.
// Without redis-server it skips the test, or fails it when
// WEBHOOK_VERIFY_REQUIRE_REDIS=1.
func startRedis(t *testing.T, port int, extra ...string) *redisProc {
	t.Helper()
	name := os.Getenv("WEBHOOK_VERIFY_REDIS_SERVER") // e.g. valkey-server
	if name == "" {
		name = "redis-server"
	}
	bin, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("WEBHOOK_VERIFY_REQUIRE_REDIS") == "1" {
			t.Fatalf("%s not found and WEBHOOK_VERIFY_REQUIRE_REDIS=1: %v", name, err)
		}
		t.Skipf("%s not found (apt-get install redis-server): %v", name, err)
	}
	r := &redisProc{addr: fmt.Sprintf("127.0.0.1:%d", port), port: port, out: new(syncBuffer)}
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir(), "--daemonize", "no"}, extra...)
	r.p = startProc(t, r.out, os.Environ(), bin, args...)
	deadline := time.Now().Add(15 * time.Second)
	for {
		reply, err := redisDo(r.addr, "PING")
		if err == nil && reply == "PONG" {
			return r
		}
		if r.p.exited() || time.Now().After(deadline) {
			t.Fatalf("redis-server not answering on %s (%v, %v)\n%s", r.addr, reply, err, r.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// kill stops redis-server abruptly (SIGKILL), as a crash would.
func (r *redisProc) kill() { r.p.kill() }

// redisDo sends one command over a fresh connection (RESP) and returns the
// reply: a string, an int64, nil or a []any.
func redisDo(addr string, args ...string) (any, error) {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return nil, err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "*%d\r\n", len(args))
	for _, a := range args {
		fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
	}
	if _, err := io.WriteString(conn, b.String()); err != nil {
		return nil, err
	}
	return readRESP(bufio.NewReader(conn), 0)
}

func readRESP(r *bufio.Reader, depth int) (any, error) {
	if depth > 4 {
		return nil, errors.New("resp: nested too deep")
	}
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("resp: empty line")
	}
	switch line[0] {
	case '+':
		return line[1:], nil
	case '-':
		return nil, errors.New("redis: " + line[1:])
	case ':':
		return strconv.ParseInt(line[1:], 10, 64)
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		if n > 1<<20 {
			return nil, errors.New("resp: bulk string too long")
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < 0 {
			return nil, err
		}
		if n > 1<<16 {
			return nil, errors.New("resp: array too long")
		}
		out := make([]any, 0, n)
		for i := 0; i < n; i++ {
			v, err := readRESP(r, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	return nil, fmt.Errorf("resp: unexpected reply %q", line)
}

// TestClusterRedisNative runs two real Caddy processes against one real
// redis-server through the native Redis replay store (`replay { redis
// ... }`): copies sent to both are forwarded once, a retry after an
// upstream failure is forwarded, entries expire in Redis (PTTL), Redis
// killed means 503 and nothing forwarded, Redis back means forwarded once
// without a reload, and a Caddy started while Redis is down starts, warns
// and answers 503 until Redis is there. WEBHOOK_VERIFY_REDIS_SERVER names
// another server binary (valkey-server).
func TestClusterRedisNative(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ./cmd/caddy and runs Caddy processes; skipped with -short")
	}
	rd := startRedis(t, freePorts(t, 1)[0])
	bin := buildCaddy(t)
	up := &upstream{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	block := fmt.Sprintf("ttl 10m\nin_flight_ttl 1m\nredis redis://%s/0 {\n\tkey_prefix wvn:\n\ttimeout 1s\n}", rd.addr)
	a := startCaddy(t, bin, "a", "", block, srv.Listener.Addr().String())
	b := startCaddy(t, bin, "b", "", block, srv.Listener.Addr().String())

	ids := clusterScenarios(t, a, b, up)
	reply, err := redisDo(rd.addr, "KEYS", "*")
	if err != nil {
		t.Fatalf("redis KEYS: %v", err)
	}
	keys, _ := reply.([]any)
	if len(keys) != len(ids) {
		t.Errorf("redis holds %d keys, want %d (one per accepted delivery): %v", len(keys), len(ids), keys)
	}
	hashed := regexp.MustCompile(`^wvn:[0-9a-f]{64}$`)
	for _, k := range keys {
		s, _ := k.(string)
		if !hashed.MatchString(s) {
			t.Errorf("redis key %q is not wvn:<64 hex digits>", s)
			continue
		}
		if v, err := redisDo(rd.addr, "GET", s); err != nil || v != "a" {
			t.Errorf("GET %s = %v, %v; want a (accepted)", s, v, err)
		}
		pttl, err := redisDo(rd.addr, "PTTL", s)
		ms, _ := pttl.(int64)
		if err != nil || ms <= 0 || ms > (10*time.Minute).Milliseconds() {
			t.Errorf("PTTL %s = %v, %v; want 0 < ttl <= 10m", s, pttl, err)
		}
	}

	t.Run("unverified requests never touch redis", func(t *testing.T) {
		if _, err := redisDo(rd.addr, "CONFIG", "RESETSTAT"); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < 5; i++ {
			h := signedHeaders(uniqueID("forged"), nil)
			h["webhook-signature"] = "v1," + base64.StdEncoding.EncodeToString(make([]byte, 32))
			if st, _, _ := []*caddyInstance{a, b}[i%2].postHook(t, h); st != http.StatusUnauthorized {
				t.Errorf("forged copy %d: status %d, want 401", i, st)
			}
		}
		info, err := redisDo(rd.addr, "INFO", "commandstats")
		if err != nil {
			t.Fatal(err)
		}
		s, ok := info.(string)
		if !ok || !strings.Contains(s, "# Commandstats") {
			t.Fatalf("INFO commandstats = %v", info)
		}
		for _, cmd := range []string{"cmdstat_set:", "cmdstat_get:", "cmdstat_evalsha:", "cmdstat_eval:"} {
			if strings.Contains(s, cmd) {
				t.Errorf("forged requests reached redis: %s in\n%s", cmd, s)
			}
		}
	})

	t.Run("in-flight entry expires in redis", func(t *testing.T) {
		id := uniqueID("pttl")
		done := make(chan int, 1)
		go func() {
			st, _, _ := a.send(t, id, map[string]string{"X-Test-Delay": "1s"})
			done <- st
		}()
		deadline := time.Now().Add(10 * time.Second)
		for forwarded(up, id) == 0 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		reply, _ := redisDo(rd.addr, "KEYS", "*")
		all, _ := reply.([]any)
		found := false
		for _, k := range all {
			s, _ := k.(string)
			v, _ := redisDo(rd.addr, "GET", s)
			if str, _ := v.(string); strings.HasPrefix(str, "f") {
				found = true
				pttl, _ := redisDo(rd.addr, "PTTL", s)
				if ms, _ := pttl.(int64); ms <= 0 || ms > time.Minute.Milliseconds() {
					t.Errorf("in-flight PTTL %v, want 0 < ttl <= 1m (in_flight_ttl)", pttl)
				}
			}
		}
		if !found {
			t.Error("no in-flight entry in redis while a delivery was being handled")
		}
		if st := <-done; st != 200 {
			t.Errorf("delivery: status %d, want 200", st)
		}
	})

	t.Run("outage fails closed with 503, recovery without a reload", func(t *testing.T) {
		rd.kill()
		id := uniqueID("native-outage")
		for _, c := range []*caddyInstance{a, b} {
			start := time.Now()
			if st, body, _ := c.send(t, id, nil); st != http.StatusServiceUnavailable {
				t.Errorf("%s: status %d %q with Redis down, want 503", c.name, st, body)
			}
			t.Logf("%s: 503 after %v with Redis down", c.name, time.Since(start).Round(time.Millisecond))
		}
		if n := forwarded(up, id); n != 0 {
			t.Fatalf("upstream saw %d copies while Redis was down, want 0", n)
		}
		if line := a.waitLog(t, 5*time.Second, func(e map[string]any) bool {
			return e["result"] == "replay_unavailable" && e["delivery_id"] == id
		}); line == nil {
			t.Errorf("no replay_unavailable log line for %s", id)
		}

		// A Caddy started while Redis is down starts, and warns.
		c := startCaddy(t, bin, "c", "", block, srv.Listener.Addr().String())
		if c.waitLog(t, 5*time.Second, func(e map[string]any) bool {
			msg, _ := e["msg"].(string)
			return e["level"] == "warn" && strings.Contains(msg, "redis does not answer")
		}) == nil {
			t.Errorf("no warning from a Caddy started with Redis down; log:\n%s", c.log.String())
		}
		if st, _, _ := c.send(t, id, nil); st != http.StatusServiceUnavailable {
			t.Errorf("c: status %d with Redis down, want 503", st)
		}

		rd = startRedis(t, rd.port)
		deadline := time.Now().Add(15 * time.Second)
		st, body := 0, ""
		for {
			st, body, _ = c.send(t, id, nil)
			if st != http.StatusServiceUnavailable || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if st != http.StatusOK || strings.Contains(body, "duplicate") {
			t.Fatalf("retry after Redis came back: status %d %q, want forwarded", st, body)
		}
		for _, x := range []*caddyInstance{a, b} {
			if st, body, _ := x.send(t, id, nil); st != http.StatusOK || !strings.Contains(body, "duplicate") {
				t.Errorf("copy via %s after recovery: status %d %q, want 200 duplicate", x.name, st, body)
			}
		}
		if n := forwarded(up, id); n != 1 {
			t.Errorf("upstream saw %d copies, want 1", n)
		}
		if strings.Contains(a.log.String()+c.log.String(), strings.TrimPrefix(swSecret, "whsec_")) {
			t.Error("a log contains the secret")
		}
	})
}

// TestClusterRedisNativeACL: a Redis user that may not SET gets 503 for
// every copy, and nothing is forwarded; the password given through a
// placeholder never shows in the log.
func TestClusterRedisNativeACL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds ./cmd/caddy and runs Caddy processes; skipped with -short")
	}
	rd := startRedis(t, freePorts(t, 1)[0])
	const pw = "wv-acl-pass-8c1f"
	if _, err := redisDo(rd.addr, "ACL", "SETUSER", "wvnoset", "on", ">"+pw, "~*", "&*", "+@all", "-set"); err != nil {
		t.Fatalf("redis ACL SETUSER: %v", err)
	}
	t.Setenv("WV_TEST_REDIS_ACL_PW", pw)
	bin := buildCaddy(t)
	up := &upstream{}
	srv := httptest.NewServer(up)
	t.Cleanup(srv.Close)
	block := fmt.Sprintf("redis redis://wvnoset@%s {\n\tpassword {env.WV_TEST_REDIS_ACL_PW}\n\ttimeout 1s\n}", rd.addr)
	c := startCaddy(t, bin, "acl", "", block, srv.Listener.Addr().String())
	id := uniqueID("native-noset")
	for i := 0; i < 2; i++ {
		if st, body, _ := c.send(t, id, nil); st != http.StatusServiceUnavailable {
			t.Errorf("copy %d with SET refused: status %d %q, want 503", i+1, st, body)
		}
	}
	if n := forwarded(up, id); n != 0 {
		t.Fatalf("upstream saw %d copies while Redis refused SET, want 0", n)
	}
	if line := c.waitLog(t, 5*time.Second, func(e map[string]any) bool {
		return e["result"] == "replay_unavailable" && e["delivery_id"] == id
	}); line == nil {
		t.Errorf("no replay_unavailable log line; log:\n%s", c.log.String())
	}
	if strings.Contains(c.log.String(), pw) {
		t.Error("the log contains the Redis password")
	}
}

// TestRedisReplayTLS provisions the native Redis store against a real
// redis-server that speaks TLS only on its TLS port (a CA and a server
// certificate made here for the name redis.test): with `tls { ca,
// server_name }` the store works; without the CA, or with another server
// name, the certificate is refused and the store is unavailable (503).
func TestRedisReplayTLS(t *testing.T) {
	dir := t.TempDir()
	caPEM, certPEM, keyPEM := testTLSFiles(t, "redis.test")
	files := map[string][]byte{"ca.pem": caPEM, "cert.pem": certPEM, "key.pem": keyPEM}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	ports := freePorts(t, 2)
	startRedis(t, ports[0], "--tls-port", strconv.Itoa(ports[1]),
		"--tls-cert-file", filepath.Join(dir, "cert.pem"), "--tls-key-file", filepath.Join(dir, "key.pem"),
		"--tls-ca-cert-file", filepath.Join(dir, "ca.pem"), "--tls-auth-clients", "no")
	url := fmt.Sprintf("rediss://127.0.0.1:%d", ports[1])
	for _, tc := range []struct {
		name string
		tls  *RedisTLSConfig
		ok   bool
	}{
		{"ca and server name", &RedisTLSConfig{CA: filepath.Join(dir, "ca.pem"), ServerName: "redis.test"}, true},
		{"system roots only", &RedisTLSConfig{ServerName: "redis.test"}, false},
		{"wrong server name", &RedisTLSConfig{CA: filepath.Join(dir, "ca.pem"), ServerName: "other.test"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := &Handler{logger: caddy.Log()}
			h.replay = new(replayState)
			rc := &RedisReplayConfig{URLs: []string{url}, TLS: tc.tls, Timeout: caddy.Duration(2 * time.Second)}
			if err := h.provisionRedisReplay(h.replay, rc); err != nil {
				t.Fatal(err)
			}
			defer h.Cleanup()
			k := replay.Key("tls", []byte(tc.name))
			st, tok, err := h.replay.store.Reserve(context.Background(), k, time.Minute)
			if !tc.ok {
				if !errors.Is(err, replay.ErrUnavailable) {
					t.Fatalf("Reserve = %v, %v; want ErrUnavailable (certificate refused)", st, err)
				}
				return
			}
			if err != nil || st != replay.New {
				t.Fatalf("Reserve over TLS = %v, %v", st, err)
			}
			if err := h.replay.store.Commit(context.Background(), k, tok, time.Hour); err != nil {
				t.Fatal(err)
			}
			if st, _, err := h.replay.store.Reserve(context.Background(), k, time.Minute); err != nil || st != replay.Accepted {
				t.Fatalf("second Reserve over TLS = %v, %v; want accepted", st, err)
			}
		})
	}
}

// testTLSFiles makes a CA and a server certificate for name (PEM).
func testTLSFiles(t *testing.T, name string) (caPEM, certPEM, keyPEM []byte) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test redis ca"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	srvTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: name}, DNSNames: []string{name},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTmpl, caTmpl, &srvKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srvDER}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER})
}
