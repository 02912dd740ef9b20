//go:build unix

package webhookverify

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
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
	"syscall"
	"testing"
	"time"

	"github.com/webhookverify/caddy-webhook-verify/internal/redistest"
)

// The processes of the cluster tests: a Caddy built from ./cmd/caddy, each
// instance with its own HOME and log; redis-server; free ports; a minimal
// RESP client.

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
	bin := redistest.Bin(t) // WEBHOOK_VERIFY_REDIS_SERVER, e.g. valkey-server
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
