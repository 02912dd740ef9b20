//go:build unix

package webhookverify

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The processes of the webhook_queue tests: a test app behind the queue, and
// the built ./cmd/caddy with the queue in front of it (see
// queue_integration_test.go).

// queueUp is a test app behind the queue. It records every attempt, and
// answers by the request's X-Test-* headers (not signed; the queue keeps
// them): X-Test-Fail: n answers 500 to the first n attempts of an entry,
// X-Test-Status: s answers s, X-Test-Retry-After sets Retry-After on the
// failures. healthy overrides them all with 200.
type queueUp struct {
	mu      sync.Mutex
	got     []queueGot
	healthy bool
	seen    map[string]int // attempts per entry id
	gate    chan struct{}  // when set, attempts wait until it is closed
	arrived map[string]int // attempts arrived (answered or not) by X-Caddy
}

type queueGot struct {
	method, uri, host string
	header            http.Header
	body              []byte
	status            int
	at                time.Time
}

func (u *queueUp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	u.mu.Lock()
	gate := u.gate
	if u.arrived == nil {
		u.arrived = map[string]int{}
	}
	u.arrived[r.Header.Get("X-Caddy")]++
	u.mu.Unlock()
	aborted := false
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			aborted = true // the Caddy that sent it died
		}
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.seen == nil {
		u.seen = map[string]int{}
	}
	id := r.Header.Get(QueueIDHeader)
	u.seen[id]++
	status := http.StatusOK
	if n, err := strconv.Atoi(r.Header.Get("X-Test-Fail")); err == nil && u.seen[id] <= n {
		status = http.StatusInternalServerError
	}
	if s, err := strconv.Atoi(r.Header.Get("X-Test-Status")); err == nil {
		status = s
	}
	if u.healthy {
		status = http.StatusOK
	}
	if aborted {
		status = 0
	}
	if status != http.StatusOK {
		if ra := r.Header.Get("X-Test-Retry-After"); ra != "" {
			w.Header().Set("Retry-After", ra)
		}
	}
	u.got = append(u.got, queueGot{r.Method, r.RequestURI, r.Host, r.Header.Clone(), b, status, time.Now()})
	w.WriteHeader(status)
}

func (u *queueUp) setHealthy(v bool) {
	u.mu.Lock()
	u.healthy = v
	u.mu.Unlock()
}

// attempts returns the attempts recorded whose header name has value v.
func (u *queueUp) attempts(name, v string) []queueGot {
	u.mu.Lock()
	defer u.mu.Unlock()
	var out []queueGot
	for _, g := range u.got {
		if g.header.Get(name) == v {
			out = append(out, g)
		}
	}
	return out
}

// delivered2xx counts, per value of header name, the attempts answered 2xx.
func (u *queueUp) delivered2xx(name string) map[string]int {
	u.mu.Lock()
	defer u.mu.Unlock()
	m := map[string]int{}
	for _, g := range u.got {
		if g.status/100 == 2 {
			m[g.header.Get(name)]++
		}
	}
	return m
}

// allDelivered reports whether every entry id was answered 2xx.
func (u *queueUp) allDelivered(ids []string) bool {
	d := u.delivered2xx(QueueIDHeader)
	for _, id := range ids {
		if d[id] == 0 {
			return false
		}
	}
	return true
}

// listenOn starts serving h on addr (a port picked earlier and left free)
// and returns the address it listens on.
func listenOn(t *testing.T, addr string, h http.Handler) string {
	t.Helper()
	var l net.Listener
	var err error
	for i := 0; i < 50; i++ {
		if l, err = net.Listen("tcp", addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen %s: %v", addr, err)
	}
	srv := &http.Server{Handler: h}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l.Addr().String()
}

const queueCaddyfile = `{
	admin 127.0.0.1:%[1]d
	auto_https off
	persist_config off
	grace_period 1s
	log {
		level DEBUG
	}
}

http://127.0.0.1:%[2]d {
	bind 127.0.0.1
	handle /health {
		respond "ok %[3]s"
	}
	handle /hook {
		webhook_verify standard_webhooks {
			secret %[4]s
		}
		webhook_queue {
			name main
			backoff 100ms 500ms
			visibility 2s
			deliver {
				reverse_proxy %[5]s {
					header_up X-Verified-Id {http.webhook_verify.id}
					header_up X-Verified-Provider {http.webhook_verify.provider}
				}
			}
		}
	}
	handle /tiny {
		webhook_queue {
			name tiny
			max_entries 1
			backoff 1h 1h
			deliver {
				reverse_proxy 127.0.0.1:9
			}
		}
	}
	handle /plain/* {
		webhook_queue {
			name plain
%[8]s
			retry 5 1h
			backoff 50ms 200ms
			visibility 2s
			concurrency 8
			deliver {
%[6]s
				reverse_proxy %[7]s
			}
		}
	}
}
`

// queueCaddy is a Caddy process with its own data directory, which a
// restart keeps.
type queueCaddy struct {
	*caddyInstance
	bin, dir, cfgPath string
	admin             int
	env               []string
	root              *testing.T // owns the processes (a restart in a subtest outlives it)
	port              int
}

// queueOpts shape the config: hookUp is the upstream of /hook, plainUp
// that of /plain, deliverExtra more handlers in plain's deliver, plainStore
// plain's store line (default: the file store).
type queueOpts struct {
	hookUp, plainUp, deliverExtra, plainStore string
}

// startQueueCaddy writes the config and starts Caddy on it.
func startQueueCaddy(t *testing.T, bin, name string, o queueOpts) *queueCaddy {
	t.Helper()
	ports := freePorts(t, 2)
	dir := filepath.Join(t.TempDir(), name)
	for _, d := range []string{"home", "data", "config"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	qc := &queueCaddy{bin: bin, dir: dir, admin: ports[0], cfgPath: filepath.Join(dir, "Caddyfile"), root: t}
	qc.env = append(os.Environ(),
		"HOME="+filepath.Join(dir, "home"),
		"XDG_DATA_HOME="+filepath.Join(dir, "data"),
		"XDG_CONFIG_HOME="+filepath.Join(dir, "config"),
	)
	qc.port = ports[1]
	qc.caddyInstance = &caddyInstance{name: name, base: fmt.Sprintf("http://127.0.0.1:%d", ports[1]), client: &http.Client{Timeout: 20 * time.Second}}
	qc.writeConfig(t, o)
	qc.start(t)
	return qc
}

func (qc *queueCaddy) writeConfig(t *testing.T, o queueOpts) string {
	t.Helper()
	if o.hookUp == "" {
		o.hookUp = "127.0.0.1:9" // discard: nothing answers
	}
	cfg := fmt.Sprintf(queueCaddyfile, qc.admin, qc.port, qc.name, swSecret, o.hookUp, indent(o.deliverExtra, 4), o.plainUp, indent(o.plainStore, 3))
	if err := os.WriteFile(qc.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// start runs caddy on the config and data directory, and waits for it.
func (qc *queueCaddy) start(t *testing.T) {
	t.Helper()
	qc.log = new(syncBuffer)
	qc.p = startProc(qc.root, qc.log, qc.env, qc.bin, "run", "--config", qc.cfgPath, "--adapter", "caddyfile")
	log := qc.log
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("caddy %s log:\n%s", qc.name, log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if qc.p.exited() {
			t.Fatalf("caddy %s exited: %v\nlog:\n%s", qc.name, qc.p.err, qc.log.String())
		}
		resp, err := qc.client.Get(qc.base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy %s not serving after 30s (last error %v)\nlog:\n%s", qc.name, err, qc.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// cli runs `caddy webhook queue args...` against the instance's admin API.
func (qc *queueCaddy) cli(t *testing.T, args ...string) string {
	t.Helper()
	full := append([]string{"webhook", "queue"}, args...)
	full = append(full, "--address", fmt.Sprintf("127.0.0.1:%d", qc.admin))
	out, err := exec.Command(qc.bin, full...).CombinedOutput()
	if err != nil {
		t.Fatalf("caddy %s: %v\n%s", strings.Join(full, " "), err, out)
	}
	return string(out)
}

// postPlain posts body to /plain/<path> with headers.
func (qc *queueCaddy) postPlain(t *testing.T, path string, headers map[string]string, body []byte) (int, http.Header) {
	st, h, err := qc.tryPlain(path, headers, body)
	if err != nil {
		t.Errorf("POST /plain/%s: %v", path, err)
	}
	return st, h
}

// tryPlain posts body to /plain/<path> with headers.
func (qc *queueCaddy) tryPlain(path string, headers map[string]string, body []byte) (int, http.Header, error) {
	req, err := http.NewRequest("POST", qc.base+"/plain/"+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := qc.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header, nil
}

// waitFor polls cond for at most d.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for {
		if cond() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
}
